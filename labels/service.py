"""Issuing labels: idempotency, customs checks, the price as quoted, S10 allocation (in the store),
and the day's manifest. Plain Python; the gRPC servicer only translates to and from it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from domain.errors import AlreadyExists, FailedPrecondition, NotFound
from labels import customs, documents
from labels.model import Label, LabelRequest, LabelStatus, Manifest, Pricing, build_manifest, day_in_japan, differing_fields
from labels.store import LabelStore, Page
from rates.model import ContentsLine, Parcel, QuoteRequest
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

    def list_labels(self, ship_date: date | None, status: LabelStatus | None, page_size: int, page_token: str, *, tracking_number: str = "") -> Page:
        return self.store.list_labels(ship_date, status, page_size, page_token, tracking_number=tracking_number)

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
