"""Reads and validates the acceptance rules (`acceptance_rules.csv`), the exchange rates their
value thresholds need (`fx_rates.csv`) and the manifest of when each file was last checked
against a source (`manifest.csv`). Every problem names the file and the CSV line, so a bad rule
stops start-up (and a reload keeps the old rules serving) with a message an operator can act on.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rates.acceptance import MAIL_CLASSES, SERVICES, TRANSPORTS, AcceptanceRule, FxRate, FxTable, Status
from rates.csvread import TableError, date_at, line_of, product_at, read_csv, region_at, source_text
from rates.model import ContentsType, Product

CONFIDENCES = ("high", "medium-high", "medium", "low")
RULE_COLUMNS = [
    "rule_id",
    "region_code",
    "mail_class",
    "transport",
    "product",
    "status",
    "effective_from",
    "effective_to",
    "contents_types",
    "value_over",
    "value_currency",
    "description",
    "source_id",
    "read_on",
    "confidence",
    "notes",
]


@dataclass(frozen=True, slots=True)
class FileCheck:
    """One data file and the date it was last checked against its sources."""

    file: str
    last_checked: date
    notes: str


def _choices(path: Path, line: int, column: str, raw: str, allowed: frozenset[str]) -> frozenset[str]:
    if raw == "*":
        return allowed
    chosen = frozenset(part.strip() for part in raw.split(";") if part.strip())
    unknown = sorted(chosen - allowed)
    if not chosen or unknown:
        raise TableError(path, line, f"{column} must be * or some of {', '.join(sorted(allowed))} joined by ';', got {raw!r}")
    return chosen


def _period(path: Path, line: int, raw_from: str, raw_to: str) -> tuple[date, date | None]:
    start = date_at(path, line, "effective_from", raw_from)
    end = date_at(path, line, "effective_to", raw_to) if raw_to else None
    if end is not None and end < start:
        raise TableError(path, line, "effective_to is before effective_from")
    return start, end


def _overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (a_to is None or b_from <= a_to) and (b_to is None or a_from <= b_to)


def load_fx_rates(directory: Path, sources: dict[str, str]) -> FxTable:
    path = directory / "fx_rates.csv"
    frame = read_csv(path, ["currency", "effective_from", "jpy_per_unit", "source_id", "read_on", "notes"])
    by_currency: dict[str, list[tuple[int, FxRate]]] = {}
    for index, row in frame.iterrows():
        line = line_of(index)
        currency = row["currency"]
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper() or currency == "JPY":
            raise TableError(path, line, f"currency must be an ISO 4217 code other than JPY, got {currency!r}")
        start = date_at(path, line, "effective_from", row["effective_from"])
        try:
            rate = Decimal(row["jpy_per_unit"])
        except InvalidOperation:
            raise TableError(path, line, f"jpy_per_unit must be a number, got {row['jpy_per_unit']!r}") from None
        if not rate.is_finite() or rate <= 0:
            raise TableError(path, line, f"jpy_per_unit must be positive, got {row['jpy_per_unit']!r}")
        source = source_text(path, line, row["source_id"], sources)
        read_on = date_at(path, line, "read_on", row["read_on"])
        by_currency.setdefault(currency, []).append((line, FxRate(currency, start, rate, source, read_on)))
    for currency, rates in by_currency.items():
        rates.sort(key=lambda item: item[1].effective_from)
        for (_, earlier), (line, later) in itertools.pairwise(rates):
            if earlier.effective_from == later.effective_from:
                raise TableError(path, line, f"a second {currency} rate from {later.effective_from}")
    return FxTable({c: tuple(r for _, r in rates) for c, rates in by_currency.items()})


def load_acceptance_rules(directory: Path, sources: dict[str, str], services_of: dict[Product, str], fx: FxTable) -> tuple[AcceptanceRule, ...]:
    path = directory / "acceptance_rules.csv"
    frame = read_csv(path, RULE_COLUMNS)
    rules: list[AcceptanceRule] = []
    seen: dict[str, int] = {}
    for index, row in frame.iterrows():
        line = line_of(index)
        rule_id = row["rule_id"]
        if not rule_id:
            raise TableError(path, line, "rule_id is required")
        if rule_id in seen:
            raise TableError(path, line, f"rule_id {rule_id!r} is used on line {seen[rule_id]} too")
        seen[rule_id] = line
        region = region_at(path, line, row["region_code"])
        classes = _choices(path, line, "mail_class", row["mail_class"], MAIL_CLASSES)
        transports = _choices(path, line, "transport", row["transport"], TRANSPORTS)
        services = frozenset(s for s, (c, t) in SERVICES.items() if c in classes and t in transports)
        if not services:
            raise TableError(path, line, f"no Japan Post service is {row['mail_class']} by {row['transport']}")
        product = None
        if row["product"]:
            product = product_at(path, line, row["product"])
            if services_of.get(product) not in services:
                raise TableError(path, line, f"product {product.value} is not carried by {', '.join(sorted(services))}")
        try:
            status = Status(row["status"])
        except ValueError:
            raise TableError(path, line, f"status must be accepted or suspended, got {row['status']!r}") from None
        start, end = _period(path, line, row["effective_from"], row["effective_to"])
        types = None
        if row["contents_types"] != "*":
            names = _choices(path, line, "contents_types", row["contents_types"], frozenset(t.value for t in ContentsType))
            types = frozenset(ContentsType(n) for n in names)
        value_over, currency = _threshold(path, line, row, status, fx)
        if not row["description"]:
            raise TableError(path, line, "description is required (it is shown in every refusal)")
        source = source_text(path, line, row["source_id"], sources)
        read_on = date_at(path, line, "read_on", row["read_on"])
        if row["confidence"] not in CONFIDENCES:
            raise TableError(path, line, f"confidence must be one of {', '.join(CONFIDENCES)}, got {row['confidence']!r}")
        rules.append(
            AcceptanceRule(
                rule_id,
                region,
                services,
                product,
                status,
                start,
                end,
                types,
                value_over,
                currency,
                row["description"],
                source,
                read_on,
                row["confidence"],
                row["notes"],
                path.name,
                line,
            )
        )
    _refuse_overlaps(path, rules)
    return tuple(sorted(rules, key=lambda r: (r.region_code, r.effective_from, r.line)))


def _threshold(path: Path, line: int, row: object, status: Status, fx: FxTable) -> tuple[Decimal | None, str]:
    raw, currency = row["value_over"], row["value_currency"]  # type: ignore[index]
    if not raw:
        if currency:
            raise TableError(path, line, "value_currency is given without value_over")
        return None, ""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise TableError(path, line, f"value_over must be a number, got {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise TableError(path, line, f"value_over must be a number of at least 0, got {raw!r}")
    if status is not Status.SUSPENDED:
        raise TableError(path, line, "a value threshold is for suspensions (what is over it is refused)")
    if currency != "JPY" and currency not in fx.rates:
        raise TableError(path, line, f"value_currency {currency!r} has no rates in fx_rates.csv")
    return value, currency


def _refuse_overlaps(path: Path, rules: list[AcceptanceRule]) -> None:
    """Two rules for the same destination that share a service (and product), a day and a contents
    type would both decide one parcel: the later line is refused, naming the earlier."""
    for a, b in itertools.combinations(rules, 2):
        if a.region_code != b.region_code or not (a.services & b.services):
            continue
        if a.product is not None and b.product is not None and a.product is not b.product:
            continue
        if not _overlap(a.effective_from, a.effective_to, b.effective_from, b.effective_to):
            continue
        if a.contents_types is not None and b.contents_types is not None and not (a.contents_types & b.contents_types):
            continue
        later, earlier = (b, a) if b.line > a.line else (a, b)
        shared = ", ".join(sorted(a.services & b.services))
        raise TableError(
            path,
            later.line,
            f"rule {later.rule_id} overlaps rule {earlier.rule_id} (line {earlier.line}) for {later.region_code} {shared} on the same days and contents",
        )


def load_manifest(directory: Path) -> dict[str, FileCheck]:
    """When each data file was last checked against its sources; every CSV file of the directory
    must be listed, and every listed file must exist."""
    path = directory / "manifest.csv"
    frame = read_csv(path, ["file", "last_checked", "notes"])
    checks: dict[str, FileCheck] = {}
    for index, row in frame.iterrows():
        line = line_of(index)
        name = row["file"]
        if not (directory / name).is_file():
            raise TableError(path, line, f"{name!r} is not a file of {directory}")
        checks[name] = FileCheck(name, date_at(path, line, "last_checked", row["last_checked"]), row["notes"])
    missing = sorted(p.name for p in directory.glob("*.csv") if p.name != "manifest.csv" and p.name not in checks)
    if missing:
        raise TableError(path, None, f"no last_checked date for {', '.join(missing)}")
    return checks
