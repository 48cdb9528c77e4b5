"""Watched parcels in PostgreSQL (SHIPPING_DATABASE_URL), beside the labels.

Claims take `FOR UPDATE SKIP LOCKED`: replicas claiming at the same moment get different parcels
and deliveries, none waits on another's rows. The tables are created at start-up under an advisory
lock, so replicas starting together do not race on them.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from domain.errors import Unavailable
from tracking.watch_sql import SCHEMA_TABLES, Cursor, SqlWatchStore

SCHEMA_LOCK_KEY = 4_104_2027
POOL_SIZE = 4


class PostgresWatchStore(SqlWatchStore):
    claim_suffix = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, pool_size: int = POOL_SIZE):
        self._url = url
        self._pool: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._size = pool_size
        for _ in range(pool_size):
            self._pool.put(self._connect())
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            cur.execute(SCHEMA_TABLES.format(serial="BIGSERIAL", bool="BOOLEAN", real="DOUBLE PRECISION"))

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self._url, connect_timeout=5)
        except psycopg.OperationalError as error:
            raise Unavailable("the watch database cannot be reached; the server keeps trying", reason="DATABASE_UNAVAILABLE") from error

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        conn = self._pool.get()
        try:
            if conn.closed or conn.broken:
                conn = self._connect()
            with conn.transaction(), conn.cursor() as cur:
                yield cur  # type: ignore[misc]
        except psycopg.OperationalError as error:
            conn.close()
            raise Unavailable("the watch database cannot be reached; retry", reason="DATABASE_UNAVAILABLE") from error
        finally:
            self._pool.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return
