"""Opens the configured label store: PostgreSQL when a URL is given, else the SQLite file.

`DeferredLabelStore` lets the service start without its database: quotes and tracking need none,
so a database that cannot be reached at start-up takes labels down, not the whole server. It keeps
trying in the background and serves labels from the moment the database answers.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from domain.errors import Unavailable
from labels.model import Label, LabelStatus
from labels.ranges import SerialRange
from labels.store import DatabaseMisconfigured, LabelBuilder, LabelStore, Page
from rates.model import Product

log = logging.getLogger("kokokara.shipping.labels")

FIRST_RETRY_SECONDS = 0.5
RETRY_JITTER = 0.2  # each wait is +-20%, so replicas that lost the database together do not retry in step


def open_store(database_url: str, database_path: Path, ranges: tuple[SerialRange, ...] = ()) -> LabelStore:
    """Connects, runs the schema migrations, synchronises the S10 ranges and returns the store.
    Raises Unavailable when the database cannot be reached, DatabaseMisconfigured when it refuses
    this configuration."""
    store: LabelStore
    if database_url:
        from labels.postgres_store import PostgresLabelStore

        store = PostgresLabelStore(database_url)
    else:
        from labels.sqlite_store import SqliteLabelStore

        try:
            store = SqliteLabelStore(database_path)
        except (OSError, sqlite3.Error) as error:  # a directory it may not create, a file that is no database
            raise DatabaseMisconfigured(f"the SQLite label file (SHIPPING_DATABASE_PATH) cannot be used: {error}", reason="DATABASE_FILE_UNUSABLE") from error
    try:
        store.sync_ranges(ranges)
    except BaseException:
        store.close()
        raise
    return store


class DeferredLabelStore:
    """A LabelStore whose database may answer only later.

    `open()` opens the store at once when it can. When the database cannot be reached (Unavailable),
    it returns anyway and a daemon thread tries again after 0.5 s, 1 s, 2 s, ... up to
    `retry_max_seconds`; meanwhile every label call is UNAVAILABLE saying why, and `on_ready` is
    called once the store is open. A database that refuses the configuration at the first try
    (DatabaseMisconfigured: a missing role or database, a refused login) is raised: waiting would not
    help, and a start that fails says so at once."""

    def __init__(self, opener: Callable[[], LabelStore], *, retry_max_seconds: float = 15.0, on_ready: Callable[[], None] | None = None):
        self._opener = opener
        self._retry_max = retry_max_seconds
        self.on_ready = on_ready or (lambda: None)
        self._store: LabelStore | None = None
        self._problem: Unavailable | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()

    @property
    def ready(self) -> bool:
        return self._store is not None

    def open(self) -> DeferredLabelStore:
        try:
            store = self._opener()
        except DatabaseMisconfigured:
            raise
        except Unavailable as problem:
            self._problem = problem
            log.warning(
                "label database unavailable at start-up; serving quotes and tracking, labels once it answers",
                extra={"reason": problem.reason, "problem": problem.message, "next_try_seconds": FIRST_RETRY_SECONDS},
            )
            threading.Thread(target=self._keep_trying, name="label-store-open", daemon=True).start()
            return self
        self._store = store
        return self

    def _keep_trying(self) -> None:
        delay, attempt = FIRST_RETRY_SECONDS, 1
        while not self._closed.wait(delay * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)):
            attempt += 1
            try:
                store = self._opener()
            except Unavailable as problem:  # unreachable still, or now misconfigured (both may be fixed while we serve)
                self._problem = problem
                delay = min(delay * 2, self._retry_max)
                log.warning(
                    "label database still unavailable",
                    extra={"reason": problem.reason, "problem": problem.message, "attempt": attempt, "next_try_seconds": round(delay, 3)},
                )
                continue
            except Exception:  # a bug: logged with its traceback, and tried again
                delay = min(delay * 2, self._retry_max)
                log.exception("opening the label database failed unexpectedly", extra={"attempt": attempt})
                continue
            with self._lock:
                if self._closed.is_set():
                    store.close()
                    return
                self._store = store
            log.info("label database available; serving labels", extra={"attempt": attempt})
            self.on_ready()
            return

    def _current(self) -> LabelStore:
        store = self._store
        if store is not None:
            return store
        problem = self._problem
        detail = problem.message if problem is not None else "the label database cannot be reached"
        raise Unavailable(
            f"labels are unavailable until the label database can be used (this server keeps trying; quotes and tracking are unaffected): {detail}",
            reason=problem.reason if problem is not None else "DATABASE_UNAVAILABLE",
        )

    # -- LabelStore -------------------------------------------------------------------------------

    def sync_ranges(self, ranges: tuple[SerialRange, ...]) -> None:
        self._current().sync_ranges(ranges)

    def issue(self, request_id: str, product: Product, build: LabelBuilder) -> tuple[Label, bool]:
        return self._current().issue(request_id, product, build)

    def get(self, label_id: str) -> Label | None:
        return self._current().get(label_id)

    def get_by_request_id(self, request_id: str) -> Label | None:
        return self._current().get_by_request_id(request_id)

    def list_labels(self, ship_date: date | None, status: LabelStatus | None, page_size: int, page_token: str) -> Page:
        return self._current().list_labels(ship_date, status, page_size, page_token)

    def void(self, label_id: str, when: datetime) -> Label | None:
        return self._current().void(label_id, when)

    def for_manifest(self, ship_date: date) -> list[Label]:
        return self._current().for_manifest(ship_date)

    def erase_personal_data(self, created_before: datetime, now: datetime) -> int:
        return self._current().erase_personal_data(created_before, now)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
