"""The label store in PostgreSQL (SHIPPING_DATABASE_URL), through psycopg 3.

Allocation is one `UPDATE s10_ranges ... RETURNING` on the range's counter row inside the
transaction that inserts the label: the row lock serialises allocators across processes, and the
counter moves only if the label is committed. Concurrent retries of one request_id race on the
unique constraint; the loser rolls back (its serial with it) and returns the winner's label.
"""

from __future__ import annotations

import queue
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from domain.errors import Unavailable
from domain.s10 import make
from labels.model import Label, LabelStatus
from labels.ranges import SerialRange
from labels.store import (
    ERASE_BATCH,
    LABEL_COLUMNS,
    MAX_ALLOCATION_ATTEMPTS,
    DatabaseMisconfigured,
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
        first_serial BIGINT NOT NULL,
        last_serial BIGINT NOT NULL,
        next_serial BIGINT NOT NULL
    );
    CREATE TABLE labels (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        request_id TEXT NOT NULL UNIQUE,
        request_hash TEXT NOT NULL,
        tracking_number TEXT NOT NULL UNIQUE,
        range_name TEXT NOT NULL REFERENCES s10_ranges(name),
        product TEXT NOT NULL,
        ship_date DATE NOT NULL,
        status TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        voided_at TIMESTAMPTZ,
        data JSONB NOT NULL
    );
    CREATE INDEX labels_by_ship_date ON labels (ship_date, seq);
    """,
    # retention. When a label's personal data was erased (NULL: not yet).
    """
    ALTER TABLE labels ADD COLUMN erased_at TIMESTAMPTZ;
    CREATE INDEX labels_to_erase ON labels (created_at) WHERE erased_at IS NULL;
    """,
)

# Any constant: held while migrating so two processes starting at once do not both migrate.
MIGRATION_LOCK_KEY = 4_104_2026
_COLUMNS = "seq, id, request_id, request_hash, tracking_number, range_name, status, created_at, voided_at, data"


def _label(row: tuple[Any, ...]) -> Label:
    return label_from_row(
        seq=row[0],
        label_id=row[1],
        request_id=row[2],
        request_hash=row[3],
        tracking_number=row[4],
        range_name=row[5],
        status=row[6],
        created_at=row[7],
        voided_at=row[8],
        data=row[9],
    )


# What libpq reports when the server answers but refuses the connection as configured. The server
# gives no SQLSTATE for a failed connection, only its message (in English unless lc_messages says
# otherwise; anything not recognised is taken as "cannot be reached", which is retried).
_ROLE_MISSING = re.compile(r'role "[^"]*" does not exist')
_DATABASE_MISSING = re.compile(r'database "[^"]*" does not exist')
_LOGIN_REFUSED = re.compile(r"password authentication failed|no pg_hba\.conf entry|no password supplied|authentication failed", re.IGNORECASE)


def _database_name(url: str) -> str:
    try:
        return str(psycopg.conninfo.conninfo_to_dict(url).get("dbname", ""))
    except psycopg.Error:
        return ""


def _redacted(text: str, url: str) -> str:
    """`text` without the password (as written, and decoded) of `url`."""
    try:
        password = str(psycopg.conninfo.conninfo_to_dict(url).get("password") or "")
    except psycopg.Error:
        password = ""
    marker = url.split("://", 1)[-1].split("@", 1)[0].partition(":")[2] if "@" in url else ""
    for secret in {password, marker} - {""}:
        text = text.replace(secret, "***")
    return text


def connection_failure(error: psycopg.Error, url: str) -> Unavailable:
    """The error to raise for a connection that failed: DatabaseMisconfigured when the server refused
    it as configured (saying which), else Unavailable (cannot be reached: retried). No message holds
    the URL's password."""
    text = str(error).strip()
    if isinstance(error, psycopg.ProgrammingError):  # libpq refused the URL itself
        return DatabaseMisconfigured(
            f"SHIPPING_DATABASE_URL is not accepted by PostgreSQL's client library: {_redacted(text, url)}", reason="DATABASE_URL_INVALID"
        )
    if _ROLE_MISSING.search(text):
        return DatabaseMisconfigured(
            "the label database refuses the connection: the role (user) named in SHIPPING_DATABASE_URL does not exist; create it or correct the URL",
            reason="DATABASE_ROLE_NOT_FOUND",
        )
    if _DATABASE_MISSING.search(text):
        name = _database_name(url)
        return DatabaseMisconfigured(
            f"the label database {name!r} does not exist on the PostgreSQL server; create it (createdb) or correct SHIPPING_DATABASE_URL",
            reason="DATABASE_NOT_FOUND",
        )
    if _LOGIN_REFUSED.search(text):
        return DatabaseMisconfigured(
            "the label database refuses the login of the role named in SHIPPING_DATABASE_URL (password or pg_hba.conf); correct one of them",
            reason="DATABASE_LOGIN_REFUSED",
        )
    return Unavailable("the label database cannot be reached; retry shortly", reason="DATABASE_UNAVAILABLE")


