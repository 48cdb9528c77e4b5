"""Load harness: closed-loop load at a fixed concurrency against the real server, every figure also
given as a ratio to two floors measured on the same server in the same run: our own empty RPC,
which passes the same threads and interceptors as the real RPCs, and grpc.health.v1.Health/Check,
which passes neither (the floor a user's server has: bench/h2load_floor.py measures it with h2load).

    .venv/bin/python bench/load.py [--workers 1,2] [--seconds 5] [--clients 2] [--concurrency 64]
                                   [--scenarios empty,get_quote,batch,tracking,create_label,mix]
                                   [--startup-runs 3] [--no-request-log]
                                   [--pairs N] [--scaling-pairs N] [--pin-pairs N] [--pair-seconds 2]
                                   [--driver h2|aio] [--pin-cpus]

The server is bench/_server.py: the composition root (bootstrap.start) plus the empty RPC
/kokokara.bench.Bench/Empty added through `extra_handlers`, so it passes the same threads and
interceptor as the real RPCs; with N workers it runs under the same supervisor as server.py.
The server runs with `make run`'s settings: request logging on, at INFO (--no-request-log turns it
off), its log written to a file; only CPU pinning is fixed (see --pin-cpus).

The load comes from --clients processes (spawned, each with --connections TCP connections and its
own event loop), --concurrency calls in flight in total, each sending requests
serialised before the clock starts. On a 2-core machine the clients compete with the server for
the cores: the harness reports the CPU the server and the clients used in each run. The clients are
bench/h2_client.py (the same closed loop on pre-built HTTP/2 frames, at about half of grpc.aio's
client CPU a call, so they take less of the server's cores); --driver aio uses grpc.aio channels
instead. --pin-cpus serves with SHIPPING_PIN_CPUS=true (each worker on a CPU of its own), else false: never
the server's default, auto, which would pin 2 workers on 2 CPUs and not 1, so 1 and 2 compare alike.

Scenarios:
- empty         the empty RPC (the transport's and interceptors' own limit); run first and last, ratios use the mean
- (health)      grpc.health.v1.Health/Check, run after the first empty and before the last; the
                "x health" column divides by their mean
- get_quote     GetQuote on 20,000 distinct carts (1-3 parcels, every served destination, weights
                and sizes from letters to 30 kg boxes): no cache could serve them
- batch         BatchGetQuotes of 100 such carts each; reported also in quotes/s
- tracking      GetTracking of 200 numbers already cached in every worker's in-process cache,
                against the stand-in Japan Post (standin/japan_post.py) run by this script
- create_label  CreateLabel (SQLite, PDF), each request a new request_id
- mix           70% GetQuote, 10% BatchGetQuotes of 10, 15% cached GetTracking, 5% CreateLabel

--pairs N alternates the empty RPC, the health check and GetQuote N times on each server. --scaling-pairs N runs a
1-worker and a 2-worker server side by side (the idle one takes next to no CPU) and alternates
short runs of every scenario between them, N pairs each: the machine's drift, which moves the empty
RPC by 30% within a minute here, then falls on both halves of a pair, as it does not on runs a
minute apart. --pin-pairs N does the same with a pinned and an unpinned server of each worker
count. All print the median ratio of the pairs and their range.

Writes bench/results/load.json (--out); docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import grpc  # noqa: E402

from domain import s10  # noqa: E402
from kokokara.shipping.v1 import common_pb2, labels_pb2, rates_pb2, tracking_pb2  # noqa: E402

EMPTY = "/kokokara.bench.Bench/Empty"
HEALTH = "/grpc.health.v1.Health/Check"
GET_QUOTE = "/kokokara.shipping.v1.RateService/GetQuote"
BATCH = "/kokokara.shipping.v1.RateService/BatchGetQuotes"
GET_TRACKING = "/kokokara.shipping.v1.TrackingService/GetTracking"
CREATE_LABEL = "/kokokara.shipping.v1.LabelService/CreateLabel"
SCENARIOS = ["empty", "get_quote", "batch", "tracking", "create_label", "mix"]
BATCH_SIZE = 100
TRACKED = 200
TRACKING_SCENARIOS = ["delivered", "in_transit", "in_customs", "returned"]
Call = tuple[int, bytes]  # (index into the methods list, serialised request)


# --- requests ------------------------------------------------------------------------------


def served_regions() -> list[str]:
    from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
    from rates.tables import load_rate_book

    return sorted(load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE).served_regions())


def random_cart(rng: random.Random, regions: list[str], msg: rates_pb2.GetQuoteRequest) -> rates_pb2.GetQuoteRequest:
    msg.destination_region_code = rng.choice(regions)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.random()
        if kind < 0.35:  # letters and small packets
            grams, size = rng.randint(20, 2000), (rng.randint(140, 600), rng.randint(90, 400), rng.randint(5, 100))
        elif kind < 0.85:  # boxes
            grams, size = rng.randint(500, 12_000), (rng.randint(150, 800), rng.randint(100, 500), rng.randint(50, 400))
        else:  # heavy, size unknown
            grams, size = rng.randint(5_000, 30_000), (0, 0, 0)
        length, width, height = sorted(size, reverse=True)
        msg.parcels.add(weight_grams=grams, length_mm=length, width_mm=width, height_mm=height)
    if rng.random() < 0.2:
        msg.declared_value.currency_code = "JPY"
        msg.declared_value.units = rng.randint(1000, 200_000)
    return msg


def quote_payloads(n: int, regions: list[str], seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [random_cart(rng, regions, rates_pb2.GetQuoteRequest()).SerializeToString() for _ in range(n)]


def batch_payloads(n: int, size: int, regions: list[str], seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        batch = rates_pb2.BatchGetQuotesRequest()
        for _ in range(size):
            random_cart(rng, regions, batch.requests.add())
        out.append(batch.SerializeToString())
    return out


def tracking_numbers() -> list[str]:
    return [s10.make("EN", 81_000_000 + i) for i in range(TRACKED)]


def label_payloads(n: int, run: str, client: int, regions: list[str], seed: int) -> list[bytes]:
    from labels_support import proto_request

    rng = random.Random(seed)
    # Goods to the US are refused since 2025-08-27 (acceptance rules): labels go elsewhere.
    templates = {r: proto_request("x", region=r, fmt=labels_pb2.DOCUMENT_FORMAT_PDF_A6) for r in ("GB", "DE", "FR", "AU", "CA", "SG", "NZ")}
    out = []
    for i in range(n):
        template = templates[rng.choice(sorted(templates))]
        template.request_id = f"load-{run}-{client}-{i}"
        template.method = common_pb2.SHIPPING_METHOD_EMS
        template.parcel.weight_grams = rng.randint(900, 5000)
        out.append(template.SerializeToString())
    return out


def scenario_calls(scenario: str, clients: int, budget: int, regions: list[str], run: str) -> tuple[list[str], list[list[Call]]]:
    """The methods and, per client, the calls to send in order (long enough for the run: CreateLabel
    requests must not repeat)."""
    per_client: list[list[Call]] = []
    if scenario == "empty":
        return [EMPTY], [[(0, b"")] for _ in range(clients)]
    if scenario == "health":  # an empty HealthCheckRequest: the server as a whole
        return [HEALTH], [[(0, b"")] for _ in range(clients)]
    if scenario == "get_quote":
        quotes = quote_payloads(20_000, regions, seed=1)
        return [GET_QUOTE], [[(0, q) for q in quotes[c::clients]] for c in range(clients)]
    if scenario == "batch":
        batches = batch_payloads(200, BATCH_SIZE, regions, seed=2)
        return [BATCH], [[(0, b) for b in batches[c::clients]] for c in range(clients)]
    tracking = [tracking_pb2.GetTrackingRequest(tracking_number=n).SerializeToString() for n in tracking_numbers()]
    if scenario == "tracking":
        return [GET_TRACKING], [[(0, t) for t in tracking[c::clients] * 2] for c in range(clients)]
    if scenario == "create_label":
        return [CREATE_LABEL], [[(0, p) for p in label_payloads(budget, run, c, regions, seed=c)] for c in range(clients)]
    if scenario == "mix":
        methods = [GET_QUOTE, BATCH, GET_TRACKING, CREATE_LABEL]
        quotes = quote_payloads(10_000, regions, seed=3)
        batches = batch_payloads(300, 10, regions, seed=4)
        for c in range(clients):
            rng = random.Random(100 + c)
            labels = iter(label_payloads(budget // 20 + 100, run, c, regions, seed=50 + c))
            calls: list[Call] = []
            for _ in range(budget):
                r = rng.random()
                if r < 0.70:
                    calls.append((0, rng.choice(quotes)))
                elif r < 0.80:
                    calls.append((1, rng.choice(batches)))
                elif r < 0.95:
                    calls.append((2, rng.choice(tracking)))
                else:
                    calls.append((3, next(labels)))
            per_client.append(calls)
        return methods, per_client
    raise ValueError(scenario)


# --- the client processes --------------------------------------------------------------------

WARM_UP = 30


def client_process(
    address: str, methods: list[str], calls: list[Call], concurrency: int, start_at: float, seconds: float, wrap: bool, connections: int, driver: str = "h2"
) -> dict[str, Any]:
    if driver == "h2":
        import h2_client

        return h2_client.run(h2_client.Plan(address, methods, calls, concurrency, connections, start_at, seconds, wrap, WARM_UP))
    return asyncio.run(_client(address, methods, calls, concurrency, start_at, seconds, wrap, connections))


async def _client(
    address: str, methods: list[str], calls: list[Call], concurrency: int, start_at: float, seconds: float, wrap: bool, connections: int
) -> dict[str, Any]:
    # Several connections per client process: SO_REUSEPORT hashes each new connection to a worker,
    # so with one connection per client two clients land on the same worker half the time.
    channels = [grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(connections)]
    try:
        return await _load(channels, methods, calls, concurrency, start_at, seconds, wrap)
    finally:
        for channel in channels:
            await channel.close()


async def _load(
    channels: list[grpc.aio.Channel], methods: list[str], calls: list[Call], concurrency: int, start_at: float, seconds: float, wrap: bool
) -> dict[str, Any]:
    by_channel = [[channel.unary_unary(m) for m in methods] for channel in channels]
    # warm-up on the first calls (a repeating list starts again at 0; CreateLabel ids are not reused)
    for k, (m, payload) in enumerate(calls[:WARM_UP]):
        await by_channel[k % len(by_channel)][m](payload, timeout=30)
    late = time.time() - start_at
    await asyncio.sleep(max(0.0, start_at - time.time()))
    latencies = [array("q") for _ in methods]
    errors: Counter[str] = Counter()
    position = 0 if wrap else WARM_UP
    clock = time.perf_counter_ns
    deadline = clock() + int(seconds * 1e9)
    exhausted = False

    async def worker(index: int) -> None:
        nonlocal position, exhausted
        stubs = by_channel[index % len(by_channel)]
        while True:
            begun = clock()
            if begun >= deadline:
                return
            if position >= len(calls):
                if not wrap:
                    exhausted = True
                    return
                position = 0
            m, payload = calls[position]
            position += 1
            try:
                await stubs[m](payload, timeout=60)
            except grpc.aio.AioRpcError as error:
                errors[f"{methods[m].rsplit('/', 1)[1]} {error.code().name}"] += 1
                continue
            latencies[m].append(clock() - begun)

    cpu = time.process_time()
    started = clock()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = (clock() - started) / 1e9
    return {
        "elapsed": elapsed,
        "latencies": [lat.tobytes() for lat in latencies],
        "errors": dict(errors),
        "cpu": time.process_time() - cpu,
        "late": late,
        "exhausted": exhausted,
    }


# --- the server ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"rss_mb": int(status["VmRSS"].split()[0]) / 1024, "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024}


class BenchServer:
    def __init__(self, workers: int, standin_url: str, db_dir: Path, request_log: bool, pin_cpus: bool = False):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SHIPPING_")},  # make run's defaults
            "SHIPPING_PIN_CPUS": "true" if pin_cpus else "false",
            "SHIPPING_LOG_REQUESTS": "true" if request_log else "false",
            "SHIPPING_DATABASE_PATH": str(db_dir / f"labels-{workers}w.sqlite3"),
            "SHIPPING_TRACKING_BASE_URL": standin_url,
            "SHIPPING_TRACKING_RATE_PER_SECOND": "10000",
            "SHIPPING_TRACKING_RATE_BURST": "10000",
            "PYTHONPATH": str(REPO),
        }
        # The in-process cache (no SHIPPING_REDIS_URL), as make run. The log, one line per call, goes
        # to a file as a terminal would take it, not to the harness's output.
        self.log = (db_dir / f"server-{workers}w-{time.monotonic_ns()}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "_server.py"), "--workers", str(workers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        hello = json.loads(self.proc.stdout.readline())
        self.address: str = hello["address"]
        self.pids: list[int] = hello["pids"]

    def cpu_by_worker(self) -> list[float]:
        return [cpu_seconds(p) for p in self.pids]

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.log.close()


def warm_tracking(address: str, connections: int = 12) -> None:
    """Fetches every tracked number over many fresh connections, so every worker has them cached."""
    import grpc as sync_grpc

    from kokokara.shipping.v1 import tracking_pb2_grpc

    for _ in range(connections):
        with sync_grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
            stub = tracking_pb2_grpc.TrackingServiceStub(ch)
            for number in tracking_numbers():
                stub.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=number), timeout=30)


def percentile(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return float("nan")
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1e6


def run_scenario(
    pool: ProcessPoolExecutor, server: BenchServer, scenario: str, args: argparse.Namespace, regions: list[str], run: str, standin: Any
) -> dict[str, Any]:
    budget = int(args.seconds * 3000) + WARM_UP + 100
    methods, per_client = scenario_calls(scenario, args.clients, budget, regions, run)
    wrap = scenario not in ("create_label", "mix")
    per_client_concurrency = max(1, args.concurrency // args.clients)
    start_at = time.time() + 1.0 + 0.2 * args.clients
    futures = [
        pool.submit(client_process, server.address, methods, calls, per_client_concurrency, start_at, args.seconds, wrap, args.connections, args.driver)
        for calls in per_client
    ]
    time.sleep(max(0.0, start_at - time.time()))
    upstream_before = standin.hits()
    cpu_before, wall_before = server.cpu_by_worker(), time.perf_counter()
    results = [f.result() for f in futures]
    cpu_by_worker = [after - before for before, after in zip(cpu_before, server.cpu_by_worker(), strict=True)]
    server_cpu = sum(cpu_by_worker)
    wall = time.perf_counter() - wall_before
    elapsed = max(r["elapsed"] for r in results)
    per_method: dict[str, Any] = {}
    total = 0
    for m, method in enumerate(methods):
        lat: list[int] = sorted(x for r in results for x in array("q", r["latencies"][m]))
        count = len(lat)
        total += count
        per_method[method.rsplit("/", 1)[1]] = {
            "calls": count,
            "rps": sum(len(array("q", r["latencies"][m])) / r["elapsed"] for r in results),
            "p50_ms": percentile(lat, 0.50),
            "p90_ms": percentile(lat, 0.90),
            "p99_ms": percentile(lat, 0.99),
            "p999_ms": percentile(lat, 0.999),
        }
    rps = sum(sum(len(array("q", x)) for x in r["latencies"]) / r["elapsed"] for r in results)
    all_lat = sorted(x for r in results for lat_bytes in r["latencies"] for x in array("q", lat_bytes))
    figures: dict[str, Any] = {
        "scenario": scenario,
        "rps": rps,
        "calls": total,
        "p50_ms": percentile(all_lat, 0.50),
        "p90_ms": percentile(all_lat, 0.90),
        "p99_ms": percentile(all_lat, 0.99),
        "p999_ms": percentile(all_lat, 0.999),
        "errors": dict(sum((Counter(r["errors"]) for r in results), Counter())),
        "server_cpu_cores": server_cpu / wall,
        "server_cpu_cores_by_worker": [round(c / wall, 2) for c in cpu_by_worker],
        "client_cpu_cores": sum(r["cpu"] for r in results) / elapsed,
        "server_cpu_us_per_call": server_cpu / max(1, total) * 1e6,
        "client_started_late_s": max(0.0, max(r["late"] for r in results)),
        "labels_ran_out": any(r["exhausted"] for r in results),
        "upstream_fetches": standin.hits() - upstream_before,
        "load_average_1m": os.getloadavg()[0],
    }
    if len(methods) > 1:
        figures["per_method"] = per_method
    if scenario == "batch":
        figures["quotes_per_s"] = rps * BATCH_SIZE
    return figures


def short_runs(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments with each run --pair-seconds long, for the alternated pairs."""
    return argparse.Namespace(**{**vars(args), "seconds": args.pair_seconds})


