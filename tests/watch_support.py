"""Helpers for the watched-parcel tests: trackings as values, stores on SQLite and PostgreSQL, and a
real HTTP webhook receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tracking.model import Event, Product, Source, Status, Tracking
from tracking.watch_store import WatchStore


def event(status: Status, text: str = "line") -> Event:
    return Event(time_text="03/01/2026 10:15", time=None, carrier_text=text, status=status)


def tracking(number: str, statuses: list[Status], final: bool = False) -> Tracking:
    now = datetime.now(UTC)
    return Tracking(
        number=number,
        product=Product.EMS,
        status=statuses[-1] if statuses else Status.NOT_FOUND,
        final=final,
        events=tuple(event(s, f"line {i}") for i, s in enumerate(statuses)),
        carrier_product_text="EMS",
        fetched_at=now,
        source=Source.CARRIER,
        next_refresh_at=now,
    )


@contextmanager
def open_watch_store(kind: str, tmp_path: Path, database_url: str | None) -> Iterator[WatchStore]:
    if kind == "sqlite":
        from tracking.watch_sqlite import SqliteWatchStore

        store: WatchStore = SqliteWatchStore(tmp_path / "watch.sqlite3")
        try:
            yield store
        finally:
            store.close()
        return
    from tests.labels_support import fresh_database
    from tracking.watch_postgres import PostgresWatchStore

    assert database_url is not None
    with fresh_database(database_url) as url:
        store = PostgresWatchStore(url)
        try:
            yield store
        finally:
            store.close()


class Receiver:
    """A webhook receiver: records every POST (headers and body); answers `status` (settable)."""

    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.delay_seconds = delay_seconds  # held this long before answering: deliveries stay in flight
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = outer.status
                    outer.arrived.notify_all()
                if outer.delay_seconds:
                    time.sleep(outer.delay_seconds)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(b) for _, b in self.requests]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 60.0) -> bool:
        """Waits until `predicate(bodies received so far)` holds."""
        with self.lock:
            return self.arrived.wait_for(lambda: predicate([json.loads(b) for _, b in self.requests]), timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
