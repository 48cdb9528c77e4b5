"""The quote engine: prices every requested method for one cart, or says why it cannot be offered.

Japan Post prices each parcel by its actual weight rounded up into the published bracket; the
consolidation contract uses the larger of actual and volumetric weight. Several parcels are priced
one by one and summed per method. Everything that depends only on the destination (zone,
acceptance, limits, notes) is worked out once per destination when the engine is built, so a quote
is a handful of dictionary look-ups and bisections.

Two entry points give the same answers: quote() takes any QuoteRequest and answers with value
objects; quote_plain() takes the common request (every method, no contents, no insurance) as plain
numbers and answers with tuples, doing less work per lane, for the gRPC edge to encode directly.
Both price parcels with the same helpers (_over_limit, _in_brackets, _in_contract) and word refusals
with the same functions; tests/test_plain_quotes.py checks that their encoded answers are identical.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from rates.model import (
    ALL_METHODS,
    METHOD_PRODUCTS,
    ContentsFlag,
    DeliveryEstimate,
    Method,
    Parcel,
    ParcelPrice,
    Product,
    Quote,
    QuoteOption,
    QuoteRequest,
    Reason,
    TableRef,
    UnavailableMethod,
)
from rates.tables import Brackets, ConsolidationLane, DeliveryRule, InsuranceRule, Limit, RateBook, RateTable


@dataclass(frozen=True, slots=True)
class _Refusal:
    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class _Version:
    """One quotable table version as seen from one destination: its period and the zone's brackets."""

    effective_from: date
    effective_to: date | None
    table: RateTable
    brackets: Brackets | None


@dataclass(frozen=True, slots=True)
class _Lane:
    """What one product can do for one destination, worked out when the engine is built."""

    product: Product
    name: str
    zone: int
    tracked: bool
    refusal: _Refusal | None
    limit: Limit | None
    notes: tuple[str, ...]
    versions: tuple[_Version, ...] = ()
    insurance: InsuranceRule | None = None
    uninsured: Brackets | None = None
    delivery: DeliveryRule | None = None
    # contents flag -> the rule that bars it for this product and destination
    barred: dict[ContentsFlag, str] = field(default_factory=dict)
    consolidation: ConsolidationLane | None = None
    # The limit's six bounds as plain ints (see _bounds), for the per-parcel check.
    bounds: tuple[int, int, int, int, int, int] | None = None
    # Worked out on first use for each ship date and order date a quote asks about (nearly always
    # today), so a quote does not search the versions or count delivery days again.
    on_ship_date: dict[date, _Version | _Refusal] = field(default_factory=dict, compare=False)
    arrivals: dict[date, DeliveryEstimate | None] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class PricedLane:
    """A lane that can price, resolved for one ship date and order date: the table version in force,
    the fixed compensation per parcel and the arrival estimate are looked up once, not per quote."""

    method: Method
    method_value: str
    product: Product
    name: str
    zone: int
    tracked: bool
    notes: tuple[str, ...]
    table: TableRef | None
    arrival: DeliveryEstimate | None
    limit: Limit | None
    bounds: tuple[int, int, int, int, int, int] | None
    # Why the lane cannot price at all (destination not served, suspended), given first, and why it
    # cannot price on the ship date (no table in force), given after the limits: _price's order.
    closed: _Refusal | None
    refusal: _Refusal | None
    max_weights: tuple[int, ...] = ()
    prices: tuple[int, ...] = ()
    each: int | None = 0  # compensation per parcel; None: by weight, from `uninsured`
    uninsured: Brackets | None = None
    consolidation: ConsolidationLane | None = None


# A plain quote's option: (total JPY, the method's value, lane, postage, billable weight,
# compensation, ((billable grams, postage, bracket upper weight), ...)). The first two are the sort
# key of Quote.options, so a list of them sorts cheapest first.
PlainOption = tuple[int, str, PricedLane, int, int, int, tuple[tuple[int, int, int], ...]]


_UNKNOWN = object()
_NOWHERE = _Refusal(Reason.DESTINATION_NOT_SERVED, "")


