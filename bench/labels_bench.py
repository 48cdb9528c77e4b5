"""CreateLabel throughput with SQLite and with PostgreSQL, through a real gRPC server.

    python bench/labels_bench.py [--count 1000] [--concurrency 16] [--format pdf|zpl] [--backend sqlite|postgres|both]
                           [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--distinct]
    python bench/labels_bench.py --one-thread [--distinct] [--count 300] [--rounds 5] [--format pdf|zpl]

Each backend gets a fresh database (a temporary SQLite file; a new PostgreSQL database, dropped
afterwards). The server runs in this process (bootstrap.start on 127.0.0.1:0, request logging
off, start-up's objects frozen out of the garbage collector as server.py does); `concurrency`
client threads send CreateLabel requests, each with its own request_id. Reports labels per second,
latency percentiles and the process's CPU time per label. A second pass replays every request_id
(idempotent retries).

By default the requests differ only in request_id (the same parcel to the same recipient): what
a process keeps per address and per layout serves all of them after the first. `--distinct`
sends what a warehouse prints: each label to a recipient of its own (name, street, city and
postcode in one of a dozen countries, in Latin letters), with items, weight and method of its
own (EMS with a CN23, or airmail with a CN22 below the CN23 threshold). The requests are built
here from the v1 protos alone, so the script runs unchanged on older checkouts.

`--one-thread` runs no server: it times, on one thread, what a label costs outside gRPC and the
database, the checks before a number is issued (where the checkout has them) and the document's
rendering, for `rounds` runs of `count` labels (each run other recipients), and reports the CPU
per label of each run, their minimum and median.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
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
from google.type import money_pb2  # noqa: E402
from labels_support import proto_request  # noqa: E402

from kokokara.shipping.v1 import common_pb2, labels_pb2, labels_pb2_grpc  # noqa: E402

try:
    from kokokara.shipping.server import bootstrap
    from kokokara.shipping.server.settings import Settings
except ImportError:  # checkouts from before the server's own folder (the figure "before" is measured on one)
    from kokokara.shipping.settings import Settings  # type: ignore[no-redef]

    from kokokara.shipping import bootstrap  # type: ignore[no-redef]

# -- labels to distinct recipients ---------------------------------------------------------------------

# (region, city, state or province, postcode): deliverable places, checked against each country's
# format. None in the US: Japan Post takes goods there only with duties prepaid (an acceptance rule).
PLACES = (
    ("CA", "Calgary", "AB", "T2P 1J9"),
    ("NL", "Amsterdam", "", "1012 JS"),
    ("SE", "Stockholm", "", "111 52"),
    ("CH", "Zürich", "", "8001"),
    ("IE", "Dublin", "", "D02 X285"),
    ("CA", "Toronto", "ON", "M5V 2T6"),
    ("CA", "Vancouver", "BC", "V6B 1A1"),
    ("CA", "Montréal", "QC", "H2Y 1C6"),
    ("GB", "London", "", "SW1A 2AA"),
    ("GB", "Manchester", "", "M1 1AE"),
    ("GB", "Edinburgh", "", "EH1 1YZ"),
    ("DE", "Berlin", "", "10117"),
    ("DE", "München", "", "80331"),
    ("DE", "Hamburg", "", "20095"),
    ("FR", "Paris", "", "75001"),
    ("FR", "Lyon", "", "69002"),
    ("AU", "Sydney", "NSW", "2000"),
    ("AU", "Melbourne", "VIC", "3000"),
    ("NZ", "Auckland", "", "1010"),
    ("SG", "Singapore", "", "048616"),
    ("NO", "Oslo", "", "0154"),
    ("BR", "São Paulo", "SP", "01310-100"),
    ("IT", "Milano", "MI", "20121"),
    ("ES", "Madrid", "Madrid", "28013"),
)
FIRST_NAMES = ("Jane", "Oliver", "Amélie", "Max", "Charlotte", "João", "Ingrid", "Liam", "Sofia", "Noah", "Emma", "Lucas", "Mia", "Ethan", "Chloé", "Jürgen")
LAST_NAMES = ("Doe", "Smith", "Dubois", "Müller", "Brown", "Silva", "Hansen", "García", "Rossi", "Nguyen", "Wilson", "Martin", "Schmidt", "O'Connor", "Tanaka")
STREETS = ("Main St", "Oak Avenue", "King Street", "Hauptstraße", "rue de la Paix", "Queen St", "Rua Augusta", "Via Roma", "Calle Mayor", "Park Road")
COMPANIES = ("", "", "", "Acme Imports LLC", "Northwind Trading", "Blue Harbour Ltd")
# description, unit value (JPY), HS code, net weight (g), origin
GOODS = (
    ("Ceramic tea cup", 3000, "691200", 400, "JP"),
    ("Green tea (sencha), 100 g tin", 1500, "090210", 130, "JP"),
    ("Cotton tenugui towel, indigo dyed", 1200, "630260", 60, "JP"),
    ("Stainless steel chef's knife 210 mm", 18000, "821191", 250, "JP"),
    ("Washi paper notebook", 700, "482010", 80, "CN"),
    ("Lacquered chopsticks, set of 2 pairs", 2200, "441990", 30, "JP"),
    ("Furoshiki wrapping cloth, silk", 9800, "621410", 90, "JP"),
    ("Matcha whisk (chasen), bamboo", 2800, "460219", 25, "JP"),
    ("Cast iron teapot 0.6 l", 8500, "732393", 900, "JP"),
    ("Incense sticks, sandalwood", 1100, "330741", 50, "JP"),
)


def distinct_request(i: int, fmt: int, seed: int = 0) -> labels_pb2.CreateLabelRequest:
    """The i-th of a run of labels a warehouse prints: to a recipient, street and parcel of its
    own (a pure function of i and seed, so runs on two checkouts send the same requests)."""
    rng = random.Random(seed * 1_000_003 + i)
    region, city, area, postcode = rng.choice(PLACES)
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    street = f"{rng.randint(1, 2400)} {rng.choice(STREETS)}"
    lines = [street] if rng.random() < 0.7 else [street, f"Apt {rng.randint(1, 90)}"]
    goods = rng.sample(GOODS, rng.choice((1, 1, 2, 2, 3, 4, 6)))
    items = [
        labels_pb2.CustomsItem(
            description=desc,
            quantity=qty,
            unit_value=money_pb2.Money(currency_code="JPY", units=value),
            net_weight_grams=net * qty,
            origin_region_code=origin,
            hs_code=hs,
        )
        for desc, value, hs, net, origin in goods
        for qty in (rng.choice((1, 1, 2, 3)),)
    ]
    weight = 150 + sum(it.net_weight_grams for it in items) + rng.randint(0, 300)
    method = common_pb2.SHIPPING_METHOD_AIRMAIL if weight <= 1800 and rng.random() < 0.4 else common_pb2.SHIPPING_METHOD_EMS
    contents = common_pb2.CONTENTS_TYPE_GIFT if rng.random() < 0.3 else common_pb2.CONTENTS_TYPE_MERCHANDISE
    return labels_pb2.CreateLabelRequest(
        request_id=f"bench-{seed}-{i}",
        method=method,  # type: ignore[arg-type]
        sender=labels_pb2.Address(
            name="Kokokara Shop", address_lines=["1-2-3 Ginza"], city="Chuo-ku", administrative_area="Tokyo", postal_code="104-0061", region_code="JP"
        ),
        recipient=labels_pb2.Address(
            name=name,
            company=rng.choice(COMPANIES),
            address_lines=lines,
            city=city,
            administrative_area=area,
            postal_code=postcode,
            region_code=region,
            phone=f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        ),
        parcel=common_pb2.Parcel(weight_grams=weight),
        customs_items=items,
        contents_type=contents,  # type: ignore[arg-type]
        document_format=fmt,  # type: ignore[arg-type]
        ship_date={"year": 2026, "month": 11, "day": 30},
    )


def one_thread(count: int, rounds: int, fmt: int, distinct: bool, seed: int) -> list[float]:
    """CPU ms per label of the checks and the rendering, one list entry a round."""
    from datetime import UTC, date, datetime

    try:
        from kokokara.shipping.server.servicers.labels import label_request_from_proto
    except ImportError:
        from kokokara.shipping.servicers.labels import label_request_from_proto  # type: ignore[no-redef]
    from labels import documents
    from labels.model import CustomsForm, DocumentFormat, Label, Pricing
    from rates.model import Method, Product

    check = getattr(documents, "check_printable", None)
    content = getattr(documents, "render_content", None)
    document_format = DocumentFormat.ZPL_4X6 if fmt == labels_pb2.DOCUMENT_FORMAT_ZPL_4X6 else DocumentFormat.PDF_A6
    regions = frozenset({"JP", "CA", *(p[0] for p in PLACES)})

    def labels(run: int, n: int) -> list[Label]:
        out = []
        for i in range(n):
            msg = distinct_request(i, fmt, seed * 1000 + run) if distinct else proto_request(f"bench-{run}-{i}", fmt=fmt)
            request = label_request_from_proto(msg, regions, date(2026, 11, 30))
            ems = request.method is Method.EMS
            pricing = Pricing(Product.EMS, "EMS", 3900) if ems else Pricing(Product.SMALL_PACKET_AIR, "Small packet (air)", 1500)
            form = CustomsForm.CN23 if ems or request.declared_value_jpy >= 45_387 else CustomsForm.CN22
            created = datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)
            out.append(Label("bench", 1, f"EN{100000000 + i:09d}JP", "r", request, "h", pricing, form, False, created))
        return out

    def work(batch: list[Label]) -> None:
        for label in batch:
            if check is not None:
                check(label.request)
            if content is not None:
                content(label, document_format)
            else:  # checkouts from before documents were kept
                documents.render(label, document_format)

    work(labels(-1, 30))  # warm-up: fonts, country data, fixed texts
    cpu = []
    for run in range(rounds):
        batch = labels(run, count)
        c0 = time.process_time()
        work(batch)
        cpu.append(1000 * (time.process_time() - c0) / max(count, 1))
    return cpu


def run(settings: Settings, count: int, concurrency: int, fmt: int, distinct: bool = False, seed: int = 0) -> dict[str, float]:
    service = bootstrap.start(settings)
    # As server.py does after start-up: what start-up built leaves the collector's generations.
    gc.collect()
    gc.freeze()
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = labels_pb2_grpc.LabelServiceStub(channel)
            make = (lambda i: distinct_request(i, fmt, seed)) if distinct else (lambda i: proto_request(f"bench-{i}", fmt=fmt))
            requests = [make(i) for i in range(count)]

            def call(req: labels_pb2.CreateLabelRequest) -> float:
                started = time.perf_counter()
                stub.CreateLabel(req, timeout=60)
                return time.perf_counter() - started

            stub.CreateLabel(proto_request("warm-up", fmt=fmt))
            results = {}
            for name in ("create", "replay"):
                t0, c0 = time.perf_counter(), time.process_time()
                with ThreadPoolExecutor(concurrency) as pool:
                    latencies = sorted(pool.map(call, requests))
                elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
                results[f"{name}_per_s"] = count / elapsed
                results[f"{name}_cpu_ms"] = 1000 * cpu / count  # server and client threads: one process
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
    parser.add_argument("--distinct", action="store_true", help="each label to a recipient and parcel of its own (what a warehouse prints)")
    parser.add_argument("--seed", type=int, default=0, help="with --distinct: which run of recipients (the same seed sends the same requests)")
    parser.add_argument("--one-thread", action="store_true", help="no server: CPU per label of the checks and the rendering on one thread")
    parser.add_argument("--rounds", type=int, default=5, help="with --one-thread: runs of --count labels")
    parser.add_argument("--database-url", default=os.environ.get("SHIPPING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    fmt = labels_pb2.DOCUMENT_FORMAT_PDF_A6 if args.format == "pdf" else labels_pb2.DOCUMENT_FORMAT_ZPL_4X6
    base = Settings(listen_addr="127.0.0.1:0", log_requests=False, grace_seconds=1.0)
    kind = "distinct recipients" if args.distinct else "alike but for request_id"
    if args.one_thread:
        cpu = one_thread(args.count, args.rounds, fmt, args.distinct, args.seed)
        print(f"Checks and rendering, one thread, {args.rounds} x {args.count} labels ({kind}), {args.format.upper()}: CPU per label")
        print(f"  min {min(cpu):.3f} ms, median {statistics.median(cpu):.3f} ms (rounds: {', '.join(f'{c:.3f}' for c in cpu)})")
        return 0
    print(f"CreateLabel, {args.count} labels ({kind}), {args.concurrency} client threads, {args.format.upper()} documents, {os.cpu_count()} CPUs")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "database_path": Path(tmp) / "bench.sqlite3"})
            report("sqlite", run(settings, args.count, args.concurrency, fmt, args.distinct, args.seed))
    if args.backend in ("postgres", "both"):
        name = f"labels_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"'.encode())
        try:
            url = urlunparse(urlparse(args.database_url)._replace(path=f"/{name}"))
            settings = Settings(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "database_url": url})
            report("postgres", run(settings, args.count, args.concurrency, fmt, args.distinct, args.seed))
        finally:
            with psycopg.connect(args.database_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    return 0


def report(backend: str, r: dict[str, float]) -> None:
    print(
        f"  {backend:<9} create {r['create_per_s']:7.0f}/s (p50 {r['create_p50_ms']:5.1f}, p99 {r['create_p99_ms']:5.1f} ms, CPU {r['create_cpu_ms']:5.2f} ms)"
        f"   replay {r['replay_per_s']:7.0f}/s (p50 {r['replay_p50_ms']:5.1f}, p99 {r['replay_p99_ms']:5.1f} ms, CPU {r['replay_cpu_ms']:5.2f} ms)"
    )


if __name__ == "__main__":
    sys.exit(main())
