"""Packing plans in the domain (rates/packing.py): the shipped tables and the real quote engine,
property tests with hypothesis, and the planner against brute force on small carts."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kokokara.shipping.server.settings import DEFAULT_BOX_CATALOGUE_FILE
from rates.cart import NO_BOX_FITS, Box, CartItem, PlanRequest, ShipmentPlan, load_box_catalogue, parcel_quote_request
from rates.csvread import TableError
from rates.model import ContentsFlag, ContentsType, Method
from rates.packing import Planner
from rates.quote import QuoteEngine

SHIP = date(2026, 12, 5)
CATALOGUE = load_box_catalogue(DEFAULT_BOX_CATALOGUE_FILE)
# Boxes without tare: the hand-checked example prices the items' own weights.
WEIGHTLESS = (Box("flat", (300, 220, 60), (300, 220, 60), 0), Box("cube", (400, 300, 300), (400, 300, 300), 0))
# Long enough never to stop a small cart's exhaustive search, short enough never to hang a test.
GENEROUS = 30.0


def request(items: tuple[CartItem, ...], region: str = "DE", boxes: tuple[Box, ...] = CATALOGUE, methods: tuple[Method, ...] = (), **kw: object) -> PlanRequest:
    return PlanRequest(region, items, boxes, SHIP, SHIP, methods, **kw)  # type: ignore[arg-type]


def item(weight: int, size: tuple[int, int, int] = (100, 80, 50), quantity: int = 1, sku: str = "", value: int = 1000, **kw: object) -> CartItem:
    return CartItem(sku or f"SKU-{weight}", f"Item of {weight} g", weight, size, quantity, value, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def planner(engine: QuoteEngine) -> Planner:
    return Planner(engine, budget_seconds=GENEROUS)


def single_parcel_price(engine: QuoteEngine, req: PlanRequest, method: Method, fill: float) -> int | None:
    """The cheapest one-parcel quote of the whole cart over the boxes that hold it, or None."""
    counts = tuple(i.quantity for i in req.items)
    volume = sum(i.quantity * i.volume for i in req.items)
    best = None
    for box in req.boxes:
        if volume > box.inner_volume * fill or not all(all(s <= t for s, t in zip(i.sides, box.inner_sorted, strict=True)) for i in req.items):
            continue
        quote = engine.quote(parcel_quote_request(req, counts, box, (method,)))
        for option in quote.options:
            if best is None or option.total_jpy < best:
                best = option.total_jpy
    return best


# --- the hand-checked example ------------------------------------------------------------------


def test_german_cart_by_airmail_is_a_small_packet_and_a_parcel(engine: QuoteEngine, planner: Planner) -> None:
    # The shipped tables on 2026-12-05: one 3.5 kg parcel by air costs 10,300 JPY; a 1 kg small
    # packet (2,130) and a 2.5 kg parcel by air (8,150) cost 10,280 JPY.
    cart = (item(1000, sku="TEA"), item(2500, sku="POT"))
    req = request(cart, boxes=WEIGHTLESS, methods=(Method.AIRMAIL,))
    whole = engine.quote(parcel_quote_request(req, (1, 1), WEIGHTLESS[1], (Method.AIRMAIL,)))
    assert [(o.product.value, o.total_jpy) for o in whole.options] == [("parcel_air", 10_300)]
    plan = planner.plan(req)
    (airmail,) = plan.plans
    assert airmail.total_jpy == 10_280
    assert airmail.optimal
    assert sorted((p.option.product.value, p.option.total_jpy, p.gross_weight_g) for p in airmail.parcels) == [
        ("parcel_air", 8_150, 2_500),
        ("small_packet_air", 2_130, 1_000),
    ]


# --- properties --------------------------------------------------------------------------------

REGIONS = ["DE", "GB", "AU", "CN", "BR", "US", "TW", "FR", "EG"]
FLAGS = [ContentsFlag.LITHIUM_BATTERY_IN_EQUIPMENT, ContentsFlag.PERFUME_WITH_ALCOHOL]


@st.composite
def carts(draw: st.DrawFn, max_units: int = 10) -> tuple[CartItem, ...]:
    lines = draw(st.integers(1, 5))
    items = []
    units = 0
    for n in range(lines):
        quantity = draw(st.integers(1, max(1, min(3, max_units - units - (lines - n - 1)))))
        units += quantity
        size = (draw(st.integers(20, 420)), draw(st.integers(20, 300)), draw(st.integers(5, 250)))
        flags = frozenset(draw(st.lists(st.sampled_from(FLAGS), max_size=1))) if draw(st.integers(0, 9)) == 0 else frozenset()
        items.append(CartItem(f"SKU{n}", f"Item {n}", draw(st.integers(30, 9_000)), size, quantity, draw(st.integers(0, 40_000)), flags))
    return tuple(items)


def check_plan(engine: QuoteEngine, req: PlanRequest, plan: ShipmentPlan, fill: float) -> None:
    wanted = Counter({i: it.quantity for i, it in enumerate(req.items)})
    answered = {p.method for p in plan.plans} | {u.method for u in plan.unavailable}
    assert answered == set(req.methods or Method)
    for method_plan in plan.plans:
        placed: Counter[int] = Counter()
        total = 0
        for parcel in method_plan.parcels:
            placed.update(dict(parcel.items))
            counts = tuple(dict(parcel.items).get(i, 0) for i in range(len(req.items)))
            box = parcel.box
            # within its box: every item by its sides, all of them by volume
            assert all(all(s <= t for s, t in zip(req.items[i].sides, box.inner_sorted, strict=True)) for i, _ in parcel.items)
            assert sum(n * req.items[i].volume for i, n in parcel.items) <= box.inner_volume * fill
            assert parcel.gross_weight_g == box.tare_g + sum(n * req.items[i].weight_g for i, n in parcel.items)
            # within its product's limits and priced as GetQuote prices that parcel alone
            quote = engine.quote(parcel_quote_request(req, counts, box, (method_plan.method,)))
            assert [o.total_jpy for o in quote.options] == [parcel.option.total_jpy]
            assert quote.options[0].product is parcel.option.product
            total += parcel.option.total_jpy
        assert placed == wanted, "every unit placed exactly once"
        assert method_plan.total_jpy == total
        one = single_parcel_price(engine, req, method_plan.method, fill)
        if one is not None:
            assert method_plan.total_jpy <= one


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cart=carts(), region=st.sampled_from(REGIONS), insure=st.booleans())
def test_plans_place_every_unit_once_within_limits_at_the_engines_prices(engine: QuoteEngine, cart: tuple[CartItem, ...], region: str, insure: bool) -> None:
    planner = Planner(engine, budget_seconds=GENEROUS)
    req = request(cart, region=region, insure=insure)
    check_plan(engine, req, planner.plan(req), planner.fill_factor)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cart=carts(max_units=60), region=st.sampled_from(REGIONS))
def test_large_carts_keep_the_same_properties_within_a_budget(engine: QuoteEngine, cart: tuple[CartItem, ...], region: str) -> None:
    # Past exhaustive search (few units here, so force the solver path with exact_units=0).
    planner = Planner(engine, budget_seconds=0.2, exact_units=0)
    req = request(cart, region=region)
    plan = planner.plan(req)
    assert not any(p.optimal for p in plan.plans)
    check_plan(engine, req, plan, planner.fill_factor)


# --- against brute force -----------------------------------------------------------------------


def partitions(units: list[int]) -> list[list[list[int]]]:
    if not units:
        return [[]]
    first, rest = units[0], units[1:]
    out = []
    for smaller in partitions(rest):
        for i in range(len(smaller)):
            out.append([*smaller[:i], [first, *smaller[i]], *smaller[i + 1 :]])
        out.append([[first], *smaller])
    return out


def brute_force(engine: QuoteEngine, req: PlanRequest, method: Method, fill: float) -> float:
    """The optimum over every partition of the units, each block in its cheapest fitting box."""
    units = [i for i, it in enumerate(req.items) for _ in range(it.quantity)]
    block_cost: dict[tuple[int, ...], float] = {}
    best = math.inf
    for partition in partitions(list(range(len(units)))):
        total = 0.0
        for block in partition:
            counts = tuple(sum(1 for u in block if units[u] == i) for i in range(len(req.items)))
            if counts not in block_cost:
                sub = PlanRequest(req.region_code, tuple(it for it in req.items), req.boxes, SHIP, SHIP, (method,))
                sub_items = [(req.items[i], n) for i, n in enumerate(counts) if n]
                price = math.inf
                for box in req.boxes:
                    if sum(it.volume * n for it, n in sub_items) > box.inner_volume * fill:
                        continue
                    if not all(all(s <= t for s, t in zip(it.sides, box.inner_sorted, strict=True)) for it, _ in sub_items):
                        continue
                    for option in engine.quote(parcel_quote_request(sub, counts, box, (method,))).options:
                        price = min(price, option.total_jpy)
                block_cost[counts] = price
            total += block_cost[counts]
            if total >= best:
                break
        best = min(best, total)
    return best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cart=carts(max_units=8), region=st.sampled_from(["DE", "AU", "CN", "BR"]), method=st.sampled_from([Method.AIRMAIL, Method.EMS, Method.SEA, Method.EPACKET])
)
def test_small_carts_cost_what_brute_force_finds(engine: QuoteEngine, cart: tuple[CartItem, ...], region: str, method: Method) -> None:
    planner = Planner(engine, budget_seconds=GENEROUS)
    req = request(cart, region=region, methods=(method,))
    plan = planner.plan(req)
    optimum = brute_force(engine, req, method, planner.fill_factor)
    if optimum == math.inf:
        assert plan.plans == ()
        assert [u.method for u in plan.unavailable] == [method]
    else:
        (found,) = plan.plans
        assert found.optimal
        assert found.total_jpy == optimum


# --- reasons and bad input ---------------------------------------------------------------------


def test_an_item_larger_than_every_box_leaves_every_method_without_a_plan(planner: Planner) -> None:
    plan = planner.plan(request((item(500), item(2000, size=(900, 100, 100), sku="POSTER-TUBE"))))
    assert plan.plans == ()
    assert {u.reason for u in plan.unavailable} == {NO_BOX_FITS}
    assert "items[1] (Item of 2000 g) fits no box" in plan.unavailable[0].message


def test_an_empty_catalogue_is_a_plan_with_reasons(planner: Planner) -> None:
    plan = planner.plan(request((item(500),), boxes=()))
    assert plan.plans == ()
    assert {u.reason for u in plan.unavailable} == {NO_BOX_FITS}
    assert "the catalogue has no boxes" in plan.unavailable[0].message


def test_prohibited_contents_and_weight_limits_give_the_quotes_reasons(planner: Planner) -> None:
    aerosol = item(300, flags=frozenset({ContentsFlag.AEROSOL}), sku="SPRAY")
    plan = planner.plan(request((item(500), aerosol), methods=(Method.EMS, Method.AIRMAIL)))
    assert {(u.method, u.reason) for u in plan.unavailable} == {(Method.EMS, "PROHIBITED_CONTENTS"), (Method.AIRMAIL, "PROHIBITED_CONTENTS")}
    heavy = planner.plan(request((item(31_000, size=(300, 200, 200)),), methods=(Method.EMS,)))
    assert [(u.reason, u.message[:28]) for u in heavy.unavailable] == [("OVER_WEIGHT_LIMIT", "items[0] (Item of 31000 g) c")]


def test_acceptance_applies_per_parcel_as_in_get_quote(planner: Planner) -> None:
    goods = planner.plan(request((item(500), item(800)), region="US", methods=(Method.EMS,)))
    assert [u.reason for u in goods.unavailable] == ["SERVICE_SUSPENDED"]
    docs = planner.plan(request((item(500), item(800)), region="US", methods=(Method.EMS,), contents_type=ContentsType.DOCUMENTS))
    assert [p.method for p in docs.plans] == [Method.EMS]


def test_a_huge_cart_returns_the_best_plan_found_within_the_budget(engine: QuoteEngine) -> None:
    planner = Planner(engine, budget_seconds=0.05)
    cart = tuple(item(100 + 37 * n % 900, size=(60 + n % 90, 50, 40), sku=f"S{n}") for n in range(200))
    plan = planner.plan(request(cart, methods=(Method.EMS, Method.AIRMAIL)))
    assert {p.method for p in plan.plans} == {Method.EMS, Method.AIRMAIL}
    for p in plan.plans:
        assert not p.optimal
        assert sum(n for parcel in p.parcels for _, n in parcel.items) == 200


# --- the catalogue file ------------------------------------------------------------------------


def test_the_shipped_catalogue_loads() -> None:
    assert [b.name for b in CATALOGUE][:2] == ["mailer-a5", "box-xs"]
    assert all(b.tare_g > 0 and b.outer_mm >= b.inner_mm for b in CATALOGUE)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("", "the catalogue has no boxes"),
        ("a,10,10,10,12,12,12,5\na,10,10,10,12,12,12,5\n", "listed twice"),
        ("a,10,10,10,8,12,12,5\n", "smaller than the inner size"),
        ("a,10,x,10,12,12,12,5\n", "inner_width_mm must be a whole number"),
    ],
)
def test_a_broken_catalogue_names_its_problem(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "boxes.csv"
    path.write_text("name,inner_length_mm,inner_width_mm,inner_height_mm,outer_length_mm,outer_width_mm,outer_height_mm,tare_grams\n" + body)
    with pytest.raises(TableError, match=problem):
        load_box_catalogue(path)
