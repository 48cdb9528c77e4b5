"""Latency of the analyst RPCs over loopback: starts a server on 127.0.0.1:0 with the shipped tables
(request logging off) and times each call N times from one client thread.

    .venv/bin/python bench/analyst_rpcs.py [repetitions]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc

# domain/ is not an installed package: run from the checkout like server.py does.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from google.type import date_pb2

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.settings import Settings
from kokokara.shipping.v1 import common_pb2, rates_pb2, rates_pb2_grpc

SHIP = date_pb2.Date(year=2026, month=11, day=26)


def measure(name: str, call: Callable[[], object], repetitions: int) -> None:
    call()  # warm-up (builds the catalog once)
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"{name:<48} median {statistics.median(times):8.2f} ms   p95 {p95:8.2f} ms   (n={repetitions})")


def main() -> None:
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    running = bootstrap.start(Settings(listen_addr="127.0.0.1:0", log_requests=False))
    try:
        with grpc.insecure_channel(running.address) as channel:
            stub = rates_pb2_grpc.RateServiceStub(channel)
            measure("ListRateTables (7 versions)", lambda: stub.ListRateTables(rates_pb2.ListRateTablesRequest()), repetitions)
            measure(
                "GetRateTable ems, 210 rows in one page",
                lambda: stub.GetRateTable(rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, date=SHIP, page_size=1000)),
                repetitions,
            )
            measure(
                "ListDestinations, all 235 in one page",
                lambda: stub.ListDestinations(rates_pb2.ListDestinationsRequest(ship_date=SHIP, page_size=1000)),
                repetitions,
            )
            measure(
                "CompareRates US, 10 weights x 5 methods",
                lambda: stub.CompareRates(rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=range(500, 5001, 500), ship_date=SHIP)),
                repetitions,
            )
            measure(
                "CompareRates US, 600 weights x 5 (the chart)",
                lambda: stub.CompareRates(rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=range(50, 30001, 50), ship_date=SHIP)),
                repetitions,
            )
            measure(
                "DiffRateTables ems with itself, include_unchanged",
                lambda: stub.DiffRateTables(
                    rates_pb2.DiffRateTablesRequest(base_table_id="ems@2022-06-01", target_table_id="ems@2022-06-01", include_unchanged=True)
                ),
                repetitions,
            )
    finally:
        running.stop(0)


if __name__ == "__main__":
    main()
