"""Watched parcels: when to poll Japan Post, which changes become events, when a parcel is quiet,
and how a webhook body is signed. Plain values and pure functions; the stores (watch_store.py and
its SQLite and PostgreSQL adapters) keep the state, the poller and the sender (watch_service.py)
run it.

Scheduling. A parcel is first polled within `first_poll_seconds` of being registered (a random
point in that window, so parcels registered together are spread over it), then after an interval
that depends on its state (often on the delivery day, every few hours while moving, rarely once
final), each interval +-jitter so parcels polled together drift apart. Once a final state has held
for `stop_after_final_seconds`, it is never polled again. The poller itself takes due parcels at
most at its share of the carrier rate limit, so a backlog is drained at that pace, never in a
burst.

Events. Comparing the last known answer with a new one gives, in this order: one NEW_EVENT per
carrier line not seen before, STATUS_CHANGED when the normalised status moved, and DELIVERED or
RETURNED when the parcel reached that final state. Each has a stable id derived from the number,
the kind and what it is about, so the same change recorded twice (two pollers, a retry after a
crash) is one event.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from domain.errors import FieldViolation, InvalidArgument
from tracking.model import Event, Status, Tracking

DAY = 86400.0
HOUR = 3600.0
MAX_ORDER_REFERENCE = 128
MAX_URL = 2048

_DELIVERY_DAY = frozenset({Status.OUT_FOR_DELIVERY, Status.ATTEMPT_FAIL, Status.AVAILABLE_FOR_PICKUP})
_FINAL = frozenset({Status.DELIVERED, Status.RETURNED})


class EventType(enum.Enum):
    NEW_EVENT = "new_event"
    STATUS_CHANGED = "status_changed"
    QUIET = "quiet"
    DELIVERED = "delivered"
    RETURNED = "returned"


def _default_quiet() -> dict[Status, float]:
    return {
        Status.INFO_RECEIVED: 5 * DAY,
        Status.NOT_FOUND: 5 * DAY,
        Status.IN_TRANSIT: 7 * DAY,
        Status.IN_CUSTOMS: 3 * DAY,
        Status.OUT_FOR_DELIVERY: 2 * DAY,
        Status.ATTEMPT_FAIL: 3 * DAY,
        Status.AVAILABLE_FOR_PICKUP: 7 * DAY,
        Status.EXCEPTION: 3 * DAY,
        Status.UNKNOWN: 7 * DAY,
        Status.EXPIRED: 7 * DAY,
    }


@dataclass(frozen=True)
class WatchPolicy:
    first_poll_seconds: float = 60.0
    delivery_day_seconds: float = 1 * HOUR
    transit_seconds: float = 4 * HOUR
    customs_seconds: float = 6 * HOUR
    not_found_seconds: float = 6 * HOUR
    final_seconds: float = 1 * DAY
    # A final state held this long: never polled again.
    stop_after_final_seconds: float = 7 * DAY
    jitter: float = 0.2
    # A poll that failed (Japan Post down, busy) is tried again after this (+-jitter).
    retry_seconds: float = 10 * 60.0
    quiet_after: dict[Status, float] = field(default_factory=_default_quiet)

    def interval(self, status: Status | None, final: bool) -> float:
        if final:
            return self.final_seconds
        if status is None or status is Status.NOT_FOUND:
            return self.not_found_seconds
        if status in _DELIVERY_DAY:
            return self.delivery_day_seconds
        if status is Status.IN_CUSTOMS:
            return self.customs_seconds
        return self.transit_seconds


def first_poll_at(now: float, policy: WatchPolicy, rand: Callable[[], float] = random.random) -> float:
    """A random point of the first minute: parcels registered together are not polled together."""
    return now + rand() * policy.first_poll_seconds


def next_poll_at(
    status: Status | None, final: bool, final_since: float | None, now: float, policy: WatchPolicy, rand: Callable[[], float] = random.random
) -> float | None:
    """When to poll next, or None: final for stop_after_final_seconds, never again."""
    if final and final_since is not None and now - final_since >= policy.stop_after_final_seconds:
        return None
    base = policy.interval(status, final)
    at = now + base * (1 + policy.jitter * (2 * rand() - 1))
    if final and final_since is not None:
        # The last poll lands at the end of the hold, not up to an interval past it.
        at = min(at, final_since + policy.stop_after_final_seconds)
    return at


def retry_poll_at(now: float, policy: WatchPolicy, rand: Callable[[], float] = random.random) -> float:
    return now + policy.retry_seconds * (1 + policy.jitter * (2 * rand() - 1))


def is_quiet(status: Status | None, final: bool, last_change_at: float, now: float, policy: WatchPolicy) -> bool:
    """No change for longer than the threshold of its status; final parcels are never quiet."""
    if final or status is None:
        return False
    threshold = policy.quiet_after.get(status)
    return threshold is not None and now - last_change_at >= threshold


@dataclass(frozen=True, slots=True)
class WatchedParcel:
    number: str
    order_reference: str
    endpoint_id: str
    status: Status | None
    final: bool
    event_count: int
    created_at: float
    last_change_at: float
    next_poll_at: float | None
    last_poll_at: float | None
    quiet: bool
    final_since: float | None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A change to record (and deliver): stable id, kind, and the JSON body sent to webhooks."""

    event_id: str
    type: EventType
    number: str
    status: Status | None
    carrier_event: Event | None = None


def event_id(number: str, kind: EventType, key: str) -> str:
    digest = hashlib.sha256(f"{number}|{kind.value}|{key}".encode()).hexdigest()[:32]
    return f"evt_{digest}"


