"""Opening what lives on a database that may answer only later (the label store, the watched-parcel
store): open at once when it can; otherwise serve without it while a daemon thread tries again after
0.5 s, 1 s, 2 s, ... at most `retry_max_seconds` apart, each wait +-20% so replicas that lost the
database together do not retry in step.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from domain.errors import Unavailable

log = logging.getLogger("kokokara.shipping")

FIRST_RETRY_SECONDS = 0.5
RETRY_JITTER = 0.2


class Closable(Protocol):
    def close(self) -> None: ...


T = TypeVar("T", bound=Closable)


class OpenWhenReachable(Generic[T]):
    """`value` is what `opener` opened, or None while it cannot (`problem` says why). Unavailable
    means try again later; any other error at the first try is raised, since waiting would not help
    (a later try that fails so is logged and tried again: it may be fixed while the server runs).
    `on_ready` is called once, when a later try opens it."""

    def __init__(
        self,
        opener: Callable[[], T],
        *,
        name: str,
        meanwhile: str,
        once_open: str,
        retry_max_seconds: float,
        on_ready: Callable[[], None] | None = None,
        raise_at_start: tuple[type[Unavailable], ...] = (),
    ):
        """`meanwhile` and `once_open` finish the log lines of the first failed try and of the opening
        ("serving quotes and tracking, labels once it answers", "serving labels"). `raise_at_start`:
        kinds of Unavailable raised at the first try all the same (a database that refuses the
        configuration: a start that fails should say so at once)."""
        self._opener = opener
        self._raise_at_start = raise_at_start
        self._name = name
        self._meanwhile = meanwhile
        self._once_open = once_open
        self._retry_max = retry_max_seconds
        self.on_ready = on_ready or (lambda: None)
        self.value: T | None = None
        self.problem: Unavailable | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def open(self) -> OpenWhenReachable[T]:
        try:
            self.value = self._opener()
        except Unavailable as problem:
            if isinstance(problem, self._raise_at_start):
                raise
            self.problem = problem
            log.warning(
                f"{self._name} unavailable at start-up; {self._meanwhile}",
                extra={"reason": problem.reason, "problem": problem.message, "next_try_seconds": FIRST_RETRY_SECONDS},
            )
            threading.Thread(target=self._keep_trying, name=f"{self._name.replace(' ', '-')}-open", daemon=True).start()
        return self

    def _keep_trying(self) -> None:
        delay, attempt = FIRST_RETRY_SECONDS, 1
        while not self._closed.wait(delay * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)):
            attempt += 1
            try:
                value = self._opener()
            except Unavailable as problem:  # unreachable still, or now refusing (both may be fixed while we serve)
                self.problem = problem
                delay = min(delay * 2, self._retry_max)
                log.warning(
                    f"{self._name} still unavailable",
                    extra={"reason": problem.reason, "problem": problem.message, "attempt": attempt, "next_try_seconds": round(delay, 3)},
                )
                continue
            except Exception:  # a bug: logged with its traceback, and tried again
                delay = min(delay * 2, self._retry_max)
                log.exception(f"opening the {self._name} failed unexpectedly", extra={"attempt": attempt})
                continue
            with self._lock:
                if self._closed.is_set():
                    value.close()
                    return
                self.value = value
            log.info(f"{self._name} available; {self._once_open}", extra={"attempt": attempt})
            self.on_ready()
            return

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            value, self.value = self.value, None
        if value is not None:
            value.close()
