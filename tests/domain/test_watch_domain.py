"""Watched parcels, the domain: scheduling, events from changes, quiet parcels, signatures and
webhook addresses, with plain values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidArgument
from tests.watch_support import tracking
from tracking.model import Status
from tracking.watch import (
    DAY,
    DeliveryPolicy,
    EventType,
    WatchedParcel,
    WatchPolicy,
    changes,
    check_order_reference,
    check_webhook_url,
    first_poll_at,
    is_quiet,
    next_poll_at,
    quiet_event,
    retry_at,
    sign,
    spread,
    verify,
)

POLICY = WatchPolicy()
NUMBER = "EN123456785JP"


def parcel(status: Status | None = None, event_count: int = 0, **kw: object) -> WatchedParcel:
    values: dict[str, object] = {
        "number": NUMBER,
        "order_reference": "ORDER-1",
        "endpoint_id": "",
        "status": status,
        "final": False,
        "event_count": event_count,
        "created_at": 0.0,
        "last_change_at": 0.0,
        "next_poll_at": 0.0,
        "last_poll_at": None,
        "quiet": False,
        "final_since": None,
    }
    values.update(kw)
    return WatchedParcel(**values)  # type: ignore[arg-type]


def test_first_poll_is_within_a_minute() -> None:
    assert first_poll_at(1000.0, POLICY, lambda: 0.0) == 1000.0
    assert first_poll_at(1000.0, POLICY, lambda: 0.999) < 1060.0


def test_polls_often_on_the_delivery_day_and_rarely_once_final() -> None:
    mid = lambda: 0.5  # noqa: E731  (no jitter)
    out = next_poll_at(Status.OUT_FOR_DELIVERY, False, None, 0.0, POLICY, mid)
    transit = next_poll_at(Status.IN_TRANSIT, False, None, 0.0, POLICY, mid)
    final = next_poll_at(Status.DELIVERED, True, 0.0, 0.0, POLICY, mid)
    assert out is not None and transit is not None and final is not None
    assert out < transit < final


def test_never_polled_again_once_final_for_the_hold() -> None:
    assert next_poll_at(Status.DELIVERED, True, 0.0, POLICY.stop_after_final_seconds, POLICY) is None
    # the last poll before the hold ends lands at its end, not an interval past it
    last = next_poll_at(Status.DELIVERED, True, 0.0, POLICY.stop_after_final_seconds - 60, POLICY, lambda: 0.99)
    assert last == POLICY.stop_after_final_seconds


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ten_thousand_parcels_registered_at_once_are_spread_over_the_first_minute(seed: int) -> None:
    import random

    rng = random.Random(seed)
    times = [first_poll_at(0.0, POLICY, rng.random) for _ in range(10_000)]
    per_second = spread(times, 1.0)
    assert all(0 <= t < POLICY.first_poll_seconds for t in times)
    # uniform over 60 s: about 167 a second; never a pile-up in one second
    assert max(per_second) < 10_000 / POLICY.first_poll_seconds * 1.5


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_parcels_polled_together_drift_apart(seed: int) -> None:
    import random

    rng = random.Random(seed)
    times = [next_poll_at(Status.IN_TRANSIT, False, None, 0.0, POLICY, rng.random) or 0.0 for _ in range(10_000)]
    width = POLICY.transit_seconds * POLICY.jitter * 2
    assert max(times) - min(times) > width * 0.95
    per_minute = spread(times, 60.0)
    assert max(per_minute) < 10_000 / (width / 60.0) * 1.5


def test_changes_give_new_lines_then_the_status_then_delivered() -> None:
    before = parcel(Status.IN_TRANSIT, event_count=1)
    after = tracking(NUMBER, [Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.DELIVERED], final=True)
    events = changes(before, after)
    assert [e.type for e in events] == [EventType.NEW_EVENT, EventType.NEW_EVENT, EventType.STATUS_CHANGED, EventType.DELIVERED]
    assert [e.status for e in events] == [Status.OUT_FOR_DELIVERY, Status.DELIVERED, Status.DELIVERED, Status.DELIVERED]
    # the same change seen again has the same ids
    assert [e.event_id for e in changes(before, after)] == [e.event_id for e in events]
    assert len({e.event_id for e in events}) == 4


def test_no_change_no_event() -> None:
    assert changes(parcel(Status.IN_TRANSIT, event_count=1), tracking(NUMBER, [Status.IN_TRANSIT])) == []


def test_quiet_by_state_threshold_and_never_when_final() -> None:
    assert not is_quiet(Status.IN_CUSTOMS, False, 0.0, 3 * DAY - 1, POLICY)
    assert is_quiet(Status.IN_CUSTOMS, False, 0.0, 3 * DAY, POLICY)
    assert not is_quiet(Status.IN_TRANSIT, False, 0.0, 3 * DAY, POLICY)
    assert is_quiet(Status.IN_TRANSIT, False, 0.0, 7 * DAY, POLICY)
    assert not is_quiet(Status.DELIVERED, True, 0.0, 100 * DAY, POLICY)
    assert not is_quiet(None, False, 0.0, 100 * DAY, POLICY)  # never polled: nothing to be quiet about
    # one quiet event per silence
    assert quiet_event(parcel(Status.IN_TRANSIT)).event_id == quiet_event(parcel(Status.IN_TRANSIT)).event_id
    assert quiet_event(parcel(Status.IN_TRANSIT)).event_id != quiet_event(parcel(Status.IN_TRANSIT, last_change_at=5.0)).event_id


def test_signature_verifies_and_a_changed_body_or_old_timestamp_does_not() -> None:
    header = sign("whsec_x", 1_700_000_000, b'{"a":1}')
    assert verify("whsec_x", header, b'{"a":1}', now=1_700_000_010)
    assert not verify("whsec_x", header, b'{"a":2}', now=1_700_000_010)
    assert not verify("whsec_y", header, b'{"a":1}', now=1_700_000_010)
    assert not verify("whsec_x", header, b'{"a":1}', now=1_700_009_999)
    assert not verify("whsec_x", "garbage", b'{"a":1}', now=1_700_000_010)


def test_retries_back_off_then_die_after_the_window() -> None:
    p = DeliveryPolicy(first_retry_seconds=10, longest_retry_seconds=3600, retry_window_seconds=DAY, jitter=0)
    assert retry_at(1, 0.0, 0.0, p) == 10
    assert retry_at(3, 0.0, 0.0, p) == 40
    assert retry_at(30, 0.0, 0.0, p) == 3600
    assert retry_at(5, 0.0, DAY, p) is None


@pytest.mark.parametrize(
    ("url", "allow", "reason"),
    [
        ("ftp://example.com/x", True, "INVALID_WEBHOOK_URL"),
        ("http://example.com/x", True, "INVALID_WEBHOOK_URL"),  # plain http only to loopback
        ("https://user:pw@example.com/x", True, "INVALID_WEBHOOK_URL"),
        ("not a url", True, "INVALID_WEBHOOK_URL"),
        ("https://169.254.169.254/latest/meta-data", False, "WEBHOOK_ADDRESS_FORBIDDEN"),
        ("https://10.0.0.5/hook", False, "WEBHOOK_ADDRESS_FORBIDDEN"),
        ("http://127.0.0.1:8080/hook", False, "WEBHOOK_ADDRESS_FORBIDDEN"),
        ("https://[::ffff:10.0.0.1]/hook", False, "WEBHOOK_ADDRESS_FORBIDDEN"),
        ("http://localhost/hook", False, "WEBHOOK_ADDRESS_FORBIDDEN"),
    ],
)
def test_webhook_urls_refused_name_the_field(url: str, allow: bool, reason: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_webhook_url(url, allow_private=allow)
    assert raised.value.reason == reason
    assert [v.field for v in raised.value.violations] == ["url"]


def test_webhook_urls_accepted() -> None:
    assert check_webhook_url("https://shop.example/hooks", allow_private=False) == ("https", "shop.example", 443)
    assert check_webhook_url("http://127.0.0.1:9000/h", allow_private=True) == ("http", "127.0.0.1", 9000)


def test_order_reference_limits() -> None:
    assert check_order_reference("A" * 128) == "A" * 128
    with pytest.raises(InvalidArgument) as raised:
        check_order_reference("A" * 129)
    assert raised.value.violations[0].field == "order_reference"
