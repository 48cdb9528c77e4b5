"""The label stores against real databases: SQLite in a temporary file and PostgreSQL (a fresh
database for the session). Allocation, idempotency under concurrent retries, exhaustion, voiding,
pagination and migrations behave the same on both."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest

from domain.errors import AlreadyExists, InvalidArgument, ResourceExhausted, ShippingError, Unavailable
from domain.s10 import make, validate
from labels import documents
from labels.customs import CustomsRules
from labels.model import LabelStatus
from labels.postgres_store import MIGRATIONS, PostgresLabelStore
from labels.ranges import SerialRange
from labels.service import LabelService
from labels.sqlite_store import MIGRATIONS as SQLITE_MIGRATIONS
from labels.sqlite_store import SqliteLabelStore
from labels.store import GroupCommit, LabelStore, Page, PendingLabel, encode_page_token
from rates.model import Product
from rates.quote import QuoteEngine
from tests.labels_support import SHIP_DATE, domain_request, fresh_database

EMS_RANGE = SerialRange("ems-a", Product.EMS, "EN", 100, 199)


@pytest.fixture(scope="session")
def pg_url(database_url: str) -> Iterator[str]:
    with fresh_database(database_url) as url:
        yield url


Opener = Callable[[], LabelStore]


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    opened: list[LabelStore] = []
    if request.param == "sqlite":
        path = tmp_path / "labels.sqlite3"

        def opener() -> LabelStore:
            opened.append(SqliteLabelStore(path))
            return opened[-1]
    else:
        url = request.getfixturevalue("pg_url")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS labels, s10_ranges, schema_migrations")

        def opener() -> LabelStore:
            opened.append(PostgresLabelStore(url))
            return opened[-1]

    yield opener
    for store in opened:
        store.close()


def service_for(store: LabelStore, engine: QuoteEngine) -> LabelService:
    return LabelService(store, lambda: engine, CustomsRules())


def test_numbers_come_from_the_range_in_order_and_are_valid(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    numbers = [svc.create(domain_request(f"r{i}"))[0].tracking_number for i in range(5)]
    assert numbers == [make("EN", s) for s in range(100, 105)]
    assert all(validate(n) == n for n in numbers)


def test_retry_returns_the_stored_label_and_other_content_is_refused(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    first, replayed = svc.create(domain_request("same"))
    again, replayed_again = svc.create(domain_request("same"))
    assert (replayed, replayed_again) == (False, True)
    assert again == first
    with pytest.raises(AlreadyExists) as caught:
        svc.create(domain_request("same", weight_g=1500))
    assert caught.value.reason == "REQUEST_ID_REUSED"
    assert "parcel" in caught.value.message and first.id in caught.value.message
    assert store.issued_numbers() == [first.tracking_number]  # type: ignore[attr-defined]


def test_concurrent_retries_of_one_request_resolve_to_one_label(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    barrier = threading.Barrier(8)

    def create(_: int) -> str:
        barrier.wait(timeout=10)
        return svc.create(domain_request("contended"))[0].id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(create, range(8)))
    assert len(ids) == 1
    assert len(store.issued_numbers()) == 1  # type: ignore[attr-defined]


def test_concurrent_creates_get_distinct_numbers(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda i: svc.create(domain_request(f"c{i}"))[0].tracking_number, range(60)))
    assert len(set(numbers)) == 60
    assert sorted(numbers) == sorted(make("EN", s) for s in range(100, 160))


def test_exhausted_range_names_it_and_moves_to_the_next_range(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((SerialRange("ems-a", Product.EMS, "EN", 1, 2),))
    svc = service_for(store, engine)
    svc.create(domain_request("a"))
    svc.create(domain_request("b"))
    with pytest.raises(ResourceExhausted) as caught:
        svc.create(domain_request("c"))
    assert caught.value.reason == "S10_RANGE_EXHAUSTED"
    assert "ems-a" in caught.value.message and "EN00000001-EN00000002" in caught.value.message
    # The operator adds a range; the failed request can be retried with the same id.
    store.sync_ranges((SerialRange("ems-a", Product.EMS, "EN", 1, 2), SerialRange("ems-b", Product.EMS, "EE", 50, 60)))
    assert svc.create(domain_request("c"))[0].tracking_number == make("EE", 50)


def test_product_without_range_is_resource_exhausted(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((SerialRange("parcel", Product.PARCEL_AIR, "CP", 1, 9),))
    with pytest.raises(ResourceExhausted) as caught:
        service_for(store, engine).create(domain_request("x"))
    assert caught.value.reason == "S10_RANGE_NOT_CONFIGURED" and "ems" in caught.value.message


def test_voided_numbers_are_never_reused_and_state_survives_reopening(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    first = svc.create(domain_request("v1"))[0]
    voided = svc.void(first.id)
    assert voided.status is LabelStatus.VOIDED and voided.voided_at is not None
    assert svc.void(first.id).voided_at == voided.voided_at  # voiding twice is harmless
    store.close()
    reopened = open_store()  # migrations run again: nothing to do, nothing lost
    reopened.sync_ranges((EMS_RANGE,))  # the counter is not reset by re-syncing the file
    svc2 = service_for(reopened, engine)
    second = svc2.create(domain_request("v2"))[0]
    assert second.tracking_number == make("EN", 101)
    assert svc2.get(first.id).status is LabelStatus.VOIDED
    assert svc2.create(domain_request("v1"))[0].id == first.id  # a retry still finds the voided label


def test_list_filters_and_pages(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    import dataclasses

    other_day = date(2026, 12, 1)
    made = []
    for i in range(7):
        req = domain_request(f"l{i}")
        if i % 3 == 2:
            req = dataclasses.replace(req, ship_date=other_day)
        made.append(svc.create(req)[0])
    svc.void(made[0].id)
    seen, token = [], ""
    for _ in range(10):
        page = svc.list_labels(date(2026, 11, 30), None, 2, token)
        seen += [lb.id for lb in page.labels]
        token = page.next_token
        if not token:
            break
    assert seen == [m.id for i, m in enumerate(made) if i % 3 != 2]
    active = svc.list_labels(date(2026, 11, 30), LabelStatus.ACTIVE, 50, "").labels
    assert [lb.id for lb in active] == [m.id for i, m in enumerate(made) if i % 3 != 2 and i != 0]
    assert len(svc.list_labels(None, None, 50, "").labels) == 7
    with pytest.raises(InvalidArgument):
        svc.list_labels(other_day, None, 2, svc.list_labels(date(2026, 11, 30), None, 2, "").next_token)


def test_a_tracking_number_finds_its_label_and_page_tokens_keep_the_filter(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    made = [svc.create(domain_request(f"t{i}"))[0] for i in range(3)]
    svc.void(made[1].id)
    wanted = made[1]
    number = wanted.tracking_number

    def ids(page: Page) -> list[str]:
        return [lb.id for lb in page.labels]

    page = svc.list_labels(None, None, 50, "", tracking_number=number)
    assert ids(page) == [wanted.id] and page.next_token == ""
    assert page.labels[0].tracking_number == number and page.labels[0].status is LabelStatus.VOIDED
    # with the other filters it narrows as they do alone
    assert ids(svc.list_labels(SHIP_DATE, LabelStatus.VOIDED, 50, "", tracking_number=number)) == [wanted.id]
    assert ids(svc.list_labels(SHIP_DATE, LabelStatus.ACTIVE, 50, "", tracking_number=number)) == []
    assert ids(svc.list_labels(date(2026, 12, 1), None, 50, "", tracking_number=number)) == []
    assert ids(svc.list_labels(None, None, 50, "", tracking_number=make("EN", 150))) == []  # valid, never issued

    # a number is issued once, so a filtered listing never has a second page; its tokens still
    # carry the filter, and a token of another listing is refused rather than read as this one's
    assert ids(svc.list_labels(None, None, 1, encode_page_token(made[0].seq, None, None, number), tracking_number=number)) == [wanted.id]
    assert ids(svc.list_labels(None, None, 1, encode_page_token(wanted.seq, None, None, number), tracking_number=number)) == []
    unfiltered = svc.list_labels(None, None, 1, "").next_token
    with pytest.raises(InvalidArgument):
        svc.list_labels(None, None, 1, unfiltered, tracking_number=number)
    with pytest.raises(InvalidArgument):
        svc.list_labels(None, None, 1, encode_page_token(made[0].seq, None, None, number))
    with pytest.raises(InvalidArgument):
        svc.list_labels(None, None, 1, encode_page_token(made[0].seq, None, None, made[0].tracking_number), tracking_number=number)
    # tokens of listings without the filter are spelt as before it existed: servers of both versions,
    # side by side during a rolling update, page through each other's answers
    assert json.loads(base64.urlsafe_b64decode(unfiltered + "=" * (-len(unfiltered) % 4))).keys() == {"a", "d", "s"}
    assert ids(svc.list_labels(None, None, 2, unfiltered)) == [made[1].id, made[2].id]


def test_manifest_totals_per_product_without_voided(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE, SerialRange("pa", Product.PARCEL_AIR, "CP", 1, 99)))
    svc = service_for(store, engine)
    from rates.model import Method

    ems = [svc.create(domain_request(f"m{i}"))[0] for i in range(3)]
    air = svc.create(domain_request("air", method=Method.AIRMAIL, weight_g=2500))[0]
    svc.void(ems[2].id)
    manifest = svc.manifest(date(2026, 11, 30))
    assert [lb.id for lb in manifest.labels] == [ems[0].id, ems[1].id, air.id]
    totals = {t.product: t for t in manifest.totals}
    assert totals[Product.EMS].count == 2 and totals[Product.EMS].price_jpy == ems[0].pricing.price_jpy + ems[1].pricing.price_jpy
    assert totals[air.product].count == 1 and totals[air.product].weight_g == 2500
    text = documents.manifest_csv(manifest).decode()
    assert ems[2].tracking_number not in text and air.tracking_number in text and "Jane" not in text


def test_postgres_migrations_from_two_processes_at_once(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS labels, s10_ranges, schema_migrations")
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresLabelStore(pg_url), range(4)))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (len(MIGRATIONS),)
    for s in stores:
        s.close()


def test_sqlite_stores_opened_at_once_on_a_new_file(tmp_path: Path) -> None:
    # server.py --workers 2 on a fresh database: the workers open the same new file at once. Putting
    # a new file into WAL mode used to fail one of them with "database is locked" (about one round
    # in ten of this test); each round is a new file opened by six connections released together.
    for round_ in range(50):
        path = tmp_path / f"labels-{round_}.sqlite3"
        start = threading.Barrier(6)

        def open_at_once(_: int, path: Path = path, start: threading.Barrier = start) -> SqliteLabelStore:
            start.wait()
            return SqliteLabelStore(path)

        with ThreadPoolExecutor(6) as pool:
            stores = list(pool.map(open_at_once, range(6)))
        versions = stores[0]._conn().execute("SELECT count(*) FROM schema_migrations").fetchone()
        mode = stores[0]._conn().execute("PRAGMA journal_mode").fetchone()
        for store in stores:
            store.close()
        assert versions == (len(SQLITE_MIGRATIONS),) and mode == ("wal",)


def test_sqlite_writers_queue_on_the_lock_file_and_give_up_busy(tmp_path: Path, engine: QuoteEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every process's writers queue on an flock of labels.sqlite3.lock. Another process holding it
    # is played by a second open file description, which flock treats as another holder.
    path = tmp_path / "labels.sqlite3"
    store = SqliteLabelStore(path)
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    other = os.open(f"{path}.lock", os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        done: list[str] = []
        writer = threading.Thread(target=lambda: done.append(svc.create(domain_request("queued"))[0].tracking_number))
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive() and not done  # waits while the other holder has the lock
        fcntl.flock(other, fcntl.LOCK_UN)
        writer.join(timeout=30)
        assert done == [make("EN", 100)]

        # a holder that never lets go: DATABASE_BUSY once the store's busy timeout is over
        monkeypatch.setattr("labels.sqlite_store.BUSY_TIMEOUT_S", 0.2)
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(Unavailable) as busy:
            svc.create(domain_request("refused"))
        assert busy.value.reason == "DATABASE_BUSY"
        fcntl.flock(other, fcntl.LOCK_UN)
        assert svc.create(domain_request("refused"))[0].tracking_number == make("EN", 101)
    finally:
        os.close(other)
        store.close()


class Crash(BaseException):
    """What a process dying in the middle of a batch looks like from inside it."""


@contextlib.contextmanager
def queued_creates(svc: LabelService, group: GroupCommit, prefix: str, count: int) -> Iterator[dict[int, str]]:
    """`count` CreateLabel calls (request ids prefix0, prefix1, ...) from threads of their own,
    queued behind the store's writer lock until the with-block ends; then they are issued and
    joined. Yields each call's tracking number or error reason ("crash" for a Crash)."""
    outcomes: dict[int, str] = {}

    def create(i: int) -> None:
        try:
            outcomes[i] = svc.create(domain_request(f"{prefix}{i}"))[0].tracking_number
        except ShippingError as error:
            outcomes[i] = error.reason
        except Crash:
            outcomes[i] = "crash"

    threads = [threading.Thread(target=create, args=(i,)) for i in range(count)]
    with group.writer:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(group.queue) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        yield outcomes
    for t in threads:
        t.join(timeout=30)