def changes(parcel: WatchedParcel, tracking: Tracking) -> list[NewEvent]:
    """The events a new answer gives over what the parcel had: new carrier lines first (oldest
    first), then a status change, then delivered/returned."""
    out: list[NewEvent] = []
    number = parcel.number
    for index, line in enumerate(tracking.events[parcel.event_count :], start=parcel.event_count):
        out.append(NewEvent(event_id(number, EventType.NEW_EVENT, str(index)), EventType.NEW_EVENT, number, line.status, line))
    if tracking.status is not parcel.status:
        # Keyed by the position in the history too: in customs, out, and in customs again are two changes.
        key = f"{len(tracking.events)}:{tracking.status.value}"
        out.append(NewEvent(event_id(number, EventType.STATUS_CHANGED, key), EventType.STATUS_CHANGED, number, tracking.status))
        if tracking.final and tracking.status in _FINAL:
            kind = EventType.DELIVERED if tracking.status is Status.DELIVERED else EventType.RETURNED
            out.append(NewEvent(event_id(number, kind, ""), kind, number, tracking.status))
    return out


def quiet_event(parcel: WatchedParcel) -> NewEvent:
    # One per silence: keyed by when the silence began.
    return NewEvent(event_id(parcel.number, EventType.QUIET, repr(parcel.last_change_at)), EventType.QUIET, parcel.number, parcel.status)


def event_body(event: NewEvent, *, sequence: int, order_reference: str, created_at: float) -> dict[str, object]:
    """The JSON body of an event (stored with it, sent as it is)."""
    body: dict[str, object] = {
        "id": event.event_id,
        "sequence": sequence,
        "type": event.type.value,
        "tracking_number": event.number,
        "order_reference": order_reference,
        "status": event.status.value if event.status else None,
        "created_at": created_at,
    }
    if event.carrier_event is not None:
        e = event.carrier_event
        body["event"] = {
            "time": e.time_text,
            "carrier_status_text": e.carrier_text,
            "status": e.status.value,
            "details": e.details,
            "office": e.office,
            "location": e.location,
            "postal_code": e.postal_code,
        }
    return body


def encode_body(body: dict[str, object]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# --- validation ---------------------------------------------------------------------------------


def check_order_reference(text: str, field_name: str = "order_reference") -> str:
    if len(text) > MAX_ORDER_REFERENCE:
        raise InvalidArgument([FieldViolation(field_name, f"at most {MAX_ORDER_REFERENCE} characters")], reason="ORDER_REFERENCE_TOO_LONG")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidArgument([FieldViolation(field_name, "must not contain control characters")], reason="INVALID_ORDER_REFERENCE")
    return text


def refused_address(address: str) -> str:
    """Why an IP address may not receive webhooks when private addresses are forbidden ('' = allowed)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified or not ip.is_global:
        return "a private or reserved address"
    return ""


def check_webhook_url(url: str, *, allow_private: bool, field_name: str = "url") -> tuple[str, str, int]:
    """A webhook URL's (scheme, host, port), or InvalidArgument naming the field: https, or http to
    loopback; no credentials; literal private addresses refused unless allowed (names are checked
    again, resolved, at every delivery)."""

    def bad(message: str, reason: str = "INVALID_WEBHOOK_URL") -> InvalidArgument:
        return InvalidArgument([FieldViolation(field_name, message)], reason=reason)

    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise bad(f"must be an http(s) URL of at most {MAX_URL} characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise bad("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise bad("must not carry credentials")
    host = parts.hostname.lower()
    literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    loopback = host == "localhost" or (literal is not None and literal.is_loopback)
    if scheme == "http" and not loopback:
        raise bad("must be https (plain http only to a loopback address)")
    if not allow_private:
        why = "a loopback address" if host == "localhost" else (refused_address(host) if literal is not None else "")
        if why:
            raise bad(f"points at {why}; webhooks go to public addresses (SHIPPING_WEBHOOK_ALLOW_PRIVATE_ADDRESSES)", reason="WEBHOOK_ADDRESS_FORBIDDEN")
    return scheme, host, port or (443 if scheme == "https" else 80)


# --- signatures ---------------------------------------------------------------------------------

SIGNATURE_HEADER = "Kokokara-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (Stripe's scheme)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_seconds: float = 300.0) -> bool:
    """What a receiver does (docs/webhooks.md has the same few lines): the timestamp is recent and
    one v1 signature matches."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))


# --- delivery retries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPolicy:
    first_retry_seconds: float = 10.0
    longest_retry_seconds: float = 1 * HOUR
    # Tried for at least this long from the event, then dead.
    retry_window_seconds: float = 1 * DAY
    jitter: float = 0.2
    # A claimed delivery not finished within this (the sender died) is taken again.
    lease_seconds: float = 60.0


def retry_at(attempts: int, first_at: float, now: float, policy: DeliveryPolicy, rand: Callable[[], float] = random.random) -> float | None:
    """When to try again after `attempts` failures, or None: the retry window has passed (dead)."""
    if now - first_at >= policy.retry_window_seconds:
        return None
    delay = min(policy.first_retry_seconds * 2 ** max(0, attempts - 1), policy.longest_retry_seconds)
    return now + delay * (1 + policy.jitter * (2 * rand() - 1))


def spread(times: Iterable[float], width: float) -> list[int]:
    """How many of `times` fall in each `width`-second bucket from the earliest: the figure the
    scale test and the benchmark look at."""
    ordered = sorted(times)
    if not ordered:
        return []
    start = ordered[0]
    counts: dict[int, int] = {}
    for t in ordered:
        bucket = int((t - start) // width)
        counts[bucket] = counts.get(bucket, 0) + 1
    return [counts.get(i, 0) for i in range(max(counts) + 1)]
