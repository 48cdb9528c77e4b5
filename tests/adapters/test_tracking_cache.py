"""The tracking lookup with its caches, against the stand-in Japan Post and real Redis servers:
cache hits, single flight across threads and processes, stale-if-error, TTLs, and Redis outages."""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis

from domain.errors import Unavailable
from standin.japan_post import StandInJapanPost
from tests.tracking_helpers import Clock, OwnRedis, wait_until
from tracking.cache import InProcessCache, LayeredCache, TrackingCache
from tracking.carrier import CarrierError, RateLimiter, SharedRateLimiter
from tracking.japan_post_client import ClientOptions, JapanPostClient
from tracking.model import Source, Status, decode, encode
from tracking.redis_cache import RedisTrackingCache
from tracking.service import LookupOptions, RefreshPolicy, TrackingLookup

OPTIONS = ClientOptions(connect_timeout=1, read_timeout=3, retries=1, backoff=0.01, rate_per_second=1000, burst=100)
DELIVERED, IN_CUSTOMS = "EN123456785JP", "CD126430535JP"


@pytest.fixture
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost(slow_seconds=3) as s:
        yield s


@pytest.fixture
def redis_cache_factory(redis_url: str) -> Iterator[object]:
    prefix = f"test:tracking:{uuid.uuid4().hex}:"
    made: list[RedisTrackingCache] = []

    def make(**kwargs: object) -> RedisTrackingCache:
        cache = RedisTrackingCache(redis_url, prefix=prefix, probe_seconds=0.1, **kwargs)  # type: ignore[arg-type]
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()
    r = redis.Redis.from_url(redis_url)
    for key in r.scan_iter(f"{prefix}*"):
        r.delete(key)
    r.close()


@pytest.fixture(params=["in-process", "redis"])
def cache(request: pytest.FixtureRequest) -> TrackingCache:
    if request.param == "in-process":
        return InProcessCache()
    return request.getfixturevalue("redis_cache_factory")()  # type: ignore[no-any-return]


def lookup(standin: StandInJapanPost, cache: TrackingCache, clock: Clock | None = None, **options: object) -> TrackingLookup:
    client = JapanPostClient(standin.url, OPTIONS)
    opts = LookupOptions(**options)  # type: ignore[arg-type]
    return TrackingLookup(client, cache, opts, clock=clock) if clock else TrackingLookup(client, cache, opts)


def test_a_cached_lookup_makes_no_upstream_request(standin: StandInJapanPost, cache: TrackingCache) -> None:
    service = lookup(standin, cache)
    first = service.get(DELIVERED)
    assert (first.source, first.status, first.final) == (Source.CARRIER, Status.DELIVERED, True)
    for _ in range(5):
        again = service.get(DELIVERED)
        assert again.source is Source.CACHE and again.same_contents(first)
        assert again.fetched_at == first.fetched_at and again.next_refresh_at == first.next_refresh_at
    assert standin.hits(DELIVERED) == 1


def test_fifty_concurrent_lookups_in_one_process_make_one_request(standin: StandInJapanPost, cache: TrackingCache) -> None:
    standin.latency_seconds = 0.3
    service = lookup(standin, cache)
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: service.get(IN_CUSTOMS), range(50)))
    assert standin.hits(IN_CUSTOMS) == 1
    assert all(a.status is Status.IN_CUSTOMS for a in answers)


def test_fifty_concurrent_lookups_across_processes_make_one_request(standin: StandInJapanPost, redis_cache_factory: object) -> None:
    # Two lookups with their own Redis connections and their own in-process single flight stand for
    # two server processes: only the Redis lock keeps them from both asking Japan Post.
    standin.latency_seconds = 0.3
    services = [lookup(standin, redis_cache_factory()) for _ in range(2)]  # type: ignore[operator]
    start = threading.Barrier(50)

    def one(i: int) -> Status:
        start.wait()
        return services[i % 2].get(IN_CUSTOMS).status

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(one, range(50)))
    assert statuses == [Status.IN_CUSTOMS] * 50
    assert standin.hits(IN_CUSTOMS) == 1