def test_group_commit_issues_queued_labels_together_and_fails_only_the_exhausted(
    open_store: Opener, engine: QuoteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Twelve requests queue while the process's writer lock is held; the range has five numbers.
    # They are issued in batches of MAX_BATCH, each label in a savepoint: five labels, seven
    # S10_RANGE_EXHAUSTED, and the database holds exactly the five numbers that were answered.
    store = open_store()
    store.sync_ranges((SerialRange("ems-a", Product.EMS, "EN", 1, 5),))
    svc = service_for(store, engine)
    group: GroupCommit = store._group  # type: ignore[attr-defined]
    sizes: list[int] = []
    original = GroupCommit._run

    def recording(self: GroupCommit, batch: list[PendingLabel]) -> None:
        sizes.append(len(batch))
        original(self, batch)

    monkeypatch.setattr(GroupCommit, "_run", recording)
    monkeypatch.setattr("labels.store.MAX_BATCH", 4)
    with queued_creates(svc, group, "g", 12) as outcomes:
        pass
    numbers = sorted(v for v in outcomes.values() if v.startswith("EN"))
    assert numbers == [make("EN", s) for s in range(1, 6)]
    assert list(outcomes.values()).count("S10_RANGE_EXHAUSTED") == 7
    assert sorted(store.issued_numbers()) == numbers  # type: ignore[attr-defined]
    assert sizes == [4, 4, 4]


def test_a_batch_that_dies_midway_keeps_none_of_its_labels(open_store: Opener, engine: QuoteEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    # Four requests in one batch; issuing the third dies. The transaction is rolled back: nobody
    # gets a label, no number is used up, and the same requests retried get the range's first four.
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    svc = service_for(store, engine)
    group: GroupCommit = store._group  # type: ignore[attr-defined]
    issue_one = store._issue_one  # type: ignore[attr-defined]
    calls: list[str] = []

    def dying(conn: object, item: PendingLabel) -> tuple[object, bool]:
        calls.append(item.request_id)
        if len(calls) == 3:
            raise Crash
        return issue_one(conn, item)

    with queued_creates(svc, group, "d", 4) as outcomes:
        monkeypatch.setattr(store, "_issue_one", dying)
    assert sorted(outcomes.values()) == ["DATABASE_UNAVAILABLE"] * 3 + ["crash"]
    assert store.issued_numbers() == []  # type: ignore[attr-defined]
    monkeypatch.undo()
    retried = sorted(svc.create(domain_request(f"d{i}"))[0].tracking_number for i in range(4))
    assert retried == [make("EN", s) for s in range(100, 104)]


def test_created_at_is_kept(open_store: Opener, engine: QuoteEngine) -> None:
    store = open_store()
    store.sync_ranges((EMS_RANGE,))
    when = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    svc = LabelService(store, lambda: engine, CustomsRules(), clock=lambda: when)
    label = svc.create(domain_request("t"))[0]
    assert svc.get(label.id).created_at == when
