"""The shipped tables: they load, they hold the reference's figures, and every bracket boundary of
every quotable table prices as the table says through the quote engine."""

from __future__ import annotations

from datetime import date

import pytest

from rates.book import RateBook
from rates.model import Method, Parcel, Product, QuoteRequest
from rates.quote import QuoteEngine, _boxes

DAY = date(2026, 11, 26)
PRODUCT_METHOD = {
    Product.EMS: Method.EMS,
    Product.AIR_PACKET: Method.EPACKET,
    Product.PARCEL_SURFACE: Method.SEA,
}


def _quote(engine: QuoteEngine, region: str, grams: int, method: Method):
    return engine.quote(QuoteRequest(region, (Parcel(grams),), DAY, DAY, methods=(method,)))


def test_every_quotable_table_is_loaded(rate_book: RateBook) -> None:
    ids = {t.ref.table_id for tables in rate_book.tables.values() for t in tables}
    assert {
        "ems@2022-06-01",
        "parcel_air@2022-06-01",
        "parcel_surface@2022-06-01",
        "small_packet_air@2023-10-01",
        "air_packet@2026-06-01",
    } <= ids
    for tables in rate_book.tables.values():
        for table in tables:
            assert table.ref.source, table.ref.table_id


@pytest.mark.parametrize(
    ("product", "zone", "grams", "price"),
    [
        # Figures quoted in shared/reference/japan_post/README.md, independent of the CSV rows.
        (Product.EMS, 1, 500, 1450),
        (Product.EMS, 5, 500, 3600),
        (Product.EMS, 4, 1000, 5300),
        (Product.EMS, 3, 2000, 6700),
        (Product.EMS, 5, 2000, 8100),
        (Product.EMS, 1, 30000, 26600),
        (Product.EMS, 4, 30000, 75100),
        (Product.EMS, 5, 30000, 77700),
        (Product.AIR_PACKET, 1, 100, 720),
        (Product.AIR_PACKET, 4, 100, 1200),
        (Product.AIR_PACKET, 5, 2000, 5860),
        (Product.AIR_PACKET, 4, 2000, 5190),
        (Product.SMALL_PACKET_AIR, 3, 100, 510),
        (Product.SMALL_PACKET_AIR, 4, 200, 1040),
        (Product.PARCEL_AIR, 1, 1000, 2050),
        (Product.PARCEL_AIR, 2, 10000, 13300),
        (Product.PARCEL_AIR, 3, 30000, 55200),
        (Product.PARCEL_AIR, 5, 10000, 28850),
        (Product.PARCEL_SURFACE, 1, 1000, 1800),
        (Product.PARCEL_SURFACE, 4, 30000, 20900),
    ],
)
def test_reference_figures(rate_book: RateBook, product: Product, zone: int, grams: int, price: int) -> None:
    table = [t for t in rate_book.tables[product] if t.quotable][-1]  # the latest version
    assert table.zones[zone].price_for(grams) == (price, grams)


def test_unknown_figures_stay_missing(rate_book: RateBook) -> None:
    surface = next(t for t in rate_book.tables[Product.PARCEL_SURFACE] if t.quotable)
    small = next(t for t in rate_book.tables[Product.SMALL_PACKET_AIR] if t.quotable)
    assert set(surface.zones) == {1, 2, 3, 4}
    assert set(small.zones) == {1, 2, 3, 4}


def _region_in_zone(rate_book: RateBook, family: str, zone: int, acceptance_service: str) -> str | None:
    for (region, fam), z in sorted(rate_book.zones.items()):
        if fam == family and z == zone:
            a = rate_book.acceptance.get((region, acceptance_service))
            if a is not None and a.status == "acceptable" and not rate_book.limits.get((Product.PARCEL_AIR, region)):
                return region
    return None


@pytest.mark.parametrize("product", [Product.EMS, Product.AIR_PACKET, Product.PARCEL_SURFACE, Product.PARCEL_AIR, Product.SMALL_PACKET_AIR])
def test_every_bracket_boundary_prices_as_the_table_says(rate_book: RateBook, engine: QuoteEngine, product: Product) -> None:
    """For each zone: a destination in that zone, then the first gram, the last gram and the gram
    after every bracket, priced through the engine."""
    table = [t for t in rate_book.tables[product] if t.quotable][-1]  # the latest version
    info = rate_book.products[product]
    checked = 0
    for zone, brackets in table.zones.items():
        region = _region_in_zone(rate_book, info.zone_family, zone, info.acceptance_service)
        assert region is not None, f"no open destination in {info.zone_family} zone {zone}"
        limit = rate_book.limit(product, region)
        assert limit is not None
        lows = (1, *(m + 1 for m in brackets.max_weights[:-1]))
        for low, high, price in zip(lows, brackets.max_weights, brackets.prices, strict=True):
            for grams in {low, high}:
                option = _priced(engine, region, grams, product)
                assert option is not None, (region, grams)
                assert (option.postage_jpy, option.zone, option.parcels[0].bracket_max_g) == (price, zone, high), (region, grams)
                checked += 1
        beyond = brackets.max_weights[-1] + 1
        assert _priced(engine, region, beyond, product) is None
    assert checked >= len(table.frame)


def _priced(engine: QuoteEngine, region: str, grams: int, product: Product):
    if product in PRODUCT_METHOD:
        quote = _quote(engine, region, grams, PRODUCT_METHOD[product])
        return quote.options[0] if quote.options else None
    # Airmail offers the cheaper of small packet and parcel: price the product's own lane.
    resolved = engine.resolved(region, DAY, DAY)
    assert resolved is not None
    lanes = next(lanes for method, _, lanes in resolved if method is Method.AIRMAIL)
    lane = next(lane for lane in lanes if lane.product is product)
    request = QuoteRequest(region, (Parcel(grams),), DAY, DAY, methods=(Method.AIRMAIL,))
    result = engine._price(lane, request, [], _boxes(request.parcels))
    return result if hasattr(result, "postage_jpy") else None


def test_zones_follow_the_reference(rate_book: RateBook) -> None:
    zones = rate_book.zones
    assert [zones[(r, "ems")] for r in ("CN", "KR", "TW")] == [1, 1, 1]
    assert zones[("TH", "ems")] == 2
    assert zones[("GB", "ems")] == 3 and zones[("AU", "parcel")] == 3 and zones[("MX", "ems")] == 3
    assert zones[("US", "ems")] == 4 and zones[("GU", "parcel")] == 4 and zones[("PR", "letter_post")] == 4
    assert zones[("BR", "ems")] == 5 and zones[("ZA", "parcel")] == 5
    assert zones[("XK", "parcel")] == 3  # Japan Post's XZ
    counts = {fam: {z: 0 for z in range(1, 6)} for fam in ("ems", "parcel", "letter_post")}
    for (_, fam), z in zones.items():
        counts[fam][z] += 1
    # The reference's counts per zone, less Japan Post's own sub-territory codes: WK (zone 4, every
    # family), NT (parcel zone 3), AX and TA (parcel zone 5).
    assert counts["ems"] == {1: 3, 2: 20, 3: 65, 4: 7, 5: 44}
    assert counts["parcel"] == {1: 3, 2: 26, 3: 89, 4: 7, 5: 102}
