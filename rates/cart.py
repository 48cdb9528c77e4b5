"""The cart, the box catalogue and the plan: the values a packing plan is made of (rates/packing.py
searches for one), and the quote request one planned parcel makes.

A planned parcel is priced with exactly the request its label makes (`parcel_quote_request`: the
parcel's gross weight and the box's outer size, its items as contents lines), so a plan's price is
the label's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rates.csvread import TableError, ints, line_of, read_csv
from rates.model import ContentsFlag, ContentsLine, ContentsType, Method, Parcel, QuoteOption, QuoteRequest

__all__ = [
    "DEFAULT_FILL_FACTOR",
    "NO_BOX_FITS",
    "Box",
    "CartItem",
    "MethodPlan",
    "PlanRefusal",
    "PlanRequest",
    "PlannedParcel",
    "ShipmentPlan",
    "load_box_catalogue",
    "parcel_quote_request",
]

# The reason of a method without a plan because an item fits no box of the catalogue. The other
# reasons are the quote engine's (rates.model.Reason names), for an item that cannot go alone.
NO_BOX_FITS = "NO_BOX_FITS"

# The share of a box's inner volume its items may fill (docs/packing.md, "The fit test").
DEFAULT_FILL_FACTOR = 0.85


@dataclass(frozen=True, slots=True)
class Box:
    """A box of the shop's catalogue: inner and outer sizes in millimetres, tare weight in grams."""

    name: str
    inner_mm: tuple[int, int, int]
    outer_mm: tuple[int, int, int]
    tare_g: int
    inner_sorted: tuple[int, ...] = field(init=False, repr=False, compare=False)
    inner_volume: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inner_sorted", tuple(sorted(self.inner_mm, reverse=True)))
        object.__setattr__(self, "inner_volume", math.prod(self.inner_mm))


@dataclass(frozen=True, slots=True)
class CartItem:
    """One cart line: `quantity` units, each weighing `weight_g` and measuring `size_mm`, worth
    `unit_value_jpy`."""

    sku: str
    description: str
    weight_g: int
    size_mm: tuple[int, int, int]
    quantity: int = 1
    unit_value_jpy: int = 0
    flags: frozenset[ContentsFlag] = frozenset()
    sides: tuple[int, ...] = field(init=False, repr=False, compare=False)
    volume: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sides", tuple(sorted(self.size_mm, reverse=True)))
        object.__setattr__(self, "volume", math.prod(self.size_mm))

    @property
    def label(self) -> str:
        """What the customs line says: the description, else the SKU."""
        return self.description or self.sku


@dataclass(frozen=True, slots=True)
class PlanRequest:
    region_code: str
    items: tuple[CartItem, ...]
    boxes: tuple[Box, ...]
    ship_date: date
    order_date: date
    methods: tuple[Method, ...] = ()
    contents_type: ContentsType = ContentsType.MERCHANDISE
    insure: bool = False


@dataclass(frozen=True, slots=True)
class PlannedParcel:
    """One parcel of a plan: its box, how many units of each cart line it holds (by the line's index
    in the request), its gross weight, and the quote engine's option for it alone."""

    box: Box
    items: tuple[tuple[int, int], ...]
    gross_weight_g: int
    option: QuoteOption

    @property
    def total_jpy(self) -> int:
        return self.option.total_jpy


@dataclass(frozen=True, slots=True)
class MethodPlan:
    method: Method
    parcels: tuple[PlannedParcel, ...]
    total_jpy: int
    # Proven cheapest of every way to split the cart over the catalogue's boxes (under the fit test).
    optimal: bool


@dataclass(frozen=True, slots=True)
class PlanRefusal:
    method: Method
    reason: str  # a rates.model.Reason name, or NO_BOX_FITS
    message: str


@dataclass(frozen=True, slots=True)
class ShipmentPlan:
    region_code: str
    plans: tuple[MethodPlan, ...]  # cheapest first
    unavailable: tuple[PlanRefusal, ...]


def parcel_quote_request(request: PlanRequest, counts: Sequence[int], box: Box, methods: tuple[Method, ...]) -> QuoteRequest:
    """The quote request for one parcel: the parcel a label for it describes (gross weight, the
    box's outer size, one contents line per cart line it holds), so the plan's price is the label's."""
    weight = box.tare_g
    contents = []
    for item, n in zip(request.items, counts, strict=True):
        if n:
            weight += n * item.weight_g
            contents.append(ContentsLine(item.label, n, n * item.unit_value_jpy, item.flags))
    length, width, height = box.outer_mm
    return QuoteRequest(
        region_code=request.region_code,
        parcels=(Parcel(weight, length, width, height),),
        ship_date=request.ship_date,
        order_date=request.order_date,
        methods=methods,
        contents=tuple(contents),
        insure=request.insure,
        contents_type=request.contents_type,
    )


_SIDES = ("length_mm", "width_mm", "height_mm")


def load_box_catalogue(path: Path) -> tuple[Box, ...]:
    """The box catalogue file (data/boxes/README.md), checked: a broken file stops start-up with
    its file, line and problem named (TableError)."""
    columns = ["name", *(f"inner_{s}" for s in _SIDES), *(f"outer_{s}" for s in _SIDES), "tare_grams"]
    frame = read_csv(path, columns)
    if frame.empty:
        raise TableError(path, None, "the catalogue has no boxes")
    numbers = {c: ints(frame, path, c, minimum=1 if c != "tare_grams" else 0) for c in columns[1:]}
    boxes: list[Box] = []
    seen: set[str] = set()
    for index, name in frame["name"].items():
        line = line_of(index)  # type: ignore[arg-type]
        if not name:
            raise TableError(path, line, "name is required")
        if name in seen:
            raise TableError(path, line, f"box {name!r} is listed twice")
        seen.add(name)
        inner = tuple(int(numbers[f"inner_{s}"][index]) for s in _SIDES)
        outer = tuple(int(numbers[f"outer_{s}"][index]) for s in _SIDES)
        box = Box(name, inner, outer, int(numbers["tare_grams"][index]))  # type: ignore[arg-type]
        if any(a < b for a, b in zip(sorted(outer), sorted(inner), strict=True)):
            raise TableError(path, line, f"box {name!r}: the outer size {outer} is smaller than the inner size {inner}")
        boxes.append(box)
    return tuple(boxes)
