"""The analyst's view of the rate tables: every version with its period and completeness, the rows
of one version, destinations with their zones and methods, a price grid per method, and the diff
between two versions.

Plain Python over a loaded RateBook. A Catalog is built once per RateBook (the pandas frames are
read then, not per request); prices for the grid and destination checks come from the QuoteEngine,
so analysts see exactly what the checkout sees.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import pycountry

from domain.errors import FailedPrecondition, FieldViolation, NotFound
from rates.acceptance import AcceptanceRule
from rates.book import ZONE_SCHEME_ZONES, RateBook, RateTable
from rates.lanes import PricedLane
from rates.model import ALL_METHODS, ContentsType, Method, Parcel, Product, QuoteRequest, Reason
from rates.quote import QuoteEngine
from rates.wording import grams_text

# A light parcel: what ListDestinations prices to learn whether a method is offered at all.
PROBE_WEIGHT_G = 100
ZONE_FAMILIES = ("ems", "parcel", "letter_post")


@dataclass(frozen=True, slots=True)
class TableRow:
    zone: int
    min_weight_g: int
    max_weight_g: int
    price_jpy: int
    source_id: str

    @property
    def key(self) -> tuple[int, int, int]:
        return self.zone, self.min_weight_g, self.max_weight_g


@dataclass(frozen=True, slots=True)
class TableSummary:
    """One table version as an analyst sees it: period, provenance and what is (not) known."""

    table: RateTable
    product_name: str
    row_count: int
    zones: tuple[int, ...]
    missing_zones: tuple[int, ...]
    max_weight_g: int
    completeness_notes: tuple[str, ...]

    @property
    def table_id(self) -> str:
        return self.table.ref.table_id

    @property
    def partial(self) -> bool:
        return bool(self.completeness_notes)


def table_rows(table: RateTable) -> tuple[TableRow, ...]:
    """The table's rows by zone, then weight (read from its DataFrame once)."""
    frame = table.frame.sort_values(["zone", "min_weight_g"])
    return tuple(
        TableRow(int(z), int(lo), int(hi), int(p), str(s))
        for z, lo, hi, p, s in zip(frame["zone"], frame["min_weight_g"], frame["max_weight_g"], frame["price_jpy"], frame["source_id"], strict=True)
    )


def completeness(table: RateTable, rows: Sequence[TableRow], product_max_weight_g: int | None) -> tuple[tuple[int, ...], tuple[int, ...], int, tuple[str, ...]]:
    """(zones priced, zones of the scheme with no price, heaviest weight priced, notes on what is
    missing). No notes means the table is complete: every zone of its scheme priced to the same
    weight, and that weight is the product's limit where the limit is known."""
    tops: dict[int, int] = {}
    for row in rows:
        tops[row.zone] = max(tops.get(row.zone, 0), row.max_weight_g)
    zones = tuple(sorted(tops))
    missing = tuple(z for z in ZONE_SCHEME_ZONES[table.zone_scheme] if z not in tops)
    heaviest = max(tops.values(), default=0)
    notes = [f"zone {z} has no published rate" for z in missing]
    notes += [
        f"zone {z} is priced only up to {grams_text(top)} (other zones up to {grams_text(heaviest)})" for z, top in sorted(tops.items()) if top < heaviest
    ]
    if product_max_weight_g is not None and heaviest < product_max_weight_g:
        notes.append(f"priced only up to {grams_text(heaviest)}; the product takes up to {grams_text(product_max_weight_g)}")
    return zones, missing, heaviest, tuple(notes)


