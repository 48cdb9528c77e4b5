"""Issuing labels: idempotency, customs checks, the price as quoted, S10 allocation (in the store),
and the day's manifest. Plain Python; the gRPC servicer only translates to and from it."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from domain.errors import AlreadyExists, FailedPrecondition, NotFound
from labels import customs, documents
from labels.model import Label, LabelRequest, LabelStatus, Pricing, day_in_japan, differing_fields
from labels.store import LabelStore, Page
from rates.model import ContentsLine, Parcel, Product, QuoteRequest
from rates.quote import QuoteEngine


def quote_request(request: LabelRequest) -> QuoteRequest:
    """What the quote engine is asked for a label: its one parcel, contents and destination."""
    p = request.parcel
    return QuoteRequest(
        region_code=request.recipient.region_code,
        parcels=(Parcel(p.weight_g, p.length_mm, p.width_mm, p.height_mm),),
        ship_date=request.ship_date,
        order_date=request.ship_date,
        methods=(request.method,),
        contents=tuple(ContentsLine(i.description, i.quantity, i.value_jpy, i.flags) for i in request.items),
        insure=request.insure,
        contents_type=request.contents_type,
    )


def price(request: LabelRequest, engine: QuoteEngine) -> Pricing:
    """The method's price and product as the quote engine answers them, or FAILED_PRECONDITION with
    the quote's reason (PROHIBITED_CONTENTS, OVER_WEIGHT_LIMIT, ...)."""
    quote = engine.quote(quote_request(request))
    for option in quote.options:
        if option.method is request.method:
            return Pricing(option.product, option.product_name, option.total_jpy, option.notes)
    for refused in quote.unavailable:
        if refused.method is request.method:
            raise FailedPrecondition(refused.message, reason=refused.reason.value)
    raise FailedPrecondition(f"{request.method.value} cannot be offered for this parcel", reason="METHOD_NOT_AVAILABLE")


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
    ship_date: date
    labels: tuple[Label, ...]
    totals: tuple[ProductTotal, ...]

    def csv(self) -> bytes:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            ["ship_date", "tracking_number", "product", "destination", "weight_grams", "price_jpy", "declared_value_jpy", "customs_form", "export_declaration"]
        )
        for lb in self.labels:
            w.writerow(
                [
                    self.ship_date.isoformat(),
                    lb.tracking_number,
                    lb.product.value,
                    lb.request.recipient.region_code,
                    lb.request.parcel.weight_g,
                    lb.pricing.price_jpy,
                    lb.declared_value_jpy,
                    lb.customs_form.value,
                    "yes" if lb.export_declaration_required else "no",
                ]
            )
        w.writerow([])
        w.writerow(["product", "label_count", "total_weight_grams", "total_price_jpy", "total_declared_value_jpy"])
        for t in self.totals:
            w.writerow([t.product.value, t.count, t.weight_g, t.price_jpy, t.declared_jpy])
        w.writerow(
            ["all", len(self.labels), sum(t.weight_g for t in self.totals), sum(t.price_jpy for t in self.totals), sum(t.declared_jpy for t in self.totals)]
        )
        return out.getvalue().encode("utf-8")

    def pdf(self) -> bytes:
        buffer = io.BytesIO()
        pdf = Canvas(buffer, pagesize=A4, invariant=1)
        pdf.setTitle(f"Manifest {self.ship_date.isoformat()}")
        _, height = A4
        y = height - 50

        def row(text: str, font: str = "Helvetica", size: float = 9) -> None:
            nonlocal y
            if y < 50:
                pdf.showPage()
                y = height - 50
            pdf.setFont(font, size)
            pdf.drawString(40, y, text)
            y -= size * 1.4

        row(f"Hand-over manifest - Japan Post - ship date {self.ship_date.isoformat()}", "Helvetica-Bold", 13)
        row(f"{len(self.labels)} items", "Helvetica", 10)
        row("")
        row("Totals per product", "Helvetica-Bold", 10)
        for t in self.totals:
            row(f"{t.product_name}: {t.count} items, {t.weight_g:,} g, postage {t.price_jpy:,} JPY, declared {t.declared_jpy:,} JPY")
        row("")
        row("Items", "Helvetica-Bold", 10)
        for i, lb in enumerate(self.labels, 1):
            row(
                f"{i:4d}  {lb.tracking_number}  {lb.product.value:<17} {lb.request.recipient.region_code}  {lb.request.parcel.weight_g:>6} g"
                f"  {lb.pricing.price_jpy:>7,} JPY  {lb.customs_form.value}{'  EXPORT DECL.' if lb.export_declaration_required else ''}",
                "Courier",
                8,
            )
        pdf.showPage()
        pdf.save()
        return buffer.getvalue()


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


