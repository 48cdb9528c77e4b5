"""The plain-request path (QuoteEngine.quote_plain, wire.encode_plain) answers with exactly the
bytes of the general path (QuoteEngine.quote, wire.encode_quote): every destination, every bracket
boundary, limits, table versions, and random carts. A request the plain path does not take goes to
the general path, which names its bad fields."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidArgument
from kokokara.shipping import wire
from kokokara.shipping.servicers.rates import plain_request, quote_request_from_proto, quote_response
from kokokara.shipping.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from kokokara.shipping.v1 import common_pb2, rates_pb2
from rates.quote import QuoteEngine
from rates.tables import ISO_REGIONS, load_rate_book

BOOK = load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE)
ENGINE = QuoteEngine(BOOK)
KNOWN = frozenset(ISO_REGIONS)
SERVED = sorted(BOOK.served_regions())
TODAY = date(2026, 11, 27)
# Every bracket edge of every table (and one gram either side), so each lane's bisection and
# every limit's weight are crossed.
EDGES = sorted({w + d for tables in BOOK.tables.values() for t in tables for b in t.zones.values() for w in b.max_weights for d in (-1, 0, 1)} - {0})


def general(msg: rates_pb2.GetQuoteRequest, today: date = TODAY) -> bytes:
    return wire.encode_quote(ENGINE.quote(quote_request_from_proto(msg, KNOWN, today)))


def plain(msg: rates_pb2.GetQuoteRequest, today: date = TODAY) -> bytes:
    taken = plain_request(msg, KNOWN, today)
    assert taken is not None, "the request should take the plain path"
    answer = ENGINE.quote_plain(*taken)
    assert answer is not None
    return wire.encode_plain(taken[0], *answer)


def request(region: str, *parcels: tuple[int, int, int, int], **fields: object) -> rates_pb2.GetQuoteRequest:
    msg = rates_pb2.GetQuoteRequest(destination_region_code=region, **fields)  # type: ignore[arg-type]
    for grams, length, width, height in parcels:
        msg.parcels.add(weight_grams=grams, length_mm=length, width_mm=width, height_mm=height)
    return msg


def test_every_destination_and_bracket_edge_matches_the_general_path() -> None:
    sizes = [(0, 0, 0), (300, 200, 100), (600, 200, 100), (1600, 100, 100), (100, 80, 5)]
    compared = 0
    for i, region in enumerate(SERVED):
        for j, grams in enumerate(EDGES):
            if grams > 100_000:
                continue
            msg = request(region, (grams, *sizes[(i + j) % len(sizes)]))
            assert plain(msg) == general(msg), (region, grams)
            compared += 1
    assert compared > 10_000


def test_multi_parcel_carts_sum_per_method_and_name_the_parcel_at_fault() -> None:
    msg = request("US", (1500, 300, 200, 100), (2500, 0, 0, 0), (31_000, 0, 0, 0))
    assert plain(msg) == general(msg)
    answer = rates_pb2.GetQuoteResponse.FromString(plain(msg))
    assert any("parcels[2]" in u.message for u in answer.unavailable)
    msg = request("DE", (1500, 300, 200, 100), (2000, 610, 100, 100))
    assert plain(msg) == general(msg)


@pytest.mark.parametrize("day", [date(2021, 6, 1), date(2023, 9, 30), date(2023, 10, 1), date(2024, 10, 1), date(2027, 12, 31)])
def test_ship_and_order_dates_pick_the_same_tables_and_arrivals(day: date) -> None:
    for region in ("US", "GB", "CN", "BR", "UA", "BY"):
        msg = request(region, (1200, 300, 200, 100), ship_date={"year": day.year, "month": day.month, "day": day.day})
        msg.order_date.year, msg.order_date.month, msg.order_date.day = day.year, day.month, 1
        assert plain(msg) == general(msg), (region, day)


def test_unserved_destinations_and_suspensions_match() -> None:
    for region in ("RU", "KP", "SY", "BY", "UA", "AQ", "VA"):
        msg = request(region, (900, 250, 150, 80))
        taken = plain_request(msg, KNOWN, TODAY)
        assert taken is not None
        answer = ENGINE.quote_plain(*taken)
        if answer is None:  # no plan for the region: the general path answers it
            assert quote_response(ENGINE, KNOWN, msg, TODAY) == general(msg)
        else:
            assert wire.encode_plain(region, *answer) == general(msg)


@pytest.mark.parametrize(
    "fields",
    [
        {"methods": [common_pb2.SHIPPING_METHOD_EMS]},
        {"insure": True},
        {"contents": [{"description": "tea", "quantity": 1}]},
        {"destination_region_code": "us"},
        {"destination_region_code": "ZZ"},
        {"postal_code": "1" * 33},
        {"declared_value": {"currency_code": "USD", "units": 10}},
        {"ship_date": {"year": 2026, "month": 2, "day": 30}},
    ],
)
def test_other_requests_go_to_the_general_path(fields: dict[str, object]) -> None:
    msg = request("US", (1200, 300, 200, 100))
    msg.MergeFrom(rates_pb2.GetQuoteRequest(**fields))  # type: ignore[arg-type]
    if "destination_region_code" in fields:
        msg.destination_region_code = str(fields["destination_region_code"])
    assert plain_request(msg, KNOWN, TODAY) is None
    try:
        expected = general(msg)
    except InvalidArgument as error:
        with pytest.raises(InvalidArgument) as raised:
            quote_response(ENGINE, KNOWN, msg, TODAY)
        assert [v.field for v in raised.value.violations] == [v.field for v in error.violations]
    else:
        assert quote_response(ENGINE, KNOWN, msg, TODAY) == expected


@pytest.mark.parametrize("parcel", [(0, 0, 0, 0), (-5, 0, 0, 0), (100_001, 0, 0, 0), (500, 100, 0, 0), (500, 5001, 10, 10)])
def test_bad_parcels_are_named_by_the_general_path(parcel: tuple[int, int, int, int]) -> None:
    msg = request("US", parcel)
    assert plain_request(msg, KNOWN, TODAY) is None
    with pytest.raises(InvalidArgument):
        quote_response(ENGINE, KNOWN, msg, TODAY)


sides = st.one_of(st.just((0, 0, 0)), st.tuples(st.integers(1, 2_000), st.integers(1, 1_000), st.integers(1, 1_000)))


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from([*SERVED, "AQ", "RU"]),
    st.lists(st.tuples(st.one_of(st.integers(1, 35_000), st.sampled_from(EDGES[:400])), sides), min_size=1, max_size=4),
    st.one_of(st.none(), st.integers(0, 3_000_000)),
    st.dates(date(2021, 1, 1), date(2027, 12, 31)),
    st.dates(date(2021, 1, 1), date(2027, 12, 31)),
)
def test_random_plain_carts_match_the_general_path(
    region: str, boxes: list[tuple[int, tuple[int, int, int]]], value: int | None, ship: date, order: date
) -> None:
    msg = request(region, *((grams, *size) for grams, size in boxes))
    if value is not None:
        msg.declared_value.currency_code, msg.declared_value.units = "JPY", value
    msg.ship_date.year, msg.ship_date.month, msg.ship_date.day = ship.year, ship.month, ship.day
    msg.order_date.year, msg.order_date.month, msg.order_date.day = order.year, order.month, order.day
    assert plain_request(msg, KNOWN, TODAY) is not None
    assert quote_response(ENGINE, KNOWN, msg, TODAY) == general(msg)
