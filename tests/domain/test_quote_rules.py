"""The quote engine's rules: acceptance, limits, contents, insurance, compensation, several parcels,
table dates and arrival estimates."""

from __future__ import annotations

from datetime import date

import pytest

from rates.model import ALL_METHODS, ContentsFlag, ContentsLine, ContentsType, Method, Parcel, Product, Quote, QuoteRequest, Reason
from rates.quote import QuoteEngine

DAY = date(2026, 11, 26)


def q(engine: QuoteEngine, region: str, *parcels: Parcel, **kw) -> Quote:
    """Quoted as documents unless a test says otherwise: Japan Post refuses goods to the US since
    2025-08-27 (tests/server/test_acceptance_rules.py), and these tests are about prices and limits."""
    kw.setdefault("contents_type", ContentsType.DOCUMENTS)
    kw.setdefault("ship_date", DAY)
    kw.setdefault("order_date", DAY)
    return engine.quote(QuoteRequest(region, tuple(parcels) or (Parcel(1000),), **kw))


def offered(quote: Quote) -> dict[Method, object]:
    return {o.method: o for o in quote.options}


def refused(quote: Quote) -> dict[Method, tuple[Reason, str]]:
    return {u.method: (u.reason, u.message) for u in quote.unavailable}


def test_every_method_appears_exactly_once_and_options_are_cheapest_first(engine: QuoteEngine) -> None:
    quote = q(engine, "US", Parcel(1200, 300, 200, 100))
    methods = [o.method for o in quote.options] + [u.method for u in quote.unavailable]
    assert sorted(m.value for m in methods) == sorted(m.value for m in ALL_METHODS)
    totals = [o.total_jpy for o in quote.options]
    assert totals == sorted(totals)


@pytest.mark.parametrize("region", ["RU", "KP", "SY"])
def test_nothing_goes_to_embargoed_destinations(engine: QuoteEngine, region: str) -> None:
    quote = q(engine, region)
    assert quote.options == ()
    reasons = refused(quote)
    for method in (Method.EMS, Method.AIRMAIL, Method.EPACKET, Method.SEA):
        assert reasons[method][0] in (Reason.SERVICE_SUSPENDED, Reason.DESTINATION_NOT_SERVED)


def test_no_ems_to_belarus_but_airmail_goes(engine: QuoteEngine) -> None:
    quote = q(engine, "BY")
    assert refused(quote)[Method.EMS][0] is Reason.SERVICE_SUSPENDED
    assert "BY" in refused(quote)[Method.EMS][1]
    assert Method.AIRMAIL in offered(quote)


def test_no_sea_to_ukraine(engine: QuoteEngine) -> None:
    quote = q(engine, "UA")
    assert refused(quote)[Method.SEA][0] is Reason.SERVICE_SUSPENDED
    assert Method.EMS in offered(quote)


def test_no_ems_service_at_all_is_destination_not_served(engine: QuoteEngine) -> None:
    # Afghanistan: Japan Post lists no EMS service.
    assert refused(q(engine, "AF"))[Method.EMS][0] is Reason.DESTINATION_NOT_SERVED


def test_unknown_price_is_no_published_rate(engine: QuoteEngine) -> None:
    quote = q(engine, "BR", Parcel(500))
    assert refused(quote)[Method.SEA][0] is Reason.NO_PUBLISHED_RATE
    # Small packet zone 5 is unknown too: airmail falls back to parcel post by air.
    airmail = offered(quote)[Method.AIRMAIL]
    assert airmail.product is Product.PARCEL_AIR and airmail.tracked


def test_destination_nobody_lists(engine: QuoteEngine) -> None:
    quote = q(engine, "AQ")
    assert quote.options == ()
    assert {r for r, _ in refused(quote).values()} == {Reason.DESTINATION_NOT_SERVED}


def test_airmail_takes_the_cheaper_product_and_says_so(engine: QuoteEngine) -> None:
    light = offered(q(engine, "US", Parcel(300)))[Method.AIRMAIL]
    assert (light.product, light.tracked, light.total_jpy) == (Product.SMALL_PACKET_AIR, False, 1250)
    heavy = offered(q(engine, "US", Parcel(2500)))[Method.AIRMAIL]
    assert (heavy.product, heavy.tracked) == (Product.PARCEL_AIR, True)


