"""Packing plans: the cheapest way to ship a whole cart, parcel by parcel.

The checkout knows the cart (items with weight, size, quantity, value and contents flags), not the
parcels. A plan splits the cart's units over boxes of the shop's catalogue so that the sum of the
parcels' prices is as low as can be found, per method, and names each parcel's box, items, gross
weight, outer size and the Japan Post product and price the quote engine gives it.

Prices come from the quote engine alone: every candidate parcel is priced by `QuoteEngine.quote`
with exactly the request a label for that parcel makes (`parcel_quote_request`: the parcel's gross
weight and the box's outer size, its items as contents lines, the contents type, ship date and
insurance), so acceptance, limits, prohibited contents and value thresholds apply per parcel as
they do in GetQuote and CreateLabel. For AIRMAIL the engine offers, per parcel, the cheaper of small
packet and parcel by air.

Search. The cost of a parcel depends only on how many units of each cart line it holds (a
multiset), so candidate parcels are multisets, priced once each and kept. Carts of up to
`exact_units` units are solved exactly: a dynamic programme over the multisets of the cart
(each partition is reached through the parcel holding the first remaining unit), pruned by
feasibility: a parcel that cannot be priced makes every larger parcel unpriceable (it is heavier,
no box that fits it fits less, and it holds the same contents and more value). Larger carts are
planned greedily (each unit, heaviest first, goes where it adds least), improved by local search
(moves and merges), and the priced parcels found on the way are recombined by a set-partitioning
MILP solved with HiGHS; such plans are not proven optimal. Every search stops at the request's time
budget and answers the best plan found by then, with `optimal` False.

The values (cart, boxes, plans) are rates/cart.py's.

Fit test (docs/packing.md): an item fits a box when its three sides, sorted, are each no longer
than the box's inner sides, sorted (any rotation that keeps the faces parallel to the box's), and a
set of items fits when each does and their volumes sum to at most `fill_factor` of the box's inner
volume. It does not prove that a packing exists (that is a 3-D packing problem): the fill factor is
the margin the warehouse needs in practice.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rates.cart import DEFAULT_FILL_FACTOR, NO_BOX_FITS, Box, CartItem, MethodPlan, PlannedParcel, PlanRefusal, PlanRequest, ShipmentPlan, parcel_quote_request
from rates.model import ALL_METHODS, Method, QuoteOption
from rates.quote import QuoteEngine

__all__ = ["DEFAULT_BUDGET_SECONDS", "DEFAULT_EXACT_UNITS", "Planner"]


DEFAULT_EXACT_UNITS = 10
DEFAULT_BUDGET_SECONDS = 0.05
_INF = math.inf
# The greedy start tries a unit in the parcels opened last, this many, so a large cart's start plan
# costs units x this many prices at most.
_GREEDY_OPEN = 4


class _Budget(Exception):
    """The request's time budget is spent."""


# A priced parcel, per method asked so far: (total JPY, box index, option), or None when the method
# refuses it in every box that holds it.
_Priced = dict[Method, tuple[int, int, QuoteOption] | None]


