"""Watched parcels at work: the use cases behind the RPCs, the poller and the webhook sender.

The poller runs in every process but polls only while it holds the store's `poller` lease, so the
fleet has one poller at a time and its rate budget (`poll_rate_per_second`, a share of the carrier
rate limit) is one budget for all replicas, not one per process. It claims due parcels a few at a
time and reads each through the tracking lookup (`lookup`: the same cache and single flight as
GetTracking), spending budget only on answers that came from Japan Post; cache hits are free. It
also sweeps for parcels that went quiet, whether or not they were polled.

The sender runs in every process without a lease: deliveries are claimed one by one from the store
(each claim a lease), so replicas share the work and never send one delivery at once. A process
killed mid-delivery leaves the delivery claimed until its lease runs out; another process then
sends it again: at-least-once, with the event id for the receiver to drop the duplicate.

Plain Python: the store, the lookup and the HTTP POST come in as parameters.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, ShippingError
from tracking.model import Status, Tracking
from tracking.watch import (
    SIGNATURE_HEADER,
    DeliveryPolicy,
    WatchedParcel,
    WatchPolicy,
    changes,
    check_order_reference,
    check_webhook_url,
    encode_body,
    first_poll_at,
    gives_up,
    is_quiet,
    next_poll_at,
    quiet_event,
    retry_at,
    retry_poll_at,
    sign,
)
from tracking.watch_store import DeadDelivery, Delivery, Endpoint, PollResult, StoredEvent, WatchStore

log = logging.getLogger("kokokara.shipping.watch")

MAX_PAGE = 1000
DEFAULT_PAGE = 100


class WebhookError(Exception):
    """A delivery that did not reach the receiver; the message says why (no response body)."""


# POST(url, headers, body) -> HTTP status; raises WebhookError when there is no answer.
Post = Callable[[str, dict[str, str], bytes], int]


@dataclass(frozen=True)
class WatchOptions:
    policy: WatchPolicy = field(default_factory=WatchPolicy)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    # Japan Post lookups the poller may make per second, fleet-wide (its share of the carrier limit).
    poll_rate_per_second: float = 0.5
    poll_batch: int = 8
    poll_lease_seconds: float = 300.0
    leader_lease_seconds: float = 30.0
    quiet_sweep_seconds: float = 60.0
    # Events (and their finished deliveries) older than this are deleted; 0: kept forever.
    event_retention_seconds: float = 90 * 86400.0
    idle_seconds: float = 1.0
    send_batch: int = 16
    send_threads: int = 4
    allow_private_addresses: bool = False


@dataclass(frozen=True, slots=True)
class WatchFigures:
    polls: int = 0
    carrier_polls: int = 0
    failed_polls: int = 0


class WatchService:
    def __init__(
        self,
        store: WatchStore,
        lookup: Callable[[str], Tracking],
        post: Post,
        options: WatchOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
        on_delivery: Callable[[str], None] | None = None,
    ):
        self.store = store
        self._lookup = lookup
        self._post = post
        self.options = options or WatchOptions()
        self._clock = clock
        self._on_delivery = on_delivery or (lambda _outcome: None)
        self._owner = uuid.uuid4().hex
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_carrier_poll = 0.0  # time.monotonic() of the next Japan Post lookup the budget allows
        self._next_sweep = 0.0
        self._send_pool = ThreadPoolExecutor(max_workers=self.options.send_threads, thread_name_prefix="webhook-send")
        self.carrier_polls = 0
        self.polls = 0

    # --- use cases behind the RPCs --------------------------------------------------------------

    def watch(self, number: str, order_reference: str, endpoint_id: str) -> WatchedParcel:
        check_order_reference(order_reference)
        if endpoint_id and endpoint_id not in {e.endpoint_id for e in self.store.endpoints()}:
            raise InvalidArgument([FieldViolation("webhook_endpoint_id", "is not the id of a webhook endpoint")], reason="UNKNOWN_WEBHOOK_ENDPOINT")
        now = self._clock()
        parcel, _created = self.store.watch(number, order_reference, endpoint_id, now, first_poll_at(now, self.options.policy))
        return parcel

    def watch_many(self, items: list[tuple[str, str]]) -> int:
        """(number, order_reference) pairs, valid numbers, registered in one transaction; returns
        how many were new."""
        for _, reference in items:
            check_order_reference(reference)
        now = self._clock()
        policy = self.options.policy
        return self.store.watch_many([(n, r, "", first_poll_at(now, policy)) for n, r in items], now)

    def unwatch(self, number: str) -> None:
        if not self.store.unwatch(number):
            raise NotFound(f"{number} is not watched", reason="PARCEL_NOT_WATCHED")

    def list_parcels(
        self,
        *,
        status: Status | None,
        quiet_for_days: int,
        order_reference: str,
        quiet_only: bool,
        after_seq: int,
        limit: int,
        tracking_number: str = "",
    ) -> list[WatchedParcel]:
        check_order_reference(order_reference)
        changed_before = self._clock() - quiet_for_days * 86400.0 if quiet_for_days > 0 else None
        return self.store.list_parcels(
            status=status.value if status else None,
            changed_before=changed_before,
            order_reference=order_reference,
            quiet_only=quiet_only,
            after_seq=after_seq,
            limit=limit,
            tracking_number=tracking_number,
        )

    def events(self, after_seq: int, number: str, limit: int) -> list[StoredEvent]:
        return self.store.events_after(after_seq, number, limit)

    def create_endpoint(self, url: str) -> Endpoint:
        check_webhook_url(url, allow_private=self.options.allow_private_addresses)
        endpoint = Endpoint(f"wh_{uuid.uuid4().hex[:16]}", url, f"whsec_{secrets.token_urlsafe(32)}", self._clock(), False)
        self.store.add_endpoint(endpoint)
        return endpoint

    def endpoints(self) -> list[Endpoint]:
        return self.store.endpoints()

    def delete_endpoint(self, endpoint_id: str) -> None:
        found = next((e for e in self.store.endpoints() if e.endpoint_id == endpoint_id), None)
        if found is None:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}", reason="WEBHOOK_ENDPOINT_NOT_FOUND")
        if found.from_file:
            raise FailedPrecondition("this endpoint comes from the endpoints file; remove it there", reason="WEBHOOK_ENDPOINT_FROM_FILE")
        self.store.delete_endpoint(endpoint_id)

    def dead(self, limit: int) -> list[DeadDelivery]:
        return self.store.dead_deliveries(limit)

    # --- running ---------------------------------------------------------------------------------

    def start(self) -> WatchService:
        for name, loop in (("watch-poller", self._poll_loop), ("webhook-sender", self._send_loop)):
            thread = threading.Thread(target=loop, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._send_pool.shutdown(wait=False, cancel_futures=True)

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            busy = False
            try:
                if self._lead():
                    busy = self.poll_once() > 0
                    if time.monotonic() >= self._next_sweep:
                        self.sweep_quiet()
                        if self.options.event_retention_seconds > 0:
                            self.store.purge(self._clock() - self.options.event_retention_seconds)
                        self._next_sweep = time.monotonic() + self.options.quiet_sweep_seconds
            except Exception:  # a database outage: log, wait, go on
                log.exception("watched parcels: polling failed")
            if not busy:
                self._stop.wait(self.options.idle_seconds)

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            sent = 0
            try:
                sent = self.send_once()
            except Exception:
                log.exception("webhooks: sending failed")
            if sent == 0:
                self._stop.wait(self.options.idle_seconds)

    # --- polling ---------------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Claims due parcels and polls them within the rate budget; returns how many were polled."""
        o = self.options
        parcels = self.store.claim_due(self._clock(), o.poll_batch, o.poll_lease_seconds)
        for i, parcel in enumerate(parcels):
            # Leadership is renewed before every poll: a batch slowed down by Japan Post must not
            # outlast the lease and let a second poller (with a budget of its own) start meanwhile.
            if self._stop.is_set() or not self._wait_for_budget() or not self._lead():
                # Not polled: back to due at once for whoever polls next.
                for rest in parcels[i:]:
                    self.store.poll_failed(rest.number, rest.next_poll_at or self._clock(), self._clock())
                return i
            self._poll(parcel)
        return len(parcels)

    def _lead(self) -> bool:
        return self.store.try_lead("poller", self._owner, self._clock(), self.options.leader_lease_seconds)

    def _wait_for_budget(self) -> bool:
        wait = self._next_carrier_poll - time.monotonic()
        return wait <= 0 or not self._stop.wait(wait)

    def _poll(self, parcel: WatchedParcel) -> None:
        o = self.options
        try:
            tracking = self._lookup(parcel.number)
        except ShippingError as error:
            self._spend()
            now = self._clock()
            log.info("watched parcel poll failed", extra={"tracking_number": parcel.number, "reason": error.reason})
            self.store.poll_failed(parcel.number, retry_poll_at(now, o.policy), now)
            return
        if tracking.source.value != "cache":
            self._spend()
        self.polls += 1
        now = self._clock()
        events = changes(parcel, tracking)
        final_since = (parcel.final_since or now) if tracking.final else None
        result = PollResult(
            status=tracking.status,
            final=tracking.final,
            event_count=len(tracking.events),
            last_change_at=now if events else parcel.last_change_at,
            final_since=final_since,
            next_poll_at=None
            if gives_up(tracking.status, parcel.created_at, now, o.policy)
            else next_poll_at(tracking.status, tracking.final, final_since, now, o.policy),
            events=tuple(events),
        )
        self.store.record_poll(parcel, result, now)

    def _spend(self) -> None:
        self.carrier_polls += 1
        now = time.monotonic()
        self._next_carrier_poll = max(now, self._next_carrier_poll) + 1.0 / self.options.poll_rate_per_second

    def sweep_quiet(self) -> int:
        """Raises QUIET for every parcel silent past its state's threshold (once per silence)."""
        policy = self.options.policy
        now = self._clock()
        shortest = min(policy.quiet_after.values())
        raised = 0
        for parcel in self.store.quiet_candidates(now - shortest, 1000):
            if is_quiet(parcel.status, parcel.final, parcel.last_change_at, now, policy) and self.store.record_quiet(parcel, quiet_event(parcel), now):
                raised += 1
        return raised

    # --- sending ---------------------------------------------------------------------------------

    def send_once(self) -> int:
        """Claims pending deliveries and sends them; returns how many were tried."""
        o = self.options
        deliveries = self.store.claim_deliveries(self._clock(), o.send_batch, o.delivery.lease_seconds)
        list(self._send_pool.map(self._send, deliveries))
        return len(deliveries)

    def _send(self, delivery: Delivery) -> None:
        body = encode_body(delivery.event.wire_body())
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "kokokara-shipping-webhooks/1",
            "Webhook-Id": delivery.event.event_id,
            "Webhook-Timestamp": str(timestamp),
            SIGNATURE_HEADER: sign(delivery.endpoint.secret, timestamp, body),
        }
        error = ""
        try:
            status = self._post(delivery.endpoint.url, headers, body)
            if 200 <= status < 300:
                self.store.delivered(delivery.seq, self._clock())
                self._on_delivery("delivered")
                return
            error = f"HTTP {status}"
        except WebhookError as failure:
            error = str(failure)
        except InvalidArgument as refused:  # the address resolved to a forbidden one
            error = refused.violations[0].description if refused.violations else str(refused)
        now = self._clock()
        again = retry_at(delivery.attempts + 1, delivery.event.created_at, now, self.options.delivery)
        self.store.delivery_failed(delivery.seq, now, error, again)
        self._on_delivery("failed" if again is not None else "dead")