def spread(values: list[float]) -> str:
    """The median of some pairs' ratios and their range, as printed."""
    ordered = sorted(values)
    return f"median {statistics.median(ordered):.2f} ({ordered[0]:.2f}-{ordered[-1]:.2f})" if ordered else "no pair counted"


def warm_for(server: BenchServer, scenarios: list[str]) -> None:
    """Caches the tracked numbers in every worker when a scenario will ask for them."""
    if "tracking" in scenarios or "mix" in scenarios:
        warm_tracking(server.address)


def alternated_pairs(
    pool: ProcessPoolExecutor, server: BenchServer, args: argparse.Namespace, regions: list[str], run: str, standin: Any
) -> dict[str, list[float]]:
    """GetQuote's throughput over the empty RPC's and over the health check's, measured as groups of
    short runs taken one right after the other: the machine's drift (the empty RPC alone moves by
    30% within a minute here) then hits every run of a group alike, which a ratio to runs a minute
    apart does not."""
    short = short_runs(args)
    ratios: dict[str, list[float]] = {"empty": [], "health": []}
    for i in range(args.pairs):  # every other group starts with GetQuote, so a steady drift cancels out
        order = ("empty", "health", "get_quote") if i % 2 == 0 else ("get_quote", "health", "empty")
        found = {name: run_scenario(pool, server, name, short, regions, f"{run}-p{i}{name}", standin) for name in order}
        for floor in ratios:
            ratios[floor].append(found["get_quote"]["rps"] / found[floor]["rps"])
    return ratios