class _Pricer:
    """Prices multisets of the cart's units (tuples of counts per line) in their cheapest fitting
    box, per method, through the quote engine, and keeps every answer.

    Boxes are tried lightest first, and a box is not quoted for a method once a box that dominates
    it (no heavier, and no longer in any sorted outer side) has a price for it: Japan Post prices by
    weight and refuses by size limits, the consolidation contract by the larger of actual and
    volumetric weight, so the dominated box can cost no less. It is quoted when the dominating box
    was refused (a small packet's minimum size is the one limit a larger box can meet and a smaller
    one not). The brute-force test, which quotes every box, checks the result."""

    def __init__(self, engine: QuoteEngine, request: PlanRequest, fill_factor: float, deadline: float, clock: Callable[[], float]):
        self.engine = engine
        self.request = request
        self.deadline = deadline
        self.clock = clock
        self.items = request.items
        boxes = request.boxes
        self.boxes = boxes
        self.order = sorted(range(len(boxes)), key=lambda b: (boxes[b].tare_g, boxes[b].inner_volume, b))
        outer = [sorted(box.outer_mm, reverse=True) for box in boxes]
        self.dominated_by = [
            [a for a in range(len(boxes)) if a != b and boxes[a].tare_g <= boxes[b].tare_g and all(x <= y for x, y in zip(outer[a], outer[b], strict=True))]
            for b in range(len(boxes))
        ]
        # fits[i][b]: a unit of line i fits box b by its sides; room[b]: the volume the fill factor allows.
        self.fits = [[all(s <= t for s, t in zip(item.sides, box.inner_sorted, strict=True)) for box in boxes] for item in self.items]
        self.room = [box.inner_volume * fill_factor for box in boxes]
        self.cache: dict[tuple[int, ...], _Priced] = {}
        self.refusals: dict[tuple[int, ...], dict[Method, tuple[str, str]]] = {}
        self.quotes = 0

    def boxes_for(self, counts: tuple[int, ...]) -> list[int]:
        """The boxes that hold the multiset, lightest first."""
        volume = sum(n * item.volume for n, item in zip(counts, self.items, strict=True) if n)
        lines = [i for i, n in enumerate(counts) if n]
        return [b for b in self.order if volume <= self.room[b] and all(self.fits[i][b] for i in lines)]

    def price(self, counts: tuple[int, ...], methods: Sequence[Method]) -> _Priced:
        entry = self.cache.get(counts)
        if entry is None:
            entry = self.cache[counts] = {}
        todo = [m for m in methods if m not in entry]
        if not todo:
            return entry
        if self.clock() > self.deadline:
            raise _Budget
        found: dict[Method, tuple[int, int, QuoteOption]] = {}
        priced_in: dict[Method, set[int]] = {m: set() for m in todo}
        refused = self.refusals.setdefault(counts, {})
        for b in self.boxes_for(counts):
            ask = tuple(m for m in todo if not any(a in priced_in[m] for a in self.dominated_by[b]))
            if not ask:
                continue
            quote = self.engine.quote(parcel_quote_request(self.request, counts, self.boxes[b], ask))
            self.quotes += 1
            for option in quote.options:
                method = option.method
                priced_in[method].add(b)
                held = found.get(method)
                if held is None or option.total_jpy < held[0]:
                    found[method] = (option.total_jpy, b, option)
            for u in quote.unavailable:
                refused.setdefault(u.method, (u.reason.value, u.message))
        for m in todo:
            entry[m] = found.get(m)
        return entry

    def cost(self, counts: tuple[int, ...], method: Method) -> float:
        found = self.price(counts, (method,))[method]
        return _INF if found is None else found[0]


@dataclass(slots=True)
class _Search:
    """The best partition found so far per method: parcels as count tuples."""

    best: dict[Method, tuple[float, list[tuple[int, ...]]]] = field(default_factory=dict)
    proven: set[Method] = field(default_factory=set)  # methods whose best is the exact search's

    def offer(self, method: Method, cost: float, parcels: list[tuple[int, ...]]) -> None:
        held = self.best.get(method)
        if held is None or cost < held[0]:
            self.best[method] = (cost, parcels)


