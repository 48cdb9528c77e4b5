"""Value types of the label domain: what a label is asked for, and the label as issued and stored.

Plain frozen dataclasses, no gRPC. `LabelRequest.canonical()` is the content that idempotency
compares: a retry with the same request_id must carry the same canonical content, as sent. A
request without a ship date stays without one there (the day it defaulted to, today in Japan, is
the label's ship date, kept beside it), so a retry sent unchanged after midnight in Japan replays.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from rates.model import ContentsFlag, ContentsType, Method, Product

# Japan Post's calendar: a label's default ship date is the day in Japan (UTC+9 all year).
JAPAN = timezone(timedelta(hours=9), "JST")


def day_in_japan(moment: datetime) -> date:
    return moment.astimezone(JAPAN).date()


class DocumentFormat(enum.Enum):
    PDF_A6 = "pdf_a6"
    PDF_4X6 = "pdf_4x6"
    ZPL_4X6 = "zpl_4x6"


class CustomsForm(enum.Enum):
    CN22 = "CN22"
    CN23 = "CN23"


class NonDelivery(enum.Enum):
    """The sender's instruction in case of non-delivery, as the customs forms print it."""

    RETURN_TO_SENDER = "return"
    ABANDON = "abandon"


class LabelStatus(enum.Enum):
    ACTIVE = "active"
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    region_code: str
    address_lines: tuple[str, ...] = ()
    city: str = ""
    administrative_area: str = ""
    postal_code: str = ""
    company: str = ""
    phone: str = ""
    email: str = ""
    # The district or city area (a Chinese 区, a Korean 구), and a sorting code (a French CEDEX).
    sublocality: str = ""
    sorting_code: str = ""
    # The same address in Latin letters, sent with an address in another script: Japan Post sorts
    # by a Latin line, and both are printed.
    latin: Address | None = None

    def __repr__(self) -> str:  # personal data stays out of logs and tracebacks
        return f"Address(region_code={self.region_code!r}, ...)"


@dataclass(frozen=True, slots=True)
class CustomsItem:
    description: str
    quantity: int
    unit_value_jpy: int
    hs_code: str = ""
    net_weight_g: int = 0
    origin_region_code: str = ""
    flags: frozenset[ContentsFlag] = frozenset()

    @property
    def value_jpy(self) -> int:
        return self.quantity * self.unit_value_jpy


@dataclass(frozen=True, slots=True)
class CustomsDetails:
    """What the CN22 / CN23 forms carry beyond the items.

    Importer tax numbers: the shop's registrations for collecting import VAT at the sale, each
    printed only on parcels to its destination: IOSS (EU, "IM" and 10 digits), UK VAT ("GB" and 9
    digits), Norway's VOEC (7 digits) and Australia's ABN (11 digits) or ARN (12 digits).
    `importer_reference` is the recipient's own (a tax code, VAT number or importer code, such as
    Korea's personal customs clearance code)."""

    non_delivery: NonDelivery = NonDelivery.RETURN_TO_SENDER
    invoice_number: str = ""
    licence_numbers: tuple[str, ...] = ()
    certificate_numbers: tuple[str, ...] = ()
    comments: str = ""
    importer_reference: str = ""
    ioss_number: str = ""
    uk_vat_number: str = ""
    voec_number: str = ""
    au_gst_number: str = ""


@dataclass(frozen=True, slots=True)
class ParcelSpec:
    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0


@dataclass(frozen=True, slots=True)
class LabelRequest:
    """A validated CreateLabel request (shape checked; customs rules not yet applied).

    `ship_date` is the day the label is for: as given, or today in Japan when the caller gave none
    (`ship_date_given` False), which idempotency compares as unset."""

    request_id: str
    method: Method
    sender: Address
    recipient: Address
    parcel: ParcelSpec
    items: tuple[CustomsItem, ...]
    contents_type: ContentsType
    document_format: DocumentFormat
    ship_date: date
    insure: bool = False
    ship_date_given: bool = True
    customs: CustomsDetails = CustomsDetails()

    @property
    def declared_value_jpy(self) -> int:
        return sum(item.value_jpy for item in self.items)

    def canonical(self) -> dict[str, Any]:
        """The request's content as sent, as plain JSON values, without request_id: what a retry must
        repeat. An unset ship_date is None, whatever day it defaulted to."""
        out = {
            "method": self.method.value,
            "sender": _address_dict(self.sender),
            "recipient": _address_dict(self.recipient),
            "parcel": asdict(self.parcel),
            "items": [_item_dict(i) for i in self.items],
            "contents_type": self.contents_type.value,
            "document_format": self.document_format.value,
            "ship_date": self.ship_date.isoformat() if self.ship_date_given else None,
            "insure": self.insure,
        }
        # Kept out while unset, so a label issued before these fields existed replays unchanged.
        customs = _customs_dict(self.customs)
        if customs:
            out["customs"] = customs
        return out

    def content_hash(self) -> str:
        return content_hash(self.canonical())


