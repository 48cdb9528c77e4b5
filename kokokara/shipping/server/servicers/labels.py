"""LabelService: labels for the warehouse. Translates requests into labels.model values, calls
labels.service.LabelService, and translates the answer back; failures go through the interceptor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import grpc
from google.protobuf import timestamp_pb2

from domain.errors import ViolationCollector
from kokokara.shipping.server.auth import reads_label_contents
from kokokara.shipping.server.contract import (
    CONTENTS_TYPE_FROM_PROTO as CONTENTS_FROM_PROTO,
)
from kokokara.shipping.server.contract import (
    CONTENTS_TYPE_TO_PROTO as CONTENTS_TO_PROTO,
)
from kokokara.shipping.server.contract import (
    FLAG_FROM_PROTO,
    MAX_VALUE_JPY,
    METHOD_FROM_PROTO,
    METHOD_TO_PROTO,
    PRODUCT_TO_PROTO,
)
from kokokara.shipping.server.convert import date_from_proto, date_to_proto, today_in_japan, yen, yen_from_proto
from kokokara.shipping.server.interceptors import current_role
from kokokara.shipping.server.servicers.rates import EngineHolder
from kokokara.shipping.v1 import common_pb2, labels_pb2, labels_pb2_grpc
from labels import documents
from labels.model import (
    Address,
    CustomsDetails,
    CustomsForm,
    CustomsItem,
    DocumentFormat,
    Label,
    LabelRequest,
    LabelStatus,
    NonDelivery,
    ParcelSpec,
)
from labels.service import LabelService
from tracking.model import parse_number

MAX_REQUEST_ID = 128
MAX_TEXT = 100
MAX_WEIGHT_G = 100_000
MAX_SIDE_MM = 5_000
MAX_UNIT_VALUE_JPY = 100_000_000
MAX_QUANTITY = 100_000
MAX_CUSTOMS_ITEMS = 100
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

FORMAT_FROM_PROTO = {labels_pb2.DocumentFormat.Value(f"DOCUMENT_FORMAT_{f.name}"): f for f in DocumentFormat}
FORMAT_TO_PROTO = {v: k for k, v in FORMAT_FROM_PROTO.items()}
FORM_TO_PROTO = {f: labels_pb2.CustomsForm.Value(f"CUSTOMS_FORM_{f.name}") for f in CustomsForm}
STATUS_FROM_PROTO = {labels_pb2.LabelStatus.Value(f"LABEL_STATUS_{s.name}"): s for s in LabelStatus}
STATUS_TO_PROTO = {v: k for k, v in STATUS_FROM_PROTO.items()}
FLAG_TO_PROTO = {v: k for k, v in FLAG_FROM_PROTO.items()}


def _text(value: str, field: str, errors: ViolationCollector, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = value.strip()
    if required and not value:
        errors.add(field, "is required")
    elif len(value) > limit:
        errors.add(field, f"must be at most {limit} characters")
    return value


def address_from_proto(
    a: labels_pb2.Address, field: str, errors: ViolationCollector, known_regions: frozenset[str], *, within: Address | None = None
) -> Address:
    """An address; `within` is the address whose Latin version `a` is (its region and postcode)."""
    region = within.region_code if within is not None else a.region_code.strip().upper()
    if within is not None:
        pass  # the region of the address it translates
    elif not region:
        errors.add(f"{field}.region_code", "is required: an ISO 3166-1 alpha-2 code")
    elif region not in known_regions:
        errors.add(f"{field}.region_code", "is not an ISO 3166-1 alpha-2 region code")
    lines = tuple(_text(line, f"{field}.address_lines[{i}]", errors) for i, line in enumerate(a.address_lines))
    if not any(lines):
        errors.add(f"{field}.address_lines", "at least one address line is required")
    elif len(lines) > 3:
        errors.add(f"{field}.address_lines", "at most 3 address lines")
    address = Address(
        name=_text(a.name, f"{field}.name", errors, required=True),
        region_code=region,
        address_lines=tuple(line for line in lines if line),
        # A recipient's city is required where the country writes one (not in Hong Kong or the
        # Emirates): labels.addresses checks it with the country's data. The sender's always is.
        city=_text(a.city, f"{field}.city", errors, required=field == "sender"),
        administrative_area=_text(a.administrative_area, f"{field}.administrative_area", errors),
        postal_code=within.postal_code if within is not None else _text(a.postal_code, f"{field}.postal_code", errors, limit=32),
        company=_text(a.company, f"{field}.company", errors),
        phone=_text(a.phone, f"{field}.phone", errors, limit=32),
        email=_text(a.email, f"{field}.email", errors, limit=254),
        sublocality=_text(a.sublocality, f"{field}.sublocality", errors),
        sorting_code=_text(a.sorting_code, f"{field}.sorting_code", errors, limit=32),
    )
    if a.HasField("latin"):
        if within is not None:
            errors.add(f"{field}.latin", "an address in Latin letters has no Latin version of its own")
        else:
            address = replace(address, latin=address_from_proto(a.latin, f"{field}.latin", errors, known_regions, within=address))
    return address


NON_DELIVERY_FROM_PROTO = {
    labels_pb2.NON_DELIVERY_INSTRUCTION_UNSPECIFIED: NonDelivery.RETURN_TO_SENDER,
    labels_pb2.NON_DELIVERY_INSTRUCTION_RETURN_TO_SENDER: NonDelivery.RETURN_TO_SENDER,
    labels_pb2.NON_DELIVERY_INSTRUCTION_TREAT_AS_ABANDONED: NonDelivery.ABANDON,
}
NON_DELIVERY_TO_PROTO = {
    NonDelivery.RETURN_TO_SENDER: labels_pb2.NON_DELIVERY_INSTRUCTION_RETURN_TO_SENDER,
    NonDelivery.ABANDON: labels_pb2.NON_DELIVERY_INSTRUCTION_TREAT_AS_ABANDONED,
}
MAX_REFERENCES = 5


def customs_details_from_proto(c: labels_pb2.CustomsDetails, errors: ViolationCollector) -> CustomsDetails:
    """Shape only (lengths, enum values); the number formats are checked in labels.customs."""
    non_delivery = NON_DELIVERY_FROM_PROTO.get(c.non_delivery)
    if non_delivery is None:
        errors.add("customs.non_delivery", f"unknown non-delivery instruction {c.non_delivery}")
    numbers = {}
    for name in ("licence_numbers", "certificate_numbers"):
        values = list(getattr(c, name))
        if len(values) > MAX_REFERENCES:
            errors.add(f"customs.{name}", f"at most {MAX_REFERENCES}")
        numbers[name] = tuple(v for v in (_text(v, f"customs.{name}[{i}]", errors, limit=35) for i, v in enumerate(values[:MAX_REFERENCES])) if v)
    return CustomsDetails(
        non_delivery=non_delivery or NonDelivery.RETURN_TO_SENDER,
        invoice_number=_text(c.invoice_number, "customs.invoice_number", errors, limit=35),
        licence_numbers=numbers["licence_numbers"],
        certificate_numbers=numbers["certificate_numbers"],
        comments=_text(c.comments, "customs.comments", errors),
        importer_reference=_text(c.importer_reference, "customs.importer_reference", errors, limit=35),
        ioss_number=_text(c.ioss_number, "customs.ioss_number", errors, limit=35),
        uk_vat_number=_text(c.uk_vat_number, "customs.uk_vat_number", errors, limit=35),
        voec_number=_text(c.voec_number, "customs.voec_number", errors, limit=35),
        au_gst_number=_text(c.au_gst_number, "customs.au_gst_number", errors, limit=35),
    )


def customs_details_to_proto(c: CustomsDetails) -> labels_pb2.CustomsDetails:
    return labels_pb2.CustomsDetails(
        non_delivery=NON_DELIVERY_TO_PROTO[c.non_delivery],
        invoice_number=c.invoice_number,
        licence_numbers=c.licence_numbers,
        certificate_numbers=c.certificate_numbers,
        comments=c.comments,
        importer_reference=c.importer_reference,
        ioss_number=c.ioss_number,
        uk_vat_number=c.uk_vat_number,
        voec_number=c.voec_number,
        au_gst_number=c.au_gst_number,
    )


def label_request_from_proto(msg: labels_pb2.CreateLabelRequest, known_regions: frozenset[str], today: date) -> LabelRequest:
    """Shape checks of a CreateLabelRequest (every bad field at once); customs rules come later."""
    errors = ViolationCollector()
    request_id = msg.request_id
    if not request_id.strip():
        errors.add("request_id", "is required: the caller's idempotency key")
    elif request_id != request_id.strip():
        # Kept as sent, compared exactly: trimming made " id " replay the label of "id", and keeping
        # both would make keys differ invisibly in logs and screens. Refused, the caller learns at once.
        errors.add("request_id", "must not begin or end with whitespace")
    elif len(request_id) > MAX_REQUEST_ID:
        errors.add("request_id", f"must be at most {MAX_REQUEST_ID} characters")
    method = METHOD_FROM_PROTO.get(msg.method)
    if method is None:
        errors.add("method", "is required: one of the ShippingMethod values")
    sender = address_from_proto(msg.sender, "sender", errors, known_regions)
    if sender.region_code and sender.region_code != "JP":
        errors.add("sender.region_code", "must be JP: labels are for items posted in Japan")
    recipient = address_from_proto(msg.recipient, "recipient", errors, known_regions)
    if recipient.region_code == "JP":
        errors.add("recipient.region_code", "must be outside Japan: these are international labels")
    p = msg.parcel
    if p.weight_grams <= 0 or p.weight_grams > MAX_WEIGHT_G:
        errors.add("parcel.weight_grams", f"is required: 1 to {MAX_WEIGHT_G} g")
    sides = (("length_mm", p.length_mm), ("width_mm", p.width_mm), ("height_mm", p.height_mm))
    if any(v != 0 for _, v in sides):
        for name, v in sides:
            if not 0 < v <= MAX_SIDE_MM:
                errors.add(f"parcel.{name}", f"must be 1 to {MAX_SIDE_MM} mm when a size is given (or all three 0)")
    items = []
    for i, it in enumerate(msg.customs_items[:MAX_CUSTOMS_ITEMS]):
        at = f"customs_items[{i}]"
        if not 0 <= it.quantity <= MAX_QUANTITY:
            errors.add(f"{at}.quantity", f"must be 1 to {MAX_QUANTITY}")
        unit = yen_from_proto(it.unit_value, f"{at}.unit_value", errors, maximum=MAX_UNIT_VALUE_JPY) if it.HasField("unit_value") else 0
        flags = set()
        for j, f in enumerate(it.flags):
            flag = FLAG_FROM_PROTO.get(f)
            if flag is None:
                errors.add(f"{at}.flags[{j}]", f"unknown contents flag {f}")
            else:
                flags.add(flag)
        if not 0 <= it.net_weight_grams <= MAX_WEIGHT_G:
            errors.add(f"{at}.net_weight_grams", f"must be 0 to {MAX_WEIGHT_G} g")
        items.append(
            CustomsItem(
                description=_text(it.description, f"{at}.description", errors),
                quantity=int(it.quantity),
                unit_value_jpy=unit,
                hs_code=it.hs_code.strip().replace(".", ""),
                net_weight_g=int(it.net_weight_grams),
                origin_region_code=it.origin_region_code.strip().upper(),
                flags=frozenset(flags),
            )
        )
    if len(msg.customs_items) > MAX_CUSTOMS_ITEMS:
        errors.add("customs_items", f"at most {MAX_CUSTOMS_ITEMS} customs items, got {len(msg.customs_items)}")
    elif sum(item.value_jpy for item in items) > MAX_VALUE_JPY:  # the bound of a quote's declared value
        errors.add("customs_items", f"the declared total (quantity x unit value of every item) must be at most {MAX_VALUE_JPY:,} JPY")
    contents = CONTENTS_FROM_PROTO.get(msg.contents_type)
    if contents is None:
        errors.add("contents_type", "is required: merchandise, gift, sample, documents or returned goods")
    fmt = DocumentFormat.PDF_A6 if msg.document_format == 0 else FORMAT_FROM_PROTO.get(msg.document_format)
    if fmt is None:
        errors.add("document_format", f"unknown document format {msg.document_format}")
    ship_date = date_from_proto(msg.ship_date, "ship_date", errors, today)
    details = customs_details_from_proto(msg.customs, errors)
    errors.raise_if_any("INVALID_LABEL_REQUEST")
    assert method is not None and contents is not None and fmt is not None
    return LabelRequest(
        request_id=request_id,
        method=method,
        sender=sender,
        recipient=recipient,
        parcel=ParcelSpec(int(p.weight_grams), int(p.length_mm), int(p.width_mm), int(p.height_mm)),
        items=tuple(items),
        contents_type=contents,
        document_format=fmt,
        ship_date=ship_date,
        insure=msg.insure,
        ship_date_given=any((msg.ship_date.year, msg.ship_date.month, msg.ship_date.day)),  # unset: today in Japan
        customs=details,
    )


def _address_to_proto(a: Address) -> labels_pb2.Address:
    out = labels_pb2.Address(
        name=a.name,
        company=a.company,
        address_lines=a.address_lines,
        city=a.city,
        administrative_area=a.administrative_area,
        postal_code=a.postal_code,
        region_code=a.region_code,
        phone=a.phone,
        email=a.email,
        sublocality=a.sublocality,
        sorting_code=a.sorting_code,
    )
    if a.latin is not None:
        out.latin.CopyFrom(_address_to_proto(a.latin))
    return out


def _timestamp(value: object) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)  # type: ignore[arg-type]
    return ts


def label_to_proto(label: Label, fmt: DocumentFormat | None = None, *, with_documents: bool = True, whole: bool = True) -> labels_pb2.Label:
    """The label as the contract has it. Not `whole`: without what it says of people (the sender,
    the recipient but for the destination, the customs contents, the documents), for roles that
    may not read them (auth.reads_label_contents)."""
    r = label.request
    out = labels_pb2.Label(
        id=label.id,
        tracking_number=label.tracking_number,
        method=METHOD_TO_PROTO[r.method],
        product=PRODUCT_TO_PROTO[label.product],
        product_name=label.pricing.product_name,
        create_time=_timestamp(label.created_at),
        ship_date=date_to_proto(r.ship_date),
        status=STATUS_TO_PROTO[label.status],
        customs_form=FORM_TO_PROTO[label.customs_form],
        price=yen(label.pricing.price_jpy),
        declared_value=yen(r.declared_value_jpy),
        export_declaration_required=label.export_declaration_required,
        request_id=r.request_id,
        sender=_address_to_proto(r.sender),
        recipient=_address_to_proto(r.recipient),
        parcel=common_pb2.Parcel(weight_grams=r.parcel.weight_g, length_mm=r.parcel.length_mm, width_mm=r.parcel.width_mm, height_mm=r.parcel.height_mm),
        contents_type=CONTENTS_TO_PROTO[r.contents_type],
        notes=label.notes,
        customs=customs_details_to_proto(r.customs),
    )
    if label.voided_at is not None:
        out.void_time.CopyFrom(_timestamp(label.voided_at))
    if not whole:
        for name in ("sender", "recipient", "customs"):
            out.ClearField(name)
        out.recipient.region_code = r.recipient.region_code
        out.contents_withheld = True
        return out
    for it in r.items:
        out.customs_items.add(
            description=it.description,
            hs_code=it.hs_code,
            quantity=it.quantity,
            unit_value=yen(it.unit_value_jpy),
            net_weight_grams=it.net_weight_g,
            origin_region_code=it.origin_region_code,
            flags=sorted(FLAG_TO_PROTO[f] for f in it.flags),
        )
    if with_documents:
        doc = documents.render(label, fmt)
        out.documents.add(format=FORMAT_TO_PROTO[doc.format], content_type=doc.content_type, content=doc.content)
    return out


class LabelServicer(labels_pb2_grpc.LabelServiceServicer):
    def __init__(self, service: LabelService, engines: EngineHolder, today: Callable[[], date] = today_in_japan):
        self._service = service
        self._engines = engines
        self._today = today

    def CreateLabel(self, request: labels_pb2.CreateLabelRequest, context: grpc.ServicerContext) -> labels_pb2.CreateLabelResponse:
        _, regions = self._engines.get()
        label, replayed = self._service.create(label_request_from_proto(request, regions, self._today()))
        return labels_pb2.CreateLabelResponse(label=label_to_proto(label), replayed=replayed)

    def GetLabel(self, request: labels_pb2.GetLabelRequest, context: grpc.ServicerContext) -> labels_pb2.GetLabelResponse:
        errors = ViolationCollector()
        if not request.id:
            errors.add("id", "is required")
        fmt = FORMAT_FROM_PROTO.get(request.document_format) if request.document_format else None
        if request.document_format and fmt is None:
            errors.add("document_format", f"unknown document format {request.document_format}")
        errors.raise_if_any("INVALID_LABEL_REQUEST")
        label = self._service.get(request.id)
        whole = reads_label_contents(current_role())
        return labels_pb2.GetLabelResponse(label=label_to_proto(label, fmt, with_documents=not request.skip_documents, whole=whole))

    def ListLabels(self, request: labels_pb2.ListLabelsRequest, context: grpc.ServicerContext) -> labels_pb2.ListLabelsResponse:
        # The number first, as GetTracking and ListWatchedParcels check it: the same spellings, and a
        # bad one is refused with the S10 rule's own reason (TRACKING_NUMBER_CHECK_DIGIT, ...).
        number = parse_number(request.tracking_number) if request.tracking_number else ""
        errors = ViolationCollector()
        ship_date = date_from_proto(request.ship_date, "ship_date", errors, date.min) if request.HasField("ship_date") else None
        status = STATUS_FROM_PROTO.get(request.status) if request.status else None
        if request.status and status is None:
            errors.add("status", f"unknown label status {request.status}")
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            errors.add("page_size", f"must be 0 (default {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}")
        errors.raise_if_any("INVALID_LIST_REQUEST")
        page = self._service.list_labels(ship_date, status, request.page_size or DEFAULT_PAGE_SIZE, request.page_token, tracking_number=number)
        whole = reads_label_contents(current_role())
        found = [label_to_proto(lb, with_documents=False, whole=whole) for lb in page.labels]
        return labels_pb2.ListLabelsResponse(labels=found, next_page_token=page.next_token)

    def VoidLabel(self, request: labels_pb2.VoidLabelRequest, context: grpc.ServicerContext) -> labels_pb2.VoidLabelResponse:
        errors = ViolationCollector()
        if not request.id:
            errors.add("id", "is required")
        errors.raise_if_any("INVALID_LABEL_REQUEST")
        return labels_pb2.VoidLabelResponse(label=label_to_proto(self._service.void(request.id), with_documents=False))

    def GetManifest(self, request: labels_pb2.GetManifestRequest, context: grpc.ServicerContext) -> labels_pb2.GetManifestResponse:
        errors = ViolationCollector()
        ship_date = date_from_proto(request.ship_date, "ship_date", errors, self._today())
        if request.format not in (labels_pb2.MANIFEST_FORMAT_UNSPECIFIED, labels_pb2.MANIFEST_FORMAT_CSV, labels_pb2.MANIFEST_FORMAT_PDF):
            errors.add("format", f"unknown manifest format {request.format}")
        errors.raise_if_any("INVALID_MANIFEST_REQUEST")
        manifest = self._service.manifest(ship_date)
        pdf = request.format == labels_pb2.MANIFEST_FORMAT_PDF
        response = labels_pb2.GetManifestResponse(
            ship_date=date_to_proto(ship_date),
            label_count=len(manifest.labels),
            format=labels_pb2.MANIFEST_FORMAT_PDF if pdf else labels_pb2.MANIFEST_FORMAT_CSV,
            content_type="application/pdf" if pdf else "text/csv",
            content=documents.manifest_pdf(manifest) if pdf else documents.manifest_csv(manifest),
        )
        for t in manifest.totals:
            response.products.add(
                product=PRODUCT_TO_PROTO[t.product],
                product_name=t.product_name,
                label_count=t.count,
                total_weight_grams=t.weight_g,
                total_price=yen(t.price_jpy),
                total_declared_value=yen(t.declared_jpy),
            )
        return response
