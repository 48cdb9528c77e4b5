"""Safe rate-table updates: reload on SIGHUP or when the files change.

A reload reads and validates the WHOLE new set (load_rate_book, then a QuoteEngine over it) before
anything changes, then swaps the engine in with one assignment (EngineHolder.set), so every call
sees either the old set or the new one. On any error the old set keeps serving; the error is logged
and counted (shipping_rate_tables_reload_failures_total, shipping_rate_tables_last_reload_ok 0).

The watcher thread looks at the files' sizes and modification times every `poll_seconds` and
reloads once they changed and then stayed the same for one more look (so a file still being
copied is not read half-written). `request()` (SIGHUP) asks for a reload at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rates.book import RateBook
from rates.quote import QuoteEngine
from rates.tables import ISO_REGIONS, load_rate_book

log = logging.getLogger("kokokara.shipping.tables")

Snapshot = tuple[tuple[str, int, int], ...]


def _files(tables_dir: Path, consolidation_file: Path) -> list[Path]:
    files = sorted(p for p in Path(tables_dir).rglob("*") if p.is_file())
    return [*files, Path(consolidation_file)]


def snapshot(tables_dir: Path, consolidation_file: Path) -> Snapshot:
    """Path, size and modification time of every table file (missing files included as -1)."""
    out = []
    for path in _files(tables_dir, consolidation_file):
        try:
            st = path.stat()
            out.append((str(path), st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(path), -1, -1))
    return tuple(out)


def content_version(tables_dir: Path, consolidation_file: Path) -> str:
    """A short hash of the tables' content: the same files give the same version everywhere."""
    digest = hashlib.sha256()
    base = Path(tables_dir)
    for path in _files(tables_dir, consolidation_file):
        name = str(path.relative_to(base)) if path.is_relative_to(base) else path.name
        digest.update(name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()[:12]


class TableReloader:
    """Reloads `service`'s tables (a bootstrap.RunningService) on request or change."""

    def __init__(self, service: Any, *, poll_seconds: float, on_loaded: Callable[[RateBook, str], None] | None = None):
        self._service = service
        self._poll = poll_seconds
        self._on_loaded = on_loaded
        self._lock = threading.Lock()
        self._requested = threading.Event()
        self._stop = threading.Event()
        settings = service.settings
        self._tables_dir, self._consolidation = settings.tables_dir, settings.consolidation_file
        self._seen = snapshot(self._tables_dir, self._consolidation)
        self.version = content_version(self._tables_dir, self._consolidation)
        self._thread: threading.Thread | None = None

    def reload(self, why: str) -> bool:
        """Loads and validates the full set, then swaps it in; False (old set kept) on any error."""
        metrics = self._service.metrics
        with self._lock:
            seen = snapshot(self._tables_dir, self._consolidation)
            started = time.perf_counter()
            try:
                version = content_version(self._tables_dir, self._consolidation)
                book = load_rate_book(self._tables_dir, self._consolidation)
                engine = QuoteEngine(book, handling_days=self._service.settings.handling_days)
            except Exception as error:  # noqa: BLE001 - any failure keeps the old tables
                self._seen = seen  # not retried until the files change again
                log.error(
                    "rate table reload failed; the previous tables keep serving",
                    extra={"trigger": why, "problem": str(error)[:2000], "error": type(error).__name__, "serving_version": self.version},
                )
                if metrics is not None:
                    metrics.tables_reload_failures.inc()
                    metrics.tables_last_reload_ok.set(0)
                return False
            # Metrics first: whoever sees the new prices also sees the reload counted.
            if metrics is not None:
                metrics.tables_reloads.inc()
                metrics.tables_last_reload_ok.set(1)
                metrics.tables_in_use(version, book.data_as_of, time.time())
            self._service.engines.set(engine, ISO_REGIONS)
            self._service.book = book
            self._seen, previous, self.version = seen, self.version, version
        log.info(
            "rate tables reloaded",
            extra={"trigger": why, "version": version, "previous_version": previous, "seconds": round(time.perf_counter() - started, 3)},
        )
        return True

    def request(self) -> None:
        """Asks the watcher thread for a reload now (safe from a signal handler)."""
        self._requested.set()

    def start(self) -> TableReloader:
        self._thread = threading.Thread(target=self._loop, name="table-reloader", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        previous = self._seen
        while not self._stop.is_set():
            asked = self._requested.wait(self._poll if self._poll > 0 else None)
            if self._stop.is_set():
                return
            if asked:
                self._requested.clear()
                self.reload("SIGHUP")
                previous = self._seen
                continue
            now = snapshot(self._tables_dir, self._consolidation)
            if now != self._seen and now == previous:
                self.reload("files changed")
            previous = now

    def close(self) -> None:
        self._stop.set()
        self._requested.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
