"""The label store in an SQLite file (the default: nothing to set up).

Several processes may share the file. Every write runs in BEGIN IMMEDIATE, which takes the
database's write lock before reading the counter, so two writers never see the same next serial;
WAL journaling with synchronous=FULL makes a commit durable before CreateLabel answers.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from domain.errors import Unavailable
from domain.s10 import make
from labels.model import Label, LabelStatus
from labels.ranges import SerialRange
from labels.store import (
    ERASE_BATCH,
    LABEL_COLUMNS,
    MAX_ALLOCATION_ATTEMPTS,
    GroupCommit,
    LabelBuilder,
    Page,
    PendingLabel,
    decode_page_token,
    describe_range,
    erase_payload,
    exhausted,
    label_from_row,
    label_row,
    list_query,
    page_of,
)
from rates.model import Product

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE s10_ranges (
        name TEXT PRIMARY KEY,
        product TEXT NOT NULL,
        service_indicator TEXT NOT NULL,
        first_serial INTEGER NOT NULL,
        last_serial INTEGER NOT NULL,
        next_serial INTEGER NOT NULL
    );
    CREATE TABLE labels (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        request_id TEXT NOT NULL UNIQUE,
        request_hash TEXT NOT NULL,
        tracking_number TEXT NOT NULL UNIQUE,
        range_name TEXT NOT NULL REFERENCES s10_ranges(name),
        product TEXT NOT NULL,
        ship_date TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        voided_at TEXT,
        data TEXT NOT NULL
    );
    CREATE INDEX labels_by_ship_date ON labels (ship_date, seq);
    """,
    # retention. When a label's personal data was erased (NULL: not yet).
    """
    ALTER TABLE labels ADD COLUMN erased_at TEXT;
    CREATE INDEX labels_to_erase ON labels (created_at) WHERE erased_at IS NULL;
    """,
)

_COLUMNS = "seq, id, request_id, request_hash, tracking_number, range_name, status, created_at, voided_at, data"
BUSY_TIMEOUT_S = 60.0


def _label(row: sqlite3.Row) -> Label:
    return label_from_row(
        seq=row[0],
        label_id=row[1],
        request_id=row[2],
        request_hash=row[3],
        tracking_number=row[4],
        range_name=row[5],
        status=row[6],
        created_at=datetime.fromisoformat(row[7]),
        voided_at=datetime.fromisoformat(row[8]) if row[8] else None,
        data=row[9],
    )


def _by_request_id(conn: sqlite3.Connection, request_id: str) -> Label | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM labels WHERE request_id = ?", (request_id,)).fetchone()
    return _label(row) if row else None