def test_weight_limits(engine: QuoteEngine) -> None:
    quote = q(engine, "US", Parcel(2001))
    reason, message = refused(quote)[Method.EPACKET]
    assert reason is Reason.OVER_WEIGHT_LIMIT and "2 kg" in message
    too_heavy = q(engine, "US", Parcel(30001))
    for method in (Method.EMS, Method.AIRMAIL, Method.EPACKET, Method.SEA):
        assert refused(too_heavy)[method][0] is Reason.OVER_WEIGHT_LIMIT
    at_limit = q(engine, "US", Parcel(30000))
    assert {Method.EMS, Method.AIRMAIL, Method.SEA} <= set(offered(at_limit))


def test_country_weight_limit(engine: QuoteEngine) -> None:
    # Afghanistan parcels: 20 kg since 2023-01-01 (but nothing is accepted there in the 2024 data).
    assert engine.book.limit(Product.PARCEL_AIR, "AF").max_weight_g == 20000


def test_letter_post_size_limits(engine: QuoteEngine) -> None:
    longest = q(engine, "US", Parcel(500, 610, 100, 50))
    assert refused(longest)[Method.EPACKET][0] is Reason.OVER_SIZE_LIMIT
    assert offered(longest)[Method.AIRMAIL].product is Product.PARCEL_AIR
    sides = q(engine, "US", Parcel(500, 400, 300, 210))  # 91 cm in all
    assert refused(sides)[Method.EPACKET][0] is Reason.OVER_SIZE_LIMIT
    assert "91 cm" in refused(sides)[Method.EPACKET][1]
    fits = q(engine, "US", Parcel(500, 400, 300, 200))  # 90 cm
    assert Method.EPACKET in offered(fits)
    tiny = q(engine, "US", Parcel(50, 100, 80, 10))
    assert refused(tiny)[Method.EPACKET][0] is Reason.UNDER_SIZE_LIMIT


def test_ems_size_limits(engine: QuoteEngine) -> None:
    long = q(engine, "US", Parcel(5000, 1510, 100, 100))
    assert refused(long)[Method.EMS][0] is Reason.OVER_SIZE_LIMIT
    girth = q(engine, "US", Parcel(5000, 1000, 600, 450))  # 1000 + 2*(1050) = 3100 mm
    reason, message = refused(girth)[Method.EMS]
    assert reason is Reason.OVER_SIZE_LIMIT and "length plus girth" in message
    assert Method.EMS in offered(q(engine, "US", Parcel(5000, 1000, 500, 500)))  # exactly 3 m


def test_country_parcel_size_limits(engine: QuoteEngine) -> None:
    # Iraq by air and India by sea: 1.05 m long, 2 m length plus girth (2023-01-01 condition table).
    iraq = q(engine, "IQ", Parcel(5000, 1100, 200, 200))
    reason, message = refused(iraq)[Method.AIRMAIL]
    assert reason is Reason.OVER_SIZE_LIMIT and "105 cm" in message
    assert Method.EMS in offered(iraq)  # EMS keeps its own 1.5 m limit
    india = q(engine, "IN", Parcel(5000, 1000, 300, 300))  # 1000 + 1200 = 2.2 m
    assert refused(india)[Method.SEA][0] is Reason.OVER_SIZE_LIMIT
    assert Method.SEA in offered(q(engine, "IN", Parcel(5000, 1000, 200, 200)))
    # Elsewhere parcels take the EMS limits.
    assert Method.AIRMAIL in offered(q(engine, "US", Parcel(5000, 1100, 200, 200)))


@pytest.mark.parametrize(
    "flag",
    [ContentsFlag.AEROSOL, ContentsFlag.FLAMMABLE_LIQUID, ContentsFlag.PERFUME_WITH_ALCOHOL, ContentsFlag.LITHIUM_BATTERY_LOOSE, ContentsFlag.EXPLOSIVE],
)
def test_prohibited_contents_bar_every_method(engine: QuoteEngine, flag: ContentsFlag) -> None:
    contents = (ContentsLine("Tea cup", 1, 1000), ContentsLine("Item", 1, 2000, frozenset({flag})))
    quote = q(engine, "US", contents=contents)
    assert quote.options == ()
    for method in ALL_METHODS:
        reason, message = refused(quote)[method]
        if method is Method.CONSOLIDATION or reason is Reason.PROHIBITED_CONTENTS:
            assert reason is Reason.PROHIBITED_CONTENTS
            assert "contents[1]" in message


