"""CreateLabel throughput with SQLite and with PostgreSQL, through a real gRPC server.

    python bench/labels_bench.py [--count 1000] [--concurrency 16] [--format pdf|zpl] [--backend sqlite|postgres|both]
                           [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Each backend gets a fresh database (a temporary SQLite file; a new PostgreSQL database, dropped
afterwards). The server runs in this process (bootstrap.start on 127.0.0.1:0, request logging
off); `concurrency` client threads send distinct CreateLabel requests. Reports labels per second
and latency percentiles. A second pass replays every request_id (idempotent retries).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import grpc  # noqa: E402
import psycopg  # noqa: E402
from labels_support import proto_request  # noqa: E402

from kokokara.shipping.server import bootstrap  # noqa: E402
from kokokara.shipping.server.settings import Settings  # noqa: E402
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc  # noqa: E402


def run(settings: Settings, count: int, concurrency: int, fmt: int) -> dict[str, float]:
    service = bootstrap.start(settings)
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = labels_pb2_grpc.LabelServiceStub(channel)
            requests = [proto_request(f"bench-{i}", fmt=fmt) for i in range(count)]

            def call(req: labels_pb2.CreateLabelRequest) -> float:
                started = time.perf_counter()
                stub.CreateLabel(req, timeout=60)
                return time.perf_counter() - started

            stub.CreateLabel(proto_request("warm-up", fmt=fmt))
            results = {}
            for name in ("create", "replay"):
                t0 = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    latencies = sorted(pool.map(call, requests))
                elapsed = time.perf_counter() - t0
                results[f"{name}_per_s"] = count / elapsed
                results[f"{name}_p50_ms"] = 1000 * statistics.median(latencies)
                results[f"{name}_p99_ms"] = 1000 * latencies[int(0.99 * (len(latencies) - 1))]
            return results
    finally:
        service.stop(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--format", choices=["pdf", "zpl"], default="pdf")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--database-url", default=os.environ.get("SHIPPING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    fmt = labels_pb2.DOCUMENT_FORMAT_PDF_A6 if args.format == "pdf" else labels_pb2.DOCUMENT_FORMAT_ZPL_4X6
    base = Settings(listen_addr="127.0.0.1:0", log_requests=False, grace_seconds=1.0)
    print(f"CreateLabel, {args.count} labels, {args.concurrency} client threads, {args.format.upper()} documents, {os.cpu_count()} CPUs")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "database_path": Path(tmp) / "bench.sqlite3"})
            report("sqlite", run(settings, args.count, args.concurrency, fmt))
    if args.backend in ("postgres", "both"):
        name = f"labels_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"'.encode())
        try:
            url = urlunparse(urlparse(args.database_url)._replace(path=f"/{name}"))
            settings = Settings(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "database_url": url})
            report("postgres", run(settings, args.count, args.concurrency, fmt))
        finally:
            with psycopg.connect(args.database_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    return 0


def report(backend: str, r: dict[str, float]) -> None:
    print(
        f"  {backend:<9} create {r['create_per_s']:7.0f}/s (p50 {r['create_p50_ms']:6.1f} ms, p99 {r['create_p99_ms']:6.1f} ms)"
        f"   replay {r['replay_per_s']:7.0f}/s (p50 {r['replay_p50_ms']:6.1f} ms, p99 {r['replay_p99_ms']:6.1f} ms)"
    )


if __name__ == "__main__":
    sys.exit(main())