class Planner:
    """Plans shipments against one quote engine. `budget_seconds` is the default time budget per
    request; `exact_units` the largest cart (in units) searched exhaustively."""

    def __init__(
        self,
        engine: QuoteEngine,
        *,
        fill_factor: float = DEFAULT_FILL_FACTOR,
        exact_units: int = DEFAULT_EXACT_UNITS,
        budget_seconds: float = DEFAULT_BUDGET_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not 0 < fill_factor <= 1:
            raise ValueError(f"fill_factor must be in (0, 1], got {fill_factor}")
        self.engine = engine
        self.fill_factor = fill_factor
        self.exact_units = exact_units
        self.budget_seconds = budget_seconds
        self.clock = clock

    def plan(self, request: PlanRequest, *, budget_seconds: float | None = None) -> ShipmentPlan:
        start = self.clock()
        budget = self.budget_seconds if budget_seconds is None else budget_seconds
        deadline = start + budget
        methods = tuple(dict.fromkeys(request.methods)) if request.methods else ALL_METHODS
        pricer = _Pricer(self.engine, request, self.fill_factor, math.inf, self.clock)
        lines = len(request.items)
        quantities = tuple(item.quantity for item in request.items)

        # Each unit alone: a method that cannot carry some unit by itself has no plan. This runs
        # whatever the budget (one quote per line and undominated box): it is what a plan with
        # reasons needs, and one parcel per unit is then always a plan.
        refusals: dict[Method, PlanRefusal] = {}
        for i, item in enumerate(request.items):
            counts = tuple(1 if j == i else 0 for j in range(lines))
            priced = pricer.price(counts, methods)
            for method in methods:
                if priced[method] is not None or method in refusals:
                    continue
                where = f"items[{i}] ({item.label[:40]})"
                if not pricer.boxes_for(counts):
                    refusals[method] = PlanRefusal(method, NO_BOX_FITS, f"{where} fits no box of the catalogue{_no_fit_hint(item, request.boxes)}")
                else:
                    reason, message = pricer.refusals[counts][method]
                    refusals[method] = PlanRefusal(method, reason, f"{where} cannot go even alone: {message}")
        open_methods = tuple(m for m in methods if m not in refusals)

        search = _Search()
        if open_methods:
            _singletons(pricer, open_methods, quantities, search)
            pricer.deadline = deadline
            try:
                _greedy(pricer, open_methods, quantities, search)
                if sum(quantities) <= self.exact_units:
                    _exact(pricer, open_methods, quantities, search)
                else:
                    # Local search until 70% of the budget, then recombination with what is left.
                    pricer.deadline = start + 0.7 * budget
                    with contextlib.suppress(_Budget):
                        _local_search(pricer, open_methods, search)
                    pricer.deadline = deadline
                    _recombine(pricer, open_methods, quantities, search)
            except _Budget:
                pass

        plans = []
        for method in open_methods:
            cost, parcels = search.best[method]
            built = []
            for counts in sorted(parcels, key=lambda c: (-pricer.cost(c, method), c)):
                found = pricer.cache[counts][method]
                assert found is not None
                _total, b, option = found
                box = request.boxes[b]
                gross = box.tare_g + sum(n * item.weight_g for n, item in zip(counts, request.items, strict=True))
                built.append(PlannedParcel(box, tuple((i, n) for i, n in enumerate(counts) if n), gross, option))
            plans.append(MethodPlan(method, tuple(built), int(cost), method in search.proven))
        plans.sort(key=lambda p: (p.total_jpy, p.method.value))
        return ShipmentPlan(request.region_code, tuple(plans), tuple(refusals[m] for m in methods if m in refusals))


def _no_fit_hint(item: CartItem, boxes: tuple[Box, ...]) -> str:
    if not boxes:
        return " (the catalogue has no boxes)"
    largest = max(boxes, key=lambda b: b.inner_sorted)
    a, b, c = item.sides
    x, y, z = largest.inner_sorted
    return f": it measures {a}x{b}x{c} mm; the largest box, {largest.name!r}, is {x}x{y}x{z} mm inside"


def _cost(pricer: _Pricer, method: Method, parcels: list[tuple[int, ...]]) -> float:
    return sum(pricer.cost(counts, method) for counts in parcels)


def _singletons(pricer: _Pricer, methods: tuple[Method, ...], quantities: tuple[int, ...], search: _Search) -> None:
    """The plans every search starts from: one parcel per unit, and the whole cart in one parcel."""
    lines = len(quantities)
    parcels = [tuple(1 if j == i else 0 for j in range(lines)) for i, q in enumerate(quantities) for _ in range(q)]
    for method in methods:
        search.offer(method, _cost(pricer, method, parcels), parcels)
    # The whole cart in one parcel, where a box holds it: a plan is never dearer than that.
    whole = pricer.price(quantities, methods)
    for method in methods:
        found = whole[method]
        if found is not None:
            search.offer(method, found[0], [quantities])


def _add(counts: tuple[int, ...], line: int, n: int = 1) -> tuple[int, ...]:
    return (*counts[:line], counts[line] + n, *counts[line + 1 :])


def _greedy(pricer: _Pricer, methods: tuple[Method, ...], quantities: tuple[int, ...], search: _Search) -> None:
    """Each unit, heaviest first, into the open parcel it makes dearer by the least (or a new one)."""
    lines = len(quantities)
    order = sorted(range(lines), key=lambda i: (-pricer.items[i].weight_g, -pricer.items[i].volume, i))
    empty = (0,) * lines
    for method in methods:
        parcels: list[tuple[int, ...]] = []
        costs: list[float] = []
        for i in order:
            alone = pricer.cost(_add(empty, i), method)
            for _ in range(quantities[i]):
                best_j, best_delta, best_cost = -1, alone, alone
                for j in range(max(0, len(parcels) - _GREEDY_OPEN), len(parcels)):
                    cost = pricer.cost(_add(parcels[j], i), method)
                    if cost - costs[j] < best_delta:
                        best_j, best_delta, best_cost = j, cost - costs[j], cost
                if best_j < 0:
                    parcels.append(_add(empty, i))
                    costs.append(best_cost)
                else:
                    parcels[best_j] = _add(parcels[best_j], i)
                    costs[best_j] = best_cost
        search.offer(method, sum(costs), parcels)


def _exact(pricer: _Pricer, methods: tuple[Method, ...], quantities: tuple[int, ...], search: _Search) -> None:
    """The cheapest partition of the cart into parcels, per method, over every multiset of its
    units: f(S) = min over parcels P within S holding S's first unit of cost(P) + f(S - P)."""
    lines = len(quantities)
    radix = [q + 1 for q in quantities]
    weights = [1] * lines
    for i in range(1, lines):
        weights[i] = weights[i - 1] * radix[i - 1]
    size = math.prod(radix)
    vectors: list[tuple[int, ...]] = [()] * size
    for idx in range(size):
        rest, digits = idx, []
        for r in radix:
            digits.append(rest % r)
            rest //= r
        vectors[idx] = tuple(digits)

    # Price every multiset a parcel could be, smallest first; a multiset one of whose one-unit-
    # smaller multisets a method refuses is refused by it too (see the module's docstring).
    cost: dict[Method, list[float]] = {m: [_INF] * size for m in methods}
    for idx in range(1, size):
        vec = vectors[idx]
        smaller = [idx - weights[i] for i in range(lines) if vec[i]]
        allowed = [m for m in methods if all(j == 0 or cost[m][j] < _INF for j in smaller)]
        if not allowed:
            continue
        priced = pricer.price(vec, allowed)
        for m in allowed:
            found = priced[m]
            if found is not None:
                cost[m][idx] = found[0]

    # Each multiset's parcels that hold its first unit and some method can price, shared by every method.
    feasible = [any(cost[m][j] < _INF for m in methods) for j in range(size)]
    subs: list[list[int]] = [[]] * size
    for idx in range(1, size):
        vec = vectors[idx]
        first = next(i for i in range(lines) if vec[i])
        within = [0]
        for i in range(lines):
            if vec[i]:
                w = weights[i]
                within = [a + k * w for a in within for k in range(1 if i == first else 0, vec[i] + 1)]
        subs[idx] = [j for j in within if feasible[j]]
    if pricer.clock() > pricer.deadline:
        raise _Budget
    for m in methods:
        column = cost[m]
        best = [_INF] * size
        choice = [0] * size
        best[0] = 0.0
        for idx in range(1, size):
            top, pick = _INF, 0
            for j in subs[idx]:
                total = column[j] + best[idx - j]
                if total < top:
                    top, pick = total, j
            best[idx], choice[idx] = top, pick
        idx = size - 1
        if best[idx] < _INF:
            parcels = []
            while idx:
                parcels.append(vectors[choice[idx]])
                idx -= choice[idx]
            search.offer(m, best[size - 1], parcels)
            search.proven.add(m)


def _local_search(pricer: _Pricer, methods: tuple[Method, ...], search: _Search) -> None:
    """Merges of two parcels and moves of one unit between parcels, while they make the plan cheaper."""
    for method in methods:
        parcels = list(search.best[method][1])
        improved = True
        while improved:
            improved = False
            costs = [pricer.cost(c, method) for c in parcels]
            for a, b in itertools.combinations(range(len(parcels)), 2):
                merged = tuple(x + y for x, y in zip(parcels[a], parcels[b], strict=True))
                if pricer.cost(merged, method) < costs[a] + costs[b]:
                    parcels[a] = merged
                    del parcels[b]
                    improved = True
                    break
            if not improved:
                for a, b in itertools.permutations(range(len(parcels)), 2):
                    for line, n in enumerate(parcels[a]):
                        if not n:
                            continue
                        source, target = _add(parcels[a], line, -1), _add(parcels[b], line)
                        to = pricer.cost(target, method)
                        if to < _INF and to + (pricer.cost(source, method) if any(source) else 0) < costs[a] + costs[b]:
                            parcels[a], parcels[b] = source, target
                            parcels = [p for p in parcels if any(p)]
                            improved = True
                            break
                    if improved:
                        break
            if improved:
                search.offer(method, _cost(pricer, method, parcels), list(parcels))


def _recombine(pricer: _Pricer, methods: tuple[Method, ...], quantities: tuple[int, ...], search: _Search) -> None:
    """The cheapest plan made of parcels priced so far (each usable several times), as a set-
    partitioning MILP solved by HiGHS within what is left of the budget, started from the best plan
    found so far."""
    import highspy
    import numpy as np

    lines = len(quantities)
    for method in methods:
        left = pricer.deadline - pricer.clock()
        if left <= 0.001:
            raise _Budget
        columns = [(c, found[0]) for c, priced in pricer.cache.items() if (found := priced.get(method)) is not None]
        n = len(columns)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("log_to_console", False)
        h.setOptionValue("time_limit", left)
        h.setOptionValue("threads", 1)
        upper = np.array([float(min(quantities[i] // c[i] for i in range(lines) if c[i])) for c, _ in columns])
        h.addVars(n, np.zeros(n), upper)
        every = np.arange(n, dtype=np.int32)
        h.changeColsIntegrality(n, every, np.full(n, highspy.HighsVarType.kInteger))
        h.changeColsCost(n, every, np.array([float(cost) for _, cost in columns]))
        for line, q in enumerate(quantities):
            idx = np.array([j for j, (c, _) in enumerate(columns) if c[line]], dtype=np.int32)
            h.addRow(float(q), float(q), len(idx), idx, np.array([float(columns[j][0][line]) for j in idx]))
        start = dict.fromkeys((c for c, _ in columns), 0)
        for c in search.best[method][1]:
            start[c] += 1
        solution = highspy.HighsSolution()
        solution.col_value = [float(start[c]) for c, _ in columns]
        h.setSolution(solution)
        h.run()
        values = h.getSolution().col_value
        if len(values) != n:
            continue
        parcels = [c for (c, _), v in zip(columns, values, strict=True) for _ in range(round(v))]
        if any(sum(p[i] for p in parcels) != quantities[i] for i in range(lines)):
            continue  # stopped before any feasible point
        search.offer(method, _cost(pricer, method, parcels), parcels)
