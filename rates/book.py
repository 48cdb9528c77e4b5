"""The rate book: the validated, indexed structures the quote engine reads (built once at start-up
by rates/tables.py from the CSV files), frozen so every request shares them."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from rates.acceptance import AcceptanceRule, FxTable
from rates.acceptance_tables import FileCheck
from rates.model import ContentsFlag, Product, TableRef

ZONE_SCHEME_ZONES = {"2023-10": range(1, 6), "2021-letter-post": range(1, 5), "2021-ems": range(1, 5)}


@dataclass(frozen=True, slots=True)
class Brackets:
    """One zone of one table: bracket upper bounds (grams, inclusive) and prices, ascending."""

    max_weights: tuple[int, ...]
    prices: tuple[int, ...]

    def price_for(self, weight_g: int) -> tuple[int, int] | None:
        """(price, bracket upper weight) for a weight rounded up into its bracket, or None past the table."""
        i = bisect.bisect_left(self.max_weights, weight_g)
        if i == len(self.max_weights):
            return None
        return self.prices[i], self.max_weights[i]


@dataclass(frozen=True, slots=True)
class RateTable:
    ref: TableRef
    zone_scheme: str
    quotable: bool
    confidence: str
    notes: str
    file: str
    zones: dict[int, Brackets]
    frame: pd.DataFrame = field(repr=False, compare=False)

    def in_force(self, day: date) -> bool:
        ref = self.ref
        return ref.effective_from <= day and (ref.effective_to is None or day <= ref.effective_to)


@dataclass(frozen=True, slots=True)
class ProductInfo:
    product: Product
    name: str
    zone_family: str
    acceptance_service: str
    tracked: bool
    notes: str


@dataclass(frozen=True, slots=True)
class Limit:
    max_weight_g: int
    max_length_mm: int | None
    max_length_plus_girth_mm: int | None
    max_sum_of_sides_mm: int | None
    min_length_mm: int | None
    min_width_mm: int | None
    # Japan Post's permissible deviation on every size bound (small packets: 2 mm).
    tolerance_mm: int = 0


@dataclass(frozen=True, slots=True)
class InsuranceRule:
    insurable: bool
    included_cover_jpy: int
    first_step_cover_jpy: int = 0
    first_step_fee_jpy: int = 0
    step_cover_jpy: int = 0
    step_fee_jpy: int = 0
    max_cover_jpy: int = 0
    notes: str = ""

    def fee(self, cover_jpy: int) -> int:
        """Fee for insuring `cover_jpy`; the included cover costs nothing."""
        if cover_jpy <= self.included_cover_jpy:
            return 0
        if cover_jpy <= self.first_step_cover_jpy:
            return self.first_step_fee_jpy
        extra = cover_jpy - self.first_step_cover_jpy
        steps = -(-extra // self.step_cover_jpy)
        return self.first_step_fee_jpy + steps * self.step_fee_jpy


@dataclass(frozen=True, slots=True)
class DeliveryRule:
    min_value: int
    max_value: int
    unit: str  # "day" or "month"
    published_text: str


@dataclass(frozen=True, slots=True)
class Acceptance:
    status: str
    note: str
    as_of: str


@dataclass(frozen=True, slots=True)
class ProhibitionRule:
    flag: ContentsFlag
    product: str  # a Product value or "*"
    region_code: str  # an ISO code or "*"
    rule: str


@dataclass(frozen=True, slots=True)
class ConsolidationLane:
    brackets: Brackets
    volumetric_divisor: int
    min_days: int
    max_days: int
    tracked: bool


@dataclass(frozen=True, slots=True)
class ConsolidationContract:
    lanes: dict[str, ConsolidationLane]
    ref: TableRef
    is_example: bool
    frame: pd.DataFrame = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RateBook:
    """Everything the quote engine reads, validated and indexed."""

    tables: dict[Product, tuple[RateTable, ...]]
    products: dict[Product, ProductInfo]
    zones: dict[tuple[str, str], int]  # (region, zone family) -> zone
    country_names: dict[str, str]
    acceptance: dict[tuple[str, str], Acceptance]  # (region, service) -> status
    limits: dict[tuple[Product, str], Limit]  # (product, region or "*")
    insurance: dict[Product, InsuranceRule]
    uninsured_compensation: dict[Product, Brackets]
    delivery: dict[Product, DeliveryRule]
    prohibitions: dict[ContentsFlag, tuple[ProhibitionRule, ...]]
    consolidation: ConsolidationContract
    sources: dict[str, str]
    data_as_of: str
    # Dated rules over the crawl's acceptance, the exchange rates their thresholds need, and when
    # each data file was last checked against its sources.
    acceptance_rules: tuple[AcceptanceRule, ...] = ()
    fx: FxTable = field(default_factory=lambda: FxTable({}))
    checked: dict[str, FileCheck] = field(default_factory=dict)

    def limit(self, product: Product, region: str) -> Limit | None:
        return self.limits.get((product, region)) or self.limits.get((product, "*"))

    def rules_for(self, region: str) -> tuple[AcceptanceRule, ...]:
        return tuple(rule for rule in self.acceptance_rules if rule.region_code == region)

    def served_regions(self) -> frozenset[str]:
        return frozenset(region for region, _ in self.zones) | frozenset(self.consolidation.lanes)
