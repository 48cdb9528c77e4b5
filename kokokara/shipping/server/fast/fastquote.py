"""Plain quotes through the compiled quote kernel (kokokara/shipping/server/fast/_quotekernel.pyx).

The kernel answers the common request (every method, merchandise, no contents, no insurance) from wire bytes to
wire bytes. This module gives it what it prices with: for each destination, on the day's ship and
order date, the engine's resolved lanes (QuoteEngine.resolved) compiled into plain numbers, the
encoded pieces wire.py writes, and the domain's refusal templates (rates/quote.py) rendered with
markers where a parcel's numbers go. Plans are compiled on first use and kept for the day.

Without the compiled module (no C compiler at install time) `available()` is False and the servicer
answers every request through the Python path, which gives the same bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from kokokara.shipping.server.fast import wire
from kokokara.shipping.v1 import common_pb2
from rates.lanes import NO_LIMIT, PricedLane
from rates.model import UnavailableMethod
from rates.quote import QuoteEngine
from rates.wording import (
    COMBINED,
    COMBINED_SEPARATOR,
    OVER_CONTRACT,
    OVER_GIRTH,
    OVER_SIDES,
    OVER_WEIGHT,
    PAST_TABLE,
    TOO_LONG,
    UNDER_SIZE,
    cm_text,
    grams_text,
)

try:
    from kokokara.shipping.server.fast import _quotekernel as kernel
    from kokokara.shipping.server.fast._quotekernel import Lane, Plan, Template
except ImportError:  # built without a C compiler: the Python path answers everything
    kernel = None  # type: ignore[assignment]


def available() -> bool:
    return kernel is not None


@dataclass(frozen=True)
class Limits:
    """The contract's bounds on a request (kokokara/shipping/server/contract.py), which the kernel checks as the
    Python path does before it takes a request."""

    parcels: int
    weight_g: int
    side_mm: int
    value_jpy: int
    postal_code: int
    batch: int


_MARK = "\x00"  # starts a slot in a rendered template; no name or number contains it
_REASON_INDEX = {r: i for i, r in enumerate(wire.REASONS)}
_METHOD_INDEX = {m: i for i, m in enumerate(wire.METHODS)}
# Options sort cheapest first, then by the method's value (PlainOption's order).
_RANK = {m: rank for rank, m in enumerate(sorted(wire.METHODS, key=lambda m: m.value))}
_configured: Limits | None = None
_configure_lock = threading.Lock()


def _configure(limits: Limits) -> None:
    global _configured
    with _configure_lock:
        if _configured == limits:
            return
        if _configured is not None:
            raise ValueError("the quote kernel is configured with other limits already")
        kernel.configure(
            wire.kernel_tags(),
            wire.kernel_unavailable_heads(),
            len(wire.REASONS),
            {r.name: i for r, i in _REASON_INDEX.items()},
            {
                "parcels": limits.parcels,
                "weight_g": limits.weight_g,
                "side_mm": limits.side_mm,
                "value_jpy": limits.value_jpy,
                "postal_code": limits.postal_code,
                "merchandise": common_pb2.CONTENTS_TYPE_MERCHANDISE,
            },
            COMBINED_SEPARATOR.encode(),
        )
        _configured = limits


def _slot(code: str) -> str:
    return _MARK + code


def template(text: str) -> Template:
    """A sentence rendered with _slot markers, as the kernel's Template."""
    first, *rest = text.split(_MARK)
    if any(not piece for piece in rest):
        raise ValueError(f"a slot without its code in {text!r}")
    return kernel.Template("".join(p[0] for p in rest).encode(), (first.encode(), *(p[1:].encode() for p in rest)))


def _kernel_bound(value: int) -> int:
    return -1 if value == NO_LIMIT else value  # the kernel's "no limit"


