"""The tracking cache on a Redis Cluster of the test's own (3 masters, 1 replica each): keys spread
over all masters with a number's keys in one slot, token locks, single flight across processes, and
a master killed mid-test (answers straight from the stand-in Japan Post until the failover, then
cached again)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from domain import s10
from kokokara.shipping.server.settings import Settings, SettingsError
from standin.japan_post import StandInJapanPost
from tests.redis_cluster import OwnRedisCluster
from tests.tracking_helpers import wait_until
from tracking.japan_post_client import ClientOptions, JapanPostClient
from tracking.model import Source, Status
from tracking.redis_cache import NO_REDIS_TOKEN, RedisTrackingCache
from tracking.service import LookupOptions, TrackingLookup

OPTIONS = ClientOptions(connect_timeout=1, read_timeout=3, retries=1, backoff=0.01, rate_per_second=1000, burst=100)


# --- settings (no cluster needed) -----------------------------------------------------------------


def test_cluster_nodes_setting_is_parsed() -> None:
    s = Settings.from_env({"SHIPPING_REDIS_CLUSTER_NODES": "redis-0.redis:6379, 10.0.0.7:7001,[::1]:7002"})
    assert s.redis_cluster_nodes == (("redis-0.redis", 6379), ("10.0.0.7", 7001), ("::1", 7002))
    assert s.redis_url == ""
    assert Settings.from_env({}).redis_cluster_nodes == ()


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SHIPPING_REDIS_CLUSTER_NODES": "redis-0:6379,redis-1"}, "'redis-1' is not host:port"),
        ({"SHIPPING_REDIS_CLUSTER_NODES": "redis-0:99999"}, "'redis-0:99999' is not host:port"),
        ({"SHIPPING_REDIS_CLUSTER_NODES": ":6379"}, "':6379' is not host:port"),
        ({"SHIPPING_REDIS_CLUSTER_NODES": "a:1", "SHIPPING_REDIS_URL": "redis://a:1/0"}, "not both"),
        ({"SHIPPING_REDIS_CLUSTER_NODES": "a:1", "SHIPPING_REDIS_KEY_PREFIX": "app:{x}:"}, "braces"),
    ],
)
def test_bad_cluster_settings_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match="SHIPPING_REDIS") as caught:
        Settings.from_env(env)
    assert names in str(caught.value)


def test_the_cache_takes_a_url_or_cluster_nodes_and_no_braced_prefix() -> None:
    with pytest.raises(ValueError, match="either"):
        RedisTrackingCache("redis://127.0.0.1:1/0", cluster_nodes=[("127.0.0.1", 1)])
    with pytest.raises(ValueError, match="either"):
        RedisTrackingCache()
    with pytest.raises(ValueError, match="braces"):
        RedisTrackingCache(cluster_nodes=[("127.0.0.1", 1)], prefix="a:{b}:")


# --- against a real cluster -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedisCluster]:
    own = OwnRedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        own.start()
        yield own
    finally:
        own.stop()


@pytest.fixture
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost() as s:
        yield s


@pytest.fixture
def caches(cluster: OwnRedisCluster) -> Iterator[object]:
    """Makes caches on the cluster with this test's own key prefix; closes them afterwards."""
    prefix = f"test:tracking:{uuid.uuid4().hex}:"
    made: list[RedisTrackingCache] = []

    def make(**kwargs: object) -> RedisTrackingCache:
        options = {"prefix": prefix, "probe_seconds": 0.1, "timeout_seconds": 0.3, **kwargs}
        cache = RedisTrackingCache(cluster_nodes=cluster.nodes, **options)  # type: ignore[arg-type]
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()


def lookup(standin: StandInJapanPost, cache: RedisTrackingCache, **options: object) -> TrackingLookup:
    return TrackingLookup(JapanPostClient(standin.url, OPTIONS), cache, LookupOptions(**options))  # type: ignore[arg-type]


def numbers(count: int, start: int = 10_000_000) -> list[str]:
    return [s10.make("EN", start + i) for i in range(count)]


def test_numbers_spread_over_every_master_and_each_numbers_keys_share_a_slot(cluster: OwnRedisCluster, caches: object, standin: StandInJapanPost) -> None:
    cache = caches()  # type: ignore[operator]
    service = lookup(standin, cache)
    some = numbers(30)
    for number in some:
        assert service.get(number).source is Source.CARRIER
    for number in some:
        assert service.get(number).source is Source.CACHE
    assert all(standin.hits(n) == 1 for n in some)
    client = cluster.client()
    try:
        for number in some:
            assert client.keyslot(cache.key(number)) == client.keyslot(cache.key(number) + ":lock")
            assert client.exists(cache.key(number)) == 1
            assert client.exists(cache.key(number) + ":lock") == 0  # released after the lookup
        owners = {client.get_node_from_key(cache.key(n)).port for n in some}
    finally:
        client.close()
    assert len(owners) == cluster.masters  # not all in one slot: the prefix is outside the hash tag


