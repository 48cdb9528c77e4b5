"""Opens the configured label store: PostgreSQL when a URL is given, else the SQLite file.

`DeferredLabelStore` lets the service start without its database: quotes and tracking need none,
so a database that cannot be reached at start-up takes labels down, not the whole server. It keeps
trying in the background and serves labels from the moment the database answers.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from domain.errors import Unavailable
from domain.opening import OpenWhenReachable
from labels.model import Label, LabelStatus
from labels.ranges import SerialRange
from labels.store import DatabaseMisconfigured, LabelBuilder, LabelStore, Page
from rates.model import Product

log = logging.getLogger("kokokara.shipping.labels")


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
        self._opening = OpenWhenReachable(
            opener,
            name="label database",
            meanwhile="serving quotes and tracking, labels once it answers",
            once_open="serving labels",
            retry_max_seconds=retry_max_seconds,
            on_ready=on_ready,
            raise_at_start=(DatabaseMisconfigured,),
        )

    @property
    def on_ready(self) -> Callable[[], None]:
        return self._opening.on_ready

    @on_ready.setter
    def on_ready(self, call: Callable[[], None]) -> None:
        self._opening.on_ready = call

    @property
    def ready(self) -> bool:
        return self._opening.value is not None

    def open(self) -> DeferredLabelStore:
        self._opening.open()
        return self

    def _current(self) -> LabelStore:
        store = self._opening.value
        if store is not None:
            return store
        problem = self._opening.problem
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

    def list_labels(self, ship_date: date | None, status: LabelStatus | None, page_size: int, page_token: str, *, tracking_number: str = "") -> Page:
        return self._current().list_labels(ship_date, status, page_size, page_token, tracking_number=tracking_number)

    def void(self, label_id: str, when: datetime) -> Label | None:
        return self._current().void(label_id, when)

    def for_manifest(self, ship_date: date) -> list[Label]:
        return self._current().for_manifest(ship_date)

    def erase_personal_data(self, created_before: datetime, now: datetime) -> int:
        return self._current().erase_personal_data(created_before, now)

    def close(self) -> None:
        self._opening.close()
