"""A small bounded pool of daemon threads for Japan Post lookups.

Lookups run here, never on a gRPC thread: a slow or hostile Japan Post then holds at most `workers`
threads of this pool, whatever the callers do, and nothing of labels' or quotes'. At most `queue`
lookups wait for a thread; past that `submit` raises PoolFull at once, so the caller can answer
from a stale copy (or say the carrier is busy) instead of queueing without end. A lookup still
waiting when its callers have all left is cancelled (`Future.cancel()`) and never runs.

The threads are daemon threads: concurrent.futures.ThreadPoolExecutor joins its threads when the
interpreter exits, so one thread stuck on a socket would hold the process after SIGTERM.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class PoolFull(Exception):
    """Every thread is busy and the queue is full."""


class DaemonPool:
    def __init__(self, workers: int, queue: int, name: str = "carrier"):
        if workers < 1 or queue < 0:
            raise ValueError("workers must be at least 1 and queue at least 0")
        self._limit = queue
        self._waiting: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], contextvars.Context]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        self._idle = workers
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._ready:
            if self._closed:
                raise PoolFull("the pool is closed")
            # Cancelled lookups hold no place in the queue.
            if any(item[0].cancelled() for item in self._waiting):
                self._waiting = deque(item for item in self._waiting if not item[0].cancelled())
            if len(self._waiting) >= self._idle + self._limit:
                raise PoolFull(f"{len(self._threads) - self._idle} lookups running and {len(self._waiting)} waiting")
            # The lookup runs in the caller's context (context variables: a trace's current span),
            # as if the caller ran it itself.
            self._waiting.append((future, fn, args, contextvars.copy_context()))
            self._ready.notify()
        return future

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                future, fn, args, context = self._waiting.popleft()
                self._idle -= 1
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        result = context.run(fn, *args)
                    except BaseException as error:  # noqa: BLE001 - handed to whoever waits
                        future.set_exception(error)
                    else:
                        future.set_result(result)
            finally:
                with self._ready:
                    self._idle += 1

    def close(self) -> None:
        """Cancels what waits; running calls go on (their threads are daemons)."""
        with self._ready:
            self._closed = True
            waiting, self._waiting = self._waiting, deque()
            self._ready.notify_all()
        for future, *_ in waiting:
            future.cancel()
