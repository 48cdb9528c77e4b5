"""A server process killed (SIGKILL) in the middle of sending webhooks, on SQLite and on
PostgreSQL: after a restart every event is delivered, none is lost, and the only events sent twice
are those that were in flight when the process died (at-least-once; the receiver drops them by id)."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from domain.s10 import make
from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.process_support import server_process
from tests.watch_support import Receiver
from tracking.watch import SIGNATURE_HEADER, verify

PARCELS = 20
EVENTS_PER_PARCEL = 4  # in_transit: three lines and the status
SECRET = "whsec_crash_test_secret_0123456789"
SEND_THREADS = 4  # WatchOptions.send_threads: at most this many deliveries are in flight at once


@pytest.fixture(params=["sqlite", "postgres"])
def database_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    from tests.labels_support import fresh_database

    with fresh_database(request.getfixturevalue("database_url")) as url:
        yield {"SHIPPING_DATABASE_URL": url}


def test_a_process_killed_mid_delivery_loses_no_event(tmp_path: Path, database_env: dict[str, str]) -> None:
    receiver = Receiver(delay_seconds=0.25)
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps([{"id": "shop", "url": receiver.url, "secret": SECRET}]))
    numbers = [make("EN", 70_000_000 + i) for i in range(PARCELS)]
    with StandInJapanPost() as standin:
        for n in numbers:
            standin.set_scenario(n, "in_transit")
        env = {
            **database_env,
            "SHIPPING_TRACKING_BASE_URL": standin.url,
            "SHIPPING_TRACKING_RATE_PER_SECOND": "200",
            "SHIPPING_TRACKING_RATE_BURST": "200",
            "SHIPPING_WATCH_POLL_SHARE": "1",
            "SHIPPING_WATCH_FIRST_POLL_SECONDS": "0.5",
            "SHIPPING_WEBHOOK_ENDPOINTS_FILE": str(endpoints),
            "SHIPPING_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
            "SHIPPING_WEBHOOK_TIMEOUT_SECONDS": "1",
            "SHIPPING_WEBHOOK_FIRST_RETRY_SECONDS": "0.2",
        }
        expected = PARCELS * EVENTS_PER_PARCEL
        try:
            with server_process(tmp_path, env) as server:
                with grpc.insecure_channel(server.address) as channel:
                    stub = tracking_pb2_grpc.TrackingServiceStub(channel)
                    for n in numbers:
                        stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=n, order_reference=f"order-{n}"), timeout=10)
                    # every poll done (the events are in the store), deliveries under way
                    deadline = time.monotonic() + 60
                    while len(stub.ListTrackingEvents(tracking_pb2.ListTrackingEventsRequest(page_size=1000), timeout=10).events) < expected:
                        assert time.monotonic() < deadline, "the polls did not record every event"
                        time.sleep(0.05)
                assert receiver.wait_for(lambda b: len(b) >= 10)
                server.proc.send_signal(signal.SIGKILL)
                server.proc.wait()
            in_flight_at_kill = len(receiver.requests)
            assert in_flight_at_kill < expected, "every delivery was done before the kill: the test proves nothing"

            with server_process(tmp_path, env) as server, grpc.insecure_channel(server.address) as channel:
                stub = tracking_pb2_grpc.TrackingServiceStub(channel)
                stored = stub.ListTrackingEvents(tracking_pb2.ListTrackingEventsRequest(page_size=1000), timeout=10).events
                assert len(stored) == expected  # nothing recorded twice by the restarted poller
                assert receiver.wait_for(lambda b: len({x["id"] for x in b}) >= expected, timeout=120)
        finally:
            receiver.close()

    received = Counter(b["id"] for b in receiver.bodies())
    assert set(received) == {e.event_id for e in stored}  # none lost
    twice = [event_id for event_id, count in received.items() if count > 1]
    assert len(twice) <= SEND_THREADS, twice  # only the ones in flight when the process died
    for headers, body in receiver.requests:
        assert verify(SECRET, headers[SIGNATURE_HEADER.lower()], body, time.time())
    # in order per parcel, counting each event's first arrival
    first_seen: dict[str, list[int]] = {}
    for b in receiver.bodies():
        seqs = first_seen.setdefault(str(b["tracking_number"]), [])
        if b["sequence"] not in seqs:
            seqs.append(int(b["sequence"]))
    assert all(seqs == sorted(seqs) for seqs in first_seen.values())
