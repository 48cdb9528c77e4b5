"""Tracking lookups: cache first, one upstream lookup per number at a time, stale if Japan Post fails.

`TrackingLookup` is the use case behind the gRPC servicer. It is plain Python: the carrier and
the cache come in through their interfaces (tracking/carrier.py, tracking/cache.py).

- A fresh cached answer is returned as it is (source CACHE).
- Otherwise one caller per number looks Japan Post up: within the process, other threads wait for
  its answer (single flight); across processes, the cache's token lock makes the others wait for
  the answer to appear in the cache.
- When Japan Post fails, the last known answer is returned marked STALE_CACHE; with none,
  Unavailable with the carrier's reason.
- How long an answer stays fresh depends on its status (RefreshPolicy), with jitter so numbers
  looked up together do not all expire together.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.errors import DeadlineExceeded, ShippingError, Unavailable
from tracking.cache import TrackingCache
from tracking.carrier import Carrier, CarrierError
from tracking.japan_post import Page, overall_status
from tracking.model import Source, Status, Tracking, parse_number, product_for

log = logging.getLogger("kokokara.shipping.tracking")

_DELIVERY_DAY = {Status.OUT_FOR_DELIVERY, Status.ATTEMPT_FAIL, Status.AVAILABLE_FOR_PICKUP}


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """How long answers stay fresh, by status (seconds), and how long they are kept beyond that."""

    final_seconds: float = 7 * 86400
    transit_seconds: float = 3 * 3600
    delivery_day_seconds: float = 30 * 60
    not_found_seconds: float = 15 * 60
    jitter: float = 0.15
    # Kept this long after going stale, to answer from when Japan Post fails.
    stale_keep_seconds: float = 14 * 86400
    # A stale answer says to come back after this long.
    error_retry_seconds: float = 60.0

    def fresh_seconds(self, status: Status, final: bool, rand: Callable[[], float] = random.random) -> float:
        if final:
            base = self.final_seconds
        elif status is Status.NOT_FOUND:
            base = self.not_found_seconds
        elif status in _DELIVERY_DAY:
            base = self.delivery_day_seconds
        else:
            base = self.transit_seconds
        return base * (1 + self.jitter * (2 * rand() - 1))


@dataclass(frozen=True, slots=True)
class LookupOptions:
    policy: RefreshPolicy = RefreshPolicy()
    # The cross-process lock's lifetime: longer than the slowest lookup (timeouts x tries).
    lock_seconds: float = 45.0
    # How long a caller waits for another's lookup of the same number before giving up.
    wait_seconds: float = 45.0
    # How often a caller waiting on another process's lookup looks at the cache.
    poll_seconds: float = 0.05
    batch_workers: int = 8
    # A watch ends after this long even if the caller set no deadline.
    watch_max_seconds: float = 86400.0
    # A watch never re-reads more often than this.
    watch_min_interval_seconds: float = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


def build_tracking(number: str, page: Page, fetched_at: datetime, fresh_seconds: Callable[[Status, bool], float]) -> Tracking:
    """The answer for a parsed page."""
    status, final = overall_status(page.events) if page.found else (Status.NOT_FOUND, False)
    return Tracking(
        number=number,
        product=product_for(number),
        status=status,
        final=final,
        events=page.events,
        carrier_product_text=page.product_text,
        fetched_at=fetched_at,
        source=Source.CARRIER,
        next_refresh_at=fetched_at + timedelta(seconds=fresh_seconds(status, final)),
    )


class TrackingLookup:
    def __init__(
        self,
        carrier: Carrier,
        cache: TrackingCache,
        options: LookupOptions | None = None,
        *,
        clock: Callable[[], datetime] = _now,
        on_cache: Callable[[bool], None] | None = None,
    ):
        # Told True (a fresh cached answer) or False (a lookup needed) per number: metrics (issue 7).
        self._on_cache = on_cache or (lambda _hit: None)
        self._carrier = carrier
        self._cache = cache
        self._options = options or LookupOptions()
        self._clock = clock
        self._inflight: dict[str, Future[Tracking]] = {}
        self._inflight_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self._options.batch_workers, thread_name_prefix="tracking-batch")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- one number -----------------------------------------------------------------------

    def get(self, number: str) -> Tracking:
        """The tracking of a normalised, valid number."""
        cached = self._cache.get(number)
        if cached is not None and self._clock() < cached.next_refresh_at:
            self._on_cache(True)
            return cached
        self._on_cache(False)
        return self._single_flight(number)

    def _single_flight(self, number: str) -> Tracking:
        with self._inflight_lock:
            future = self._inflight.get(number)
            leader = future is None
            if future is None:
                future = self._inflight[number] = Future()
        if not leader:
            try:
                return future.result(timeout=self._options.wait_seconds)
            except TimeoutError:
                raise Unavailable("another lookup of this number is taking too long; retry later", reason="TRACKING_LOOKUP_BUSY") from None
        try:
            result = self._refresh(number)
        except BaseException as error:
            future.set_exception(error)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            with self._inflight_lock:
                del self._inflight[number]

    def _refresh(self, number: str) -> Tracking:
        o = self._options
        deadline = time.monotonic() + o.wait_seconds
        token = self._cache.try_lock(number, o.lock_seconds)
        while token is None:
            # Another process is looking the number up: its answer lands in the cache.
            cached = self._cache.get(number)
            if cached is not None and self._clock() < cached.next_refresh_at:
                return cached
            if time.monotonic() >= deadline:
                if cached is not None:
                    return self._stale(cached)
                raise Unavailable("another lookup of this number is taking too long; retry later", reason="TRACKING_LOOKUP_BUSY")
            time.sleep(o.poll_seconds)
            token = self._cache.try_lock(number, o.lock_seconds)
        try:
            cached = self._cache.get(number)
            now = self._clock()
            if cached is not None and now < cached.next_refresh_at:
                return cached  # filled while we were taking the lock
            try:
                page = self._carrier.fetch(number)
            except CarrierError as error:
                if cached is not None:
                    log.warning("answering from stale cache", extra={"tracking_number": number, "reason": error.reason})
                    return self._stale(cached)
                raise Unavailable(f"{error.message}; nothing cached to answer from", reason=error.reason) from None
            tracking = build_tracking(number, page, now, o.policy.fresh_seconds)
            keep = (tracking.next_refresh_at - now).total_seconds() + o.policy.stale_keep_seconds
            self._cache.put(number, tracking, keep)
            return tracking
        finally:
            self._cache.unlock(number, token)

    def _stale(self, cached: Tracking) -> Tracking:
        return cached.with_source(Source.STALE_CACHE, self._clock() + timedelta(seconds=self._options.policy.error_retry_seconds))

    # --- many numbers -----------------------------------------------------------------------

    def get_many(self, texts: list[str], should_stop: Callable[[], bool] | None = None) -> list[Tracking | ShippingError]:
        """Validates and looks up each text on its own; each result is an answer or the error.
        Lookups not yet started when `should_stop()` turns true (the caller's deadline passed)
        are not started: their result is DeadlineExceeded."""

        def one(text: str) -> Tracking | ShippingError:
            if should_stop is not None and should_stop():
                return DeadlineExceeded("the caller's deadline passed before this lookup started", reason="DEADLINE_EXCEEDED")
            try:
                return self.get(parse_number(text))
            except ShippingError as error:
                return error

        return list(self._pool.map(one, texts))

    # --- watching ---------------------------------------------------------------------------

    def watch(self, number: str, stop: threading.Event) -> Iterator[Tracking]:
        """Yields the tracking now and whenever it changes, until it is final, `stop` is set, or
        watch_max_seconds pass. Between reads it sleeps until the answer's next refresh time, so
        watchers add no lookups beyond the cache's refresh interval."""
        o = self._options
        ends = time.monotonic() + o.watch_max_seconds
        last: Tracking | None = None
        while not stop.is_set() and time.monotonic() < ends:
            tracking = self.get(number)
            if last is None or not tracking.same_contents(last):
                yield tracking
                last = tracking
            if tracking.final:
                return
            wait = (tracking.next_refresh_at - self._clock()).total_seconds()
            wait = min(max(wait, o.watch_min_interval_seconds), max(0.0, ends - time.monotonic()))
            if stop.wait(wait):
                return
