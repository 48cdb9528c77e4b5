"""Watched parcels: what scheduling and polling 10,000 parcels costs the store, and how many
webhook deliveries a second one process sends, on SQLite and on PostgreSQL (alternated runs,
medians).

1. schedule: register 10,000 parcels (one transaction; first polls spread over the first minute).
2. poll: claim every due parcel and record its poll (state, events, one delivery per event) with a
   lookup answering at once from memory: the store's share of a poll, without Japan Post (whose
   rate limit, not the store, paces real polls: 10,000 parcels at 0.5 lookups a second is 5.6 h).
3. deliver: send the 4 events of 1,000 parcels (4,000 signed POSTs) to a loopback receiver through
   the real webhook client, with the sender's threads.

    .venv/bin/python bench/watch_bench.py [--parcels 10000] [--deliveries-parcels 1000] [--repeat 3] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Prints a table and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.s10 import make
from tracking.model import Event, Product, Source, Status, Tracking
from tracking.watch import WatchPolicy
from tracking.watch_service import WatchOptions, WatchService
from tracking.watch_store import Endpoint, WatchStore
from tracking.webhook_client import WebhookClient


def answer(number: str) -> Tracking:
    now = datetime.now(UTC)
    events = tuple(Event("03/01/2026 10:15", None, f"line {i}", Status.IN_TRANSIT) for i in range(3))
    return Tracking(number, Product.PARCEL, Status.IN_TRANSIT, False, events, "Parcel", now, Source.CARRIER, now)


@contextmanager
def open_store(kind: str, database_url: str) -> Iterator[WatchStore]:
    if kind == "sqlite":
        from tracking.watch_sqlite import SqliteWatchStore

        with tempfile.TemporaryDirectory() as tmp:
            store: WatchStore = SqliteWatchStore(Path(tmp) / "watch.sqlite3")
            try:
                yield store
            finally:
                store.close()
        return
    import psycopg

    from tracking.watch_postgres import PostgresWatchStore

    name = f"watch_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    url = urlunparse(urlparse(database_url)._replace(path=f"/{name}"))
    try:
        store = PostgresWatchStore(url)
        try:
            yield store
        finally:
            store.close()
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


class Receiver:
    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def drain(step: Callable[[], int]) -> int:
    total = 0
    while (n := step()) > 0:
        total += n
    return total


def one_run(kind: str, database_url: str, parcels: int, delivery_parcels: int, receiver: Receiver) -> dict[str, float]:
    options = WatchOptions(policy=WatchPolicy(), poll_rate_per_second=1e9, poll_batch=200, send_batch=64, allow_private_addresses=True)
    out: dict[str, float] = {}
    with open_store(kind, database_url) as store:
        clock = [time.time()]
        service = WatchService(store, answer, lambda url, headers, body: 204, options, clock=lambda: clock[0])
        items = [(make("CN", 20_000_000 + i), f"order-{i}") for i in range(parcels)]
        started = time.perf_counter()
        assert service.watch_many(items) == parcels
        out["schedule_s"] = time.perf_counter() - started
        clock[0] += 120  # every first poll is due
        started = time.perf_counter()
        polled = drain(service.poll_once)
        out["poll_s"] = time.perf_counter() - started
        assert polled == parcels, polled
    with open_store(kind, database_url) as store:
        client = WebhookClient(allow_private=True, timeout_seconds=10)
        service = WatchService(store, answer, client.post, options)
        store.add_endpoint(Endpoint("bench", receiver.url, "whsec_bench_secret_0123456789", 0.0, False))
        service.watch_many([(make("EN", 30_000_000 + i), "") for i in range(delivery_parcels)])
        service._clock = lambda: time.time() + 120  # type: ignore[method-assign]
        drain(service.poll_once)
        started = time.perf_counter()
        sent = drain(service.send_once)
        seconds = time.perf_counter() - started
        assert sent == delivery_parcels * 4, sent
        out["deliveries_per_s"] = sent / seconds
        service.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parcels", type=int, default=10_000)
    parser.add_argument("--deliveries-parcels", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    kinds = args.stores.split(",")
    receiver = Receiver()
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for _ in range(args.repeat):
        for kind in kinds:  # alternated: the machine's load falls on every store alike
            runs[kind].append(one_run(kind, args.database_url, args.parcels, args.deliveries_parcels, receiver))
    receiver.close()
    result = {kind: {key: round(statistics.median(r[key] for r in rs), 3) for key in rs[0]} | {"runs": len(rs)} for kind, rs in runs.items()}
    print(f"{'store':<10} {'schedule ' + str(args.parcels) + ' (s)':>22} {'poll ' + str(args.parcels) + ' (s)':>18} {'deliveries/s':>14}")
    for kind, r in result.items():
        print(f"{kind:<10} {r['schedule_s']:>22.3f} {r['poll_s']:>18.3f} {r['deliveries_per_s']:>14.0f}")
    print(json.dumps({"utc": datetime.now(UTC).isoformat(timespec="seconds"), "parcels": args.parcels, "medians": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