def _by_request_id(conn: psycopg.Connection[Any], request_id: str) -> Label | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM labels WHERE request_id = %s", (request_id,)).fetchone()
    return _label(row) if row else None


class PostgresLabelStore:
    def __init__(self, url: str, *, max_idle: int = 16):
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue(maxsize=max_idle)
        self._group = GroupCommit(self._issue_batch)  # issue(): labels committed together
        try:
            self.migrate()
        except psycopg.Error as error:  # connected, but the role may not create the tables (a grant is missing)
            self.close()
            raise DatabaseMisconfigured(
                f"the label database refuses this service's tables: {error.diag.message_primary or type(error).__name__};"
                " grant the role named in SHIPPING_DATABASE_URL the rights to create them, or create them as their owner",
                reason="DATABASE_SETUP_REFUSED",
            ) from None

    # -- connections ------------------------------------------------------------------------------

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            try:
                conn = psycopg.connect(self.url, connect_timeout=10)
            except (psycopg.OperationalError, psycopg.ProgrammingError) as error:
                # Not chained: libpq's own message may quote the URL, password included.
                raise connection_failure(error, self.url) from None
        broken = False
        try:
            yield conn
        except psycopg.OperationalError as error:
            broken = True
            raise Unavailable("the label database failed; retry shortly", reason="DATABASE_UNAVAILABLE") from error
        finally:
            if broken:
                # The idle connections most likely broke with this one (a restart, a network cut):
                # dropped too, so the calls after an outage connect anew instead of each failing
                # on another dead connection.
                self.close()
            if broken or conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.close()
            else:
                try:
                    self._idle.put_nowait(conn)
                except queue.Full:
                    conn.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # -- schema -----------------------------------------------------------------------------------

    def migrate(self) -> None:
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in enumerate(MIGRATIONS, 1):
                if version not in done:
                    conn.execute(sql.encode())
                    conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, datetime.now(UTC)))

    def sync_ranges(self, ranges: tuple[SerialRange, ...]) -> None:
        with self._conn() as conn, conn.transaction():
            for r in ranges:
                conn.execute(
                    "INSERT INTO s10_ranges (name, product, service_indicator, first_serial, last_serial, next_serial) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (name) DO UPDATE SET last_serial = excluded.last_serial",
                    (r.name, r.product.value, r.service_indicator, r.first_serial, r.last_serial, r.first_serial),
                )

    # -- labels -----------------------------------------------------------------------------------

    def issue(self, request_id: str, product: Product, build: LabelBuilder) -> tuple[Label, bool]:
        """Group commit (labels.store.GroupCommit): the labels queued in this process are issued in
        one transaction, so the range's counter row is locked and committed once per batch, not once
        per label."""
        return self._group.issue(request_id, product, build)

    def _issue_batch(self, batch: list[PendingLabel]) -> None:
        """GroupCommit's commit. Items go in (product, request_id) order, so two batches lock the
        counter rows (and request ids) in one order and never deadlock each other."""
        with self._conn() as conn, conn.transaction():
            for item in sorted(batch, key=lambda i: (i.product.value, i.request_id)):
                try:
                    with conn.transaction():  # a savepoint: a failure undoes this label alone
                        item.result = self._issue_one(conn, item)
                except psycopg.OperationalError:
                    raise  # the connection or the transaction is lost: the whole batch fails
                except pg_errors.UniqueViolation as error:
                    if error.diag.constraint_name != "labels_request_id_key":
                        item.error = error
                        continue
                    # Another process stored this request_id first (and has committed: the insert
                    # waited for it): its label is the answer.
                    stored = _by_request_id(conn, item.request_id)
                    if stored is None:
                        item.error = Unavailable("the label database changed under a retry; retry shortly", reason="DATABASE_CONFLICT")
                    else:
                        item.result = (stored, False)
                except Exception as error:  # noqa: BLE001 - raised again in its caller's thread; the others go on
                    item.error = error

    def _issue_one(self, conn: psycopg.Connection[Any], item: PendingLabel) -> tuple[Label, bool]:
        stored = _by_request_id(conn, item.request_id)
        if stored is not None:
            return stored, False
        number, range_name = self._allocate(conn, item.product)
        label = item.build(number, range_name)
        inserted = conn.execute(
            f"INSERT INTO labels ({LABEL_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq",
            label_row(label, item.request_id, number, range_name, item.product, dates_as_text=False),
        ).fetchone()
        assert inserted is not None
        return replace(label, seq=int(inserted[0])), True

    @staticmethod
    def _allocate(conn: psycopg.Connection[Any], product: Product) -> tuple[str, str]:
        for _ in range(MAX_ALLOCATION_ATTEMPTS):
            row = conn.execute(
                "UPDATE s10_ranges SET next_serial = next_serial + 1"
                " WHERE name = (SELECT name FROM s10_ranges WHERE product = %s AND next_serial <= last_serial ORDER BY name LIMIT 1)"
                " AND next_serial <= last_serial"
                " RETURNING name, service_indicator, next_serial - 1",
                (product.value,),
            ).fetchone()
            if row is None:
                # Either every range is used up, or another transaction took the last number of the
                # range we picked while we waited for its lock: look again.
                left = conn.execute("SELECT 1 FROM s10_ranges WHERE product = %s AND next_serial <= last_serial LIMIT 1", (product.value,)).fetchone()
                if left is not None:
                    continue
                described = [
                    describe_range(n, i, f, la)
                    for n, i, f, la in conn.execute(
                        "SELECT name, service_indicator, first_serial, last_serial FROM s10_ranges WHERE product = %s ORDER BY name", (product.value,)
                    )
                ]
                raise exhausted(product, described)
            name, indicator, serial = row
            number = make(indicator, int(serial))
            if conn.execute("SELECT 1 FROM labels WHERE tracking_number = %s", (number,)).fetchone() is None:
                return number, name
        raise exhausted(product, [f"{MAX_ALLOCATION_ATTEMPTS} numbers in a row were already issued"])

    def get(self, label_id: str) -> Label | None:
        with self._conn() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM labels WHERE id = %s", (label_id,)).fetchone()
            conn.rollback()
        return _label(row) if row else None

    def get_by_request_id(self, request_id: str) -> Label | None:
        with self._conn() as conn:
            stored = _by_request_id(conn, request_id)
            conn.rollback()
        return stored

    def list_labels(self, ship_date: date | None, status: LabelStatus | None, page_size: int, page_token: str, *, tracking_number: str = "") -> Page:
        after = decode_page_token(page_token, ship_date, status, tracking_number)
        sql, args = list_query(_COLUMNS, after, ship_date, status, tracking_number, page_size + 1, placeholder="%s", dates_as_text=False)
        with self._conn() as conn:
            rows = conn.execute(sql.encode(), args).fetchall()
            conn.rollback()
        return page_of(rows, _label, page_size, ship_date, status, tracking_number)

    def void(self, label_id: str, when: datetime) -> Label | None:
        with self._conn() as conn, conn.transaction():
            conn.execute("UPDATE labels SET status = 'voided', voided_at = %s WHERE id = %s AND status = 'active'", (when, label_id))
            row = conn.execute(f"SELECT {_COLUMNS} FROM labels WHERE id = %s", (label_id,)).fetchone()
        return _label(row) if row else None

    def for_manifest(self, ship_date: date) -> list[Label]:
        with self._conn() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM labels WHERE ship_date = %s AND status = 'active' ORDER BY seq", (ship_date,)).fetchall()
            conn.rollback()
        return [_label(r) for r in rows]

    def erase_personal_data(self, created_before: datetime, now: datetime) -> int:
        erased = 0
        for _ in range(100_000):  # bounded: ERASE_BATCH labels per round
            with self._conn() as conn, conn.transaction():
                rows = conn.execute(
                    "SELECT seq, data FROM labels WHERE erased_at IS NULL AND created_at < %s ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED",
                    (created_before, ERASE_BATCH),
                ).fetchall()
                for seq, data in rows:
                    conn.execute("UPDATE labels SET data = %s::jsonb, erased_at = %s WHERE seq = %s", (erase_payload(data), now, seq))
            erased += len(rows)
            if len(rows) < ERASE_BATCH:
                break
        return erased

    def issued_numbers(self) -> list[str]:
        with self._conn() as conn:
            rows = conn.execute("SELECT tracking_number FROM labels ORDER BY seq").fetchall()
            conn.rollback()
        return [r[0] for r in rows]
