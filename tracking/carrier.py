"""What the tracking service needs from a carrier, and the pure guards around calling one.

`Carrier.fetch(number)` returns the parsed page or raises CarrierError with a stable reason. The
rate limiters and circuit breaker here are plain thread-safe Python with an injectable clock; the
HTTP client (tracking/japan_post_client.py) uses them. RateLimiter keeps the budget in the process;
SharedRateLimiter spends one budget for the whole fleet from a shared store (the Redis tracking
cache), and falls back to a RateLimiter while that store cannot be reached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from tracking.japan_post import Page


class CarrierError(Exception):
    """Japan Post could not be read. `reason` is stable UPPER_SNAKE (CARRIER_TIMEOUT, ...)."""

    def __init__(self, reason: str, message: str, *, counts_as_failure: bool = True):
        super().__init__(message)
        self.reason = reason
        self.message = message
        # Whether it says the site is in trouble (and so feeds the circuit breaker).
        self.counts_as_failure = counts_as_failure


class Carrier(Protocol):
    def fetch(self, number: str, *, deadline: float | None = None, retry_while: Callable[[], bool] | None = None) -> Page:
        """The page for `number`; gives up (CARRIER_TIMEOUT) at `deadline` (time.monotonic()), and
        retries only while `retry_while()` holds."""
        ...


class RateLimiter:
    """A token bucket: at most `rate` requests a second on average, bursts of up to `burst`.

    `acquire` waits for a token, but never longer than `max_wait` seconds: past that it raises
    CarrierError(CARRIER_RATE_LIMITED) so a queue of callers cannot grow without bound.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        max_wait: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate, self._burst, self._max_wait = rate, float(burst), max_wait
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self, max_wait: float | None = None) -> None:
        """Takes a token, waiting for it up to `max_wait` (at most the limiter's own)."""
        limit = self._max_wait if max_wait is None else min(self._max_wait, max_wait)
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate
            if wait > limit:
                raise CarrierError("CARRIER_RATE_LIMITED", "too many Japan Post lookups queued; retry later", counts_as_failure=False)
            # Take the token now (possibly going below zero) so later callers queue behind us.
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)


class Limiter(Protocol):
    def acquire(self, max_wait: float | None = None) -> None:
        """Returns when a lookup may be sent (after waiting up to `max_wait`), or raises
        CarrierError(CARRIER_RATE_LIMITED)."""
        ...


class SharedBudget(Protocol):
    def reserve(self, rate: float, burst: int, max_wait: float) -> float | None:
        """Reserves the next lookup slot of a budget of `rate` a second with bursts of `burst`
        shared by every process: the seconds to wait for it; -1.0 when that would be more than
        `max_wait` (nothing is reserved then); None when the budget cannot be reached."""
        ...


class SharedRateLimiter:
    """One carrier budget for every process and replica: each lookup reserves its slot in `shared`
    (GCRA on the store's clock: the same `rate` and `burst` as RateLimiter, fleet-wide). While the
    store cannot be reached, `fallback` (this process's own bucket) paces lookups instead."""

    def __init__(
        self, shared: SharedBudget, fallback: Limiter, rate: float, burst: int = 1, *, max_wait: float = 10.0, sleep: Callable[[float], None] = time.sleep
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._shared, self._fallback = shared, fallback
        self._rate, self._burst, self._max_wait, self._sleep = rate, burst, max_wait, sleep

    def acquire(self, max_wait: float | None = None) -> None:
        limit = self._max_wait if max_wait is None else min(self._max_wait, max_wait)
        wait = self._shared.reserve(self._rate, self._burst, max(0.0, limit))
        if wait is None:
            self._fallback.acquire(max_wait)
            return
        if wait < 0:
            raise CarrierError("CARRIER_RATE_LIMITED", "too many Japan Post lookups queued across the fleet; retry later", counts_as_failure=False)
        if wait > 0:
            self._sleep(wait)


class CircuitBreaker:
    """Stops calling a failing site: after `failures` failures in a row it opens for `reset_after`
    seconds (calls fail at once), then lets one trial call through (half-open); its success closes
    the circuit, its failure opens it again."""

    def __init__(self, failures: int = 5, reset_after: float = 30.0, *, clock: Callable[[], float] = time.monotonic):
        self._threshold, self._reset_after, self._clock = failures, reset_after, clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self._clock() - self._opened_at >= self._reset_after else "open"

    def before_call(self) -> None:
        with self._lock:
            if self._opened_at is None:
                return
            if self._clock() - self._opened_at < self._reset_after or self._trial_running:
                raise CarrierError(
                    "CARRIER_CIRCUIT_OPEN",
                    "Japan Post failed repeatedly; not asking it again for a while",
                    counts_as_failure=False,
                )
            self._trial_running = True

    def succeeded(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial_running = 0, None, False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self._threshold:
                self._opened_at = self._clock()
            self._trial_running = False

    def released(self) -> None:
        """A call ended in a way that says nothing about the site (e.g. an unreadable page)."""
        with self._lock:
            self._trial_running = False