def test_upstream_503_gives_the_stale_answer(standin: StandInJapanPost, cache: TrackingCache) -> None:
    clock = Clock()
    service = lookup(standin, cache, clock)
    fresh = service.get(IN_CUSTOMS)
    clock.advance((fresh.next_refresh_at - clock.now).total_seconds() + 1)
    standin.set_override("unavailable")
    stale = service.get(IN_CUSTOMS)
    assert stale.source is Source.STALE_CACHE
    assert stale.same_contents(fresh) and stale.fetched_at == fresh.fetched_at
    assert stale.next_refresh_at > clock.now
    assert standin.hits(IN_CUSTOMS) == 1 + 2  # it did try again (with one retry)
    # Nothing cached for another number: UNAVAILABLE with the carrier's reason.
    with pytest.raises(Unavailable) as caught:
        service.get(DELIVERED)
    assert caught.value.reason == "CARRIER_SERVER_ERROR"
    # Japan Post back: a fresh answer again.
    standin.set_override(None)
    assert service.get(IN_CUSTOMS).source is Source.CARRIER


def test_garbled_page_with_nothing_cached_is_unavailable(standin: StandInJapanPost) -> None:
    with pytest.raises(Unavailable) as caught:
        lookup(standin, InProcessCache()).get("EJ966331020JP")
    assert caught.value.reason == "CARRIER_PAGE_UNREADABLE"


def test_freshness_follows_the_status_with_jitter() -> None:
    policy = RefreshPolicy(final_seconds=1000, transit_seconds=100, delivery_day_seconds=10, not_found_seconds=5, jitter=0.2)
    assert policy.fresh_seconds(Status.DELIVERED, True, rand=lambda: 0.5) == 1000
    assert policy.fresh_seconds(Status.RETURNED, True, rand=lambda: 0.0) == pytest.approx(800)
    assert policy.fresh_seconds(Status.IN_TRANSIT, False, rand=lambda: 1.0) == pytest.approx(120)
    assert policy.fresh_seconds(Status.IN_CUSTOMS, False, rand=lambda: 0.5) == 100
    assert policy.fresh_seconds(Status.OUT_FOR_DELIVERY, False, rand=lambda: 0.5) == 10
    assert policy.fresh_seconds(Status.NOT_FOUND, False, rand=lambda: 0.5) == 5
    spread = {round(policy.fresh_seconds(Status.IN_TRANSIT, False)) for _ in range(50)}
    assert len(spread) > 5 and all(80 <= s <= 120 for s in spread)


def test_redis_keeps_the_answer_past_its_freshness(standin: StandInJapanPost, redis_cache_factory: object, redis_url: str) -> None:
    cache = redis_cache_factory()  # type: ignore[operator]
    policy = RefreshPolicy(not_found_seconds=600, stale_keep_seconds=3600, jitter=0.1)
    answer = lookup(standin, cache, policy=policy).get("EN111111115JP")
    assert answer.status is Status.NOT_FOUND
    fresh_for = (answer.next_refresh_at - answer.fetched_at).total_seconds()
    assert 540 <= fresh_for <= 660
    r = redis.Redis.from_url(redis_url)
    key = cache.key("EN111111115JP")
    assert r.exists(key)
    assert fresh_for + 3600 - 5 <= r.pttl(key) / 1000 <= fresh_for + 3600
    assert decode(r.get(key)).same_contents(answer)  # type: ignore[arg-type]
    r.close()


def test_redis_lock_holds_a_token_and_only_its_holder_releases_it(redis_cache_factory: object) -> None:
    a, b = redis_cache_factory(), redis_cache_factory()  # type: ignore[operator]
    token = a.try_lock(DELIVERED, 30)
    assert token and b.try_lock(DELIVERED, 30) is None
    b.unlock(DELIVERED, "someone-else")
    assert b.try_lock(DELIVERED, 30) is None
    a.unlock(DELIVERED, token)
    assert b.try_lock(DELIVERED, 30) is not None


def test_unreadable_cache_entry_is_a_miss(standin: StandInJapanPost, redis_cache_factory: object, redis_url: str) -> None:
    cache = redis_cache_factory()  # type: ignore[operator]
    r = redis.Redis.from_url(redis_url)
    r.set(cache.key(DELIVERED), b'{"v": 0}')
    assert cache.get(DELIVERED) is None
    assert lookup(standin, cache).get(DELIVERED).source is Source.CARRIER
    r.close()


def test_encode_round_trip(standin: StandInJapanPost) -> None:
    answer = lookup(standin, InProcessCache()).get("RR473124829JP")
    again = decode(encode(answer))
    assert again.same_contents(answer) and again.source is Source.CACHE
    assert again.fetched_at == answer.fetched_at and again.number == answer.number


