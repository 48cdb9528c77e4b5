"""What each destination's products can do, worked out once per destination, and resolved for a
ship date, an order date and a contents type: the lanes the quote engine prices (rates/quote.py)
and the gRPC edge's quote kernel compiles (kokokara/shipping/server/fast/fastquote.py).

Acceptance is decided here, in one place: the crawl of Japan Post's country pages when the lane
is built, and the dated rules in force on the ship date (rates/acceptance.py) when it is resolved.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from rates.acceptance import AcceptanceRule, Status, decide, resumed_note, suspended_message, within_note
from rates.book import Brackets, ConsolidationLane, DeliveryRule, InsuranceRule, Limit, RateBook, RateTable
from rates.model import ALL_METHODS, METHOD_PRODUCTS, ContentsFlag, ContentsType, DeliveryEstimate, Method, Product, Reason, TableRef, UnavailableMethod
from rates.wording import Refusal, combine, notes_for

_UNKNOWN = object()
NO_LIMIT = 1 << 62  # a bound a limit does not set: larger than any parcel


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
    refusal: Refusal | None  # the crawl's: not served, suspended, no zone
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
    rules: tuple[AcceptanceRule, ...] = ()  # the dated acceptance rules that cover this lane
    open_refusal: Refusal | None = None  # the refusal left when a rule resumes the service
    # Worked out on first use for each ship date and order date a quote asks about (nearly always
    # today), so a quote does not search the versions or count delivery days again.
    on_ship_date: dict[date, _Version | Refusal] = field(default_factory=dict, compare=False)
    arrivals: dict[date, DeliveryEstimate | None] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class PricedLane:
    """A lane resolved for one ship date, order date and contents type: the table version in force,
    the acceptance rule in force, the fixed compensation per parcel and the arrival estimate are
    looked up once, not per quote."""

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
    # Why the lane cannot price at all (not served, suspended by the crawl or a rule), given first,
    # and why it cannot price on the ship date (no table in force), given after the limits.
    closed: Refusal | None
    refusal: Refusal | None
    max_weights: tuple[int, ...] = ()
    prices: tuple[int, ...] = ()
    each: int | None = 0  # compensation per parcel; None: by weight, from `uninsured`
    uninsured: Brackets | None = None
    consolidation: ConsolidationLane | None = None
    insurance: InsuranceRule | None = None
    barred: dict[ContentsFlag, str] = field(default_factory=dict)
    # A suspension in force that holds only above a declared value: checked per parcel; the notes
    # an option carries when the value is within it.
    pending: AcceptanceRule | None = None
    pending_notes: tuple[str, ...] = ()
    rule: AcceptanceRule | None = None  # the dated rule that decided acceptance, if any (else the crawl)


Resolved = tuple[tuple[Method, UnavailableMethod | None, tuple[PricedLane, ...]], ...]


class Lanes:
    def __init__(self, book: RateBook, *, handling_days: int = 3):
        self.book = book
        self.handling_days = handling_days
        # region -> ((method, (lane, ...)), ...) in ALL_METHODS order
        self._plans: dict[str, tuple[tuple[Method, tuple[_Lane, ...]], ...]] = {}
        regions = set(book.country_names) | set(book.consolidation.lanes)
        for region in regions:
            self._plans[region] = tuple((method, tuple(self._build_lane(region, product) for product in METHOD_PRODUCTS[method])) for method in ALL_METHODS)
        self._arrivals: dict[tuple[int, date], DeliveryEstimate] = {}
        # (region, ship date, order date, contents type) -> ((method, UnavailableMethod or None, lanes), ...)
        self._resolved: dict[tuple[str, date, date, ContentsType], Resolved] = {}

    # -- built once per destination ---------------------------------------------------------------

    def _build_lane(self, region: str, product: Product) -> _Lane:
        book = self.book
        if product is Product.CONSOLIDATION:
            return self._consolidation_lane(region)

        info = book.products[product]
        zone = book.zones.get((region, info.zone_family), 0)
        acceptance = book.acceptance.get((region, info.acceptance_service))
        notes: list[str] = []
        refusal: Refusal | None = None
        if acceptance is None and not zone:
            refusal = Refusal(Reason.DESTINATION_NOT_SERVED, f"{info.name} does not go to {region}: it is not in Japan Post's destination lists")
        elif acceptance is not None and acceptance.status == "no_service":
            refusal = Refusal(Reason.DESTINATION_NOT_SERVED, f"Japan Post has no {info.name} service to {region} (as of {acceptance.as_of})")
        elif acceptance is not None and acceptance.status == "not_acceptable":
            refusal = Refusal(Reason.SERVICE_SUSPENDED, f"Japan Post is not accepting {info.name} items for {region} (as of {acceptance.as_of})")
        elif not zone:
            refusal = Refusal(Reason.NO_PUBLISHED_RATE, f"no {info.zone_family} zone is known for {region}, so {info.name} has no published rate there")
        if acceptance is not None and refusal is None:
            notes.extend(f"Japan Post ({acceptance.as_of}): {n}" for n in notes_for(acceptance.note, info.acceptance_service))
        versions = tuple(_Version(t.ref.effective_from, t.ref.effective_to, t, t.zones.get(zone)) for t in book.tables.get(product, ()) if t.quotable)
        if versions and not versions[-1].table.ref.effective_from_confirmed:
            latest = versions[-1].table
            notes.append(f"{latest.ref.table_id}: effective date not confirmed by a source ({latest.notes})")
        limit = book.limit(product, region)
        # What remains of the lane's refusal when a rule resumes a service the crawl had suspended.
        open_refusal = (
            None if zone else Refusal(Reason.NO_PUBLISHED_RATE, f"no {info.zone_family} zone is known for {region}, so {info.name} has no published rate there")
        )
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
            rules=tuple(r for r in book.rules_for(region) if r.covers(info.acceptance_service, product)),
            open_refusal=open_refusal,
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
        refusal = None if lane else Refusal(Reason.DESTINATION_NOT_SERVED, f"the consolidation contract has no rates for {region}")
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

    # -- resolved per ship date, order date and contents type --------------------------------------

    def resolved(self, region: str, ship_date: date, order_date: date, contents_type: ContentsType = ContentsType.MERCHANDISE) -> Resolved | None:
        """Per method, in ALL_METHODS order, the refusal that holds whatever the cart (or None) and
        its resolved lanes, for one destination, ship date, order date and contents type; None for
        a region with no plan. The engine prices these; the gRPC edge compiles them for its kernel."""
        found = self._resolved.get((region, ship_date, order_date, contents_type))
        if found is None and region in self._plans:
            found = self._resolve(region, ship_date, order_date, contents_type)
        return found

    def _resolve(self, region: str, ship_date: date, order_date: date, contents_type: ContentsType) -> Resolved:
        resolved = []
        for method, lanes in self._plans[region]:
            priced = tuple(self._priced_lane(method, lane, ship_date, order_date, region, contents_type) for lane in lanes)
            closed = [(p.name, p.closed) for p in priced if p.closed is not None]
            fixed = None
            if len(closed) == len(priced):  # refused whatever the cart: one answer, made once
                fixed = UnavailableMethod(method, closed[0][1].reason, closed[0][1].message) if len(closed) == 1 else combine(method, closed)
            resolved.append((method, fixed, priced))
        if len(self._resolved) >= 4096:
            self._resolved.clear()
        found = tuple(resolved)
        self._resolved[region, ship_date, order_date, contents_type] = found
        return found

    def _priced_lane(self, method: Method, lane: _Lane, ship_date: date, order_date: date, region: str, contents_type: ContentsType) -> PricedLane:
        closed, notes = lane.refusal, lane.notes
        pending: AcceptanceRule | None = None
        pending_notes: tuple[str, ...] = ()
        decision = decide(lane.rules, ship_date, contents_type) if lane.rules else None
        if decision is not None and decision.rule is not None:
            rule = decision.rule
            if rule.status is Status.SUSPENDED:
                closed = Refusal(Reason.SERVICE_SUSPENDED, suspended_message(rule, lane.name))
            else:
                closed, notes = lane.open_refusal, (*notes, resumed_note(rule))
        elif decision is not None and decision.pending is not None and closed is None:
            pending = decision.pending
            pending_notes = (*notes, within_note(pending))
        # What every lane has; a closed lane needs nothing more.
        base = PricedLane(
            method, method.value, lane.product, lane.name, lane.zone, lane.tracked, notes, None, None, lane.limit, lane.bounds, closed, None,
            barred=lane.barred, insurance=lane.insurance, pending=pending, pending_notes=pending_notes,
            rule=decision.rule or decision.pending if decision is not None else None,
        )  # fmt: skip
        if closed is not None:
            return base
        arrival = self._arrival(lane, order_date)
        if lane.consolidation is not None:
            return replace(base, table=self.book.consolidation.ref, arrival=arrival, consolidation=lane.consolidation)
        version = lane.on_ship_date.get(ship_date) or self._version_on(lane, ship_date, region)
        if type(version) is Refusal:
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

    def _version_on(self, lane: _Lane, ship_date: date, region: str) -> _Version | Refusal:
        """The lane's table version in force on `ship_date`, or why there is none; remembered."""
        version = next((v for v in lane.versions if v.effective_from <= ship_date and (v.effective_to is None or ship_date <= v.effective_to)), None)
        found: _Version | Refusal
        if version is None:
            found = Refusal(Reason.NO_PUBLISHED_RATE, f"no {lane.name} rate table is in force on {ship_date.isoformat()}")
        elif version.brackets is None:
            found = Refusal(Reason.NO_PUBLISHED_RATE, f"Japan Post publishes no {lane.name} rate for zone {lane.zone} ({region}) in the tables we hold")
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


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _bounds(limit: Limit) -> tuple[int, int, int, int, int, int]:
    """A limit's six bounds as plain ints, Japan Post's permissible deviation applied to the sizes:
    no maximum is NO_LIMIT, no minimum is 0."""
    t = limit.tolerance_mm
    return (
        limit.max_weight_g,
        NO_LIMIT if limit.max_length_mm is None else limit.max_length_mm + t,
        NO_LIMIT if limit.max_length_plus_girth_mm is None else limit.max_length_plus_girth_mm + t,
        NO_LIMIT if limit.max_sum_of_sides_mm is None else limit.max_sum_of_sides_mm + t,
        max(0, (limit.min_length_mm or 0) - t),
        max(0, (limit.min_width_mm or 0) - t),
    )
