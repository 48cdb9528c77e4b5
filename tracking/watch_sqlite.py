"""Watched parcels in an SQLite file (the embedded default, beside the label database).

Several processes on one machine may share the file: every transaction is BEGIN IMMEDIATE, which
takes the database's write lock before reading, so two processes never claim the same parcel or
delivery. WAL with synchronous=FULL: a committed poll or event survives a crash of the process or
the machine.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tracking.watch_sql import SCHEMA_TABLES, Cursor, SqlWatchStore

BUSY_TIMEOUT_MS = 60_000


class SqliteWatchStore(SqlWatchStore):
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        self._lock = threading.Lock()
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Switching a new file to WAL takes an exclusive lock, and SQLite says "database is locked"
        # at once, without its busy handler, while another process opens the same new file (the
        # workers of `server.py --workers 2` starting together did). The processes opening the file
        # take turns on an flock beside it until it is set up.
        with open(f"{path}.setup-lock", "a") as setup:
            fcntl.flock(setup, fcntl.LOCK_EX)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            with self._tx() as cur:
                for statement in SCHEMA_TABLES.format(serial="INTEGER", bool="BOOLEAN", real="REAL").split(";"):
                    if statement.strip():
                        cur.execute(statement)

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                raise
            else:
                self._conn.commit()
            finally:
                cur.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
