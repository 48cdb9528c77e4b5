"""Tracking lookups: cache first, one upstream lookup per number at a time, stale if Japan Post fails.

`TrackingLookup` is the use case behind the gRPC servicer. It is plain Python: the carrier and
the cache come in through their interfaces (tracking/carrier.py, tracking/cache.py).

- A fresh cached answer is returned as it is (source CACHE).
- Otherwise one lookup per number runs at a time: within the process every caller asking meanwhile
  waits for the same one (single flight); across processes, the cache's token lock makes the others
  wait for the answer to appear in the cache.
- Lookups run on a small pool of their own (tracking/fetch_pool.py), never on the caller's thread:
  however Japan Post behaves, it holds at most that pool's threads. Past its threads and queue a
  lookup is refused at once (the stale copy, or UNAVAILABLE with CARRIER_BUSY).
- A caller waits no longer than its deadline. One with a stale copy waits at most
  `stale_wait_seconds` for the fresh answer, then gets the copy marked STALE_CACHE while the lookup
  goes on for the cache (stale-while-revalidate). One with nothing cached gets DEADLINE_EXCEEDED;
  its lookup, once running, finishes for the cache (bounded by Japan Post's own deadline, and with
  no retries once nobody waits), and, still queued, never starts.
- When Japan Post fails, the last known answer is returned marked STALE_CACHE; with none,
  Unavailable with the carrier's reason.
- How long an answer stays fresh depends on its status (RefreshPolicy), with jitter so numbers
  looked up together do not all expire together.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.errors import DeadlineExceeded, ShippingError, Unavailable
from tracking.cache import TrackingCache
from tracking.carrier import Carrier, CarrierError
from tracking.fetch_pool import DaemonPool, PoolFull
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
    # The cross-process lock's lifetime: longer than the slowest lookup (timeouts x tries). The
    # lookup itself gives up a second before it ends.
    lock_seconds: float = 45.0
    # The longest a caller without a deadline waits for a lookup, its own or another process's.
    wait_seconds: float = 45.0
    # How often a lookup waiting on another process's looks at the cache.
    poll_seconds: float = 0.05
    batch_workers: int = 8
    # A watch ends after this long even if the caller set no deadline.
    watch_max_seconds: float = 86400.0
    # A watch never re-reads more often than this.
    watch_min_interval_seconds: float = 1.0
    # Japan Post lookups running at once (on threads of their own), and lookups waiting for one.
    carrier_workers: int = 4
    carrier_queue: int = 16
    # How long a caller holding a stale copy waits for Japan Post before getting the copy.
    stale_wait_seconds: float = 1.0
    # Answers are handed over this long before the caller's deadline, so they reach it in time.
    deadline_margin_seconds: float = 0.1


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


class _Flight:
    """One lookup of one number in this process, shared by every caller asking for it meanwhile."""

    __slots__ = ("answer", "for_cache", "task", "waiters")

    def __init__(self) -> None:
        self.answer: Future[Tracking] = Future()
        self.task: Future[None] | None = None  # the lookup in the carrier pool
        self.waiters = 0
        # Refreshing a stale copy: runs even when every caller was answered with the copy meanwhile.
        self.for_cache = False


def _settle(future: Future[Tracking], result: Tracking | None = None, error: BaseException | None = None) -> None:
    with contextlib.suppress(InvalidStateError):  # settled already (e.g. by close())
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]


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
        # Told True (a fresh cached answer) or False (a lookup needed) per number: metrics.
        self._on_cache = on_cache or (lambda _hit: None)
        self._carrier = carrier
        self._cache = cache
        self._options = options or LookupOptions()
        self._clock = clock
        self._inflight: dict[str, _Flight] = {}
        self._inflight_lock = threading.Lock()
        self._closing = threading.Event()
        o = self._options
        self._carrier_pool = DaemonPool(o.carrier_workers, o.carrier_queue, "tracking-carrier")
        self._pool = ThreadPoolExecutor(max_workers=o.batch_workers, thread_name_prefix="tracking-batch")

    def close(self) -> None:
        """Stops taking lookups and wakes every caller still waiting for one (UNAVAILABLE), so no
        thread waits on Japan Post past shutdown."""
        self._closing.set()
        self._carrier_pool.close()
        with self._inflight_lock:
            flights = list(self._inflight.values())
        for flight in flights:
            _settle(flight.answer, error=Unavailable("the server is stopping; retry", reason="SERVER_STOPPING"))
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- one number -----------------------------------------------------------------------

    def get(self, number: str, deadline: float | None = None) -> Tracking:
        """The tracking of a normalised, valid number, answered before `deadline` (time.monotonic())."""
        cached = self._cache.get(number)
        if cached is not None and self._clock() < cached.next_refresh_at:
            self._on_cache(True)
            return cached
        self._on_cache(False)
        try:
            flight = self._join(number, for_cache=cached is not None)
        except PoolFull:
            reason = "SERVER_STOPPING" if self._closing.is_set() else "CARRIER_BUSY"
            if cached is not None:
                log.warning("answering from stale cache", extra={"tracking_number": number, "reason": reason})
                return self._stale(cached)
            if reason == "SERVER_STOPPING":
                raise Unavailable("the server is stopping; retry", reason=reason) from None
            raise Unavailable("too many Japan Post lookups are running or waiting; retry later", reason=reason) from None
        try:
            return self._await(number, flight, cached, deadline)
        finally:
            self._leave(number, flight)

    def _join(self, number: str, for_cache: bool) -> _Flight:
        with self._inflight_lock:
            flight = self._inflight.get(number)
            if flight is None:
                flight = _Flight()
                flight.task = self._carrier_pool.submit(self._run, number, flight)  # PoolFull: nothing joined
                self._inflight[number] = flight
            flight.waiters += 1
            flight.for_cache = flight.for_cache or for_cache
            return flight

    def _leave(self, number: str, flight: _Flight) -> None:
        with self._inflight_lock:
            flight.waiters -= 1
            # Still queued, and nobody wants its answer any more: it never runs.
            dropped = flight.waiters == 0 and not flight.for_cache and flight.task is not None and flight.task.cancel()
            if dropped and self._inflight.get(number) is flight:
                del self._inflight[number]

    def _await(self, number: str, flight: _Flight, cached: Tracking | None, deadline: float | None) -> Tracking:
        o = self._options
        patience = o.wait_seconds
        if deadline is not None:
            patience = min(patience, deadline - time.monotonic() - o.deadline_margin_seconds)
        if cached is not None:
            patience = min(patience, o.stale_wait_seconds)
        try:
            return flight.answer.result(timeout=max(0.0, patience))
        except TimeoutError:
            if cached is not None:
                log.info("answering from stale cache while Japan Post is slow", extra={"tracking_number": number})
                return self._stale(cached)
            if deadline is not None and deadline - time.monotonic() < o.wait_seconds:
                raise DeadlineExceeded(
                    "Japan Post did not answer before the caller's deadline; the lookup goes on and its answer will be cached",
                    reason="DEADLINE_EXCEEDED",
                ) from None
            raise Unavailable("the lookup of this number is taking too long; retry later", reason="TRACKING_LOOKUP_BUSY") from None
        except CarrierError as error:
            if cached is not None:
                log.warning("answering from stale cache", extra={"tracking_number": number, "reason": error.reason})
                return self._stale(cached)
            raise Unavailable(f"{error.message}; nothing cached to answer from", reason=error.reason) from None
        except Unavailable:
            if cached is not None:
                return self._stale(cached)
            raise

    def _run(self, number: str, flight: _Flight) -> None:
        """The lookup, on the carrier pool: its answer (or error) goes to everyone waiting."""
        try:
            result = self._refresh(number, wanted=lambda: flight.waiters > 0)
        except BaseException as error:  # noqa: BLE001 - handed to the callers
            _settle(flight.answer, error=error)
        else:
            _settle(flight.answer, result)
        finally:
            with self._inflight_lock:
                if self._inflight.get(number) is flight:
                    del self._inflight[number]

    def _refresh(self, number: str, wanted: Callable[[], bool]) -> Tracking:
        o = self._options
        ends = time.monotonic() + o.wait_seconds
        token = self._cache.try_lock(number, o.lock_seconds)
        while token is None:
            # Another process is looking the number up: its answer lands in the cache.
            cached = self._cache.get(number)
            if cached is not None and self._clock() < cached.next_refresh_at:
                return cached
            if time.monotonic() >= ends or self._closing.is_set():
                if cached is not None:
                    return self._stale(cached)
                raise Unavailable("another lookup of this number is taking too long; retry later", reason="TRACKING_LOOKUP_BUSY")
            self._closing.wait(o.poll_seconds)
            token = self._cache.try_lock(number, o.lock_seconds)
        # Done a second before the lock expires, so no other process starts the same lookup meanwhile.
        fetch_deadline = time.monotonic() + max(o.lock_seconds - 1.0, o.lock_seconds / 2)
        try:
            cached = self._cache.get(number)
            now = self._clock()
            if cached is not None and now < cached.next_refresh_at:
                return cached  # filled while we were taking the lock
            try:
                page = self._carrier.fetch(number, deadline=fetch_deadline, retry_while=wanted)
            except CarrierError as error:
                if cached is not None:
                    log.warning("answering from stale cache", extra={"tracking_number": number, "reason": error.reason})
                    return self._stale(cached)
                raise
            tracking = build_tracking(number, page, now, o.policy.fresh_seconds)
            keep = (tracking.next_refresh_at - now).total_seconds() + o.policy.stale_keep_seconds
            self._cache.put(number, tracking, keep)
            return tracking
        finally:
            self._cache.unlock(number, token)

    def _stale(self, cached: Tracking) -> Tracking:
        if cached.source is Source.STALE_CACHE:
            return cached
        return cached.with_source(Source.STALE_CACHE, self._clock() + timedelta(seconds=self._options.policy.error_retry_seconds))

    # --- many numbers -----------------------------------------------------------------------

    def get_many(self, texts: list[str], deadline: float | None = None) -> list[Tracking | ShippingError]:
        """Validates and looks up each text on its own; each result is an answer or the error.
        Lookups not yet started when `deadline` (time.monotonic()) passes are not started: their
        result is DeadlineExceeded; the others answer before it."""

        def one(text: str) -> Tracking | ShippingError:
            if deadline is not None and time.monotonic() >= deadline:
                return DeadlineExceeded("the caller's deadline passed before this lookup started", reason="DEADLINE_EXCEEDED")
            try:
                return self.get(parse_number(text), deadline)
            except ShippingError as error:
                return error

        return list(self._pool.map(one, texts))

    # --- watching ---------------------------------------------------------------------------

    def watch(self, number: str, stop: threading.Event, deadline: float | None = None) -> Iterator[Tracking]:
        """Yields the tracking now and whenever it changes, until it is final, `stop` is set, or
        watch_max_seconds pass. Between reads it sleeps until the answer's next refresh time, so
        watchers add no lookups beyond the cache's refresh interval."""
        o = self._options
        ends = time.monotonic() + o.watch_max_seconds
        last: Tracking | None = None
        while not stop.is_set() and time.monotonic() < ends:
            tracking = self.get(number, deadline)
            if last is None or not tracking.same_contents(last):
                yield tracking
                last = tracking
            if tracking.final:
                return
            wait = (tracking.next_refresh_at - self._clock()).total_seconds()
            wait = min(max(wait, o.watch_min_interval_seconds), max(0.0, ends - time.monotonic()))
            if stop.wait(wait):
                return
