"""TrackingService: where a parcel is, from Japan Post's tracking page, normalised and cached.

Translation only: request -> normalised number (domain validation), one call to the lookup,
domain answer -> proto. Errors are raised and mapped by the interceptor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

import grpc
from google.protobuf import timestamp_pb2
from google.type import datetime_pb2

from domain.errors import DeadlineExceeded, FieldViolation, InvalidArgument, ResourceExhausted
from kokokara.shipping.server.errors import to_status
from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc
from tracking import model
from tracking.service import TrackingLookup

MAX_BATCH = 100

STATUS_TO_PROTO = {s: tracking_pb2.TrackingStatus.Value(f"TRACKING_STATUS_{s.name}") for s in model.Status}
PRODUCT_TO_PROTO = {p: tracking_pb2.TrackingProduct.Value(f"TRACKING_PRODUCT_{p.name}") for p in model.Product}
SOURCE_TO_PROTO = {s: tracking_pb2.TrackingSource.Value(f"TRACKING_SOURCE_{s.name}") for s in model.Source}


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _local_time(value: model.LocalTime) -> datetime_pb2.DateTime:
    out = datetime_pb2.DateTime(year=value.year, month=value.month, day=value.day, hours=value.hour or 0, minutes=value.minute or 0)
    if value.time_zone:
        out.time_zone.id = value.time_zone
    return out


def tracking_to_proto(t: model.Tracking) -> tracking_pb2.Tracking:
    out = tracking_pb2.Tracking(
        tracking_number=t.number,
        product=PRODUCT_TO_PROTO[t.product],
        status=STATUS_TO_PROTO[t.status],
        final=t.final,
        carrier_product_text=t.carrier_product_text,
        fetch_time=_timestamp(t.fetched_at),
        source=SOURCE_TO_PROTO[t.source],
        next_refresh_time=_timestamp(t.next_refresh_at),
    )
    for e in t.events:
        event = out.events.add(
            occurrence_time_text=e.time_text,
            carrier_status_text=e.carrier_text,
            status=STATUS_TO_PROTO[e.status],
            details=e.details,
            office=e.office,
            location=e.location,
            postal_code=e.postal_code,
        )
        if e.time is not None:
            event.occurrence_time.CopyFrom(_local_time(e.time))
    return out


class TranslatedAnswers:
    """Answers already turned into protos, so a cache hit is not translated again on every call
    (translation is most of a cached GetTracking's cost). Keyed by what identifies an answer: the
    number, the fetch it came from, its source and refresh time. Bounded; oldest out first. The
    messages are shared and must not be changed (gRPC only serializes them; batches copy them)."""

    def __init__(self, size: int = 2048):
        self._size = size
        self._protos: dict[tuple[object, ...], tracking_pb2.Tracking] = {}
        self._lock = threading.Lock()

    def get(self, t: model.Tracking) -> tracking_pb2.Tracking:
        if t.source is not model.Source.CACHE:
            # A fresh fetch or a stale answer (its refresh time moves on every call) is never asked
            # for again under the same key: keeping it only filled the table (seen in the soak as a
            # worker's memory stepping up during a Japan Post outage).
            return tracking_to_proto(t)
        key = (t.number, t.fetched_at, t.source, t.next_refresh_at)
        proto = self._protos.get(key)
        if proto is None:
            proto = tracking_to_proto(t)
            with self._lock:
                if len(self._protos) >= self._size:
                    self._protos.pop(next(iter(self._protos)))
                self._protos[key] = proto
        return proto


# A deadline further away than this is no deadline (grpc reports a call without one as very far off).
NO_DEADLINE_SECONDS = 365 * 86400.0


def deadline_of(context: grpc.ServicerContext) -> float | None:
    """The caller's deadline on time.monotonic()'s clock, or None without one."""
    remaining = context.time_remaining()
    if remaining is None or remaining > NO_DEADLINE_SECONDS:
        return None
    return time.monotonic() + remaining


class TrackingServicer(tracking_pb2_grpc.TrackingServiceServicer):
    def __init__(self, lookup: TrackingLookup, max_watches: int):
        self._lookup = lookup
        self._answers = TranslatedAnswers()
        # A WatchTracking stream holds a thread for as long as it runs: past this many at once the
        # server refuses more rather than queue them behind the open ones (bootstrap sizes the
        # watch pool a little above it, so a refusal never waits for a thread).
        self._max_watches = max_watches
        self._watch_slots = threading.BoundedSemaphore(max_watches)

    def GetTracking(self, request: tracking_pb2.GetTrackingRequest, context: grpc.ServicerContext) -> tracking_pb2.Tracking:
        return self._answers.get(self._lookup.get(model.parse_number(request.tracking_number), deadline_of(context)))

    def BatchGetTracking(self, request: tracking_pb2.BatchGetTrackingRequest, context: grpc.ServicerContext) -> tracking_pb2.BatchGetTrackingResponse:
        if not request.requests:
            raise InvalidArgument([FieldViolation("requests", "at least one request is required")], reason="INVALID_BATCH")
        if len(request.requests) > MAX_BATCH:
            raise InvalidArgument(
                [FieldViolation("requests", f"at most {MAX_BATCH} requests per batch, got {len(request.requests)}")],
                reason="BATCH_TOO_LARGE",
            )
        response = tracking_pb2.BatchGetTrackingResponse()
        answers = self._lookup.get_many([r.tracking_number for r in request.requests], deadline_of(context))
        if context.time_remaining() <= 0 or any(isinstance(a, DeadlineExceeded) for a in answers):
            # Lookups were cut short (answered just before the deadline, so the call ends in time).
            raise DeadlineExceeded("the caller's deadline passed; the lookups not yet started were skipped", reason="DEADLINE_EXCEEDED")
        for answer in answers:
            result = response.results.add()
            if isinstance(answer, model.Tracking):
                result.tracking.CopyFrom(self._answers.get(answer))
            else:
                result.error.CopyFrom(to_status(answer))
        return response

    def WatchTracking(self, request: tracking_pb2.WatchTrackingRequest, context: grpc.ServicerContext) -> Iterator[tracking_pb2.Tracking]:
        number = model.parse_number(request.tracking_number)
        if not self._watch_slots.acquire(blocking=False):
            raise ResourceExhausted(
                f"this server has {self._max_watches} WatchTracking streams open, its most; retry later, or poll with GetTracking",
                reason="SERVER_WATCHES_FULL",
                metadata={"max_watches": str(self._max_watches)},
                retry_after_seconds=60.0,
            )
        try:
            stop = threading.Event()
            context.add_callback(stop.set)  # the call ended: deadline, cancellation or shutdown
            for tracking in self._lookup.watch(number, stop, deadline_of(context)):
                yield self._answers.get(tracking)
        finally:
            self._watch_slots.release()