def side_by_side_pairs(
    pool: ProcessPoolExecutor,
    base: BenchServer,
    other: BenchServer,
    pairs: int,
    scenarios: list[str],
    args: argparse.Namespace,
    regions: list[str],
    run: str,
    standin: Any,
) -> dict[str, list[float]]:
    """Throughput of `other` over `base`, per scenario, from pairs of short runs taken back to back
    on two servers running side by side (each pair alternates which goes first, so a steady drift
    cancels out)."""
    short = short_runs(args)
    ratios: dict[str, list[float]] = {name: [] for name in ["empty", *scenarios]}
    for i in range(pairs):
        for name in ratios:
            order = (("base", base), ("other", other)) if i % 2 == 0 else (("other", other), ("base", base))
            runs = {side: run_scenario(pool, server, name, short, regions, f"{run}-s{i}{name}{side}", standin) for side, server in order}
            spoilt = {side: f["errors"] for side, f in runs.items() if f["labels_ran_out"] or f["errors"]}
            if spoilt:
                print(f"  pair {i} {name}: ran out of label requests or had errors {spoilt}; not counted")
                continue
            ratios[name].append(runs["other"]["rps"] / runs["base"]["rps"])
    return ratios


def print_pairs(title: str, found: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    for name, values in found.items():
        print(f"  {name:<18} {spread(values)}")


def startup_times(workers: int, runs: int, db_dir: Path) -> dict[str, float]:
    """Seconds from starting `server.py --workers N` to its "serving" log line (every worker SERVING)."""
    times = []
    for i in range(runs):
        env = {**os.environ, "SHIPPING_LOG_LEVEL": "INFO", "SHIPPING_DATABASE_PATH": str(db_dir / f"startup-{workers}-{i}.sqlite3")}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "server.py"), "--listen", "127.0.0.1:0", "--workers", str(workers)], env=env, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("{") and json.loads(line)["message"] == "serving":
                times.append(time.perf_counter() - started)
                break
        proc.terminate()
        proc.wait(timeout=30)
    return {"min_s": min(times), "median_s": sorted(times)[len(times) // 2], "max_s": max(times), "runs": len(times)}


# --- main ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import google.protobuf

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "protobuf": google.protobuf.__version__,
        "kernel": platform.release(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to measure (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured run")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight, over all clients")
    parser.add_argument("--connections", type=int, default=8, help="connections (channels) per client process")
    parser.add_argument(
        "--driver",
        choices=("h2", "aio"),
        default="h2",
        help="load client: bench/h2_client.py's pre-built HTTP/2 frames (the default: half of grpc.aio's client CPU a call), or grpc.aio channels",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument(
        "--request-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the per-request log line, on by default as in make run (--no-request-log: off)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="also alternate the empty RPC, the health check and GetQuote this many times (--pair-seconds each) and give the median ratios",
    )
    parser.add_argument(
        "--scaling-pairs",
        type=int,
        default=0,
        help="also run the first and last worker counts side by side and alternate every scenario between them this many times (--pair-seconds each)",
    )
    parser.add_argument("--pair-seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "load.json", help="where the figures go (default %(default)s)")
    parser.add_argument(
        "--pin-cpus",
        action="store_true",
        help="serve with SHIPPING_PIN_CPUS=true, every worker on a CPU of its own (else false, never auto: 1 and 2 workers are compared alike)",
    )
    parser.add_argument(
        "--pin-pairs",
        type=int,
        default=0,
        help="also run, for each worker count, a pinned and an unpinned server side by side and alternate every scenario between them this many times",
    )
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s != "empty"]
    worker_counts = [int(w) for w in args.workers.split(",")]

    from standin.japan_post import StandInJapanPost

    regions = served_regions()
    report: dict[str, Any] = {"machine": machine(), "args": vars(args), "command": " ".join(sys.argv), "runs": {}}
    run_id = f"{int(time.time())}"
    with tempfile.TemporaryDirectory() as tmp, StandInJapanPost() as standin, ProcessPoolExecutor(args.clients, mp_context=get_context("spawn")) as pool:
        for k, number in enumerate(tracking_numbers()):
            standin.set_scenario(number, TRACKING_SCENARIOS[k % len(TRACKING_SCENARIOS)])
        for workers in worker_counts:
            server = BenchServer(workers, standin.url, Path(tmp), args.request_log, args.pin_cpus)
            try:
                idle = {str(p): rss_mb(p) for p in server.pids}
                warm_for(server, scenarios)
                rows = [run_scenario(pool, server, "empty", args, regions, f"{run_id}-{workers}-e0", standin)]
                health = [run_scenario(pool, server, "health", args, regions, f"{run_id}-{workers}-h0", standin)]
                for scenario in scenarios:
                    rows.append(run_scenario(pool, server, scenario, args, regions, f"{run_id}-{workers}-{scenario}", standin))
                health.append(run_scenario(pool, server, "health", args, regions, f"{run_id}-{workers}-h1", standin))
                rows.append(run_scenario(pool, server, "empty", args, regions, f"{run_id}-{workers}-e1", standin))
                pairs = alternated_pairs(pool, server, args, regions, f"{run_id}-{workers}", standin) if args.pairs else None
                loaded = {str(p): rss_mb(p) for p in server.pids}
            finally:
                server.stop()
            empty_rps = (rows[0]["rps"] + rows[-1]["rps"]) / 2
            health_rps = (health[0]["rps"] + health[-1]["rps"]) / 2
            for row in rows + health:
                row["ratio_to_empty"] = row["rps"] / empty_rps
                row["ratio_to_health"] = row["rps"] / health_rps
            report["runs"][str(workers)] = {
                "scenarios": rows,
                "health": health,
                "rss_idle": idle,
                "rss_after": loaded,
                "empty_rps_mean": empty_rps,
                "health_rps_mean": health_rps,
                "pairs": pairs["empty"] if pairs else None,
                "pairs_health": pairs["health"] if pairs else None,
            }
            print_table(workers, [rows[0], health[0], *rows[1:-1], health[1], rows[-1]], idle, loaded)
            if pairs:
                print(f"  GetQuote / empty over {args.pairs} alternated groups of {args.pair_seconds:g} s: {spread(pairs['empty'])}")
                print(f"  GetQuote / health check over the same groups: {spread(pairs['health'])}")
        if args.scaling_pairs and len(worker_counts) > 1:
            ends = (worker_counts[0], worker_counts[-1])
            servers = {w: BenchServer(w, standin.url, Path(tmp), args.request_log, args.pin_cpus) for w in ends}
            try:
                for server in servers.values():
                    warm_for(server, scenarios)
                found = side_by_side_pairs(pool, servers[ends[0]], servers[ends[1]], args.scaling_pairs, scenarios, args, regions, f"{run_id}-pairs", standin)
            finally:
                for server in servers.values():
                    server.stop()
            report["scaling_pairs"] = found
            print_pairs(
                f"{ends[1]} workers / {ends[0]} worker over {args.scaling_pairs} alternated pairs of {args.pair_seconds:g} s (servers side by side):", found
            )
        if args.pin_pairs:
            report["pin_pairs"] = {}
            for workers in worker_counts:
                unpinned = BenchServer(workers, standin.url, Path(tmp), args.request_log, False)
                pinned = BenchServer(workers, standin.url, Path(tmp), args.request_log, True)
                try:
                    for server in (unpinned, pinned):
                        warm_for(server, scenarios)
                    found = side_by_side_pairs(pool, unpinned, pinned, args.pin_pairs, scenarios, args, regions, f"{run_id}-pin{workers}", standin)
                finally:
                    unpinned.stop()
                    pinned.stop()
                report["pin_pairs"][str(workers)] = found
                print_pairs(
                    f"{workers} worker(s), pinned / not pinned over {args.pin_pairs} alternated pairs of {args.pair_seconds:g} s (servers side by side):", found
                )
        report["startup"] = {str(w): startup_times(w, args.startup_runs, Path(tmp)) for w in worker_counts} if args.startup_runs else {}
    if len(worker_counts) > 1:
        one, many = report["runs"][str(worker_counts[0])]["scenarios"], report["runs"][str(worker_counts[-1])]["scenarios"]
        scale = {
            a["scenario"] + ("" if i else "_first") + ("_last" if i == len(one) - 1 else ""): b["rps"] / a["rps"]
            for i, (a, b) in enumerate(zip(one, many, strict=True))
        }
        report["scaling"] = scale
        print(f"\n{worker_counts[-1]} workers / {worker_counts[0]} worker, throughput:")
        for name, value in scale.items():
            print(f"  {name:<18} {value:5.2f}x")
    for w, s in report["startup"].items():
        print(f"start-up to serving, {w} worker(s): median {s['median_s']:.2f} s (min {s['min_s']:.2f}, max {s['max_s']:.2f}, {s['runs']} runs)")
    print(f"machine: {report['machine']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {args.out}")
    return 0


def print_table(workers: int, rows: list[dict[str, Any]], idle: dict[str, Any], loaded: dict[str, Any]) -> None:
    print(f"\n{workers} worker(s)")
    header = f"{'scenario':<14}{'calls/s':>10}{'x empty':>9}{'x health':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'p99.9':>9}"
    print(header + f"{'srv cpu':>9}{'cli cpu':>9}{'load1':>7}  notes")
    for r in rows:
        notes = []
        if "quotes_per_s" in r:
            notes.append(f"{r['quotes_per_s']:,.0f} quotes/s")
        if r["errors"]:
            notes.append(f"errors {r['errors']}")
        if r["upstream_fetches"]:
            notes.append(f"{r['upstream_fetches']} Japan Post fetches")
        if len(r["server_cpu_cores_by_worker"]) > 1:
            notes.append(f"cpu by worker {r['server_cpu_cores_by_worker']}")
        if r["labels_ran_out"]:
            notes.append("ran out of label requests")
        for name, pm in r.get("per_method", {}).items():
            notes.append(f"{name} {pm['rps']:.0f}/s p99 {pm['p99_ms']:.1f} ms")
        print(
            f"{r['scenario']:<14}{r['rps']:>10.0f}{r['ratio_to_empty']:>9.2f}{r['ratio_to_health']:>9.2f}{r['p50_ms']:>9.2f}{r['p90_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['p999_ms']:>9.2f}"
            f"{r['server_cpu_cores']:>9.2f}{r['client_cpu_cores']:>9.2f}{r['load_average_1m']:>7.2f}  {'; '.join(notes)}"
        )
    for pid in idle:
        print(f"  worker {pid}: RSS idle {idle[pid]['rss_mb']:.0f} MB, after load {loaded[pid]['rss_mb']:.0f} MB (peak {loaded[pid]['peak_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    raise SystemExit(main())
