"""Tracking benchmarks.

1. Throughput of a cached GetTracking against an empty RPC on the same server. The empty RPC is
   the standard health Check (grpc.health.v1.Health/Check): same server, same port, no work. Note
   it bypasses the service's interceptor, which GetTracking goes through (request logging is off,
   SHIPPING_LOG_REQUESTS=false, as for any throughput run). Target: ratio >= 0.8.
2. Latency of an in-process cache hit against a raw redis-py GET of the same encoded answer on the
   local Redis. Both the bare cache (InProcessCache.get) and the whole lookup on a hit
   (TrackingLookup.get) are measured. Target: ratio <= 1.5.

The server runs as its own process (server.py) against the stand-in Japan Post; the load comes
from this process. Run: `make bench-tracking` (or .venv/bin/python bench/tracking_bench.py [--seconds S]).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc  # noqa: E402
from standin.japan_post import StandInJapanPost  # noqa: E402
from tracking.cache import InProcessCache  # noqa: E402
from tracking.japan_post_client import ClientOptions, JapanPostClient  # noqa: E402
from tracking.model import encode  # noqa: E402
from tracking.service import TrackingLookup  # noqa: E402

NUMBER = "EN123456785JP"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def throughput(call: Callable[[], object], threads: int, seconds: float) -> float:
    """Calls per second from `threads` threads calling in a loop for `seconds`."""
    counts = [0] * threads
    stop = threading.Event()

    def work(i: int) -> None:
        n = 0
        while not stop.is_set():
            call()
            n += 1
        counts[i] = n

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - started)


def latency_ns(call: Callable[[], object], n: int) -> float:
    """Median over 7 rounds of the mean time of one call, in nanoseconds."""
    rounds = []
    for _ in range(7):
        started = time.perf_counter_ns()
        for _ in range(n):
            call()
        rounds.append((time.perf_counter_ns() - started) / n)
    return statistics.median(rounds)


def grpc_part(seconds: float, threads: int, standin: StandInJapanPost) -> dict[str, float]:
    port = free_port()
    env = {
        **os.environ,
        "SHIPPING_LISTEN_ADDR": f"127.0.0.1:{port}",
        "SHIPPING_TRACKING_BASE_URL": standin.url,
        "SHIPPING_LOG_REQUESTS": "false",
        "SHIPPING_LOG_LEVEL": "WARNING",
    }
    env.pop("SHIPPING_REDIS_URL", None)
    server = subprocess.Popen([sys.executable, str(REPO / "server.py")], env=env, cwd=REPO)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            health = health_pb2_grpc.HealthStub(channel)
            tracking = tracking_pb2_grpc.TrackingServiceStub(channel)
            check = health_pb2.HealthCheckRequest(service="")
            get = tracking_pb2.GetTrackingRequest(tracking_number=NUMBER)
            for _ in range(100):  # the server answers SERVING once its tables are loaded
                if health.Check(check, timeout=5).status == health_pb2.HealthCheckResponse.SERVING:
                    break
                time.sleep(0.1)
            first = tracking.GetTracking(get, timeout=10)
            assert first.status == tracking_pb2.TRACKING_STATUS_DELIVERED
            assert tracking.GetTracking(get, timeout=10).source == tracking_pb2.TRACKING_SOURCE_CACHE

            def empty() -> object:
                return health.Check(check, timeout=10)

            def cached() -> object:
                return tracking.GetTracking(get, timeout=10)

            throughput(empty, threads, 1.0)  # warm-up
            throughput(cached, threads, 1.0)
            empties, gets = [], []
            for _ in range(3):  # interleaved rounds, medians
                empties.append(throughput(empty, threads, seconds))
                gets.append(throughput(cached, threads, seconds))
            upstream = standin.hits(NUMBER)
    finally:
        server.terminate()
        server.wait(timeout=30)
    e, g = statistics.median(empties), statistics.median(gets)
    return {"empty_rpc_per_s": e, "cached_get_tracking_per_s": g, "ratio": g / e, "upstream_requests": upstream}


def cache_part(redis_url: str, n: int, standin: StandInJapanPost) -> dict[str, float]:
    cache = InProcessCache()
    lookup = TrackingLookup(JapanPostClient(standin.url, ClientOptions(rate_per_second=1000, burst=100)), cache)
    answer = lookup.get(NUMBER)
    assert lookup.get(NUMBER).source.value == "cache"
    r = redis.Redis.from_url(redis_url)
    key = "bench:tracking:" + NUMBER
    r.set(key, encode(answer), ex=300)
    try:
        raw = latency_ns(lambda: r.get(key), n)
        bare = latency_ns(lambda: cache.get(NUMBER), n * 20)
        whole = latency_ns(lambda: lookup.get(NUMBER), n * 20)
    finally:
        r.delete(key)
        r.close()
        lookup.close()
    return {
        "redis_get_ns": raw,
        "in_process_cache_get_ns": bare,
        "lookup_hit_ns": whole,
        "ratio_cache_get": bare / raw,
        "ratio_lookup_hit": whole / raw,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each throughput round")
    parser.add_argument("--threads", type=int, default=8, help="client threads for the throughput rounds")
    parser.add_argument("--redis-url", default=os.environ.get("SHIPPING_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--gets", type=int, default=5000, help="Redis GETs per latency round")
    args = parser.parse_args()

    with StandInJapanPost() as standin:
        rpc = grpc_part(args.seconds, args.threads, standin)
        lat = cache_part(args.redis_url, args.gets, standin)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, grpcio {grpc.__version__}"
    print(f"machine: {machine}")
    print(f"gRPC, {args.threads} client threads, 3 x {args.seconds:g} s rounds (median):")
    print(f"  empty RPC (health Check)       {rpc['empty_rpc_per_s']:10.0f} calls/s")
    print(f"  cached GetTracking             {rpc['cached_get_tracking_per_s']:10.0f} calls/s")
    print(f"  ratio                          {rpc['ratio']:10.2f}   (target >= 0.8)  upstream requests: {rpc['upstream_requests']:.0f}")
    print("latency, median of 7 rounds:")
    print(f"  raw redis-py GET (loopback)    {lat['redis_get_ns'] / 1000:10.2f} us")
    print(f"  in-process cache hit           {lat['in_process_cache_get_ns'] / 1000:10.2f} us   ratio {lat['ratio_cache_get']:.3f}  (target <= 1.5)")
    print(f"  whole lookup on a cache hit    {lat['lookup_hit_ns'] / 1000:10.2f} us   ratio {lat['ratio_lookup_hit']:.3f}")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "tracking.json").write_text(json.dumps({"machine": machine, "args": vars(args), **rpc, **lat}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
