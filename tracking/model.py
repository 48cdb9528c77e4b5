"""The tracking domain's values: normalised statuses, events, a tracking answer, and the numbers.

Plain frozen dataclasses; no gRPC, HTTP or Redis here. `encode`/`decode` turn a Tracking into JSON
bytes and back, which is what the caches store (one key per number).
"""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from domain import s10
from domain.errors import FieldViolation, InvalidArgument


class Status(enum.Enum):
    """Normalised status (AfterShip-like tags). The value is the name used in JSON and logs."""

    INFO_RECEIVED = "info_received"
    IN_TRANSIT = "in_transit"
    IN_CUSTOMS = "in_customs"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPT_FAIL = "attempt_fail"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    RETURNED = "returned"
    EXCEPTION = "exception"
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class Product(enum.Enum):
    EMS = "ems"
    PARCEL = "parcel"
    TRACKED_LETTER = "tracked_letter"
    REGISTERED_LETTER = "registered_letter"
    OTHER = "other"


class Source(enum.Enum):
    CACHE = "cache"
    CARRIER = "carrier"
    STALE_CACHE = "stale_cache"


_PRODUCT_BY_LETTER = {"E": Product.EMS, "C": Product.PARCEL, "L": Product.TRACKED_LETTER, "R": Product.REGISTERED_LETTER}


def product_for(number: str) -> Product:
    """The product guessed from an S10 number's first letter (E EMS, C parcel, L tracked, R registered)."""
    return _PRODUCT_BY_LETTER.get(number[:1], Product.OTHER)


def parse_number(text: str, field: str = "tracking_number") -> str:
    """Validates and normalises a Japan Post S10 number, or raises InvalidArgument naming `field`
    with the rule's own reason (e.g. TRACKING_NUMBER_IS_CUSTOMS_LABEL for U... numbers)."""
    try:
        return _valid_number(text[:64])
    except s10.S10Error as error:
        raise InvalidArgument([FieldViolation(field, error.message)], reason=error.reason) from None


@functools.lru_cache(maxsize=8192)
def _valid_number(text: str) -> str:
    # Remembers valid spellings only (errors are not cached): the same numbers are asked about
    # again and again, and validating is a noticeable part of a cached lookup.
    return s10.validate(text)


@dataclass(frozen=True, slots=True)
class LocalTime:
    """A wall-clock time as printed on the page; `time_zone` only where it is known (Japan)."""

    year: int
    month: int
    day: int
    hour: int | None = None  # None: the page gave a date alone
    minute: int | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    time_text: str
    time: LocalTime | None
    carrier_text: str
    status: Status
    details: str = ""
    office: str = ""
    location: str = ""
    postal_code: str = ""


@dataclass(frozen=True, slots=True)
class Tracking:
    number: str
    product: Product
    status: Status
    final: bool
    events: tuple[Event, ...]
    carrier_product_text: str
    fetched_at: datetime
    source: Source
    next_refresh_at: datetime

    def with_source(self, source: Source, next_refresh_at: datetime | None = None) -> Tracking:
        return replace(self, source=source, next_refresh_at=next_refresh_at or self.next_refresh_at)

    def same_contents(self, other: Tracking) -> bool:
        """Whether two answers say the same thing about the item (freshness aside)."""
        return (self.status, self.final, self.events, self.carrier_product_text) == (
            other.status,
            other.final,
            other.events,
            other.carrier_product_text,
        )


SCHEMA = 1


def encode(tracking: Tracking) -> bytes:
    """JSON bytes of a Tracking, for a cache."""
    return json.dumps(
        {
            "v": SCHEMA,
            "number": tracking.number,
            "product": tracking.product.value,
            "status": tracking.status.value,
            "final": tracking.final,
            "product_text": tracking.carrier_product_text,
            "fetched_at": tracking.fetched_at.timestamp(),
            "next_refresh_at": tracking.next_refresh_at.timestamp(),
            "events": [
                {
                    "tt": e.time_text,
                    "t": None if e.time is None else [e.time.year, e.time.month, e.time.day, e.time.hour, e.time.minute, e.time.time_zone],
                    "ct": e.carrier_text,
                    "s": e.status.value,
                    "d": e.details,
                    "o": e.office,
                    "l": e.location,
                    "p": e.postal_code,
                }
                for e in tracking.events
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def decode(data: bytes) -> Tracking:
    """The Tracking encoded by `encode`, marked as coming from the cache. Raises ValueError on data
    of another schema or shape (the caller treats it as a miss)."""
    try:
        d = json.loads(data)
        if d.get("v") != SCHEMA:
            raise ValueError(f"cache entry has schema {d.get('v')!r}, not {SCHEMA}")
        events = tuple(
            Event(
                time_text=e["tt"],
                time=None if e["t"] is None else LocalTime(*e["t"]),
                carrier_text=e["ct"],
                status=Status(e["s"]),
                details=e["d"],
                office=e["o"],
                location=e["l"],
                postal_code=e["p"],
            )
            for e in d["events"]
        )
        return Tracking(
            number=d["number"],
            product=Product(d["product"]),
            status=Status(d["status"]),
            final=bool(d["final"]),
            events=events,
            carrier_product_text=d["product_text"],
            fetched_at=datetime.fromtimestamp(d["fetched_at"], UTC),
            source=Source.CACHE,
            next_refresh_at=datetime.fromtimestamp(d["next_refresh_at"], UTC),
        )
    except (KeyError, TypeError, IndexError) as error:
        raise ValueError(f"malformed cache entry: {error!r}") from None
