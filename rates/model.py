"""Value types of the rate domain: what a quote is asked for and what it answers.

The types made for every quote (the request, its parcels, the options and reasons of the answer)
are slotted dataclasses that are not `frozen`: frozen dataclasses set each field through
object.__setattr__, which made a 13-field QuoteOption cost 1.9 us to build against 0.3 us, and a
quote builds a dozen of them. They are still values: nothing changes them once built. The engine
shares none of them between quotes except the UnavailableMethod of a refusal that does not depend
on the cart (QuoteEngine.quote_plain: destination not served, service suspended), made once per
destination. Shared, cached values (TableRef, DeliveryEstimate) stay frozen.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date


class Method(enum.Enum):
    EMS = "ems"
    AIRMAIL = "airmail"
    EPACKET = "epacket"
    SEA = "sea"
    CONSOLIDATION = "consolidation"


ALL_METHODS: tuple[Method, ...] = tuple(Method)


class Product(enum.Enum):
    EMS = "ems"
    SMALL_PACKET_AIR = "small_packet_air"
    PARCEL_AIR = "parcel_air"
    AIR_PACKET = "air_packet"
    PARCEL_SURFACE = "parcel_surface"
    CONSOLIDATION = "consolidation"
    EPACKET_2021 = "epacket_2021"
    EMS_2021_SURCHARGE = "ems_2021_surcharge"


# The Japan Post products behind each method, in the order they are tried.
METHOD_PRODUCTS: dict[Method, tuple[Product, ...]] = {
    Method.EMS: (Product.EMS,),
    Method.AIRMAIL: (Product.SMALL_PACKET_AIR, Product.PARCEL_AIR),
    Method.EPACKET: (Product.AIR_PACKET,),
    Method.SEA: (Product.PARCEL_SURFACE,),
    Method.CONSOLIDATION: (Product.CONSOLIDATION,),
}


class Reason(enum.Enum):
    """Why a method cannot be offered. Names are stable: callers branch on them."""

    OVER_WEIGHT_LIMIT = "OVER_WEIGHT_LIMIT"
    OVER_SIZE_LIMIT = "OVER_SIZE_LIMIT"
    DESTINATION_NOT_SERVED = "DESTINATION_NOT_SERVED"
    SERVICE_SUSPENDED = "SERVICE_SUSPENDED"
    PROHIBITED_CONTENTS = "PROHIBITED_CONTENTS"
    NO_PUBLISHED_RATE = "NO_PUBLISHED_RATE"
    INSURANCE_NOT_AVAILABLE = "INSURANCE_NOT_AVAILABLE"
    UNDER_SIZE_LIMIT = "UNDER_SIZE_LIMIT"


class ContentsType(enum.Enum):
    """What is in a parcel, as declared to customs: acceptance rules may depend on it."""

    MERCHANDISE = "merchandise"
    GIFT = "gift"
    SAMPLE = "sample"
    DOCUMENTS = "documents"
    RETURNED_GOODS = "returned_goods"


class ContentsFlag(enum.Enum):
    LITHIUM_BATTERY_IN_EQUIPMENT = "lithium_battery_in_equipment"
    LITHIUM_BATTERY_LOOSE = "lithium_battery_loose"
    FLAMMABLE_LIQUID = "flammable_liquid"
    AEROSOL = "aerosol"
    PERFUME_WITH_ALCOHOL = "perfume_with_alcohol"
    NAIL_POLISH = "nail_polish"
    FLAMMABLE_SOLID = "flammable_solid"
    EXPLOSIVE = "explosive"
    OXIDIZER = "oxidizer"
    TOXIC = "toxic"
    CORROSIVE = "corrosive"
    RADIOACTIVE = "radioactive"
    NARCOTIC = "narcotic"
    LIVE_ANIMAL = "live_animal"
    OBSCENE = "obscene"


@dataclass(slots=True, unsafe_hash=True)
class Parcel:
    """One box: actual weight in grams and outside dimensions in millimetres (all 0: not given)."""

    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0
    # The sides longest first, worked out once: every product's size check reads them.
    sides: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        a, b, c = sorted((self.length_mm, self.width_mm, self.height_mm), reverse=True)
        self.sides = (a, b, c)

    @property
    def has_size(self) -> bool:
        return self.length_mm > 0


@dataclass(slots=True, unsafe_hash=True)
class ContentsLine:
    description: str
    quantity: int
    value_jpy: int
    flags: frozenset[ContentsFlag] = frozenset()


@dataclass(slots=True, unsafe_hash=True)
class QuoteRequest:
    region_code: str
    parcels: tuple[Parcel, ...]
    ship_date: date
    order_date: date
    methods: tuple[Method, ...] = ()
    contents: tuple[ContentsLine, ...] = ()
    declared_value_jpy: int | None = None
    insure: bool = False
    postal_code: str = ""
    # Unspecified in the API means merchandise: the shop sells what it ships.
    contents_type: ContentsType = ContentsType.MERCHANDISE

    @property
    def declared_jpy(self) -> int | None:
        """The declared value, or the contents' values summed; None when neither is given."""
        if self.declared_value_jpy is not None:
            return self.declared_value_jpy
        return sum(line.value_jpy for line in self.contents) if self.contents else None

    @property
    def value_to_insure(self) -> int:
        if self.declared_value_jpy is not None:
            return self.declared_value_jpy
        return sum(line.value_jpy for line in self.contents)


@dataclass(frozen=True, slots=True)
class TableRef:
    table_id: str
    product: Product
    effective_from: date
    effective_to: date | None
    effective_from_confirmed: bool
    source: str
    confidence: str = ""  # high, medium-high, medium, low: how sure the sources make us
    # Zones whose figures are less sure than the table as a whole (e.g. from one author only).
    low_confidence_zones: frozenset[int] = frozenset()


@dataclass(slots=True, unsafe_hash=True)
class ParcelPrice:
    billable_weight_g: int
    postage_jpy: int
    insurance_jpy: int
    bracket_max_g: int


@dataclass(frozen=True, slots=True)
class DeliveryEstimate:
    min_days: int
    max_days: int
    earliest_arrival: date
    latest_arrival: date
    published_text: str


@dataclass(slots=True, unsafe_hash=True)
class QuoteOption:
    method: Method
    product: Product
    product_name: str
    postage_jpy: int
    insurance_jpy: int
    zone: int
    billable_weight_g: int
    tracked: bool
    compensation_jpy: int
    delivery: DeliveryEstimate | None
    table: TableRef
    parcels: tuple[ParcelPrice, ...]
    notes: tuple[str, ...] = ()

    @property
    def total_jpy(self) -> int:
        return self.postage_jpy + self.insurance_jpy

    @property
    def low_confidence(self) -> bool:
        """Priced from a zone its table marks less sure than the rest (e.g. from one author only)."""
        return self.zone in self.table.low_confidence_zones


@dataclass(slots=True, unsafe_hash=True)
class UnavailableMethod:
    method: Method
    reason: Reason
    message: str


@dataclass(slots=True, unsafe_hash=True)
class Quote:
    region_code: str
    options: tuple[QuoteOption, ...]
    unavailable: tuple[UnavailableMethod, ...]
