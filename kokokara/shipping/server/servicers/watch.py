"""TrackingService's watched-parcel and webhook RPCs: translation only, like the rest of the
servicer (tracking.py). Requests become domain values, one call to the WatchService, the answer
becomes a proto; errors are raised and mapped by the interceptor."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Protocol

import grpc
from google.protobuf import timestamp_pb2

from domain.errors import FieldViolation, InvalidArgument, Unavailable
from kokokara.shipping.server.servicers.tracking import STATUS_TO_PROTO, TrackingServicer
from kokokara.shipping.v1 import tracking_pb2
from tracking import model
from tracking.service import TrackingLookup
from tracking.watch import EventType, WatchedParcel
from tracking.watch_service import DEFAULT_PAGE, MAX_PAGE, WatchService
from tracking.watch_store import Endpoint, StoredEvent


class WatchSource(Protocol):
    @property
    def service(self) -> WatchService | None: ...


PROTO_TO_STATUS = {v: k for k, v in STATUS_TO_PROTO.items()}
EVENT_TYPE_TO_PROTO = {t: tracking_pb2.TrackingEventType.Value(f"TRACKING_EVENT_TYPE_{t.name}") for t in EventType}


def _ts(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.fromtimestamp(seconds, UTC))
    return stamp


def parcel_to_proto(p: WatchedParcel) -> tracking_pb2.WatchedParcel:
    return tracking_pb2.WatchedParcel(
        tracking_number=p.number,
        order_reference=p.order_reference,
        webhook_endpoint_id=p.endpoint_id,
        status=STATUS_TO_PROTO[p.status] if p.status else tracking_pb2.TRACKING_STATUS_UNSPECIFIED,
        final=p.final,
        event_count=p.event_count,
        create_time=_ts(p.created_at),
        last_change_time=_ts(p.last_change_at),
        next_poll_time=_ts(p.next_poll_at),
        last_poll_time=_ts(p.last_poll_at),
        quiet=p.quiet,
    )


def event_to_proto(e: StoredEvent) -> tracking_pb2.TrackingEventRecord:
    out = tracking_pb2.TrackingEventRecord(
        event_id=e.event_id,
        sequence=e.seq,
        type=EVENT_TYPE_TO_PROTO[e.type],
        tracking_number=e.number,
        order_reference=e.order_reference,
        status=STATUS_TO_PROTO[e.status] if e.status else tracking_pb2.TRACKING_STATUS_UNSPECIFIED,
        create_time=_ts(e.created_at),
    )
    line = e.body.get("event")
    if isinstance(line, dict):
        out.event.occurrence_time_text = line.get("time", "")
        out.event.carrier_status_text = line.get("carrier_status_text", "")
        out.event.status = STATUS_TO_PROTO[model.Status(line.get("status", "unknown"))]
        out.event.details = line.get("details", "")
        out.event.office = line.get("office", "")
        out.event.location = line.get("location", "")
        out.event.postal_code = line.get("postal_code", "")
    return out


def endpoint_to_proto(e: Endpoint, *, with_secret: bool = False) -> tracking_pb2.WebhookEndpoint:
    return tracking_pb2.WebhookEndpoint(
        id=e.endpoint_id, url=e.url, secret=e.secret if with_secret else "", create_time=_ts(e.created_at), from_file=e.from_file
    )


def page_size(value: int, field: str = "page_size") -> int:
    if value < 0 or value > MAX_PAGE:
        raise InvalidArgument([FieldViolation(field, f"must be 0 to {MAX_PAGE} (0: {DEFAULT_PAGE})")], reason="INVALID_PAGE_SIZE")
    return value or DEFAULT_PAGE


def _filters_hash(request: tracking_pb2.ListWatchedParcelsRequest) -> str:
    text = f"{request.status}|{request.quiet_for_days}|{request.order_reference}|{request.quiet_only}|{request.tracking_number}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_token(after_seq: int, request: tracking_pb2.ListWatchedParcelsRequest) -> str:
    raw = json.dumps({"a": after_seq, "f": _filters_hash(request)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(request: tracking_pb2.ListWatchedParcelsRequest) -> int:
    if not request.page_token:
        return 0
    bad = InvalidArgument([FieldViolation("page_token", "is not a token from a previous ListWatchedParcels answer")], reason="INVALID_PAGE_TOKEN")
    try:
        data = json.loads(base64.urlsafe_b64decode(request.page_token + "=" * (-len(request.page_token) % 4)))
        after = data["a"]
        if type(after) is not int or not 0 <= after < 2**62 or data.get("f") != _filters_hash(request):
            raise bad
        return after
    except (ValueError, KeyError, TypeError):
        raise bad from None


class TrackingWatchServicer(TrackingServicer):
    """TrackingService with its watched-parcel RPCs. `watch.service` is None while the watch
    database cannot be reached: those RPCs are then UNAVAILABLE, the others serve."""

    def __init__(self, lookup: TrackingLookup, max_watches: int, watch: WatchSource):
        super().__init__(lookup, max_watches)
        self._watch = watch

    def _service(self) -> WatchService:
        service = self._watch.service
        if service is None:
            raise Unavailable("the watched-parcel database cannot be reached; the server keeps trying", reason="DATABASE_UNAVAILABLE")
        return service

    def WatchParcel(self, request: tracking_pb2.WatchParcelRequest, context: grpc.ServicerContext) -> tracking_pb2.WatchedParcel:
        number = model.parse_number(request.tracking_number)
        return parcel_to_proto(self._service().watch(number, request.order_reference, request.webhook_endpoint_id))

    def UnwatchParcel(self, request: tracking_pb2.UnwatchParcelRequest, context: grpc.ServicerContext) -> tracking_pb2.UnwatchParcelResponse:
        self._service().unwatch(model.parse_number(request.tracking_number))
        return tracking_pb2.UnwatchParcelResponse()

    def ListWatchedParcels(self, request: tracking_pb2.ListWatchedParcelsRequest, context: grpc.ServicerContext) -> tracking_pb2.ListWatchedParcelsResponse:
        size = page_size(request.page_size)
        status = None
        if request.status:
            if request.status not in PROTO_TO_STATUS:
                raise InvalidArgument([FieldViolation("status", "is not a TrackingStatus")], reason="INVALID_STATUS")
            status = PROTO_TO_STATUS[request.status]
        if request.quiet_for_days < 0 or request.quiet_for_days > 3650:
            raise InvalidArgument([FieldViolation("quiet_for_days", "must be 0 to 3650")], reason="INVALID_QUIET_DAYS")
        number = model.parse_number(request.tracking_number) if request.tracking_number else ""
        after = decode_token(request)
        parcels = self._service().list_parcels(
            status=status,
            quiet_for_days=request.quiet_for_days,
            order_reference=request.order_reference,
            quiet_only=request.quiet_only,
            after_seq=after,
            limit=size + 1,
            tracking_number=number,
        )
        response = tracking_pb2.ListWatchedParcelsResponse(parcels=[parcel_to_proto(p) for p in parcels[:size]])
        if len(parcels) > size:
            response.next_page_token = encode_token(parcels[size - 1].seq, request)
        return response

    def ListTrackingEvents(self, request: tracking_pb2.ListTrackingEventsRequest, context: grpc.ServicerContext) -> tracking_pb2.ListTrackingEventsResponse:
        size = page_size(request.page_size)
        if request.after_sequence < 0:
            raise InvalidArgument([FieldViolation("after_sequence", "must be 0 or more")], reason="INVALID_CURSOR")
        number = model.parse_number(request.tracking_number) if request.tracking_number else ""
        events = self._service().events(request.after_sequence, number, size)
        return tracking_pb2.ListTrackingEventsResponse(
            events=[event_to_proto(e) for e in events], last_sequence=events[-1].seq if events else request.after_sequence
        )

    def CreateWebhookEndpoint(self, request: tracking_pb2.CreateWebhookEndpointRequest, context: grpc.ServicerContext) -> tracking_pb2.WebhookEndpoint:
        return endpoint_to_proto(self._service().create_endpoint(request.url), with_secret=True)

    def ListWebhookEndpoints(
        self, request: tracking_pb2.ListWebhookEndpointsRequest, context: grpc.ServicerContext
    ) -> tracking_pb2.ListWebhookEndpointsResponse:
        return tracking_pb2.ListWebhookEndpointsResponse(endpoints=[endpoint_to_proto(e) for e in self._service().endpoints()])

    def DeleteWebhookEndpoint(
        self, request: tracking_pb2.DeleteWebhookEndpointRequest, context: grpc.ServicerContext
    ) -> tracking_pb2.DeleteWebhookEndpointResponse:
        if not request.id:
            raise InvalidArgument([FieldViolation("id", "is required")], reason="INVALID_WEBHOOK_ENDPOINT_ID")
        self._service().delete_endpoint(request.id)
        return tracking_pb2.DeleteWebhookEndpointResponse()

    def ListDeadDeliveries(self, request: tracking_pb2.ListDeadDeliveriesRequest, context: grpc.ServicerContext) -> tracking_pb2.ListDeadDeliveriesResponse:
        dead = self._service().dead(page_size(request.page_size))
        return tracking_pb2.ListDeadDeliveriesResponse(
            deliveries=[
                tracking_pb2.DeadDelivery(
                    event_id=d.event_id,
                    endpoint_id=d.endpoint_id,
                    tracking_number=d.number,
                    attempts=d.attempts,
                    last_error=d.last_error,
                    dead_time=_ts(d.dead_at),
                )
                for d in dead
            ]
        )
