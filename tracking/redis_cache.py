"""The Redis tracking cache: one key per number, a token lock per number, and a fallback when
Redis is down. Works with a single Redis (a URL) or a Redis Cluster (its nodes).

Keys: `<prefix>jp:{<NUMBER>}` holds the encoded answer (PX = keep time); `<prefix>jp:{<NUMBER>}:lock`
holds a random token (SET NX PX), released only by its holder (compare-and-delete in Lua, which
touches the lock key alone). The braces are a Redis Cluster hash tag: both keys of a number hash to
one slot, so they live on one master and fail over together; a single Redis ignores them.

On a cluster, redis-py's cluster client follows MOVED/ASK redirections and, on a connection error or
CLUSTERDOWN, re-reads the slot map and retries a few times; what still fails counts as an outage
below, so a master failing over costs the calls in flight at most a few retries, and the calls
after them are answered straight from Japan Post until the probe sees every master answer again.

When Redis fails, the cache says so once in the log, reports unhealthy (the composition root turns
that into the tracking cache's health status), and behaves as an empty cache whose locks are always
free: lookups go straight to Japan Post (still one at a time per number within the process). A
probe thread pings Redis every `probe_seconds`; when it answers again the cache is used again and
that too is logged once.

The carrier's rate budget is kept here too (`reserve`, for tracking.carrier.SharedRateLimiter), so
every process and replica spends one budget: `<prefix>carrier:budget` holds the theoretical arrival
time of the next lookup (GCRA), moved on by a Lua script on the server's clock, so the processes'
clocks need not agree. While Redis is down the budget is out of reach and each process paces
itself.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from tracking.model import Tracking, decode, encode

log = logging.getLogger("kokokara.shipping.tracking.cache")

_RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
else
    return 0
end
"""
# GCRA: KEYS[1] holds the theoretical arrival time (TAT, microseconds of the server's clock) of the
# next lookup. ARGV: the interval between lookups, the burst's tolerance ((burst - 1) x interval) and
# the longest wait, all in microseconds. Returns the wait in microseconds and moves the TAT on by one
# interval, or -1 (nothing reserved) when the wait would be longer than allowed.
_RESERVE = """
local now_parts = redis.call("time")
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call("get", KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[3]) then return -1 end
local next_tat = tat + interval
redis.call("set", KEYS[1], string.format("%.0f", next_tat), "px", math.floor((next_tat - now) / 1000) + 1000)
return wait
"""
# Handed out as the lock token while Redis is down: the lookup goes ahead without a shared lock.
NO_REDIS_TOKEN = "no-redis"
# What an outage looks like: redis-py errors, plus the cluster client's own (not RedisErrors), e.g.
# "cannot be connected" when no node answers while it re-reads the slot map, or a slot not covered.
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, RedisClusterException, OSError)
MAX_ORPHANS = 10_000
# Tries after the first that the cluster client makes (re-reading the slot map before each) when a
# node refuses, times out or says CLUSTERDOWN, e.g. while a replica is being promoted.
CLUSTER_RETRIES = 2


