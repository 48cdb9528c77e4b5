"""Retention of labels' personal data: names, addresses, phone numbers and e-mails are
erased N days after a label was created; its number, product, dates, weights, prices and customs
lines stay, so manifests and their totals are unchanged.

`RetentionPurge` runs the purge once when started (the service's start-up) and then every
`interval_seconds` in a daemon thread until closed. A failing purge is logged and retried at the
next interval; it never stops the service.
"""

from __future__ import annotations

import logging
import threading

from domain.errors import Unavailable
from labels.service import LabelService

log = logging.getLogger("kokokara.shipping.labels.retention")


class RetentionPurge:
    def __init__(self, service: LabelService, retention_days: int, interval_seconds: float):
        self._service = service
        self._days = retention_days
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        try:
            erased = self._service.erase_personal_data(self._days)
        except Unavailable as problem:  # the database is down or not yet reachable: an outage, not a bug
            log.warning("label retention purge skipped; retrying at the next interval", extra={"reason": problem.reason, "problem": problem.message})
            return 0
        except Exception:
            log.exception("label retention purge failed; retrying at the next interval")
            return 0
        if erased:
            log.info("erased personal data of old labels", extra={"labels": erased, "retention_days": self._days})
        return erased

    def start(self) -> RetentionPurge:
        self.run_once()
        self._thread = threading.Thread(target=self._loop, name="label-retention", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.run_once()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
