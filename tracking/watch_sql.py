"""The SQL both watch stores share (tracking/watch_sqlite.py, tracking/watch_postgres.py hold what
differs): the schema, rows to values, and every statement of the WatchStore interface
(tracking/watch_store.py), written once with `?` placeholders and the dialect's few words.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from tracking.model import Status
from tracking.watch import EventType, NewEvent, WatchedParcel, event_body
from tracking.watch_store import PENDING_STATE, DeadDelivery, Delivery, Endpoint, PollResult, StoredEvent, WatchCounts, WatchStore


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


_PARCEL_COLUMNS = (
    "seq, tracking_number, order_reference, endpoint_id, state, final, event_count, created_at, last_change_at, next_poll_at, last_poll_at, quiet, final_since"
)
_EVENT_COLUMNS = "seq, event_id, type, tracking_number, order_reference, status, created_at, body"


def parcel_from_row(row: Sequence[Any]) -> WatchedParcel:
    return WatchedParcel(
        seq=int(row[0]),
        number=row[1],
        order_reference=row[2],
        endpoint_id=row[3],
        status=None if row[4] == PENDING_STATE else Status(row[4]),
        final=bool(row[5]),
        event_count=int(row[6]),
        created_at=float(row[7]),
        last_change_at=float(row[8]),
        next_poll_at=None if row[9] is None else float(row[9]),
        last_poll_at=None if row[10] is None else float(row[10]),
        quiet=bool(row[11]),
        final_since=None if row[12] is None else float(row[12]),
    )


def event_from_row(row: Sequence[Any]) -> StoredEvent:
    body = row[7] if isinstance(row[7], dict) else json.loads(row[7])
    return StoredEvent(
        seq=int(row[0]),
        event_id=row[1],
        type=EventType(row[2]),
        number=row[3],
        order_reference=row[4],
        status=Status(row[5]) if row[5] else None,
        created_at=float(row[6]),
        body=body,
    )


class SqlWatchStore(WatchStore):
    """The store over a DB-API connection. Subclasses give `_tx()` (a transaction holding the
    write lock where the database needs one), the placeholder style and the claim clause."""

    # PostgreSQL appends FOR UPDATE SKIP LOCKED to the claim queries; SQLite's BEGIN IMMEDIATE
    # already holds the only write lock.
    claim_suffix = ""
    false = "FALSE"
    true = "TRUE"

    @abc.abstractmethod
    def _tx(self) -> AbstractContextManager[Cursor]: ...

    def _sql(self, text: str) -> str:
        return text

    def _q(self, cur: Cursor, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cur.execute(self._sql(sql), tuple(params))
        return cur

    # --- parcels ------------------------------------------------------------------------------

    def watch(self, number: str, order_reference: str, endpoint_id: str, now: float, first_poll_at: float) -> tuple[WatchedParcel, bool]:
        with self._tx() as cur:
            row = self._q(cur, f"SELECT {_PARCEL_COLUMNS} FROM watched_parcels WHERE tracking_number = ?", (number,)).fetchone()
            if row is not None:
                return parcel_from_row(row), False
            self._q(
                cur,
                "INSERT INTO watched_parcels (tracking_number, order_reference, endpoint_id, state, final, event_count, created_at,"
                f" last_change_at, next_poll_at, lease_until, quiet) VALUES (?, ?, ?, ?, {self.false}, 0, ?, ?, ?, 0, {self.false})",
                (number, order_reference, endpoint_id, PENDING_STATE, now, now, first_poll_at),
            )
            row = self._q(cur, f"SELECT {_PARCEL_COLUMNS} FROM watched_parcels WHERE tracking_number = ?", (number,)).fetchone()
            return parcel_from_row(row), True

    def watch_many(self, items: Sequence[tuple[str, str, str, float]], now: float) -> int:
        created = 0
        with self._tx() as cur:
            for number, order_reference, endpoint_id, first_at in items:
                row = self._q(
                    cur,
                    "INSERT INTO watched_parcels (tracking_number, order_reference, endpoint_id, state, final, event_count, created_at,"
                    f" last_change_at, next_poll_at, lease_until, quiet) VALUES (?, ?, ?, ?, {self.false}, 0, ?, ?, ?, 0, {self.false})"
                    " ON CONFLICT (tracking_number) DO NOTHING RETURNING seq",
                    (number, order_reference, endpoint_id, PENDING_STATE, now, now, first_at),
                ).fetchone()
                created += row is not None
        return created

    def unwatch(self, number: str) -> bool:
        with self._tx() as cur:
            row = self._q(cur, "DELETE FROM watched_parcels WHERE tracking_number = ? RETURNING seq", (number,)).fetchone()
            return row is not None

    def get(self, number: str) -> WatchedParcel | None:
        with self._tx() as cur:
            row = self._q(cur, f"SELECT {_PARCEL_COLUMNS} FROM watched_parcels WHERE tracking_number = ?", (number,)).fetchone()
        return parcel_from_row(row) if row else None

    def list_parcels(
        self, *, status: str | None, changed_before: float | None, order_reference: str, quiet_only: bool, after_seq: int, limit: int, tracking_number: str = ""
    ) -> list[WatchedParcel]:
        where: list[str] = ["seq > ?"]
        params: list[Any] = [after_seq]
        if status:
            where.append("state = ?")
            params.append(status)
        if changed_before is not None:  # quiet for so long: delivered or returned parcels are not quiet
            where.append(f"final = {self.false} AND last_change_at <= ?")
            params.append(changed_before)
        if order_reference:
            where.append("order_reference = ?")
            params.append(order_reference)
        if quiet_only:
            where.append(f"quiet = {self.true}")
        if tracking_number:
            where.append("tracking_number = ?")
            params.append(tracking_number)
        params.append(limit)
        with self._tx() as cur:
            rows = self._q(cur, f"SELECT {_PARCEL_COLUMNS} FROM watched_parcels WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?", params).fetchall()
        return [parcel_from_row(r) for r in rows]

    def claim_due(self, now: float, limit: int, lease_seconds: float) -> list[WatchedParcel]:
        with self._tx() as cur:
            rows = self._q(
                cur,
                f"SELECT {_PARCEL_COLUMNS} FROM watched_parcels WHERE next_poll_at <= ? AND lease_until <= ? ORDER BY next_poll_at LIMIT ?{self.claim_suffix}",
                (now, now, limit),
            ).fetchall()
            for r in rows:
                self._q(cur, "UPDATE watched_parcels SET lease_until = ? WHERE seq = ?", (now + lease_seconds, r[0]))
        return [parcel_from_row(r) for r in rows]

    def record_poll(self, parcel: WatchedParcel, result: PollResult, now: float) -> list[StoredEvent]:
        with self._tx() as cur:
            row = self._q(cur, "SELECT seq FROM watched_parcels WHERE tracking_number = ?", (parcel.number,)).fetchone()
            if row is None:  # unwatched meanwhile
                return []
            changed = bool(result.events)
            self._q(
                cur,
                "UPDATE watched_parcels SET state = ?, final = ?, event_count = ?, last_change_at = ?, final_since = ?, next_poll_at = ?,"
                f" last_poll_at = ?, lease_until = 0, quiet = CASE WHEN ? THEN {self.false} ELSE quiet END WHERE tracking_number = ?",
                (
                    result.status.value,
                    result.final,
                    result.event_count,
                    result.last_change_at,
                    result.final_since,
                    result.next_poll_at,
                    now,
                    changed,
                    parcel.number,
                ),
            )
            return self._insert_events(cur, parcel, result.events, now)

    def _insert_events(self, cur: Cursor, parcel: WatchedParcel, events: Sequence[NewEvent], now: float) -> list[StoredEvent]:
        stored: list[StoredEvent] = []
        if parcel.endpoint_id:
            endpoint_rows = self._q(cur, "SELECT id FROM webhook_endpoints WHERE id = ?", (parcel.endpoint_id,)).fetchall()
        else:
            endpoint_rows = self._q(cur, "SELECT id FROM webhook_endpoints ORDER BY created_at").fetchall()
        for event in events:
            body = event_body(event, sequence=0, order_reference=parcel.order_reference, created_at=now)
            del body["sequence"]  # known once inserted; added when sent
            row = self._q(
                cur,
                "INSERT INTO tracking_events (event_id, type, tracking_number, order_reference, status, created_at, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING seq",
                (event.event_id, event.type.value, event.number, parcel.order_reference, event.status.value if event.status else "", now, json.dumps(body)),
            ).fetchone()
            if row is None:  # recorded already: one change, one event
                continue
            seq = int(row[0])
            for (endpoint_id,) in endpoint_rows:
                self._q(
                    cur,
                    "INSERT INTO webhook_deliveries (event_seq, endpoint_id, tracking_number, state, attempts,"
                    " next_attempt_at, lease_until, first_at, updated_at)"
                    " VALUES (?, ?, ?, 'pending', 0, ?, 0, ?, ?)",
                    (seq, endpoint_id, event.number, now, now, now),
                )
            stored.append(StoredEvent(seq, event.event_id, event.type, event.number, parcel.order_reference, event.status, now, body))
        return stored

    def poll_failed(self, number: str, next_poll_at: float, now: float) -> None:
        with self._tx() as cur:
            self._q(cur, "UPDATE watched_parcels SET next_poll_at = ?, lease_until = 0 WHERE tracking_number = ?", (next_poll_at, number))

    def quiet_candidates(self, changed_before: float, limit: int) -> list[WatchedParcel]:
        with self._tx() as cur:
            rows = self._q(
                cur,
                f"SELECT {_PARCEL_COLUMNS} FROM watched_parcels WHERE quiet = {self.false} AND final = {self.false} AND state <> ?"
                " AND last_change_at <= ? ORDER BY last_change_at LIMIT ?",
                (PENDING_STATE, changed_before, limit),
            ).fetchall()
        return [parcel_from_row(r) for r in rows]

    def record_quiet(self, parcel: WatchedParcel, event: NewEvent, now: float) -> bool:
        with self._tx() as cur:
            row = self._q(
                cur,
                f"UPDATE watched_parcels SET quiet = {self.true} WHERE tracking_number = ? AND quiet = {self.false} AND last_change_at = ? RETURNING seq",
                (parcel.number, parcel.last_change_at),
            ).fetchone()
            if row is None:  # changed, or marked by another process meanwhile
                return False
            self._insert_events(cur, parcel, [event], now)
            return True

    def events_after(self, after_seq: int, number: str, limit: int) -> list[StoredEvent]:
        where = "seq > ?"
        params: list[Any] = [after_seq]
        if number:
            where += " AND tracking_number = ?"
            params.append(number)
        with self._tx() as cur:
            rows = self._q(cur, f"SELECT {_EVENT_COLUMNS} FROM tracking_events WHERE {where} ORDER BY seq LIMIT ?", [*params, limit]).fetchall()
        return [event_from_row(r) for r in rows]

    # --- endpoints ----------------------------------------------------------------------------

    def add_endpoint(self, endpoint: Endpoint) -> None:
        with self._tx() as cur:
            self._insert_endpoint(cur, endpoint)

    def _insert_endpoint(self, cur: Cursor, e: Endpoint) -> None:
        self._q(
            cur,
            "INSERT INTO webhook_endpoints (id, url, secret, created_at, from_file) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret = excluded.secret, from_file = excluded.from_file",
            (e.endpoint_id, e.url, e.secret, e.created_at, e.from_file),
        )

    def sync_file_endpoints(self, endpoints: Sequence[Endpoint]) -> None:
        with self._tx() as cur:
            ids = {e.endpoint_id for e in endpoints}
            for (endpoint_id,) in self._q(cur, f"SELECT id FROM webhook_endpoints WHERE from_file = {self.true}").fetchall():
                if endpoint_id not in ids:
                    self._delete_endpoint(cur, endpoint_id)
            for e in endpoints:
                self._insert_endpoint(cur, e)

    def endpoints(self) -> list[Endpoint]:
        with self._tx() as cur:
            rows = self._q(cur, "SELECT id, url, secret, created_at, from_file FROM webhook_endpoints ORDER BY created_at, id").fetchall()
        return [Endpoint(r[0], r[1], r[2], float(r[3]), bool(r[4])) for r in rows]

    def delete_endpoint(self, endpoint_id: str) -> bool:
        with self._tx() as cur:
            return self._delete_endpoint(cur, endpoint_id)

    def _delete_endpoint(self, cur: Cursor, endpoint_id: str) -> bool:
        self._q(cur, "DELETE FROM webhook_deliveries WHERE endpoint_id = ? AND state = 'pending'", (endpoint_id,))
        return self._q(cur, "DELETE FROM webhook_endpoints WHERE id = ? RETURNING id", (endpoint_id,)).fetchone() is not None

    # --- deliveries ---------------------------------------------------------------------------

    def claim_deliveries(self, now: float, limit: int, lease_seconds: float) -> list[Delivery]:
        with self._tx() as cur:
            rows = self._q(
                cur,
                "SELECT d.seq, d.attempts, d.event_seq, d.endpoint_id FROM webhook_deliveries d"
                " WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.lease_until <= ?"
                " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id"
                " AND e.tracking_number = d.tracking_number AND e.state = 'pending' AND e.seq < d.seq)"
                f" ORDER BY d.seq LIMIT ?{self.claim_suffix}",
                (now, now, limit),
            ).fetchall()
            out: list[Delivery] = []
            for seq, attempts, event_seq, endpoint_id in rows:
                self._q(cur, "UPDATE webhook_deliveries SET lease_until = ? WHERE seq = ?", (now + lease_seconds, seq))
                event = event_from_row(self._q(cur, f"SELECT {_EVENT_COLUMNS} FROM tracking_events WHERE seq = ?", (event_seq,)).fetchone())
                e = self._q(cur, "SELECT id, url, secret, created_at, from_file FROM webhook_endpoints WHERE id = ?", (endpoint_id,)).fetchone()
                out.append(Delivery(int(seq), event, Endpoint(e[0], e[1], e[2], float(e[3]), bool(e[4])), int(attempts)))
        return out

    def delivered(self, delivery_seq: int, now: float) -> None:
        with self._tx() as cur:
            self._q(
                cur,
                "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, lease_until = 0, updated_at = ?, last_error = '' WHERE seq = ?",
                (now, delivery_seq),
            )

    def delivery_failed(self, delivery_seq: int, now: float, error: str, retry_at: float | None) -> None:
        with self._tx() as cur:
            if retry_at is None:
                self._q(
                    cur,
                    "UPDATE webhook_deliveries SET state = 'dead', attempts = attempts + 1, lease_until = 0, updated_at = ?, last_error = ? WHERE seq = ?",
                    (now, error[:500], delivery_seq),
                )
            else:
                self._q(
                    cur,
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, lease_until = 0, updated_at = ?, last_error = ? WHERE seq = ?",
                    (retry_at, now, error[:500], delivery_seq),
                )

    def dead_deliveries(self, limit: int) -> list[DeadDelivery]:
        with self._tx() as cur:
            rows = self._q(
                cur,
                "SELECT e.event_id, d.endpoint_id, d.tracking_number, d.attempts, d.last_error, d.updated_at FROM webhook_deliveries d"
                " JOIN tracking_events e ON e.seq = d.event_seq WHERE d.state = 'dead' ORDER BY d.updated_at DESC, d.seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [DeadDelivery(r[0], r[1], r[2], int(r[3]), r[4] or "", float(r[5])) for r in rows]

    def counts(self, quiet_now: float | None = None) -> WatchCounts:
        with self._tx() as cur:
            by_state = {r[0]: int(r[1]) for r in self._q(cur, "SELECT state, COUNT(*) FROM watched_parcels GROUP BY state").fetchall()}
            quiet = int(self._q(cur, f"SELECT COUNT(*) FROM watched_parcels WHERE quiet = {self.true}").fetchone()[0])
            deliveries = {r[0]: int(r[1]) for r in self._q(cur, "SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state").fetchall()}
        return WatchCounts(by_state, quiet, deliveries)

    def purge(self, before: float) -> int:
        with self._tx() as cur:
            rows = self._q(
                cur,
                "DELETE FROM tracking_events WHERE created_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = tracking_events.seq AND d.state = 'pending') RETURNING seq",
                (before,),
            ).fetchall()
            self._q(
                cur,
                "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND first_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM tracking_events e WHERE e.seq = webhook_deliveries.event_seq)",
                (before,),
            )
            return len(rows)

    def try_lead(self, name: str, owner: str, now: float, seconds: float) -> bool:
        with self._tx() as cur:
            self._q(cur, "INSERT INTO watch_leases (name, owner, until) VALUES (?, '', 0) ON CONFLICT (name) DO NOTHING", (name,))
            row = self._q(
                cur,
                "UPDATE watch_leases SET owner = ?, until = ? WHERE name = ? AND (owner = ? OR until <= ?) RETURNING owner",
                (owner, now + seconds, name, owner, now),
            ).fetchone()
            return row is not None


SCHEMA_TABLES = """
CREATE TABLE IF NOT EXISTS watched_parcels (
    seq {serial} PRIMARY KEY,
    tracking_number TEXT NOT NULL UNIQUE,
    order_reference TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    state TEXT NOT NULL,
    final {bool} NOT NULL,
    event_count INTEGER NOT NULL,
    created_at {real} NOT NULL,
    last_change_at {real} NOT NULL,
    next_poll_at {real},
    last_poll_at {real},
    lease_until {real} NOT NULL,
    quiet {bool} NOT NULL,
    final_since {real}
);
CREATE INDEX IF NOT EXISTS watched_parcels_due ON watched_parcels (next_poll_at);
CREATE INDEX IF NOT EXISTS watched_parcels_by_order ON watched_parcels (order_reference, seq);
CREATE INDEX IF NOT EXISTS watched_parcels_quiet ON watched_parcels (quiet, final, last_change_at);
CREATE TABLE IF NOT EXISTS tracking_events (
    seq {serial} PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    order_reference TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at {real} NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tracking_events_by_number ON tracking_events (tracking_number, seq);
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at {real} NOT NULL,
    from_file {bool} NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq {serial} PRIMARY KEY,
    event_seq BIGINT NOT NULL,
    endpoint_id TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at {real} NOT NULL,
    lease_until {real} NOT NULL,
    first_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    UNIQUE (event_seq, endpoint_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_order ON webhook_deliveries (endpoint_id, tracking_number, state, seq);
CREATE TABLE IF NOT EXISTS watch_leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until {real} NOT NULL
);
"""
