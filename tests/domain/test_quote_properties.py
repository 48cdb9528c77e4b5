"""Properties of quotes over wide inputs: prices never fall as weight rises, nothing is quoted past
a limit, and every method is answered exactly once."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from rates.book import RateBook
from rates.model import ALL_METHODS, Method, Parcel, Product, QuoteRequest
from rates.quote import QuoteEngine
from rates.tables import load_rate_book

DAY = date(2026, 11, 26)
BOOK: RateBook = load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE)
ENGINE = QuoteEngine(BOOK)
REGIONS = sorted(BOOK.served_regions())

regions = st.sampled_from(REGIONS)
weights = st.integers(min_value=1, max_value=40_000)
sides = st.integers(min_value=1, max_value=2_000)
parcels = st.one_of(st.builds(Parcel, weights), st.builds(Parcel, weights, sides, sides, sides))
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(regions, st.sampled_from(ALL_METHODS), weights, weights)
def test_price_never_falls_as_weight_rises(region: str, method: Method, a: int, b: int) -> None:
    light, heavy = sorted((a, b))
    quotes = [ENGINE.quote(QuoteRequest(region, (Parcel(w),), DAY, DAY, methods=(method,))) for w in (light, heavy)]
    if quotes[0].options and quotes[1].options:
        assert quotes[0].options[0].total_jpy <= quotes[1].options[0].total_jpy


@FAST
@given(regions, st.lists(parcels, min_size=1, max_size=3))
def test_nothing_is_quoted_past_a_limit(region: str, boxes: list[Parcel]) -> None:
    quote = ENGINE.quote(QuoteRequest(region, tuple(boxes), DAY, DAY))
    answered = [o.method for o in quote.options] + [u.method for u in quote.unavailable]
    assert sorted(m.value for m in answered) == sorted(m.value for m in ALL_METHODS)
    for option in quote.options:
        assert option.total_jpy > 0
        if option.product is Product.CONSOLIDATION:
            top = BOOK.consolidation.lanes[region].brackets.max_weights[-1]
            assert all(p.billable_weight_g <= top for p in option.parcels)
            continue
        limit = BOOK.limit(option.product, region)
        assert limit is not None
        for box in boxes:
            assert box.weight_g <= limit.max_weight_g
            if box.has_size:
                a, b, c = box.sides
                assert limit.max_length_mm is None or a <= limit.max_length_mm
                assert limit.max_length_plus_girth_mm is None or a + 2 * (b + c) <= limit.max_length_plus_girth_mm
                assert limit.max_sum_of_sides_mm is None or a + b + c <= limit.max_sum_of_sides_mm


@FAST
@given(regions, parcels)
def test_billable_weight_is_actual_weight_for_japan_post(region: str, box: Parcel) -> None:
    for option in ENGINE.quote(QuoteRequest(region, (box,), DAY, DAY)).options:
        if option.product is not Product.CONSOLIDATION:
            assert option.billable_weight_g == box.weight_g
            assert option.parcels[0].bracket_max_g >= box.weight_g
        else:
            assert option.billable_weight_g >= box.weight_g