class RedisTrackingCache:
    def __init__(
        self,
        url: str = "",
        *,
        cluster_nodes: Sequence[tuple[str, int]] = (),
        prefix: str = "kokokara:shipping:tracking:v1:",
        timeout_seconds: float = 0.5,
        probe_seconds: float = 1.0,
        on_health: Callable[[bool], None] | None = None,
    ):
        """`url` for a single Redis, or `cluster_nodes` (some or all of a Redis Cluster's nodes) for
        a cluster; exactly one of them."""
        if bool(url) == bool(cluster_nodes):
            raise ValueError("give either a Redis URL or Redis Cluster nodes")
        if "{" in prefix or "}" in prefix:
            # Redis Cluster hashes the first {...} of a key: braces in the prefix would put every
            # number in one slot (and on one master).
            raise ValueError("the key prefix must not contain braces")
        self._cluster_nodes = tuple(cluster_nodes)
        self._timeout = timeout_seconds
        # A single Redis client connects lazily; a cluster client reads the slot map when built, so
        # it is built by the probe, and stays None until the cluster first answers.
        self._redis: Any = None
        self._release: Any = None
        self._reserve: Any = None
        if url:
            self._use(redis.Redis.from_url(url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds, retry=Retry(NoBackoff(), 0)))
        self._prefix = prefix
        self._on_health = on_health
        self._state = threading.Lock()
        self._up = True
        # Locks this process could not release while Redis was down ({(number, token)}): released
        # (compare-and-delete) when it answers again, before the cache is used, since a lock that
        # survived on a failed-over replica would otherwise stall that number's lookups until PX.
        self._orphans: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._probe_seconds = probe_seconds
        self._probe()  # learn the state now, so a down Redis shows at start-up
        self._thread = threading.Thread(target=self._probe_loop, name="tracking-cache-probe", daemon=True)
        self._thread.start()

    # --- health -----------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self._up

    def _mark(self, up: bool, problem: BaseException | None = None) -> None:
        with self._state:
            if self._up == up:
                return
            self._up = up
        if up:
            log.warning("redis is back: tracking cache in use again")
        else:
            log.error("redis is unavailable: answering tracking straight from Japan Post until it returns", extra={"problem": repr(problem)})
        if self._on_health is not None:
            self._on_health(up)

    def _use(self, client: Any) -> None:
        self._release = client.register_script(_RELEASE)
        self._reserve = client.register_script(_RESERVE)
        self._redis = client

    def _connect_cluster(self) -> None:
        client = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in self._cluster_nodes],
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), CLUSTER_RETRIES),
        )
        self._use(client)

    def _probe(self) -> None:
        try:
            if self._cluster_nodes:
                self._probe_cluster()
            else:
                self._redis.ping()
            self._release_orphans()
        except REDIS_ERRORS as error:
            self._mark(False, error)
        else:
            self._mark(True)

    def _release_orphans(self) -> None:
        with self._state:
            orphans, self._orphans = self._orphans, set()
        try:
            while orphans:
                number, token = next(iter(orphans))
                self._release(keys=[self.key(number) + ":lock"], args=[token])
                orphans.discard((number, token))
        finally:
            with self._state:
                self._orphans |= orphans

    def _probe_cluster(self) -> None:
        """Every master answers and says the cluster is ok (a master that failed and has not been
        replaced yet fails this, and a failed-over one is dropped from the client's slot map here:
        its connection error makes the client re-read the map and ask the new masters)."""
        if self._redis is None:
            self._connect_cluster()
        infos = self._redis.cluster_info(target_nodes=RedisCluster.PRIMARIES)
        if "cluster_state" in infos:  # one master: the answer itself rather than one per node
            infos = {"": infos}
        bad = sorted(node for node, info in infos.items() if info.get("cluster_state") != "ok")
        if bad:
            raise redis.exceptions.ClusterDownError(f"cluster state not ok on {', '.join(bad)}")

    def _probe_loop(self) -> None:
        while not self._stop.wait(self._probe_seconds):
            self._probe()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._redis is not None:
            self._redis.close()

    # --- the cache --------------------------------------------------------------------------

    def key(self, number: str) -> str:
        """The key holding `number`'s answer; its lock is this + ":lock" (same hash slot)."""
        return f"{self._prefix}jp:{{{number}}}"

    def get(self, number: str) -> Tracking | None:
        if not self._up:
            return None
        try:
            data = self._redis.get(self.key(number))
        except REDIS_ERRORS as error:
            self._mark(False, error)
            return None
        if data is None:
            return None
        try:
            return decode(data)  # type: ignore[arg-type]
        except ValueError as error:
            log.warning("unreadable tracking cache entry ignored", extra={"tracking_number": number, "problem": str(error)})
            return None

    def put(self, number: str, tracking: Tracking, keep_seconds: float) -> None:
        if not self._up:
            return
        try:
            self._redis.set(self.key(number), encode(tracking), px=max(1, int(keep_seconds * 1000)))
        except REDIS_ERRORS as error:
            self._mark(False, error)

    def try_lock(self, number: str, ttl_seconds: float) -> str | None:
        if not self._up:
            return NO_REDIS_TOKEN
        token = secrets.token_hex(16)
        try:
            taken = self._redis.set(self.key(number) + ":lock", token, nx=True, px=max(1, int(ttl_seconds * 1000)))
        except REDIS_ERRORS as error:
            self._mark(False, error)
            return NO_REDIS_TOKEN
        return token if taken else None

    def reserve(self, rate: float, burst: int, max_wait: float) -> float | None:
        """The carrier budget shared by the fleet (tracking.carrier.SharedBudget): seconds to wait for
        the next lookup's slot, -1.0 when longer than `max_wait`, None while Redis is down."""
        if not self._up or self._reserve is None:
            return None
        interval = 1_000_000 / rate
        try:
            wait = self._reserve(keys=[self._prefix + "carrier:budget"], args=[round(interval), round(interval * (burst - 1)), round(max_wait * 1_000_000)])
        except REDIS_ERRORS as error:
            self._mark(False, error)
            return None
        return -1.0 if int(wait) < 0 else int(wait) / 1_000_000

    def unlock(self, number: str, token: str) -> None:
        if token == NO_REDIS_TOKEN:
            return
        if self._up:
            try:
                self._release(keys=[self.key(number) + ":lock"], args=[token])
                return
            except REDIS_ERRORS as error:
                self._mark(False, error)
        # Released once Redis answers again (or it expires on its own, PX); bounded, since a long
        # outage takes no new locks.
        with self._state:
            if len(self._orphans) < MAX_ORPHANS:
                self._orphans.add((number, token))