def test_lithium_in_equipment_depends_on_destination(engine: QuoteEngine) -> None:
    contents = (ContentsLine("Camera with battery", 1, 30000, frozenset({ContentsFlag.LITHIUM_BATTERY_IN_EQUIPMENT})),)
    assert Method.EMS in offered(q(engine, "US", contents=contents))
    to_germany = q(engine, "DE", contents=contents)
    assert refused(to_germany)[Method.EMS][0] is Reason.PROHIBITED_CONTENTS


def test_ems_insurance(engine: QuoteEngine) -> None:
    plain = offered(q(engine, "US", Parcel(1000)))[Method.EMS]
    assert (plain.insurance_jpy, plain.compensation_jpy) == (0, 20000)
    small = offered(q(engine, "US", Parcel(1000), declared_value_jpy=20000, insure=True))[Method.EMS]
    assert small.insurance_jpy == 0
    insured = offered(q(engine, "US", Parcel(1000), declared_value_jpy=50000, insure=True))[Method.EMS]
    # 20,000 included; 30,000 more is two steps of 20,000 at 50 JPY.
    assert (insured.insurance_jpy, insured.total_jpy, insured.compensation_jpy) == (100, 5300 + 100, 50000)
    top = offered(q(engine, "US", Parcel(1000), declared_value_jpy=2_000_000, insure=True))[Method.EMS]
    assert top.insurance_jpy == 99 * 50
    over = q(engine, "US", Parcel(1000), declared_value_jpy=2_000_001, insure=True)
    assert refused(over)[Method.EMS][0] is Reason.INSURANCE_NOT_AVAILABLE


def test_parcel_insurance_and_uninsured_compensation(engine: QuoteEngine) -> None:
    plain = offered(q(engine, "GB", Parcel(7000)))[Method.SEA]
    assert (plain.insurance_jpy, plain.compensation_jpy) == (0, 15170)
    insured = offered(q(engine, "GB", Parcel(7000), declared_value_jpy=60000, insure=True))[Method.SEA]
    assert (insured.insurance_jpy, insured.compensation_jpy) == (400 + 2 * 50, 60000)
    cheap = offered(q(engine, "GB", Parcel(7000), declared_value_jpy=10000, insure=True))[Method.SEA]
    assert cheap.insurance_jpy == 400


def test_letter_post_cannot_be_insured(engine: QuoteEngine) -> None:
    quote = q(engine, "US", Parcel(300), declared_value_jpy=10000, insure=True)
    assert refused(quote)[Method.EPACKET][0] is Reason.INSURANCE_NOT_AVAILABLE
    airmail = offered(quote)[Method.AIRMAIL]
    assert airmail.product is Product.PARCEL_AIR and airmail.insurance_jpy == 400
    assert refused(quote)[Method.CONSOLIDATION][0] is Reason.INSURANCE_NOT_AVAILABLE


def test_declared_value_defaults_to_contents(engine: QuoteEngine) -> None:
    contents = (ContentsLine("Kimono", 1, 45000), ContentsLine("Obi", 1, 15000))
    insured = offered(q(engine, "US", Parcel(1000), contents=contents, insure=True))[Method.EMS]
    assert insured.insurance_jpy == 100 and insured.compensation_jpy == 60000


def test_several_parcels_are_priced_one_by_one_and_summed(engine: QuoteEngine) -> None:
    one = offered(q(engine, "US", Parcel(1000)))[Method.EMS].total_jpy
    two = offered(q(engine, "US", Parcel(2000)))[Method.EMS].total_jpy
    both = offered(q(engine, "US", Parcel(1000), Parcel(2000)))[Method.EMS]
    assert both.total_jpy == one + two == 5300 + 7900
    assert both.billable_weight_g == 3000 and [p.postage_jpy for p in both.parcels] == [5300, 7900]
    # One parcel too heavy for a method refuses the method and names the parcel.
    reason, message = refused(q(engine, "US", Parcel(1000), Parcel(2500)))[Method.EPACKET]
    assert reason is Reason.OVER_WEIGHT_LIMIT and "parcels[1]" in message