class LabelService:
    def __init__(
        self,
        store: LabelStore,
        engine: Callable[[], QuoteEngine],
        rules: customs.CustomsRules,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        on_event: Callable[[str, int], None] | None = None,
        on_issued: Callable[[Label], None] | None = None,
    ):
        self.store = store
        # Told ("issued" | "voided" | "erased", count) as they happen: the metrics hook.
        self._on_event = on_event or (lambda _event, _count: None)
        # Told every label newly issued (not replays), after it is stored: e.g. to watch its parcel.
        self._on_issued = on_issued or (lambda _label: None)
        self._engine = engine
        self.rules = rules
        self._clock = clock
        self._new_id = new_id

    def create(self, request: LabelRequest) -> tuple[Label, bool]:
        """Returns (label, replayed)."""
        digest = request.content_hash()
        existing = self.store.get_by_request_id(request.request_id)
        if existing is not None:
            return self._replay(existing, request, digest), True
        customs.check_items(request)
        customs.check_details(request)
        documents.check_printable(request)
        customs.check_destination_rules(request)
        pricing = price(request, self._engine())
        decision = customs.decide(request, pricing.product, self.rules)
        label_id = self._new_id()
        created_at = self._clock()

        def build(tracking_number: str, range_name: str) -> Label:
            return Label(
                id=label_id,
                seq=0,
                tracking_number=tracking_number,
                range_name=range_name,
                request=request,
                request_hash=digest,
                pricing=pricing,
                customs_form=decision.form,
                export_declaration_required=decision.export_declaration_required,
                created_at=created_at,
                notes=decision.notes + pricing.notes,
            )

        label, created = self.store.issue(request.request_id, pricing.product, build)
        if not created:
            return self._replay(label, request, digest), True
        self._on_event("issued", 1)
        self._on_issued(label)
        return label, False

    @staticmethod
    def _replay(existing: Label, request: LabelRequest, digest: str) -> Label:
        if existing.hashed_with_default_ship_date and not request.ship_date_given and existing.ship_date == day_in_japan(existing.created_at):
            # A label stored before requests were kept as sent, whose ship date is the day it was
            # issued in Japan, the day an unset one defaulted to: compared as it was hashed then.
            request = replace(request, ship_date=existing.ship_date, ship_date_given=True)
            digest = request.content_hash()
        if existing.request_hash == digest:
            return existing
        fields = differing_fields(existing.request.canonical(), request.canonical())
        raise AlreadyExists(
            f"request_id was already used for label {existing.id} with different content (differs in: {', '.join(fields)});"
            " send a new request_id for a new label",
            reason="REQUEST_ID_REUSED",
            metadata={"label_id": existing.id, "differing_fields": ",".join(fields)},
        )

    def get(self, label_id: str) -> Label:
        label = self.store.get(label_id)
        if label is None:
            raise NotFound(f"no label with id {label_id[:64]!r}", reason="LABEL_NOT_FOUND")
        return label

    def list_labels(self, ship_date: date | None, status: LabelStatus | None, page_size: int, page_token: str) -> Page:
        return self.store.list_labels(ship_date, status, page_size, page_token)

    def void(self, label_id: str) -> Label:
        now = self._clock()
        label = self.store.void(label_id, now)
        if label is None:
            raise NotFound(f"no label with id {label_id[:64]!r}", reason="LABEL_NOT_FOUND")
        if label.voided_at == now:
            self._on_event("voided", 1)
        return label

    def erase_personal_data(self, retention_days: int) -> int:
        """Retention: erases the personal data of labels older than `retention_days`."""
        now = self._clock()
        erased = self.store.erase_personal_data(now - timedelta(days=retention_days), now)
        if erased:
            self._on_event("erased", erased)
        return erased

    def manifest(self, ship_date: date) -> Manifest:
        return build_manifest(ship_date, self.store.for_manifest(ship_date))