def test_redis_stopped_and_restarted_mid_test_every_call_answered(standin: StandInJapanPost, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    health: list[bool] = []
    cache = RedisTrackingCache(own.url, probe_seconds=0.05, timeout_seconds=0.2, on_health=health.append)
    try:
        service = lookup(standin, cache)
        assert service.get(DELIVERED).source is Source.CARRIER
        assert service.get(DELIVERED).source is Source.CACHE
        assert cache.healthy and health == []

        own.stop()
        with caplog.at_level(logging.INFO, logger="kokokara.shipping.tracking.cache"):
            answers = [service.get(DELIVERED) for _ in range(5)]
            assert all(a.status is Status.DELIVERED and a.source is Source.CARRIER for a in answers)
            assert not cache.healthy and health == [False]
            down_logs = [r for r in caplog.records if "redis is unavailable" in r.getMessage()]
            assert len(down_logs) == 1  # logged once, not per call

            own.start()
            assert wait_until(lambda: cache.healthy), "the cache did not notice Redis came back"
            assert health == [False, True]
            assert any("redis is back" in r.getMessage() for r in caplog.records)
        # Redis came back empty: one more lookup fills it, then it answers again.
        hits = standin.hits(DELIVERED)
        assert service.get(DELIVERED).source is Source.CARRIER
        assert service.get(DELIVERED).source is Source.CACHE
        assert standin.hits(DELIVERED) == hits + 1
    finally:
        cache.close()
        own.stop()


def test_redis_down_at_start_is_reported_and_still_answers(standin: StandInJapanPost, tmp_path: Path) -> None:
    own = OwnRedis(tmp_path)  # never started
    health: list[bool] = []
    cache = RedisTrackingCache(own.url, probe_seconds=0.05, timeout_seconds=0.2, on_health=health.append)
    try:
        assert not cache.healthy and health == [False]
        assert lookup(standin, cache).get(DELIVERED).status is Status.DELIVERED
        own.start()
        assert wait_until(lambda: cache.healthy)
    finally:
        cache.close()
        own.stop()


def test_watch_sends_changes_only_and_stops_at_a_final_status(standin: StandInJapanPost) -> None:
    clock = Clock()
    number = "EN222222225JP"
    standin.set_scenario(number, "in_transit")
    service = lookup(standin, InProcessCache(), clock, watch_min_interval_seconds=0.01)
    stop = threading.Event()
    stream = service.watch(number, stop)
    first = next(stream)
    assert first.status is Status.IN_TRANSIT
    # Next read waits for the refresh time; move the clock there and change the page meanwhile.
    standin.set_scenario(number, "delivered")
    clock.advance((first.next_refresh_at - clock.now).total_seconds() + 1)
    second = next(stream)
    assert (second.status, second.final) == (Status.DELIVERED, True)
    assert list(stream) == []  # final: the stream ends
    assert standin.hits(number) == 2


def test_watch_ends_when_stopped(standin: StandInJapanPost) -> None:
    service = lookup(standin, InProcessCache())
    stop = threading.Event()
    stream = service.watch(IN_CUSTOMS, stop)
    assert next(stream).status is Status.IN_CUSTOMS
    stop.set()
    assert list(stream) == []
    assert standin.hits(IN_CUSTOMS) == 1


def test_translated_answers_are_reused_and_bounded(standin: StandInJapanPost) -> None:
    from kokokara.shipping.server.servicers.tracking import TranslatedAnswers

    service = lookup(standin, InProcessCache())
    answers = TranslatedAnswers(size=2)
    first = service.get(DELIVERED)
    proto = answers.get(first)
    assert proto.tracking_number == DELIVERED and len(proto.events) == 8
    assert len(answers._protos) == 0  # a fresh fetch is never asked for again under its key: not kept
    hit = service.get(DELIVERED)
    assert answers.get(hit) is not proto  # a cache hit is another answer (source)
    assert answers.get(hit) is answers.get(service.get(DELIVERED))  # same answer: translated once
    service.get(IN_CUSTOMS)
    answers.get(service.get(IN_CUSTOMS))
    assert len(answers._protos) == 2
    third = "LX331479647JP"
    service.get(third)
    answers.get(service.get(third))
    assert len(answers._protos) == 2  # bounded: the oldest went


def test_layered_cache_answers_from_the_process_while_redis_is_down(standin: StandInJapanPost, tmp_path: Path) -> None:
    # Two processes' caches over one Redis: what one looked up, the other read from Redis; both
    # keep answering it from their own copy once Redis stops, without asking Japan Post.
    own = OwnRedis(tmp_path)
    own.start()
    shared = [RedisTrackingCache(own.url, probe_seconds=0.05, timeout_seconds=0.2) for _ in range(2)]
    try:
        caches = [LayeredCache(s, InProcessCache(100), stale_keep_seconds=3600) for s in shared]
        a, b = (lookup(standin, c) for c in caches)
        assert a.get(DELIVERED).source is Source.CARRIER
        assert b.get(DELIVERED).source is Source.CACHE  # from Redis, now kept in b's process too
        own.stop()
        assert wait_until(lambda: not shared[0].healthy and not shared[1].healthy)
        assert [a.get(DELIVERED).source, b.get(DELIVERED).source] == [Source.CACHE, Source.CACHE]
        assert standin.hits(DELIVERED) == 1
    finally:
        for s in shared:
            s.close()
        own.stop()


def test_layered_cache_prefers_the_newer_answer(standin: StandInJapanPost, redis_cache_factory: object) -> None:
    clock = Clock()
    shared = redis_cache_factory()  # type: ignore[operator]
    mine, theirs = LayeredCache(shared, InProcessCache(), stale_keep_seconds=3600, clock=clock), shared
    first = lookup(standin, mine, clock).get(IN_CUSTOMS)
    clock.advance((first.next_refresh_at - clock.now).total_seconds() + 1)  # stale in the process
    newer = first.with_source(Source.CARRIER, clock.now + (first.next_refresh_at - first.fetched_at))
    newer = dataclasses.replace(newer, fetched_at=clock.now)
    theirs.put(IN_CUSTOMS, newer, 3600)  # another process refreshed it in Redis
    got = mine.get(IN_CUSTOMS)
    assert got is not None and got.fetched_at == newer.fetched_at


# --- one carrier budget for the fleet ----------------------------------------------------------------


def test_processes_sharing_redis_spend_one_carrier_budget(redis_cache_factory: Any) -> None:
    # Two caches on one Redis stand for two server processes. Each alone would send a burst of 2 at
    # once; sharing the budget they send 2 between them, then wait their turn on Redis's clock.
    first, second = redis_cache_factory(), redis_cache_factory()
    waited: list[float] = []
    own_buckets = [RateLimiter(1000.0, burst=100) for _ in range(2)]  # never used while Redis answers
    one = SharedRateLimiter(first, own_buckets[0], 0.5, burst=2, max_wait=10.0, sleep=waited.append)
    other = SharedRateLimiter(second, own_buckets[1], 0.5, burst=2, max_wait=10.0, sleep=waited.append)
    one.acquire()
    other.acquire()
    assert waited == []  # the burst
    one.acquire()
    other.acquire()
    assert waited == [pytest.approx(2.0, abs=0.5), pytest.approx(4.0, abs=0.5)]  # one every 2 s, fleet-wide
    with pytest.raises(CarrierError) as refused:
        one.acquire(max_wait=1.0)  # the next slot is 6 s away: refused, not queued
    assert refused.value.reason == "CARRIER_RATE_LIMITED"
    other.acquire()  # nothing was reserved for the refused call: the next slot is still 6 s away
    assert waited[-1] == pytest.approx(6.0, abs=0.5)


def test_the_carrier_budget_falls_back_to_the_process_while_redis_is_down(tmp_path: Path) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    cache = RedisTrackingCache(own.url, probe_seconds=0.05, timeout_seconds=0.2)
    fell_back: list[float] = []

    class Counting(RateLimiter):
        def acquire(self, max_wait: float | None = None) -> None:
            fell_back.append(0.0 if max_wait is None else max_wait)
            super().acquire(max_wait)

    waited: list[float] = []
    limiter = SharedRateLimiter(cache, Counting(1000.0, burst=10), 1.0, burst=1, max_wait=10.0, sleep=waited.append)
    try:
        limiter.acquire()
        assert fell_back == [] and cache.reserve(1.0, 1, 10.0) == pytest.approx(1.0, abs=0.5)  # Redis keeps the budget
        own.stop()
        limiter.acquire()
        limiter.acquire()
        assert len(fell_back) == 2 and not cache.healthy  # the process's own bucket paced them
        own.start()
        assert wait_until(lambda: cache.healthy)
        limiter.acquire()
        assert len(fell_back) == 2  # Redis again (it came back empty: a fresh budget, no wait)
    finally:
        cache.close()
        own.stop()
