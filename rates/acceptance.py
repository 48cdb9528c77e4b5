"""Whether Japan Post accepts a parcel: the 2024-03-01 crawl of its country pages as the base, and
dated, conditional, sourced rules on top (a suspension for goods to the US, a resumption for
Iraq, ...).

A rule covers one destination, some of Japan Post's services (mail class x transport) or one
product, a period (`effective_from`, open or closed `effective_to`) and optionally a condition on
the contents: their type (merchandise, gift, documents, ...) and a value threshold in a currency.
A rule in force on the ship date whose condition holds overrides the crawl. The loader
(rates/acceptance_tables.py) refuses rules that overlap for the same destination, service, dates
and contents, so at most one rule decides a parcel.

Value thresholds in a foreign currency (US$100) are converted with the dated rate table in force on
the ship date (`fx_rates.csv`), never with a constant; the refusal shows the rate and its source.

Everything here is plain Python: the quote engine asks `decide` and words refusals with the
functions below; the gRPC edge's quote kernel takes no request whose contents it cannot decide.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from rates.model import ContentsType, Product


class Status(enum.Enum):
    ACCEPTED = "accepted"
    SUSPENDED = "suspended"


# Japan Post's acceptance services (the crawl's columns) as (mail class, transport).
SERVICES: dict[str, tuple[str, str]] = {
    "letter_air": ("letter_post", "air"),
    "letter_sal": ("letter_post", "sal"),
    "letter_surface": ("letter_post", "surface"),
    "parcel_air": ("parcel", "air"),
    "parcel_sal": ("parcel", "sal"),
    "parcel_surface": ("parcel", "surface"),
    "ems": ("ems", "air"),
}
MAIL_CLASSES = frozenset(c for c, _ in SERVICES.values())
TRANSPORTS = frozenset(t for _, t in SERVICES.values())


@dataclass(frozen=True, slots=True)
class FxRate:
    """JPY for one unit of a currency, in force from a day until the next published rate."""

    currency: str
    effective_from: date
    jpy_per_unit: Decimal
    source: str
    read_on: date


@dataclass(frozen=True, slots=True)
class FxTable:
    rates: dict[str, tuple[FxRate, ...]]  # currency -> rates, oldest first

    def rate_on(self, currency: str, day: date) -> FxRate | None:
        """The latest rate published on or before `day`, or None."""
        for rate in reversed(self.rates.get(currency, ())):
            if rate.effective_from <= day:
                return rate
        return None


@dataclass(frozen=True, slots=True)
class AcceptanceRule:
    rule_id: str
    region_code: str
    services: frozenset[str]
    product: Product | None  # narrows the rule to one product of those services
    status: Status
    effective_from: date
    effective_to: date | None
    contents_types: frozenset[ContentsType] | None  # None: whatever the contents
    value_over: Decimal | None  # the rule holds only above this declared value ...
    value_currency: str  # ... in this currency
    description: str  # what the rule is about, worded to follow "items to US", e.g. "containing goods for sale"
    source: str
    read_on: date
    confidence: str
    notes: str
    file: str
    line: int

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def covers(self, service: str, product: Product) -> bool:
        return service in self.services and (self.product is None or self.product is product)

    def holds_for(self, contents_type: ContentsType) -> bool:
        return self.contents_types is None or contents_type in self.contents_types

    @property
    def period(self) -> str:
        return f"{self.effective_from.isoformat()} to {self.effective_to.isoformat() if self.effective_to else 'further notice'}"

    @property
    def threshold_text(self) -> str:
        return money_text(self.value_over or Decimal(0), self.value_currency)


def money_text(amount: Decimal, currency: str) -> str:
    text = f"{amount:,.2f}".removesuffix(".00")
    return f"US${text}" if currency == "USD" else f"{text} {currency}"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules in force on a ship date say of one product to one destination, for one
    contents type: `rule` decides outright (its status), or `pending` needs the declared value."""

    rule: AcceptanceRule | None = None
    pending: AcceptanceRule | None = None


NO_RULE = Decision()


def decide(rules: tuple[AcceptanceRule, ...], day: date, contents_type: ContentsType) -> Decision:
    """The rule in force on `day` for `contents_type` among one lane's rules (the loader allows at
    most one); a rule with a value threshold is left pending, for `value_refusal` per parcel."""
    for rule in rules:
        if rule.in_force(day) and rule.holds_for(contents_type):
            return Decision(pending=rule) if rule.value_over is not None else Decision(rule=rule)
    return NO_RULE


def suspended_message(rule: AcceptanceRule, name: str) -> str:
    return f"Japan Post is not accepting {name} items to {rule.region_code} {rule.description} from {rule.period} (rule {rule.rule_id}; source: {rule.source})"


def resumed_note(rule: AcceptanceRule) -> str:
    return f"Japan Post accepts these items to {rule.region_code} {rule.description} from {rule.period} (rule {rule.rule_id}; source: {rule.source})"


def within_note(rule: AcceptanceRule) -> str:
    return (
        f"Japan Post accepts these items to {rule.region_code} only up to {rule.threshold_text} of declared value "
        f"from {rule.period} (rule {rule.rule_id}; source: {rule.source})"
    )


def value_refusal(rule: AcceptanceRule, name: str, value_jpy: int | None, day: date, fx: FxTable) -> str | None:
    """Why a pending rule's suspension holds for a parcel of this declared value, or None when the
    value is within the threshold. A value that is not given, or a currency with no rate in force
    on the ship date, cannot be shown to be within it: the suspension holds and says why."""
    assert rule.value_over is not None
    head = suspended_message(rule, name)
    if rule.value_currency == "JPY":
        threshold, rate_text = rule.value_over, ""
    else:
        rate = fx.rate_on(rule.value_currency, day)
        if rate is None:
            return f"{head}; no JPY rate for {rule.value_currency} is known for {day.isoformat()}, so a value within {rule.threshold_text} cannot be shown"
        threshold = rule.value_over * rate.jpy_per_unit
        rate_text = f" at {rate.jpy_per_unit} JPY/{rule.value_currency} (rate of {rate.effective_from.isoformat()}; {rate.source})"
    if value_jpy is None:
        return f"{head}; declare the value (declared_value or the contents' values): only up to {rule.threshold_text} is accepted"
    if Decimal(value_jpy) <= threshold:
        return None
    shown = threshold.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{head}; the declared {value_jpy:,} JPY is more than {rule.threshold_text} = {shown:,} JPY{rate_text}"