def test_consolidation_uses_volumetric_weight(engine: QuoteEngine) -> None:
    # Example contract, US: divisor 6000; 400x300x300 mm = 36,000,000 mm3 -> 6,000 g volumetric.
    bulky = offered(q(engine, "US", Parcel(1000, 400, 300, 300)))[Method.CONSOLIDATION]
    assert bulky.billable_weight_g == 6000
    assert bulky.total_jpy == 2400 + 11 * 600
    dense = offered(q(engine, "US", Parcel(1000, 100, 100, 100)))[Method.CONSOLIDATION]
    assert dense.billable_weight_g == 1000
    ems = offered(q(engine, "US", Parcel(1000, 400, 300, 300)))[Method.EMS]
    assert ems.billable_weight_g == 1000  # Japan Post: actual weight only
    assert any("EXAMPLE RATES" in n for n in bulky.notes)


def test_ship_date_picks_the_table_in_force(engine: QuoteEngine) -> None:
    before = q(engine, "US", Parcel(1000), ship_date=date(2022, 5, 31))
    reason, message = refused(before)[Method.EMS]
    assert reason is Reason.NO_PUBLISHED_RATE and "2022-05-31" in message
    assert Method.EMS in offered(q(engine, "US", Parcel(1000), ship_date=date(2022, 6, 1)))
    # International Air Packet (ePacket Light until 2026-06-01): a table for zones 3 and 4 from
    # 2026-01-01, none known before.
    assert refused(q(engine, "US", Parcel(500), ship_date=date(2025, 12, 31)))[Method.EPACKET][0] is Reason.NO_PUBLISHED_RATE
    assert offered(q(engine, "US", Parcel(500), ship_date=date(2026, 1, 1)))[Method.EPACKET].total_jpy == 2040
    assert refused(q(engine, "TH", Parcel(500), ship_date=date(2026, 5, 31)))[Method.EPACKET][0] is Reason.NO_PUBLISHED_RATE  # zone 2


def test_option_names_its_table(engine: QuoteEngine) -> None:
    ems = offered(q(engine, "US"))[Method.EMS]
    assert ems.table.table_id == "ems@2022-06-01" and ems.table.effective_from == date(2022, 6, 1)
    assert "woocommerce" in ems.table.source
    packet = offered(q(engine, "US", Parcel(500)))[Method.EPACKET]
    assert not packet.table.effective_from_confirmed
    assert any("not confirmed" in n for n in packet.notes)


def test_arrival_estimates_count_from_the_order_plus_handling(engine: QuoteEngine) -> None:
    quote = q(engine, "US", Parcel(1000), order_date=date(2026, 11, 26))
    ems = offered(quote)[Method.EMS].delivery
    # Shipped within 3 days (2026-11-29), then 3 to 18 days.
    assert (ems.min_days, ems.max_days) == (3, 18)
    assert (ems.earliest_arrival, ems.latest_arrival) == (date(2026, 12, 2), date(2026, 12, 17))
    sea = offered(quote)[Method.SEA].delivery
    assert (sea.earliest_arrival, sea.latest_arrival) == (date(2027, 1, 29), date(2027, 3, 29))
    assert sea.published_text == "2〜4か月"
    quick = QuoteEngine(engine.book, handling_days=0)
    assert offered(q(quick, "US", Parcel(1000), order_date=date(2026, 11, 26)))[Method.EMS].delivery.earliest_arrival == date(2026, 11, 29)


def test_methods_filter(engine: QuoteEngine) -> None:
    quote = q(engine, "US", methods=(Method.EMS, Method.SEA, Method.EMS))
    assert sorted(m.value for m in [*offered(quote), *refused(quote)]) == ["ems", "sea"]


def test_restriction_notes_go_to_the_service_they_concern(engine: QuoteEngine) -> None:
    quote = q(engine, "UA", Parcel(500))
    ems = offered(quote)[Method.EMS]
    packet = offered(quote)[Method.EPACKET]
    assert any("EMS items to some regions" in n for n in ems.notes)
    assert not any("EMS items" in n for n in packet.notes)
    assert any("Crimea" in n for n in packet.notes)
