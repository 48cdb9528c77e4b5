"""The server's two thread pools, against a real server: RPCs that wait on I/O (tracking, labels) run
on a pool of their own, so when every one of its threads is held (here by WatchTracking streams,
which hold theirs for as long as they run) quotes and rate tables are still answered at once.

This also fails if a grpcio release stops honouring a behaviour's `experimental_thread_pool`
(kokokara/shipping/interceptors.PoolRouter): the watches would then hold the compute pool's threads
and the quote would wait for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from domain.s10 import make
from kokokara.shipping import bootstrap
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from tests.conftest import test_settings
from tests.tracking_helpers import wait_until
from tracking.standin import StandInJapanPost


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost() as s:
        yield s


def test_quotes_are_answered_while_every_io_thread_is_held(tmp_path: Path, standin: StandInJapanPost) -> None:
    numbers = [make("LX", 73_000_000 + i) for i in range(3)]
    for n in numbers:
        standin.set_scenario(n, "in_transit")
    settings = test_settings(
        tracking_base_url=standin.url,
        grpc_threads=2,
        compute_threads=1,
        tracking_rate_per_second=1000.0,
        tracking_rate_burst=1000,
        database_path=tmp_path / "labels.sqlite3",
    )
    service = bootstrap.start(settings)
    try:
        with grpc.insecure_channel(service.address) as channel:
            tracking = tracking_pb2_grpc.TrackingServiceStub(channel)
            rates = rates_pb2_grpc.RateServiceStub(channel)
            watches = [tracking.WatchTracking(tracking_pb2.WatchTrackingRequest(tracking_number=n), timeout=60) for n in numbers[:2]]
            for call, number in zip(watches, numbers, strict=False):
                assert next(call).tracking_number == number  # each watch now holds one of the 2 I/O threads

            quote = rates.GetQuote(rates_pb2.GetQuoteRequest(destination_region_code="US", parcels=[{"weight_grams": 800}]), timeout=5)
            assert quote.options
            assert rates.ListRateTables(rates_pb2.ListRateTablesRequest(), timeout=5).rate_tables

            # The I/O pool really is the one in use: a lookup waits behind the watches...
            with pytest.raises(grpc.RpcError) as queued:
                tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=numbers[2]), timeout=1.0)
            assert queued.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED

            # ...and is answered once they end.
            for call in watches:
                call.cancel()

            def answered() -> bool:
                try:
                    return tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=numbers[2]), timeout=2).tracking_number == numbers[2]
                except grpc.RpcError:
                    return False

            assert wait_until(answered, 15)
    finally:
        service.stop(0)