class Catalog:
    """Every rate table version of a RateBook, indexed for the analyst queries."""

    def __init__(self, book: RateBook):
        self.book = book
        self._summaries: dict[str, TableSummary] = {}
        self._rows: dict[str, tuple[TableRow, ...]] = {}
        for product, versions in book.tables.items():
            info = book.products.get(product)
            limit = book.limit(product, "*")
            for table in versions:
                rows = table_rows(table)
                zones, missing, heaviest, notes = completeness(table, rows, limit.max_weight_g if limit else None)
                self._rows[table.ref.table_id] = rows
                self._summaries[table.ref.table_id] = TableSummary(
                    table=table,
                    product_name=info.name if info else product.value,
                    row_count=len(rows),
                    zones=zones,
                    missing_zones=missing,
                    max_weight_g=heaviest,
                    completeness_notes=notes,
                )

    def list_tables(self, product: Product | None = None) -> tuple[TableSummary, ...]:
        """Versions by product (in Product order), oldest first."""
        order = {p: i for i, p in enumerate(Product)}
        chosen = [s for s in self._summaries.values() if product is None or s.table.ref.product is product]
        return tuple(sorted(chosen, key=lambda s: (order[s.table.ref.product], s.table.ref.effective_from, s.table_id)))

    def summary(self, table_id: str) -> TableSummary:
        found = self._summaries.get(table_id)
        if found is None:
            known = ", ".join(sorted(self._summaries))
            raise NotFound(f"no rate table {table_id[:64]!r}; known tables: {known}", reason="RATE_TABLE_NOT_FOUND", metadata={"table_id": table_id[:64]})
        return found

    def in_force(self, product: Product, day: date) -> TableSummary:
        """The version of `product` in force on `day`: the quotable one when there is one (the table
        quotes use), else a historical version covering the day."""
        versions = [s for s in self.list_tables(product) if s.table.in_force(day)]
        versions.sort(key=lambda s: not s.table.quotable)
        if not versions:
            periods = "; ".join(_period(s.table) for s in self.list_tables(product)) or "none"
            raise NotFound(
                f"no {product.value} rate table is in force on {day.isoformat()} (versions: {periods})",
                reason="RATE_TABLE_NOT_IN_FORCE",
                metadata={"product": product.value, "date": day.isoformat()},
            )
        return versions[0]

    def rows(self, table_id: str, zones: Iterable[int] = ()) -> tuple[TableRow, ...]:
        rows = self._rows[self.summary(table_id).table_id]
        wanted = frozenset(zones)
        return tuple(r for r in rows if r.zone in wanted) if wanted else rows


def _period(table: RateTable) -> str:
    end = table.ref.effective_to.isoformat() if table.ref.effective_to else "open"
    return f"{table.ref.table_id} {table.ref.effective_from.isoformat()} to {end}"


# ---------------------------------------------------------------------------------------------
# Diff