# How a refusal that names the cart's own parcels is worded: one template each, filled in by
# str.format here and, with the same templates, by the gRPC edge's compiled quote kernel
# (kokokara/shipping/_quotekernel.pyx), so the sentences have one source.
OVER_WEIGHT = "parcels[{index}] weighs {weight}; {name} takes at most {limit}"
TOO_LONG = "parcels[{index}] is {length} long; {name} takes at most {limit}"
OVER_GIRTH = "parcels[{index}] measures {girth} in length plus girth; {name} takes at most {limit}"
OVER_SIDES = "parcels[{index}] measures {sides} in length + width + height; {name} takes at most {limit}"
UNDER_SIZE = "parcels[{index}] is {length} x {width}; {name} needs at least {min_length} x {min_width}"
PAST_TABLE = "parcels[{index}]: no published {name} rate for {weight} to zone {zone}"
OVER_CONTRACT = "parcels[{index}]: billable weight {weight} (actual or volumetric, divisor {divisor}) is over the contract's {limit}"
# A method whose every product refused: each product's reason, named and joined.
COMBINED = "{name}: {message}"
COMBINED_SEPARATOR = "; "


def grams_text(weight_g: int) -> str:
    """A weight as refusals word it: 850 g, 1.2 kg."""
    return f"{weight_g / 1000:g} kg" if weight_g >= 1000 else f"{weight_g} g"