def test_lock_holds_a_token_and_only_its_holder_releases_it(caches: object) -> None:
    a, b = caches(), caches()  # type: ignore[operator]
    for number in numbers(6, start=20_000_000):  # several slots, so several masters
        token = a.try_lock(number, 30)
        assert token and b.try_lock(number, 30) is None
        b.unlock(number, "someone-else")
        assert b.try_lock(number, 30) is None
        a.unlock(number, token)
        other = b.try_lock(number, 30)
        assert other is not None
        b.unlock(number, other)


def test_fifty_concurrent_lookups_across_processes_make_one_request(standin: StandInJapanPost, caches: object) -> None:
    # Two lookups with their own cluster clients stand for two server processes.
    standin.latency_seconds = 0.3
    number = s10.make("CD", 30_000_001)
    standin.set_scenario(number, "in_customs")
    services = [lookup(standin, caches()) for _ in range(2)]  # type: ignore[operator]
    start = threading.Barrier(50)

    def one(i: int) -> Status:
        start.wait()
        return services[i % 2].get(number).status

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(one, range(50)))
    assert statuses == [Status.IN_CUSTOMS] * 50
    assert standin.hits(number) == 1


def test_unreachable_cluster_at_start_is_reported_and_tracking_still_answers(standin: StandInJapanPost) -> None:
    from tests.tracking_helpers import free_port

    health: list[bool] = []
    cache = RedisTrackingCache(cluster_nodes=[("127.0.0.1", free_port())], probe_seconds=0.05, timeout_seconds=0.2, on_health=health.append)
    try:
        assert not cache.healthy and health == [False]
        assert lookup(standin, cache).get("EN123456785JP").status is Status.DELIVERED
    finally:
        cache.close()


@pytest.mark.slow
def test_master_killed_answers_from_japan_post_until_the_failover_then_caches_again(
    cluster: OwnRedisCluster, caches: object, standin: StandInJapanPost
) -> None:
    health: list[bool] = []
    cache = caches(on_health=health.append)  # type: ignore[operator]
    other = caches()  # type: ignore[operator]
    service = lookup(standin, cache)
    number = s10.make("EN", 40_000_001)
    standin.set_scenario(number, "in_customs")
    assert service.get(number).source is Source.CARRIER
    assert service.get(number).source is Source.CACHE
    master = cluster.master_of(cache.key(number))
    replica = cluster.replica_of(master)
    # A lock of this process, on the master about to die, that reached its replica.
    locked = next(n for n in numbers(100, start=40_000_002) if cluster.master_of(cache.key(n)) == master)
    token = cache.try_lock(locked, 600)
    assert token is not None
    on_replica = redis.Redis(port=replica)
    on_replica.execute_command("READONLY")
    assert wait_until(lambda: on_replica.get(cache.key(locked) + ":lock") == token.encode())
    on_replica.close()

    cluster.kill(master)
    hits = standin.hits(number)
    answers = [service.get(number) for _ in range(3)]
    assert all(a.status is Status.IN_CUSTOMS and a.source is Source.CARRIER for a in answers)  # the cache would have said CACHE
    assert standin.hits(number) == hits + 3
    assert not cache.healthy and health == [False]
    cache.unlock(locked, token)  # during the outage: kept, released when the cluster is back

    assert wait_until(lambda: cache.healthy, seconds=30), "the cache did not notice the failover"
    assert health == [False, True]
    # The other client runs its own probe: until it too has seen every master answer, it rightly
    # answers from Japan Post and hands out lock-free tokens, which would make the checks below void.
    assert wait_until(lambda: other.healthy, seconds=30), "the other cache did not notice the failover"
    assert cluster.master_of(cache.key(number)) == replica  # the replica took over the slot
    # The lock that survived on the promoted replica was released by its holder on recovery.
    assert other.try_lock(locked, 30) not in (None, NO_REDIS_TOKEN)
    # Cached again: one more carrier request, then cache hits, through another client too.
    fresh = s10.make("EN", 40_000_100)
    assert service.get(fresh).source is Source.CARRIER
    assert service.get(fresh).source is Source.CACHE
    assert lookup(standin, other).get(fresh).source is Source.CACHE
    assert standin.hits(fresh) == 1
