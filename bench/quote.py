"""Quote benchmarks.

1. In-process: latency of QuoteEngine.quote for one parcel and all five methods over varied real
   carts (p50, p99). Target: p50 <= 50 us. Also the servicer's whole path for the same carts:
   the Python path (request message to response bytes: QuoteEngine.quote and the wire encoding) and the
   compiled quote kernel, which GetQuote uses by default (request bytes to response bytes).
2. Over gRPC: GetQuote throughput against an empty RPC on the same server in the same run, as a
   ratio. The server runs in its own process (bench/_server.py: the real composition root plus one
   empty RPC through the same interceptor); a grpc.aio client keeps a fixed number of calls in
   flight with pre-serialised requests. Target: ratio >= 0.8.

    .venv/bin/python bench/quote.py [--seconds 5] [--concurrency 32] [--workers N] [--connections N] [--servicer-cpu]

By default the server runs as server.py does by default: one worker per core, one port with
SO_REUSEPORT; with several workers the client opens 8 connections so the kernel spreads them.
--workers 1 measures one process (it swings more from run to run: docs/performance.md).

--servicer-cpu also reports the thread CPU time the GetQuote servicer (translation, engine, wire
encoding) takes per call inside the loaded server, to compare with the in-process figure.

Prints a table and one JSON line with every figure.
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
import time
from datetime import date
from pathlib import Path

import grpc

from kokokara.shipping.server.fast import fastquote
from kokokara.shipping.server.servicers.rates import KERNEL_LIMITS, quote_response
from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from kokokara.shipping.v1 import rates_pb2
from rates.model import Parcel, QuoteRequest
from rates.quote import QuoteEngine
from rates.tables import ISO_REGIONS, load_rate_book

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ["US", "GB", "DE", "FR", "AU", "CA", "CN", "KR", "TW", "HK", "SG", "TH", "BR", "ZA", "MX", "NZ", "IT", "ES", "NL", "SE"]
EMPTY = "/kokokara.bench.Bench/Empty"
SERVICER_CPU = "/kokokara.bench.Bench/ServicerCpu"
GET_QUOTE = "/kokokara.shipping.v1.RateService/GetQuote"


def carts(n: int, seed: int = 7) -> list[tuple[str, int, tuple[int, int, int]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        grams = rng.choice([rng.randint(50, 2000), rng.randint(2000, 30000)])
        size = rng.choice([(0, 0, 0), tuple(sorted((rng.randint(100, 600), rng.randint(50, 400), rng.randint(20, 300)), reverse=True))])
        out.append((rng.choice(REGIONS), grams, size))
    return out


def in_process(n: int) -> dict[str, float]:
    engine = QuoteEngine(load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE))
    day = date(2026, 11, 26)
    requests = [QuoteRequest(r, (Parcel(g, *s),), day, day) for r, g, s in carts(1000)]
    for req in requests:  # warm-up
        engine.quote(req)
    samples = []
    clock = time.perf_counter_ns
    for i in range(n):
        req = requests[i % len(requests)]
        t = clock()
        engine.quote(req)
        samples.append(clock() - t)
    samples.sort()
    # What GetQuote's servicer does with the same carts: request message to response bytes
    # (translation, QuoteEngine.quote, wire encoding), without gRPC around it.
    regions = frozenset(ISO_REGIONS)
    messages = [get_quote_request(r, g, s) for r, g, s in carts(1000)]
    for msg in messages:
        quote_response(engine, regions, msg, day)
    path = []
    for i in range(n):
        msg = messages[i % len(messages)]
        t = clock()
        quote_response(engine, regions, msg, day)
        path.append(clock() - t)
    path.sort()
    # The same carts through the compiled quote kernel, as GetQuote serves them by default: request
    # bytes to response bytes (kokokara/shipping/server/fast/fastquote.py).
    kernel_path: list[int] = []
    if fastquote.available():
        fast = fastquote.FastQuotes(engine, regions, KERNEL_LIMITS)
        payloads = [m.SerializeToString() for m in messages]
        for data in payloads:
            assert fast.quote(data, day) is not None
        for i in range(n):
            data = payloads[i % len(payloads)]
            t = clock()
            fast.quote(data, day)
            kernel_path.append(clock() - t)
        kernel_path.sort()
    return {
        "kernel_path_p50_us": kernel_path[len(kernel_path) // 2] / 1000 if kernel_path else float("nan"),
        "kernel_path_p99_us": kernel_path[int(len(kernel_path) * 0.99)] / 1000 if kernel_path else float("nan"),
        "quote_p50_us": samples[len(samples) // 2] / 1000,
        "quote_p99_us": samples[int(len(samples) * 0.99)] / 1000,
        "quote_mean_us": statistics.fmean(samples) / 1000,
        "quote_samples": n,
        "servicer_path_p50_us": path[len(path) // 2] / 1000,
        "servicer_path_p99_us": path[int(len(path) * 0.99)] / 1000,
    }


def get_quote_request(region: str, grams: int, size: tuple[int, int, int]) -> rates_pb2.GetQuoteRequest:
    msg = rates_pb2.GetQuoteRequest(destination_region_code=region)
    msg.parcels.add(weight_grams=grams, length_mm=size[0], width_mm=size[1], height_mm=size[2])
    return msg


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to give the server's CPU per call."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def closed_loop(
    address: str, method: str, payloads: list[bytes], seconds: float, concurrency: int, server_pid: int | list[int], connections: int = 1
) -> dict[str, float]:
    # Several connections let SO_REUSEPORT spread the calls over several workers; each channel
    # gets its own subchannel pool, else grpc would share one connection between them.
    channels = [grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(connections)]
    pids = server_pid if isinstance(server_pid, list) else [server_pid]
    try:
        calls = [channel.unary_unary(method) for channel in channels]
        for k, p in enumerate(payloads[: max(50, 10 * connections)]):
            await calls[k % connections](p)
        latencies: list[int] = []
        stop = time.perf_counter() + seconds
        count = 0

        async def worker(offset: int) -> None:
            nonlocal count
            i = offset
            call = calls[offset % connections]
            clock = time.perf_counter_ns
            while time.perf_counter() < stop:
                t = clock()
                await call(payloads[i % len(payloads)])
                latencies.append(clock() - t)
                count += 1
                i += concurrency

        started = time.perf_counter()
        cpu_before = sum(map(cpu_seconds, pids))
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = sum(map(cpu_seconds, pids)) - cpu_before
    finally:
        for channel in channels:
            await channel.close()
    latencies.sort()
    return {
        "rps": count / elapsed,
        "p50_ms": latencies[len(latencies) // 2] / 1e6,
        "p99_ms": latencies[int(len(latencies) * 0.99)] / 1e6,
        "server_cpu_us_per_call": cpu / count * 1e6,
    }


def servicer_cpu(address: str, workers: int) -> float:
    """Thread CPU per GetQuote inside the servicer, since the last reading, over all workers
    (bench/_server.py --time-servicer). Each call reads and resets one worker's totals, and the
    kernel spreads new connections over the workers, so a few fresh channels reach them all."""
    calls = spent = 0
    seen: set[int] = set()
    for _ in range(20 * workers):
        if len(seen) == workers:
            break
        with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            reply = json.loads(channel.unary_unary(SERVICER_CPU)(b"", timeout=5))
        if reply["calls"]:
            seen.add(reply["pid"])
            calls += reply["calls"]
            spent += reply["ns"]
    return spent / calls / 1000 if calls else float("nan")


def over_grpc(seconds: float, concurrency: int, log_requests: bool, workers: int = 1, connections: int = 1, time_servicer: bool = False) -> dict[str, float]:
    env = {**os.environ, "SHIPPING_LOG_REQUESTS": "true" if log_requests else "false", "SHIPPING_LOG_LEVEL": "WARNING"}
    command = [sys.executable, str(ROOT / "bench" / "_server.py"), "--workers", str(workers), *(["--time-servicer"] if time_servicer else [])]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert server.stdout is not None
        serving = json.loads(server.stdout.readline())
        address, pids = serving["address"], serving["pids"]
        quotes = []
        for region, grams, size in carts(1000):
            quotes.append(get_quote_request(region, grams, size).SerializeToString())
        results: dict[str, float] = {}
        # Alternate the two so drift on a shared machine hits both alike; keep the better of two runs each.
        runs: dict[str, list[dict[str, float]]] = {"empty": [], "quote": []}
        for _ in range(2):
            runs["empty"].append(asyncio.run(closed_loop(address, EMPTY, [b""], seconds, concurrency, pids, connections)))
            runs["quote"].append(asyncio.run(closed_loop(address, GET_QUOTE, quotes, seconds, concurrency, pids, connections)))
            if time_servicer:
                runs["quote"][-1]["servicer_cpu_us_per_call"] = servicer_cpu(address, len(pids))
        for name, rs in runs.items():
            best = max(rs, key=lambda r: r["rps"])
            results.update({f"{name}_{k}": v for k, v in best.items()})
        results["quote_to_empty_ratio"] = results["quote_rps"] / results["empty_rps"]
        return results
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--no-request-log", action="store_true", help="switch off the per-request log line on the server")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server worker processes (default: one per core, as server.py runs by default)"
    )
    parser.add_argument(
        "--servicer-cpu",
        action="store_true",
        help="also time the GetQuote servicer inside the server (thread CPU per call; adds two thread-clock reads and a lock, about 1-2 us, to each GetQuote)",
    )
    parser.add_argument("--connections", type=int, default=0, help="client connections (default: 1, or 8 with several workers)")
    args = parser.parse_args()
    connections = args.connections or (1 if args.workers == 1 else 8)
    figures: dict[str, object] = {"machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, grpcio {grpc.__version__}"}
    figures.update(in_process(args.samples))
    figures["workers"], figures["connections"] = args.workers, connections
    figures.update(over_grpc(args.seconds, args.concurrency, not args.no_request_log, args.workers, connections, args.servicer_cpu))
    print(f"machine                     {figures['machine']}")
    print(f"in-process quote p50 / p99  {figures['quote_p50_us']:.1f} us / {figures['quote_p99_us']:.1f} us  (target p50 <= 50 us)")
    path = f"{figures['servicer_path_p50_us']:.1f} us / {figures['servicer_path_p99_us']:.1f} us"
    print(f"Python path p50 / p99       {path}  (request message to response bytes, in-process)")
    kernel = f"{figures['kernel_path_p50_us']:.1f} us / {figures['kernel_path_p99_us']:.1f} us"
    print(f"kernel path p50 / p99       {kernel}  (request bytes to response bytes, compiled kernel, in-process)")
    print(f"empty RPC                   {figures['empty_rps']:.0f} rps  p50 {figures['empty_p50_ms']:.2f} ms  p99 {figures['empty_p99_ms']:.2f} ms")
    print(f"GetQuote                    {figures['quote_rps']:.0f} rps  p50 {figures['quote_p50_ms']:.2f} ms  p99 {figures['quote_p99_ms']:.2f} ms")
    print(f"GetQuote / empty RPC        {figures['quote_to_empty_ratio']:.2f}  (target >= 0.8; {args.workers} worker(s), {connections} connection(s))")
    print(f"server CPU per call         empty {figures['empty_server_cpu_us_per_call']:.0f} us, GetQuote {figures['quote_server_cpu_us_per_call']:.0f} us")
    if args.servicer_cpu:
        print(f"GetQuote servicer, loaded   {figures['quote_servicer_cpu_us_per_call']:.0f} us thread CPU per call (the quote path inside the server)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