def _until_busy_timeout(attempt: Callable[[], bool], first_pause: float, longest_pause: float) -> bool:
    """Calls `attempt` until it returns True, sleeping first_pause, twice that, ... (at most
    longest_pause) between tries; False once BUSY_TIMEOUT_S has passed without success."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = first_pause
    while not attempt():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, longest_pause)
    return True


def _enable_wal(conn: sqlite3.Connection) -> None:
    """PRAGMA journal_mode=WAL, retried while another connection holds the lock it needs.

    Switching a new file to WAL takes an exclusive lock, and SQLite reports "database is locked" at
    once, without its busy handler, when another connection is opening the same new file (two
    workers of `server.py --workers 2` starting on a fresh database did). Once the file is in WAL
    mode, which is kept in the file, the pragma changes nothing and takes no such lock."""

    def attempt() -> bool:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            return False
        return True

    if not _until_busy_timeout(attempt, 0.005, 0.1):
        conn.execute("PRAGMA journal_mode=WAL")  # one last try, which raises the lock error


class SqliteLabelStore:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._group = GroupCommit(self._issue_batch, self._writer)  # issue(): labels committed together
        # Writers of every process that opens this file queue on an flock of a file beside it (see
        # _transaction). The descriptor stays open while the store is; the kernel frees the lock
        # when its process dies, so a crashed worker never leaves it held.
        self._lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.migrate()

    # -- connections ------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Erased personal data is overwritten in the file, not left in free pages.
            conn.execute("PRAGMA secure_delete=ON")
            # One connection per server thread (16 by default): SQLite's default 2 MB page cache each
            # showed in the soak as a worker's memory creeping up as the file grew. Label reads and
            # writes touch a few pages by key; the operating system caches the file anyway.
            conn.execute("PRAGMA cache_size=-256")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1
        self._local = threading.local()

    @contextmanager
    def _between_processes(self) -> Iterator[None]:
        """Holds the exclusive flock that queues this file's writers across processes.

        Without it, a writer that finds another process's transaction open waits in SQLite's busy
        handler, which sleeps 1, 2, 5, 10 ... 100 ms between tries: with `--workers 2` one worker's
        writers slept while the other's took the lock again and again, and CreateLabel gained 1.2x
        from the second worker on two cores. A try every 0.1-2 ms takes the lock within a couple of
        milliseconds of its release. The wait is bounded like SQLite's (BUSY_TIMEOUT_S), so a
        stopped process holding the lock gives DATABASE_BUSY, not a call that never returns."""

        def attempt() -> bool:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if not _until_busy_timeout(attempt, 0.0001, 0.002):
            raise Unavailable("the label database is busy; retry shortly", reason="DATABASE_BUSY")
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def _transaction(self, *, locked: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE takes the database's write lock (across processes);
        the process-local lock queues this process's threads in order, and an flock queues the
        processes (_between_processes), instead of leaving them to SQLite's sleeping busy handler.
        `locked`: the caller already holds the process-local lock."""
        conn = self._conn()
        with contextlib.nullcontext() if locked else self._writer, self._between_processes():
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise Unavailable("the label database is busy; retry shortly", reason="DATABASE_BUSY") from error
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                # A COMMIT that failed (busy, I/O) may leave the transaction open: end it, so the
                # connection's next BEGIN starts clean.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

    # -- schema -----------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Applies the migrations not yet applied, each in its own transaction."""
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in enumerate(MIGRATIONS, 1):
                if version in done:
                    continue
                for statement in (s.strip() for s in sql.split(";")):
                    if statement:
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, datetime.now(UTC).isoformat()))

    def sync_ranges(self, ranges: tuple[SerialRange, ...]) -> None:
        with self._transaction() as conn:
            for r in ranges:
                conn.execute(
                    "INSERT INTO s10_ranges (name, product, service_indicator, first_serial, last_serial, next_serial) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET last_serial = excluded.last_serial",
                    (r.name, r.product.value, r.service_indicator, r.first_serial, r.last_serial, r.first_serial),
                )

    # -- labels -----------------------------------------------------------------------------------

    def issue(self, request_id: str, product: Product, build: LabelBuilder) -> tuple[Label, bool]:
        """Group commit (labels.store.GroupCommit): the labels queued in this process are issued in
        one transaction, one flock and one fsync."""
        return self._group.issue(request_id, product, build)

    def _issue_batch(self, batch: list[PendingLabel]) -> None:
        """GroupCommit's commit; runs with self._writer held."""
        with self._transaction(locked=True) as conn:
            for item in batch:
                conn.execute("SAVEPOINT label")
                try:
                    item.result = self._issue_one(conn, item)
                except Exception as error:  # noqa: BLE001 - raised again in its caller's thread; the others go on
                    conn.execute("ROLLBACK TO label")
                    item.error = error
                conn.execute("RELEASE label")

    def _issue_one(self, conn: sqlite3.Connection, item: PendingLabel) -> tuple[Label, bool]:
        stored = _by_request_id(conn, item.request_id)
        if stored is not None:
            return stored, False
        number, range_name = self._allocate(conn, item.product)
        label = item.build(number, range_name)
        cur = conn.execute(
            f"INSERT INTO labels ({LABEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            label_row(label, item.request_id, number, range_name, item.product, dates_as_text=True),
        )
        return replace(label, seq=int(cur.lastrowid or 0)), True

    @staticmethod
    def _allocate(conn: sqlite3.Connection, product: Product) -> tuple[str, str]:
        for _ in range(MAX_ALLOCATION_ATTEMPTS):
            row = conn.execute(
                "SELECT name, service_indicator, next_serial FROM s10_ranges WHERE product = ? AND next_serial <= last_serial ORDER BY name LIMIT 1",
                (product.value,),
            ).fetchone()
            if row is None:
                described = [
                    describe_range(n, i, f, la)
                    for n, i, f, la in conn.execute(
                        "SELECT name, service_indicator, first_serial, last_serial FROM s10_ranges WHERE product = ? ORDER BY name", (product.value,)
                    )
                ]
                raise exhausted(product, described)
            name, indicator, serial = row
            conn.execute("UPDATE s10_ranges SET next_serial = ? WHERE name = ?", (serial + 1, name))
            number = make(indicator, serial)
            # A number issued before (e.g. an operator re-added an old range) is skipped, never reused.
            if conn.execute("SELECT 1 FROM labels WHERE tracking_number = ?", (number,)).fetchone() is None:
                return number, name
        raise exhausted(product, [f"{MAX_ALLOCATION_ATTEMPTS} numbers in a row were already issued"])

    def get(self, label_id: str) -> Label | None:
        row = self._conn().execute(f"SELECT {_COLUMNS} FROM labels WHERE id = ?", (label_id,)).fetchone()
        return _label(row) if row else None

    def get_by_request_id(self, request_id: str) -> Label | None:
        return _by_request_id(self._conn(), request_id)

    def list_labels(self, ship_date: date | None, status: LabelStatus | None, page_size: int, page_token: str, *, tracking_number: str = "") -> Page:
        after = decode_page_token(page_token, ship_date, status, tracking_number)
        sql, args = list_query(_COLUMNS, after, ship_date, status, tracking_number, page_size + 1, placeholder="?", dates_as_text=True)
        return page_of(self._conn().execute(sql, args).fetchall(), _label, page_size, ship_date, status, tracking_number)

    def void(self, label_id: str, when: datetime) -> Label | None:
        with self._transaction() as conn:
            conn.execute("UPDATE labels SET status = ?, voided_at = ? WHERE id = ? AND status = ?", ("voided", when.isoformat(), label_id, "active"))
            row = conn.execute(f"SELECT {_COLUMNS} FROM labels WHERE id = ?", (label_id,)).fetchone()
        return _label(row) if row else None

    def for_manifest(self, ship_date: date) -> list[Label]:
        rows = self._conn().execute(f"SELECT {_COLUMNS} FROM labels WHERE ship_date = ? AND status = 'active' ORDER BY seq", (ship_date.isoformat(),))
        return [_label(r) for r in rows]

    def erase_personal_data(self, created_before: datetime, now: datetime) -> int:
        erased = 0
        for _ in range(100_000):  # bounded: ERASE_BATCH labels per round
            with self._transaction() as conn:
                rows = conn.execute(
                    "SELECT seq, data FROM labels WHERE erased_at IS NULL AND created_at < ? ORDER BY seq LIMIT ?",
                    (created_before.isoformat(), ERASE_BATCH),
                ).fetchall()
                for seq, data in rows:
                    conn.execute("UPDATE labels SET data = ?, erased_at = ? WHERE seq = ?", (erase_payload(data), now.isoformat(), seq))
            erased += len(rows)
            if len(rows) < ERASE_BATCH:
                break
        return erased

    def issued_numbers(self) -> list[str]:
        """Every number ever issued (tests and audits)."""
        return [r[0] for r in self._conn().execute("SELECT tracking_number FROM labels ORDER BY seq")]