def cm_text(mm: int) -> str:
    """A length as refusals word it: 15.5 cm."""
    return f"{mm / 10:g} cm"


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class QuoteEngine:
    def __init__(self, book: RateBook, *, handling_days: int = 3):
        self.book = book
        self.handling_days = handling_days
        # region -> ((method, (lane, ...)), ...) in ALL_METHODS order
        self._plans: dict[str, tuple[tuple[Method, tuple[_Lane, ...]], ...]] = {}
        regions = set(book.country_names) | set(book.consolidation.lanes)
        for region in regions:
            self._plans[region] = tuple((method, tuple(self._build_lane(region, product) for product in METHOD_PRODUCTS[method])) for method in ALL_METHODS)
        self._arrivals: dict[tuple[int, date], DeliveryEstimate] = {}
        # (region, ship date, order date) -> ((method, UnavailableMethod or None, lanes), ...)
        self._resolved: dict[tuple[str, date, date], tuple[tuple[Method, UnavailableMethod | None, tuple[PricedLane, ...]], ...]] = {}

    # -- built once per destination ---------------------------------------------------------------

    def _build_lane(self, region: str, product: Product) -> _Lane:
        book = self.book
        if product is Product.CONSOLIDATION:
            return self._consolidation_lane(region)

        info = book.products[product]
        zone = book.zones.get((region, info.zone_family), 0)
        acceptance = book.acceptance.get((region, info.acceptance_service))
        notes: list[str] = []
        refusal: _Refusal | None = None
        if acceptance is None and not zone:
            refusal = _Refusal(Reason.DESTINATION_NOT_SERVED, f"{info.name} does not go to {region}: it is not in Japan Post's destination lists")
        elif acceptance is not None and acceptance.status == "no_service":
            refusal = _Refusal(Reason.DESTINATION_NOT_SERVED, f"Japan Post has no {info.name} service to {region} (as of {acceptance.as_of})")
        elif acceptance is not None and acceptance.status == "not_acceptable":
            refusal = _Refusal(Reason.SERVICE_SUSPENDED, f"Japan Post is not accepting {info.name} items for {region} (as of {acceptance.as_of})")
        elif not zone:
            refusal = _Refusal(Reason.NO_PUBLISHED_RATE, f"no {info.zone_family} zone is known for {region}, so {info.name} has no published rate there")
        if acceptance is not None and refusal is None:
            notes.extend(f"Japan Post ({acceptance.as_of}): {n}" for n in _notes_for(acceptance.note, info.acceptance_service))
        versions = tuple(_Version(t.ref.effective_from, t.ref.effective_to, t, t.zones.get(zone)) for t in book.tables.get(product, ()) if t.quotable)
        if versions and not versions[-1].table.ref.effective_from_confirmed:
            latest = versions[-1].table
            notes.append(f"{latest.ref.table_id}: effective date not confirmed by a source ({latest.notes})")
        limit = book.limit(product, region)
        return _Lane(
            product=product,
            name=info.name,
            zone=zone,
            tracked=info.tracked,
            refusal=refusal,
            limit=limit,
            bounds=_bounds(limit) if limit is not None else None,
            notes=tuple(notes),
            versions=versions,
            insurance=book.insurance.get(product),
            uninsured=book.uninsured_compensation.get(product),
            delivery=book.delivery.get(product),
            barred=self._barred(product.value, region),
        )

    def _barred(self, product: str, region: str) -> dict[ContentsFlag, str]:
        barred: dict[ContentsFlag, str] = {}
        for flag, rules in self.book.prohibitions.items():
            for rule in rules:
                if rule.product in ("*", product) and rule.region_code in ("*", region):
                    barred[flag] = rule.rule
                    break
        return barred

    def _consolidation_lane(self, region: str) -> _Lane:
        contract = self.book.consolidation
        lane = contract.lanes.get(region)
        example = "EXAMPLE RATES: the consolidation contract shipped with the service is an example; replace it with your forwarder's."
        notes: tuple[str, ...] = (example,) if contract.is_example else ()
        refusal = None if lane else _Refusal(Reason.DESTINATION_NOT_SERVED, f"the consolidation contract has no rates for {region}")
        delivery = DeliveryRule(lane.min_days, lane.max_days, "day", f"{lane.min_days}-{lane.max_days} days (contract)") if lane else None
        return _Lane(
            product=Product.CONSOLIDATION,
            name="Consolidated shipping (forwarder contract)",
            zone=0,
            tracked=bool(lane and lane.tracked),
            refusal=refusal,
            limit=None,
            notes=notes,
            delivery=delivery,
            barred=self._barred(Product.CONSOLIDATION.value, region),
            consolidation=lane,
        )

    # -- per request ------------------------------------------------------------------------------

    def quote(self, request: QuoteRequest) -> Quote:
        region = request.region_code
        plan = self._plans.get(region)
        if plan is None:
            refusal = _Refusal(Reason.DESTINATION_NOT_SERVED, f"neither Japan Post nor the consolidation contract lists {region} as a destination")
            plan = tuple((m, ()) for m in ALL_METHODS)
        else:
            refusal = None
        if request.methods:
            wanted = set(request.methods)
            plan = tuple(step for step in plan if step[0] in wanted)
        flags = [(i, flag) for i, line in enumerate(request.contents) for flag in line.flags] if request.contents else []
        options: list[QuoteOption] = []
        unavailable: list[UnavailableMethod] = []
        price = self._price
        boxes = _boxes(request.parcels)
        for method, lanes in plan:
            if len(lanes) == 1:  # one product behind the method: its answer is the method's
                result = price(method, lanes[0], request, flags, boxes)
                if type(result) is _Refusal:
                    unavailable.append(UnavailableMethod(method, result.reason, result.message))  # type: ignore[union-attr]
                else:
                    options.append(result)  # type: ignore[arg-type]
                continue
            best: QuoteOption | None = None
            refusals: list[tuple[str, _Refusal]] = []
            for lane in lanes:
                result = price(method, lane, request, flags, boxes)
                if type(result) is _Refusal:
                    refusals.append((lane.name, result))
                elif best is None or (result.total_jpy, not result.tracked) < (best.total_jpy, not best.tracked):  # type: ignore[union-attr]
                    best = result  # type: ignore[assignment]
            if best is not None:
                options.append(best)
            elif refusal is not None:
                unavailable.append(UnavailableMethod(method, refusal.reason, refusal.message))
            else:
                unavailable.append(_combine(method, refusals))
        options.sort(key=_cheapest_first)
        return Quote(region, tuple(options), tuple(unavailable))

    def _price(
        self, method: Method, lane: _Lane, request: QuoteRequest, flags: list[tuple[int, ContentsFlag]], boxes: list[tuple[int, int, int, int]]
    ) -> QuoteOption | _Refusal:
        """One product's option for the request, or why it cannot be offered. `boxes` are the
        request's parcels as _boxes gives them, made once per quote."""
        if lane.refusal is not None:
            return lane.refusal
        if flags:
            barred = lane.barred
            for index, flag in flags:
                if flag in barred:
                    return _Refusal(Reason.PROHIBITED_CONTENTS, f"contents[{index}] ({flag.value}): {barred[flag]}")

        if lane.consolidation is not None:
            return self._price_consolidation(method, lane, lane.consolidation, request, boxes)

        parcels = request.parcels
        if lane.limit is not None and lane.bounds is not None:
            refusal = _over_limit(lane.name, lane.limit, lane.bounds, boxes)
            if refusal is not None:
                return refusal

        ship_date = request.ship_date
        version = lane.on_ship_date.get(ship_date)
        if version is None:
            version = self._version_on(lane, ship_date, request.region_code)
        if type(version) is _Refusal:
            return version
        assert type(version) is _Version and version.brackets is not None
        brackets = version.brackets

        # Insurance and the compensation limit are the same for every parcel of a cart (the cover is
        # split evenly), except the uninsured limit of products that pay by weight.
        insurance = lane.insurance
        fee = 0
        if request.insure:
            refusal = _check_insurance(lane.name, insurance, request)
            if refusal is not None:
                return refusal
            assert insurance is not None  # _check_insurance refuses products without insurance
            cover_each = -(-request.value_to_insure // len(parcels))
            fee = insurance.fee(cover_each)
            each: int | None = max(cover_each, insurance.included_cover_jpy) if cover_each else (insurance.included_cover_jpy or None)
        elif insurance is None or not insurance.insurable:
            each = 0
        else:
            each = insurance.included_cover_jpy or None
        found = _in_brackets(lane.name, lane.zone, brackets.max_weights, brackets.prices, each, lane.uninsured, [b[0] for b in boxes])
        if type(found) is _Refusal:
            return found
        priced, postage, weight, compensation = found  # type: ignore[misc]

        return QuoteOption(
            method,
            lane.product,
            lane.name,
            postage,
            fee * len(parcels),
            lane.zone,
            weight,
            lane.tracked,
            compensation,
            self._arrival(lane, request.order_date),
            version.table.ref,
            tuple(ParcelPrice(grams, price, fee, top) for grams, price, top in priced),
            lane.notes,
        )

    # -- plain requests ---------------------------------------------------------------------------

    def quote_plain(
        self, region: str, parcels: list[tuple[int, int, int, int]], ship_date: date, order_date: date
    ) -> tuple[list[PlainOption], list[UnavailableMethod]] | None:
        """quote() for the common request, answered with less work: every method, no contents, no
        insurance. `parcels` are (grams, sides longest first), sides 0 when not given. Options come
        cheapest first as PlainOption tuples, reasons in method order, exactly as quote() gives
        them (tests/test_plain_quotes.py compares the two); None for a region with no plan.

        What a destination's lanes need on a ship date and order date (table version, compensation,
        arrival, refusals that do not depend on the cart) is resolved on first use and kept, so a
        quote here is the limit check, a bisection and a few sums per lane."""
        resolved = self._resolved.get((region, ship_date, order_date))
        if resolved is None:
            if region not in self._plans:
                return None
            resolved = self._resolve(region, ship_date, order_date)
        options: list[PlainOption] = []
        unavailable: list[UnavailableMethod] = []
        price = _price_one if len(parcels) == 1 else _price_plain
        for method, fixed, lanes in resolved:
            if fixed is not None:
                unavailable.append(fixed)
            elif len(lanes) == 1:
                result = price(lanes[0], parcels)
                if type(result) is _Refusal:
                    unavailable.append(UnavailableMethod(method, result.reason, result.message))  # type: ignore[union-attr]
                else:
                    options.append(result)  # type: ignore[arg-type]
            else:
                best: PlainOption | None = None
                refusals: list[tuple[str, _Refusal]] = []
                for lane in lanes:
                    result = price(lane, parcels)
                    if type(result) is _Refusal:
                        refusals.append((lane.name, result))  # type: ignore[arg-type]
                    elif best is None or (result[0], not lane.tracked) < (best[0], not best[2].tracked):  # type: ignore[index]
                        best = result  # type: ignore[assignment]
                if best is not None:
                    options.append(best)
                else:
                    unavailable.append(_combine(method, refusals))
        options.sort()
        return options, unavailable

    def resolved(self, region: str, ship_date: date, order_date: date) -> tuple[tuple[Method, UnavailableMethod | None, tuple[PricedLane, ...]], ...] | None:
        """What quote_plain works from for one destination, ship date and order date: per method, in
        ALL_METHODS order, the refusal that holds whatever the cart (or None) and its resolved lanes.
        None for a region with no plan. The gRPC edge compiles this for its quote kernel."""
        found = self._resolved.get((region, ship_date, order_date))
        if found is None and region in self._plans:
            found = self._resolve(region, ship_date, order_date)
        return found

    def _resolve(self, region: str, ship_date: date, order_date: date) -> tuple[tuple[Method, UnavailableMethod | None, tuple[PricedLane, ...]], ...]:
        resolved = []
        for method, lanes in self._plans[region]:
            priced = tuple(self._priced_lane(method, lane, ship_date, order_date, region) for lane in lanes)
            closed = [(p.name, p.closed) for p in priced if p.closed is not None]
            fixed = None
            if len(closed) == len(priced):  # refused whatever the cart: one answer, made once
                fixed = UnavailableMethod(method, closed[0][1].reason, closed[0][1].message) if len(closed) == 1 else _combine(method, closed)
            resolved.append((method, fixed, priced))
        if len(self._resolved) >= 4096:
            self._resolved.clear()
        found = tuple(resolved)
        self._resolved[region, ship_date, order_date] = found
        return found

    def _priced_lane(self, method: Method, lane: _Lane, ship_date: date, order_date: date, region: str) -> PricedLane:
        # What every lane has; a lane the destination refuses (closed) needs nothing more.
        base = PricedLane(
            method, method.value, lane.product, lane.name, lane.zone, lane.tracked, lane.notes, None, None, lane.limit, lane.bounds, lane.refusal, None
        )
        if lane.refusal is not None:
            return base
        arrival = self._arrival(lane, order_date)
        if lane.consolidation is not None:
            return replace(base, table=self.book.consolidation.ref, arrival=arrival, consolidation=lane.consolidation)
        version = lane.on_ship_date.get(ship_date) or self._version_on(lane, ship_date, region)
        if type(version) is _Refusal:
            return replace(base, arrival=arrival, refusal=version)
        assert type(version) is _Version and version.brackets is not None
        insurance = lane.insurance
        return replace(
            base,
            table=version.table.ref,
            arrival=arrival,
            max_weights=version.brackets.max_weights,
            prices=version.brackets.prices,
            each=0 if insurance is None or not insurance.insurable else (insurance.included_cover_jpy or None),
            uninsured=lane.uninsured,
        )

    def _version_on(self, lane: _Lane, ship_date: date, region: str) -> _Version | _Refusal:
        """The lane's table version in force on `ship_date`, or why there is none; remembered."""
        version = next((v for v in lane.versions if v.effective_from <= ship_date and (v.effective_to is None or ship_date <= v.effective_to)), None)
        found: _Version | _Refusal
        if version is None:
            found = _Refusal(Reason.NO_PUBLISHED_RATE, f"no {lane.name} rate table is in force on {ship_date.isoformat()}")
        elif version.brackets is None:
            found = _Refusal(Reason.NO_PUBLISHED_RATE, f"Japan Post publishes no {lane.name} rate for zone {lane.zone} ({region}) in the tables we hold")
        else:
            found = version
        if len(lane.on_ship_date) >= 64:
            lane.on_ship_date.clear()
        lane.on_ship_date[ship_date] = found
        return found

    def _arrival(self, lane: _Lane, order_date: date) -> DeliveryEstimate | None:
        arrivals = lane.arrivals
        known = arrivals.get(order_date, _UNKNOWN)  # one look-up: other threads may clear the dict
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
        estimate = self._delivery(lane.delivery, order_date)
        if len(arrivals) >= 64:
            arrivals.clear()
        arrivals[order_date] = estimate
        return estimate

    def _price_consolidation(
        self, method: Method, lane: _Lane, contract: ConsolidationLane, request: QuoteRequest, boxes: list[tuple[int, int, int, int]]
    ) -> QuoteOption | _Refusal:
        if request.insure:
            return _Refusal(Reason.INSURANCE_NOT_AVAILABLE, "the consolidation contract offers no insurance")
        found = _in_contract(contract, boxes)
        if type(found) is _Refusal:
            return found
        priced, postage, weight = found  # type: ignore[misc]
        return QuoteOption(
            method,
            Product.CONSOLIDATION,
            lane.name,
            postage,
            0,
            0,
            weight,
            lane.tracked,
            0,
            self._arrival(lane, request.order_date),
            self.book.consolidation.ref,
            tuple(ParcelPrice(billable, price, 0, top) for billable, price, top in priced),
            lane.notes,
        )

    def _delivery(self, rule: DeliveryRule | None, order_date: date) -> DeliveryEstimate | None:
        if rule is None:
            return None
        key = (id(rule), order_date)
        cached = self._arrivals.get(key)
        if cached is not None:
            return cached
        shipped = order_date + timedelta(days=self.handling_days)
        if rule.unit == "month":
            earliest, latest = add_months(shipped, rule.min_value), add_months(shipped, rule.max_value)
        else:
            earliest, latest = shipped + timedelta(days=rule.min_value), shipped + timedelta(days=rule.max_value)
        estimate = DeliveryEstimate((earliest - shipped).days, (latest - shipped).days, earliest, latest, rule.published_text)
        if len(self._arrivals) > 4096:
            self._arrivals.clear()
        self._arrivals[key] = estimate
        return estimate


def _price_plain(lane: PricedLane, parcels: list[tuple[int, int, int, int]]) -> PlainOption | _Refusal:
    """_price for a plain request (no contents, no insurance), on a resolved lane."""
    if lane.closed is not None:
        return lane.closed
    if lane.consolidation is not None:
        by_contract = _in_contract(lane.consolidation, parcels)
        if type(by_contract) is _Refusal:
            return by_contract
        priced, postage, weight = by_contract  # type: ignore[misc]
        return postage, lane.method_value, lane, postage, weight, 0, tuple(priced)

    if lane.limit is not None and lane.bounds is not None:
        refusal = _over_limit(lane.name, lane.limit, lane.bounds, parcels)
        if refusal is not None:
            return refusal
    if lane.refusal is not None:
        return lane.refusal

    found = _in_brackets(lane.name, lane.zone, lane.max_weights, lane.prices, lane.each, lane.uninsured, [p[0] for p in parcels])
    if type(found) is _Refusal:
        return found
    in_brackets, postage, weight, compensation = found  # type: ignore[misc]
    return postage, lane.method_value, lane, postage, weight, compensation, tuple(in_brackets)


def _boxes(parcels: tuple[Parcel, ...]) -> list[tuple[int, int, int, int]]:
    """Parcels as the helpers below take them: (grams, sides longest first), sides 0 when no size is given."""
    return [(p.weight_g, *p.sides) if p.length_mm else (p.weight_g, 0, 0, 0) for p in parcels]


def _over_limit(name: str, limit: Limit, bounds: tuple[int, int, int, int, int, int], parcels: list[tuple[int, int, int, int]]) -> _Refusal | None:
    """Why the first parcel that breaks the lane's limit cannot go, or None. `parcels` are (grams,
    sides longest first), sides 0 when not given. One comparison chain per parcel; _check_limit,
    which words the refusal, runs only for a parcel that breaks a limit."""
    max_weight, max_length, max_girth, max_sides, min_length, min_width = bounds
    for index, (grams, a, b, c) in enumerate(parcels):
        if grams <= max_weight:
            if not a:
                continue
            if a <= max_length and a + 2 * (b + c) <= max_girth and a + b + c <= max_sides and a >= min_length and b >= min_width:
                continue
        refusal = _check_limit(name, limit, index, Parcel(grams, a, b, c))
        if refusal is not None:
            return refusal
    return None


def _in_contract(contract: ConsolidationLane, parcels: list[tuple[int, int, int, int]]) -> tuple[list[tuple[int, int, int]], int, int] | _Refusal:
    """Each parcel priced by the consolidation contract on the larger of its actual and volumetric
    weight, as (billable grams, price, bracket upper weight), with postage and weight summed; or
    OVER_WEIGHT_LIMIT for the first parcel past the contract's table."""
    brackets, divisor = contract.brackets, contract.volumetric_divisor
    priced = []
    postage = weight = 0
    for index, (grams, a, b, c) in enumerate(parcels):
        billable = max(grams, -(-(a * b * c) // divisor)) if a else grams
        found = brackets.price_for(billable)
        if found is None:
            return _over_contract(index, billable, divisor, brackets.max_weights[-1])
        price, top = found
        priced.append((billable, price, top))
        postage += price
        weight += billable
    return priced, postage, weight


def _in_brackets(
    name: str, zone: int, max_weights: tuple[int, ...], prices: tuple[int, ...], each: int | None, uninsured: Brackets | None, weights: list[int]
) -> tuple[list[tuple[int, int, int]], int, int, int] | _Refusal:
    """Each parcel priced by its weight rounded up into its bracket, as (grams, price, bracket upper
    weight), with the postage, weight and compensation summed; NO_PUBLISHED_RATE for the first
    parcel past the table. `each` is the compensation per parcel, or None to look it up by weight in
    `uninsured` (products that pay by weight when uninsured)."""
    past_table = len(max_weights)
    priced = []
    postage = weight = compensation = 0
    for index, grams in enumerate(weights):
        i = bisect_left(max_weights, grams)
        if i == past_table:
            return _past_table(name, index, grams, zone)
        price = prices[i]
        priced.append((grams, price, max_weights[i]))
        postage += price
        weight += grams
        if each is not None:
            compensation += each
        elif uninsured is not None:
            found = uninsured.price_for(grams)
            compensation += found[0] if found else 0
    return priced, postage, weight, compensation


def _price_one(lane: PricedLane, parcels: list[tuple[int, int, int, int]]) -> PlainOption | _Refusal:
    """_price_plain for a cart of one parcel (most carts), without the loops."""
    if lane.closed is not None or lane.consolidation is not None:
        return _price_plain(lane, parcels)
    grams, a, b, c = parcels[0]
    bounds = lane.bounds
    if bounds is not None and not (
        grams <= bounds[0] and (not a or (a <= bounds[1] and a + 2 * (b + c) <= bounds[2] and a + b + c <= bounds[3] and a >= bounds[4] and b >= bounds[5]))
    ):
        return _price_plain(lane, parcels)  # words the refusal, or finds the limit kept after all
    if lane.refusal is not None:
        return lane.refusal
    max_weights = lane.max_weights
    i = bisect_left(max_weights, grams)
    if i == len(max_weights):
        return _past_table(lane.name, 0, grams, lane.zone)
    price = lane.prices[i]
    each = lane.each
    if each is None:
        found = lane.uninsured.price_for(grams) if lane.uninsured is not None else None
        each = found[0] if found else 0
    return price, lane.method_value, lane, price, grams, each, ((grams, price, max_weights[i]),)


def _past_table(name: str, index: int, grams: int, zone: int) -> _Refusal:
    return _Refusal(Reason.NO_PUBLISHED_RATE, PAST_TABLE.format(index=index, name=name, weight=grams_text(grams), zone=zone))


def _over_contract(index: int, billable: int, divisor: int, top_weight: int) -> _Refusal:
    return _Refusal(Reason.OVER_WEIGHT_LIMIT, OVER_CONTRACT.format(index=index, weight=grams_text(billable), divisor=divisor, limit=grams_text(top_weight)))


def _cheapest_first(option: QuoteOption) -> tuple[int, str]:
    # _value_ rather than .value: the enum property costs more than the rest of the key.
    return option.postage_jpy + option.insurance_jpy, option.method._value_


def _notes_for(note: str, service: str) -> list[str]:
    """The parts of a destination's restriction note that concern one service: Japan Post writes one
    note per country ("EMS items to some regions are not acceptable. | Parcels to ...")."""
    keep = []
    for part in (p.strip() for p in note.replace(" | ", "|").split("|")):
        lowered = part.lower()
        if not part:
            continue
        if lowered.startswith("ems"):
            wanted = service == "ems"
        elif lowered.startswith("parcel"):
            wanted = service.startswith("parcel")
        elif lowered.startswith("registered") or lowered.startswith("letter"):
            wanted = service.startswith("letter")
        else:
            wanted = True
        if wanted:
            keep.append(part)
    return keep


_NO_MAXIMUM = 1 << 62


def _bounds(limit: Limit) -> tuple[int, int, int, int, int, int]:
    """A limit's six bounds as plain ints: no maximum is a huge one, no minimum is 0."""
    return (
        limit.max_weight_g,
        _NO_MAXIMUM if limit.max_length_mm is None else limit.max_length_mm,
        _NO_MAXIMUM if limit.max_length_plus_girth_mm is None else limit.max_length_plus_girth_mm,
        _NO_MAXIMUM if limit.max_sum_of_sides_mm is None else limit.max_sum_of_sides_mm,
        limit.min_length_mm or 0,
        limit.min_width_mm or 0,
    )


def _check_limit(name: str, limit: Limit, index: int, parcel: Parcel) -> _Refusal | None:
    if parcel.weight_g > limit.max_weight_g:
        return _Refusal(
            Reason.OVER_WEIGHT_LIMIT, OVER_WEIGHT.format(index=index, weight=grams_text(parcel.weight_g), name=name, limit=grams_text(limit.max_weight_g))
        )
    if not parcel.length_mm:
        return None
    a, b, c = parcel.sides
    if limit.max_length_mm is not None and a > limit.max_length_mm:
        return _Refusal(Reason.OVER_SIZE_LIMIT, TOO_LONG.format(index=index, length=cm_text(a), name=name, limit=cm_text(limit.max_length_mm)))
    if limit.max_length_plus_girth_mm is not None and a + 2 * (b + c) > limit.max_length_plus_girth_mm:
        return _Refusal(
            Reason.OVER_SIZE_LIMIT, OVER_GIRTH.format(index=index, girth=cm_text(a + 2 * (b + c)), name=name, limit=cm_text(limit.max_length_plus_girth_mm))
        )
    if limit.max_sum_of_sides_mm is not None and a + b + c > limit.max_sum_of_sides_mm:
        return _Refusal(Reason.OVER_SIZE_LIMIT, OVER_SIDES.format(index=index, sides=cm_text(a + b + c), name=name, limit=cm_text(limit.max_sum_of_sides_mm)))
    if (limit.min_length_mm is not None and a < limit.min_length_mm) or (limit.min_width_mm is not None and b < limit.min_width_mm):
        return _Refusal(
            Reason.UNDER_SIZE_LIMIT,
            UNDER_SIZE.format(
                index=index,
                length=cm_text(a),
                width=cm_text(b),
                name=name,
                min_length=cm_text(limit.min_length_mm or 0),
                min_width=cm_text(limit.min_width_mm or 0),
            ),
        )
    return None


def _check_insurance(name: str, insurance: InsuranceRule | None, request: QuoteRequest) -> _Refusal | None:
    if insurance is None or not insurance.insurable:
        return _Refusal(Reason.INSURANCE_NOT_AVAILABLE, f"{name} cannot be insured")
    cover_each = -(-request.value_to_insure // len(request.parcels))
    if cover_each > insurance.max_cover_jpy:
        return _Refusal(
            Reason.INSURANCE_NOT_AVAILABLE,
            f"{name} insures at most {insurance.max_cover_jpy:,} JPY per parcel; {cover_each:,} JPY was asked",
        )
    return None


def _combine(method: Method, refusals: list[tuple[str, _Refusal]]) -> UnavailableMethod:
    """One reason for a method whose every product refused: the last product's (the widest, e.g.
    parcel post for airmail) decides; the message names each product's reason."""
    reason = refusals[-1][1].reason
    if len(refusals) == 1:
        return UnavailableMethod(method, reason, refusals[0][1].message)
    return UnavailableMethod(method, reason, COMBINED_SEPARATOR.join(COMBINED.format(name=name, message=r.message) for name, r in refusals))