def compile_lane(lane: PricedLane) -> Lane:
    """One resolved lane as the kernel's Lane: what QuoteEngine._price reads for a request with no
    contents and no insurance, as numbers."""
    name = lane.name
    if _MARK in name:
        raise ValueError(f"a product name holds the template marker: {name!r}")
    i, w = _slot("i"), _slot("w")
    spec: dict[str, object] = {"tracked": lane.tracked, "combined": template(COMBINED.format(name=name, message=_slot("m")))}
    if lane.closed is not None:
        spec["closed"] = (_REASON_INDEX[lane.closed.reason], lane.closed.message.encode())
        return kernel.Lane(spec)
    spec["head"] = wire.lane_head(lane) if lane.table is not None else b""
    if lane.consolidation is not None:
        contract = lane.consolidation
        brackets, divisor = contract.brackets, contract.volumetric_divisor
        over = OVER_CONTRACT.format(index=i, weight=_slot("b"), divisor=divisor, limit=grams_text(brackets.max_weights[-1]))
        spec["contract"] = (brackets.max_weights, brackets.prices, divisor, template(over))
        return kernel.Lane(spec)
    if lane.limit is not None and lane.bounds is not None:
        limit = lane.limit
        bounds = tuple(_kernel_bound(b) for b in lane.bounds)
        texts = (
            OVER_WEIGHT.format(index=i, weight=w, name=name, limit=grams_text(limit.max_weight_g)),
            TOO_LONG.format(index=i, length=_slot("l"), name=name, limit=cm_text(limit.max_length_mm or 0)),
            OVER_GIRTH.format(index=i, girth=_slot("g"), name=name, limit=cm_text(limit.max_length_plus_girth_mm or 0)),
            OVER_SIDES.format(index=i, sides=_slot("s"), name=name, limit=cm_text(limit.max_sum_of_sides_mm or 0)),
            UNDER_SIZE.format(
                index=i,
                length=_slot("l"),
                width=_slot("x"),
                name=name,
                min_length=cm_text(limit.min_length_mm or 0),
                min_width=cm_text(limit.min_width_mm or 0),
            ),
        )
        spec["limit"] = (bounds, tuple(template(t) for t in texts))
    if lane.refusal is not None:
        spec["refusal"] = (_REASON_INDEX[lane.refusal.reason], lane.refusal.message.encode())
        return kernel.Lane(spec)
    spec["brackets"] = (lane.max_weights, lane.prices, template(PAST_TABLE.format(index=i, name=name, weight=w, zone=lane.zone)))
    spec["each"] = lane.each
    if lane.uninsured is not None:
        spec["uninsured"] = (lane.uninsured.max_weights, lane.uninsured.prices)
    return kernel.Lane(spec)


def compile_plan(region: str, resolved: tuple[tuple[object, UnavailableMethod | None, tuple[PricedLane, ...]], ...]) -> Plan | None:
    """QuoteEngine.resolved()'s answer for one destination as the kernel's Plan; None where an
    acceptance rule in force depends on the declared value, which only the Python path weighs."""
    if any(lane.pending is not None for _, _, lanes in resolved for lane in lanes):
        return None
    methods = []
    for method, fixed, lanes in resolved:
        index, rank = _METHOD_INDEX[method], _RANK[method]  # type: ignore[index]
        if fixed is not None:
            methods.append(kernel.MethodPlan(index, rank, wire.unavailable(fixed), ()))
        else:
            methods.append(kernel.MethodPlan(index, rank, None, tuple(compile_lane(lane) for lane in lanes)))
    return kernel.Plan(wire.region_field(region), tuple(methods))


class _Day:
    """The plans compiled for one day (ship date and order date: today in Japan)."""

    __slots__ = ("day", "engine", "known", "plans")

    def __init__(self, day: date, engine: QuoteEngine, known: frozenset[str]) -> None:
        self.day, self.engine, self.known = day, engine, known
        self.plans: dict[bytes, Plan | None] = {}

    def resolve(self, region_code: bytes) -> Plan | None:
        """The plan for a destination, compiled now; None where the Python path must answer."""
        try:
            region = region_code.decode("ascii")
        except UnicodeDecodeError:
            return None
        if region not in self.known:
            return None  # not remembered: only known regions take a place in `plans`
        resolved = self.engine.resolved(region, self.day, self.day)
        plan = None if resolved is None else compile_plan(region, resolved)
        self.plans[region_code] = plan
        return plan


class FastQuotes:
    """The quote kernel bound to one engine (EngineHolder makes one per engine it is given)."""

    def __init__(self, engine: QuoteEngine, known_regions: frozenset[str], limits: Limits) -> None:
        if kernel is None:
            raise RuntimeError("the quote kernel is not built")
        _configure(limits)
        self._engine, self._known, self._limits = engine, known_regions, limits
        self._today: _Day | None = None

    def _day(self, today: date) -> _Day:
        current = self._today
        if current is None or current.day != today:
            current = self._today = _Day(today, self._engine, self._known)
        return current

    def prepare(self, today: date) -> int:
        """Compiles every destination's plan for `today` now (about 0.3 ms each, 227 destinations:
        70 ms) rather than on each destination's first quote; returns how many have a plan."""
        day = self._day(today)
        return sum(day.resolve(region.encode()) is not None for region in self._known)

    def quote(self, request: bytes, today: date) -> bytes | None:
        """The serialised GetQuoteResponse, or None: the Python path answers that request."""
        day = self._day(today)
        answer: bytes | None = kernel.quote(request, day.plans, day.resolve)
        return answer

    def batch(self, request: bytes, today: date, fallback: Callable[[bytes], bytes], check_deadline: Callable[[], None]) -> bytes | None:
        """The serialised BatchGetQuotesResponse: plain requests answered here, the others by
        `fallback(serialised GetQuoteRequest)`, which returns its encoded results entry. None when
        the batch itself is malformed, empty or too large, for the Python path to refuse."""
        day = self._day(today)
        answer: bytes | None = kernel.quote_batch(request, day.plans, day.resolve, fallback, check_deadline, self._limits.batch)
        return answer
