"""Watched parcels, the stores (SQLite and PostgreSQL): registration, claims with leases, the
outbox (a poll's state, events and deliveries in one transaction), delivery order, quiet once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.watch_support import open_watch_store, tracking
from tracking.model import Status
from tracking.watch import EventType, changes, quiet_event
from tracking.watch_sqlite import SqliteWatchStore
from tracking.watch_store import Endpoint, PollResult, WatchStore

NUMBER = "EN123456785JP"
OTHER = "CD126430535JP"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WatchStore]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    with open_watch_store(request.param, tmp_path, url) as s:
        yield s


def poll(store: WatchStore, number: str, statuses: list[Status], now: float, final: bool = False) -> list[str]:
    parcel = store.get(number)
    assert parcel is not None
    t = tracking(number, statuses, final)
    events = changes(parcel, t)
    result = PollResult(t.status, t.final, len(t.events), now if events else parcel.last_change_at, now if final else None, now + 100, tuple(events))
    return [e.event_id for e in store.record_poll(parcel, result, now)]


def test_watching_twice_is_idempotent(store: WatchStore) -> None:
    first, created = store.watch(NUMBER, "ORDER-1", "", 10.0, 20.0)
    again, created_again = store.watch(NUMBER, "ORDER-OTHER", "", 11.0, 21.0)
    assert created and not created_again
    assert again == first and again.order_reference == "ORDER-1"
    assert store.unwatch(NUMBER) and not store.unwatch(NUMBER)


def test_due_parcels_are_claimed_once_until_the_lease_runs_out(store: WatchStore) -> None:
    store.watch(NUMBER, "A", "", 0.0, 5.0)
    store.watch(OTHER, "B", "", 0.0, 50.0)
    assert [p.number for p in store.claim_due(10.0, 10, 30.0)] == [NUMBER]
    assert store.claim_due(10.0, 10, 30.0) == []  # leased
    assert [p.number for p in store.claim_due(41.0, 10, 30.0)] == [NUMBER]  # the claimer died: taken again


def test_a_poll_records_its_events_and_one_delivery_per_endpoint(store: WatchStore) -> None:
    store.add_endpoint(Endpoint("ep1", "http://127.0.0.1:1/a", "s1", 1.0, False))
    store.add_endpoint(Endpoint("ep2", "http://127.0.0.1:1/b", "s2", 2.0, False))
    store.watch(NUMBER, "ORDER-1", "", 0.0, 0.0)
    ids = poll(store, NUMBER, [Status.IN_TRANSIT], 10.0)
    assert len(ids) == 2  # new line, status changed
    # the same answer again: nothing new
    assert poll(store, NUMBER, [Status.IN_TRANSIT], 20.0) == []
    events = store.events_after(0, "", 100)
    assert [e.type for e in events] == [EventType.NEW_EVENT, EventType.STATUS_CHANGED]
    assert events[0].wire_body()["order_reference"] == "ORDER-1"
    claimed = store.claim_deliveries(30.0, 100, 60.0)
    # in order per parcel and endpoint: only the first event of each endpoint is claimable
    assert sorted((d.endpoint.endpoint_id, d.event.event_id) for d in claimed) == sorted([("ep1", ids[0]), ("ep2", ids[0])])
    for d in claimed:
        store.delivered(d.seq, 31.0)
    claimed = store.claim_deliveries(32.0, 100, 60.0)
    assert {d.event.event_id for d in claimed} == {ids[1]}
    counts = store.counts()
    assert counts.by_state == {"in_transit": 1} and counts.deliveries == {"delivered": 2, "pending": 2}


def test_a_failed_delivery_waits_then_dies_and_is_listed(store: WatchStore) -> None:
    store.add_endpoint(Endpoint("ep1", "http://127.0.0.1:1/a", "s1", 1.0, False))
    store.watch(NUMBER, "ORDER-1", "", 0.0, 0.0)
    ids = poll(store, NUMBER, [Status.IN_TRANSIT], 10.0)
    (d,) = store.claim_deliveries(11.0, 100, 60.0)
    store.delivery_failed(d.seq, 12.0, "HTTP 500", 100.0)
    assert store.claim_deliveries(50.0, 100, 60.0) == []
    (d,) = store.claim_deliveries(100.0, 100, 60.0)
    assert d.attempts == 1
    store.delivery_failed(d.seq, 101.0, "HTTP 500", None)
    (dead,) = store.dead_deliveries(10)
    assert (dead.event_id, dead.endpoint_id, dead.attempts, dead.last_error) == (ids[0], "ep1", 2, "HTTP 500")
    # a dead delivery no longer holds the parcel's later events back
    assert [x.event.event_id for x in store.claim_deliveries(102.0, 100, 60.0)] == [ids[1]]


def test_quiet_is_raised_once_per_silence(store: WatchStore) -> None:
    store.add_endpoint(Endpoint("ep1", "http://127.0.0.1:1/a", "s1", 1.0, False))
    store.watch(NUMBER, "ORDER-1", "", 0.0, 0.0)
    poll(store, NUMBER, [Status.IN_CUSTOMS], 10.0)
    (candidate,) = store.quiet_candidates(1000.0, 10)
    assert store.record_quiet(candidate, quiet_event(candidate), 1000.0)
    assert not store.record_quiet(candidate, quiet_event(candidate), 1001.0)
    assert store.quiet_candidates(2000.0, 10) == []
    assert store.counts().quiet == 1
    assert [p.number for p in store.list_parcels(status=None, changed_before=None, order_reference="", quiet_only=True, after_seq=0, limit=10)] == [NUMBER]
    # a change ends the silence
    poll(store, NUMBER, [Status.IN_CUSTOMS, Status.IN_TRANSIT], 3000.0)
    parcel = store.get(NUMBER)
    assert parcel is not None and not parcel.quiet


def test_list_filters_and_pages(store: WatchStore) -> None:
    for i, number in enumerate([NUMBER, OTHER, "RR473124829JP"]):
        store.watch(number, "ORDER-1" if i < 2 else "ORDER-2", "", float(i), 0.0)
    page = store.list_parcels(status=None, changed_before=None, order_reference="ORDER-1", quiet_only=False, after_seq=0, limit=1)
    assert [p.number for p in page] == [NUMBER]
    rest = store.list_parcels(status=None, changed_before=None, order_reference="ORDER-1", quiet_only=False, after_seq=page[-1].seq, limit=10)
    assert [p.number for p in rest] == [OTHER]
    assert [p.number for p in store.list_parcels(status=None, changed_before=0.5, order_reference="", quiet_only=False, after_seq=0, limit=10)] == [NUMBER]


def test_one_leader_at_a_time(store: WatchStore) -> None:
    assert store.try_lead("poller", "a", 0.0, 10.0)
    assert not store.try_lead("poller", "b", 5.0, 10.0)
    assert store.try_lead("poller", "a", 6.0, 10.0)  # renewed
    assert store.try_lead("poller", "b", 17.0, 10.0)  # a's lease ran out


def test_endpoints_from_the_file_are_synchronised(store: WatchStore) -> None:
    store.add_endpoint(Endpoint("api1", "https://x.example/a", "s", 1.0, False))
    store.sync_file_endpoints([Endpoint("f1", "https://x.example/f1", "s", 2.0, True), Endpoint("f2", "https://x.example/f2", "s", 3.0, True)])
    store.sync_file_endpoints([Endpoint("f2", "https://x.example/f2b", "s", 3.0, True)])
    assert [(e.endpoint_id, e.url) for e in store.endpoints()] == [("api1", "https://x.example/a"), ("f2", "https://x.example/f2b")]
    assert store.delete_endpoint("api1") and not store.delete_endpoint("api1")


def test_old_events_go_once_their_deliveries_are_finished(store: WatchStore) -> None:
    store.add_endpoint(Endpoint("ep1", "http://127.0.0.1:1/a", "s1", 1.0, False))
    store.watch(NUMBER, "ORDER-1", "", 0.0, 0.0)
    poll(store, NUMBER, [Status.IN_TRANSIT], 10.0)
    (first,) = store.claim_deliveries(11.0, 100, 60.0)
    store.delivered(first.seq, 12.0)
    assert store.purge(5.0) == 0  # nothing that old
    assert store.purge(100.0) == 1  # the delivered one; the other still has a pending delivery
    assert [e.event_id for e in store.events_after(0, "", 10)] == [e.event_id for e in store.events_after(first.event.seq, "", 10)]
    assert store.counts().deliveries == {"pending": 1}


def test_sqlite_watch_stores_opened_at_once_on_a_new_file(tmp_path: Path) -> None:
    # server.py --workers 2 on a fresh machine: the workers open the same new watch.sqlite3 at once,
    # and putting a new file into WAL mode failed one of them with "database is locked" (a worker
    # that did not start). Each round is a new file opened by six connections released together.
    for round_ in range(50):
        path = tmp_path / f"watch-{round_}.sqlite3"
        start = threading.Barrier(6)

        def open_at_once(_: int, path: Path = path, start: threading.Barrier = start) -> SqliteWatchStore:
            start.wait()
            return SqliteWatchStore(path)

        with ThreadPoolExecutor(6) as pool:
            stores = list(pool.map(open_at_once, range(6)))
        mode = stores[0]._conn.execute("PRAGMA journal_mode").fetchone()
        for store in stores:
            store.close()
        assert mode == ("wal",)
