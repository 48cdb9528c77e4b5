"""The tracking cache's interface, the in-process implementation used when no Redis is set, and
the layered one used with Redis.

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
from datetime import UTC, datetime
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


class LayeredCache:
    """Redis (shared by every process) with a bounded in-process copy of the answers beside it.

    Stale copies living only in Redis left a Redis outage with nothing to answer from: every call
    went to Japan Post (one a second, with waits of up to 10 s behind our own rate limit). Here every
    answer this process stores or reads is also kept in the process (LRU, bounded), so while Redis
    is down known numbers are still answered at once, fresh from the copy or stale while the lookup
    goes on. A fresh copy in the process answers without asking Redis; otherwise Redis's answer wins
    when it is newer. Locks and health are Redis's.
    """

    def __init__(
        self,
        shared: TrackingCache,
        local: InProcessCache,
        *,
        stale_keep_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._shared = shared
        self._local = local
        self._stale_keep = stale_keep_seconds
        self._clock = clock

    @property
    def healthy(self) -> bool:
        return self._shared.healthy

    def get(self, number: str) -> Tracking | None:
        mine = self._local.get(number)
        now = self._clock()
        if mine is not None and now < mine.next_refresh_at:
            return mine
        theirs = self._shared.get(number)
        if theirs is None:
            return mine  # Redis down, or it lost the answer: the process's copy, if any
        if mine is not None and mine.fetched_at >= theirs.fetched_at:
            return mine
        # Another process's answer (or ours, read back): kept here as long as Redis keeps it.
        self._local.put(number, theirs, max(0.0, (theirs.next_refresh_at - now).total_seconds()) + self._stale_keep)
        return theirs

    def put(self, number: str, tracking: Tracking, keep_seconds: float) -> None:
        self._local.put(number, tracking, keep_seconds)
        self._shared.put(number, tracking, keep_seconds)

    def try_lock(self, number: str, ttl_seconds: float) -> str | None:
        return self._shared.try_lock(number, ttl_seconds)

    def unlock(self, number: str, token: str) -> None:
        self._shared.unlock(number, token)

    def close(self) -> None:
        self._shared.close()