class Change(enum.Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class RowDiff:
    change: Change
    zone: int
    min_weight_g: int
    max_weight_g: int
    base_price_jpy: int | None
    target_price_jpy: int | None

    @property
    def change_jpy(self) -> int:
        if self.base_price_jpy is None or self.target_price_jpy is None:
            return 0
        return self.target_price_jpy - self.base_price_jpy

    @property
    def change_percent(self) -> float:
        if not self.base_price_jpy or self.target_price_jpy is None:
            return 0.0
        return self.change_jpy * 100.0 / self.base_price_jpy


@dataclass(frozen=True, slots=True)
class TableDiff:
    base: TableSummary
    target: TableSummary
    rows: tuple[RowDiff, ...]
    counts: dict[Change, int]


class IncomparableTables(FailedPrecondition):
    """The two versions are of different products or zone schemes, so rows do not line up: both exist
    and the request is well formed, so FAILED_PRECONDITION, naming the target table."""

    reason = "TABLES_NOT_COMPARABLE"

    def __init__(self, message: str):
        super().__init__(message, violations=[FieldViolation("target_table_id", message)])


def diff_rows(base: Sequence[TableRow], target: Sequence[TableRow], *, include_unchanged: bool = False) -> tuple[tuple[RowDiff, ...], dict[Change, int]]:
    """Row by row, keyed by (zone, bracket): brackets only in `target` are added, only in `base`
    removed, in both at another price changed. Sorted by zone, then weight."""
    old = {r.key: r.price_jpy for r in base}
    new = {r.key: r.price_jpy for r in target}
    counts = dict.fromkeys(Change, 0)
    out: list[RowDiff] = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before is None:
            change = Change.ADDED
        elif after is None:
            change = Change.REMOVED
        elif before != after:
            change = Change.CHANGED
        else:
            change = Change.UNCHANGED
        counts[change] += 1
        if change is not Change.UNCHANGED or include_unchanged:
            out.append(RowDiff(change, *key, before, after))
    return tuple(out), counts


def diff_tables(catalog: Catalog, base_id: str, target_id: str, *, include_unchanged: bool = False) -> TableDiff:
    """Diff of two versions of one product's table (NotFound for an unknown id, IncomparableTables
    when products or zone schemes differ)."""
    base, target = catalog.summary(base_id), catalog.summary(target_id)
    if base.table.ref.product is not target.table.ref.product:
        raise IncomparableTables(f"{target_id} is a {target.table.ref.product.value} table and {base_id} a {base.table.ref.product.value} table")
    if base.table.zone_scheme != target.table.zone_scheme:
        raise IncomparableTables(f"{target_id} uses zone scheme {target.table.zone_scheme} and {base_id} {base.table.zone_scheme}: zones do not line up")
    rows, counts = diff_rows(catalog.rows(base_id), catalog.rows(target_id), include_unchanged=include_unchanged)
    return TableDiff(base, target, rows, counts)


# ---------------------------------------------------------------------------------------------
# Price grid and destinations, through the quote engine


@dataclass(frozen=True, slots=True)
class ComparedRate:
    weight_g: int
    method: Method
    price_jpy: int | None
    product: Product | None = None
    product_name: str = ""
    zone: int = 0
    bracket_max_g: int = 0
    table_id: str = ""
    reason: Reason | None = None
    message: str = ""

    @property
    def available(self) -> bool:
        return self.price_jpy is not None


def _ordered_methods(methods: Sequence[Method]) -> tuple[Method, ...]:
    return tuple(dict.fromkeys(methods)) if methods else ALL_METHODS


def compare_rates(
    engine: QuoteEngine,
    region: str,
    weights_g: Sequence[int],
    *,
    ship_date: date,
    methods: Sequence[Method] = (),
    contents_type: ContentsType = ContentsType.MERCHANDISE,
) -> tuple[ComparedRate, ...]:
    """For each weight (one parcel, no size given) every method's checkout price, or its reason.
    Weights in the given order; methods in the given order (Method order when none given)."""
    wanted = _ordered_methods(methods)
    out: list[ComparedRate] = []
    for weight in weights_g:
        quote = engine.quote(QuoteRequest(region, (Parcel(weight),), ship_date, ship_date, wanted, contents_type=contents_type))
        options = {o.method: o for o in quote.options}
        refusals = {u.method: u for u in quote.unavailable}
        for method in wanted:
            option = options.get(method)
            if option is not None:
                out.append(
                    ComparedRate(
                        weight_g=weight,
                        method=method,
                        price_jpy=option.postage_jpy,
                        product=option.product,
                        product_name=option.product_name,
                        zone=option.zone,
                        bracket_max_g=option.parcels[0].bracket_max_g,
                        table_id=option.table.table_id,
                    )
                )
            else:
                refusal = refusals[method]
                out.append(ComparedRate(weight_g=weight, method=method, price_jpy=None, reason=refusal.reason, message=refusal.message))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class MethodAvailability:
    method: Method
    reason: Reason | None
    message: str

    @property
    def available(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    service: str
    status: str
    restriction_note: str
    as_of: str


@dataclass(frozen=True, slots=True)
class DestinationInfo:
    region_code: str
    country_name: str
    zones: dict[str, int]  # zone family -> zone; absent where the destination has none
    methods: tuple[MethodAvailability, ...]
    services: tuple[ServiceStatus, ...]
    rules: tuple[AcceptanceRule, ...] = ()  # the dated rules in force on the ship date


def destination_regions(book: RateBook) -> tuple[str, ...]:
    """Every destination the tables know of (in a zone list, the acceptance list or the
    consolidation contract), sorted."""
    regions = set(book.country_names) | {region for region, _ in book.acceptance} | set(book.consolidation.lanes)
    return tuple(sorted(regions))


def describe_destinations(engine: QuoteEngine, regions: Sequence[str], *, ship_date: date) -> tuple[DestinationInfo, ...]:
    """Zones, Japan Post's acceptance per service, and which methods the checkout offers for a light
    parcel (PROBE_WEIGHT_G) shipped on `ship_date`, with the reason for each it does not."""
    book = engine.book
    services = sorted({service for _, service in book.acceptance})
    out = []
    for region in regions:
        quote = engine.quote(QuoteRequest(region, (Parcel(PROBE_WEIGHT_G),), ship_date, ship_date, ALL_METHODS))
        refusals = {u.method: u for u in quote.unavailable}
        methods = tuple(
            MethodAvailability(m, refusals[m].reason, refusals[m].message) if m in refusals else MethodAvailability(m, None, "") for m in ALL_METHODS
        )
        statuses = []
        for service in services:
            acceptance = book.acceptance.get((region, service))
            if acceptance is not None:
                statuses.append(ServiceStatus(service, acceptance.status, acceptance.note, acceptance.as_of))
        zones = {family: book.zones[(region, family)] for family in ZONE_FAMILIES if (region, family) in book.zones}
        rules = tuple(r for r in book.rules_for(region) if r.in_force(ship_date))
        out.append(DestinationInfo(region, book.country_names.get(region) or _country_name(region), zones, methods, tuple(statuses), rules))
    return tuple(out)


def _country_name(region: str) -> str:
    country = pycountry.countries.get(alpha_2=region)
    return str(country.name) if country is not None else ""


@dataclass(frozen=True, slots=True)
class AcceptanceChange:
    """One product and contents type to one destination whose acceptance differs between two days."""

    region_code: str
    product: Product
    product_name: str
    contents_type: ContentsType
    from_status: str
    to_status: str
    from_rule_id: str
    to_rule_id: str
    to_message: str


def _acceptance_state(lane: PricedLane) -> tuple[str, str, str]:
    """(status, deciding rule id, sentence) of one resolved lane, acceptance only: a missing rate
    table or zone is no matter of acceptance."""
    rule_id = lane.rule.rule_id if lane.rule is not None else ""
    closed = lane.closed
    if closed is not None and closed.reason is Reason.SERVICE_SUSPENDED:
        return "suspended", rule_id, closed.message
    if closed is not None and closed.reason is Reason.DESTINATION_NOT_SERVED:
        return "not_served", rule_id, closed.message
    if lane.pending is not None:
        return "accepted_up_to_value", rule_id, lane.pending_notes[-1]
    return "accepted", rule_id, lane.notes[-1] if lane.rule is not None and lane.notes else ""


def acceptance_changes(engine: QuoteEngine, regions: Sequence[str], from_date: date, to_date: date) -> tuple[AcceptanceChange, ...]:
    """Every destination, Japan Post product and contents type whose acceptance on `to_date`
    differs from `from_date`, with the rule behind each answer: what a new notice changed."""
    changes = []
    for region in regions:
        for contents_type in ContentsType:
            before = engine.resolved(region, from_date, from_date, contents_type)
            after = engine.resolved(region, to_date, to_date, contents_type)
            if before is None or after is None:
                continue
            for (_, _, old_lanes), (_, _, new_lanes) in zip(before, after, strict=True):
                for old, new in zip(old_lanes, new_lanes, strict=True):
                    if new.product is Product.CONSOLIDATION:
                        continue  # a private contract: no Japan Post acceptance
                    was, now = _acceptance_state(old), _acceptance_state(new)
                    if was[:2] != now[:2]:
                        changes.append(AcceptanceChange(region, new.product, new.name, contents_type, was[0], now[0], was[1], now[1], now[2]))
    return tuple(changes)