def content_hash(canonical: dict[str, Any]) -> str:
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def differing_fields(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Top-level field names whose content differs (names only: the values may be personal data)."""
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


# Address fields added later: in the canonical content only when set (older labels hash unchanged).
_LATER_ADDRESS_FIELDS = ("sublocality", "sorting_code", "latin")


def _address_dict(a: Address) -> dict[str, Any]:
    d: dict[str, Any] = {f: getattr(a, f) for f in Address.__slots__ if f not in _LATER_ADDRESS_FIELDS}
    d["address_lines"] = list(a.address_lines)
    for f in ("sublocality", "sorting_code"):
        if getattr(a, f):
            d[f] = getattr(a, f)
    if a.latin is not None:
        d["latin"] = _address_dict(a.latin)
    return d


def _address_from_dict(d: dict[str, Any]) -> Address:
    latin = d.get("latin")
    return Address(**{**d, "address_lines": tuple(d["address_lines"]), "latin": _address_from_dict(latin) if latin else None})


def _customs_dict(c: CustomsDetails) -> dict[str, Any]:
    default = CustomsDetails()
    out: dict[str, Any] = {}
    for f in CustomsDetails.__slots__:
        value = getattr(c, f)
        if value != getattr(default, f):
            out[f] = value.value if isinstance(value, NonDelivery) else list(value) if isinstance(value, tuple) else value
    return out


def _customs_from_dict(d: dict[str, Any] | None) -> CustomsDetails:
    if not d:
        return CustomsDetails()
    values: dict[str, Any] = dict(d)
    if "non_delivery" in values:
        values["non_delivery"] = NonDelivery(values["non_delivery"])
    for f in ("licence_numbers", "certificate_numbers"):
        if f in values:
            values[f] = tuple(values[f])
    return CustomsDetails(**values)


def _item_dict(i: CustomsItem) -> dict[str, Any]:
    return {
        "description": i.description,
        "quantity": i.quantity,
        "unit_value_jpy": i.unit_value_jpy,
        "hs_code": i.hs_code,
        "net_weight_g": i.net_weight_g,
        "origin_region_code": i.origin_region_code,
        "flags": sorted(f.value for f in i.flags),
    }


def request_from_canonical(request_id: str, c: dict[str, Any], ship_date: date | None = None) -> LabelRequest:
    """Rebuilds a LabelRequest from the stored canonical content; `ship_date` is the label's, needed
    when the request gave none."""

    return LabelRequest(
        request_id=request_id,
        method=Method(c["method"]),
        sender=_address_from_dict(c["sender"]),
        recipient=_address_from_dict(c["recipient"]),
        parcel=ParcelSpec(**c["parcel"]),
        items=tuple(CustomsItem(**{**i, "flags": frozenset(ContentsFlag(f) for f in i["flags"])}) for i in c["items"]),
        contents_type=ContentsType(c["contents_type"]),
        document_format=DocumentFormat(c["document_format"]),
        ship_date=date.fromisoformat(c["ship_date"]) if c["ship_date"] is not None else _given(ship_date),
        insure=bool(c["insure"]),
        ship_date_given=c["ship_date"] is not None,
        customs=_customs_from_dict(c.get("customs")),
    )


def _given(ship_date: date | None) -> date:
    if ship_date is None:
        raise ValueError("the request gave no ship date and the label's is not known")
    return ship_date


@dataclass(frozen=True, slots=True)
class Pricing:
    """What the quote engine answered for the label's method, kept with the label."""

    product: Product
    product_name: str
    price_jpy: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    seq: int
    tracking_number: str
    range_name: str
    request: LabelRequest
    request_hash: str
    pricing: Pricing
    customs_form: CustomsForm
    export_declaration_required: bool
    created_at: datetime
    status: LabelStatus = LabelStatus.ACTIVE
    voided_at: datetime | None = None
    notes: tuple[str, ...] = field(default=())
    # Labels stored before requests were kept as sent: their request_hash was taken with an unset
    # ship date filled in with the day it defaulted to, and their request shows it as given.
    hashed_with_default_ship_date: bool = False

    @property
    def product(self) -> Product:
        return self.pricing.product

    @property
    def ship_date(self) -> date:
        return self.request.ship_date

    @property
    def declared_value_jpy(self) -> int:
        return self.request.declared_value_jpy


@dataclass(frozen=True, slots=True)
class ProductTotal:
    product: Product
    product_name: str
    count: int
    weight_g: int
    price_jpy: int
    declared_jpy: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """The labels handed over on one ship date, with totals per product (labels.documents draws it)."""

    ship_date: date
    labels: tuple[Label, ...]
    totals: tuple[ProductTotal, ...]


def build_manifest(ship_date: date, labels: list[Label]) -> Manifest:
    totals: dict[Product, list[int]] = {}
    names: dict[Product, str] = {}
    for lb in labels:
        t = totals.setdefault(lb.product, [0, 0, 0, 0])
        t[0] += 1
        t[1] += lb.request.parcel.weight_g
        t[2] += lb.pricing.price_jpy
        t[3] += lb.declared_value_jpy
        names[lb.product] = lb.pricing.product_name
    rows = tuple(ProductTotal(p, names[p], *v) for p, v in sorted(totals.items(), key=lambda kv: kv[0].value))
    return Manifest(ship_date, tuple(labels), rows)
