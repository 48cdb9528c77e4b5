"""The label store interface and what its two implementations (SQLite, PostgreSQL) share.

A label and its S10 number are written in ONE transaction: the serial is taken from the range's
counter row and the label row is inserted before the commit, so a crash either keeps both or
neither, and the counter never goes back. `request_id` is unique in the table, so concurrent
retries of one request resolve to one label: the loser's insert fails, its transaction (with
its serial) rolls back, and it reads the winner's label.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from domain.errors import FieldViolation, InvalidArgument, ResourceExhausted
from labels.model import CustomsForm, Label, LabelStatus, Pricing, request_from_canonical
from labels.ranges import SerialRange
from rates.model import Product

# Builds the label once the store has allocated its number: (tracking_number, range_name) -> Label.
LabelBuilder = Callable[[str, str], Label]


@dataclass(frozen=True, slots=True)
class Page:
    labels: tuple[Label, ...]
    next_token: str


class LabelStore(Protocol):
    def sync_ranges(self, ranges: tuple[SerialRange, ...]) -> None: ...

    def issue(self, request_id: str, product: Product, build: LabelBuilder) -> tuple[Label, bool]:
        """Returns (label, created). When request_id is already stored, returns that label and False
        without allocating a number."""
        ...

    def get(self, label_id: str) -> Label | None: ...

    def get_by_request_id(self, request_id: str) -> Label | None: ...

    def list_labels(self, ship_date: date | None, status: LabelStatus | None, page_size: int, page_token: str) -> Page: ...

    def void(self, label_id: str, when: datetime) -> Label | None: ...

    def for_manifest(self, ship_date: date) -> list[Label]: ...

    def erase_personal_data(self, created_before: datetime, now: datetime) -> int:
        """Erases names, addresses, phones and e-mails of labels created before `created_before`
        (number, product, dates, weights, prices and customs lines stay); returns how many."""
        ...

    def close(self) -> None: ...


PERSONAL_ADDRESS_FIELDS = ("name", "company", "address_lines", "city", "administrative_area", "postal_code", "phone", "email")
ERASED_NOTE = "personal data erased after the retention period"
# Labels erased per transaction, so a large purge does not hold the write lock for long.
ERASE_BATCH = 500


def erase_payload(data: str | dict[str, Any]) -> str:
    """The stored payload with the sender's and recipient's personal data blanked (their region
    codes stay: the manifest counts by destination)."""
    body = json.loads(data) if isinstance(data, str) else dict(data)
    request = body["request"]
    for party in ("sender", "recipient"):
        address = request[party]
        for field in PERSONAL_ADDRESS_FIELDS:
            address[field] = [] if field == "address_lines" else ""
    if ERASED_NOTE not in body["notes"]:
        body["notes"] = [*body["notes"], ERASED_NOTE]
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


MAX_ALLOCATION_ATTEMPTS = 16


def exhausted(product: Product, described: list[str]) -> ResourceExhausted:
    if not described:
        return ResourceExhausted(
            f"no S10 range is configured for product {product.value}; add one to the ranges file",
            reason="S10_RANGE_NOT_CONFIGURED",
            metadata={"product": product.value},
        )
    return ResourceExhausted(
        f"S10 range exhausted for product {product.value}: {', '.join(described)}; add a range to the ranges file",
        reason="S10_RANGE_EXHAUSTED",
        metadata={"product": product.value, "ranges": ",".join(d.split(" ")[0] for d in described)},
    )


def describe_range(name: str, indicator: str, first: int, last: int) -> str:
    return SerialRange(name, Product.EMS, indicator, first, last).describe()


def payload(label: Label) -> str:
    """The label's content as stored (JSON): the request and what was decided when issuing it."""
    return json.dumps(
        {
            "request": label.request.canonical(),
            "pricing": {
                "product": label.pricing.product.value,
                "product_name": label.pricing.product_name,
                "price_jpy": label.pricing.price_jpy,
                "notes": list(label.pricing.notes),
            },
            "customs_form": label.customs_form.value,
            "export_declaration_required": label.export_declaration_required,
            "notes": list(label.notes),
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def label_from_row(
    *,
    seq: int,
    label_id: str,
    request_id: str,
    request_hash: str,
    tracking_number: str,
    range_name: str,
    status: str,
    created_at: datetime,
    voided_at: datetime | None,
    data: str | dict[str, Any],
) -> Label:
    body = json.loads(data) if isinstance(data, str) else data
    p = body["pricing"]
    return Label(
        id=label_id,
        seq=seq,
        tracking_number=tracking_number,
        range_name=range_name,
        request=request_from_canonical(request_id, body["request"]),
        request_hash=request_hash,
        pricing=Pricing(Product(p["product"]), p["product_name"], int(p["price_jpy"]), tuple(p["notes"])),
        customs_form=CustomsForm(body["customs_form"]),
        export_declaration_required=bool(body["export_declaration_required"]),
        created_at=created_at,
        status=LabelStatus(status),
        voided_at=voided_at,
        notes=tuple(body["notes"]),
    )


def encode_page_token(after_seq: int, ship_date: date | None, status: LabelStatus | None) -> str:
    raw = json.dumps({"a": after_seq, "d": ship_date.isoformat() if ship_date else "", "s": status.value if status else ""})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str, ship_date: date | None, status: LabelStatus | None) -> int:
    """The seq to continue after; 0 for no token. The filters must be those the token was made for."""
    if not token:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after, d, s = int(raw["a"]), str(raw["d"]), str(raw["s"])
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument([FieldViolation("page_token", "is not a token from a previous ListLabels answer")], reason="INVALID_PAGE_TOKEN") from None
    if d != (ship_date.isoformat() if ship_date else "") or s != (status.value if status else ""):
        raise InvalidArgument(
            [FieldViolation("page_token", "was made for other filters; send the same ship_date and status as in the first call")],
            reason="INVALID_PAGE_TOKEN",
        )
    return after


__all__ = [
    "MAX_ALLOCATION_ATTEMPTS",
    "LabelBuilder",
    "LabelStore",
    "Page",
    "decode_page_token",
    "describe_range",
    "encode_page_token",
    "erase_payload",
    "exhausted",
    "label_from_row",
    "payload",
]
