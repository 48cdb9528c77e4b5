"""The tracking cache's interface, and the in-process implementation used when no Redis is set.

A cache holds one answer per number (kept `keep_seconds`, which is longer than the answer's own
freshness so a stale answer is there when Japan Post fails) and a lock per number with a token, so
only one lookup of a number runs upstream at a time across everything sharing the cache.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from tracking.model import Source, Tracking


class TrackingCache(Protocol):
    def get(self, number: str) -> Tracking | None:
        """The answer kept for `number` (source CACHE), or None."""
        ...

    def put(self, number: str, tracking: Tracking, keep_seconds: float) -> None: ...

    def try_lock(self, number: str, ttl_seconds: float) -> str | None:
        """A token if this caller now holds the number's lock (for at most ttl_seconds); None if
        someone else holds it."""
        ...

    def unlock(self, number: str, token: str) -> None:
        """Releases the lock if it is still held with `token` (compare-and-delete)."""
        ...

    @property
    def healthy(self) -> bool: ...

    def close(self) -> None: ...


class InProcessCache:
    """A bounded LRU dict with expiry, plus token locks: for one server process."""

    def __init__(self, max_entries: int = 100_000, *, clock: Callable[[], float] = time.monotonic):
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Tracking, float]] = OrderedDict()
        self._locks: dict[str, tuple[str, float]] = {}
        self._mutex = threading.Lock()

    @property
    def healthy(self) -> bool:
        return True

    def get(self, number: str) -> Tracking | None:
        with self._mutex:
            item = self._entries.get(number)
            if item is None:
                return None
            if item[1] <= self._clock():
                del self._entries[number]
                return None
            self._entries.move_to_end(number)
        return item[0]

    def put(self, number: str, tracking: Tracking, keep_seconds: float) -> None:
        stored = tracking if tracking.source is Source.CACHE else tracking.with_source(Source.CACHE)
        with self._mutex:
            self._entries[number] = (stored, self._clock() + keep_seconds)
            self._entries.move_to_end(number)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def try_lock(self, number: str, ttl_seconds: float) -> str | None:
        now = self._clock()
        with self._mutex:
            held = self._locks.get(number)
            if held is not None and held[1] > now:
                return None
            token = secrets.token_hex(16)
            self._locks[number] = (token, now + ttl_seconds)
            return token

    def unlock(self, number: str, token: str) -> None:
        with self._mutex:
            held = self._locks.get(number)
            if held is not None and held[0] == token:
                del self._locks[number]

    def close(self) -> None:
        pass
