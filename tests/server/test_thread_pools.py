"""The server's thread pools, against a real server (kokokara/shipping/server/interceptors.PoolRouter):

- quotes and rate tables on the server's own pool, so lookups stuck on a slow Japan Post never keep
  the checkout waiting;
- labels on a pool of their own, and tracking on another (tests/processes/test_tracking_hostile.py shows a
  trickling Japan Post leaving labels alone);
- WatchTracking streams, which hold a thread for as long as they run, on a third, with a cap per
  server past which new watches are refused at once (RESOURCE_EXHAUSTED, SERVER_WATCHES_FULL).

These also fail if a grpcio release stops honouring a behaviour's `experimental_thread_pool`: every
RPC would then share the compute pool, and the held threads would hold the quotes too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from domain.s10 import make
from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc, rates_pb2, rates_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.conftest import test_settings
from tests.security_support import error_info
from tests.tracking_helpers import wait_until

SLOW_SECONDS = 4.0


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost(slow_seconds=SLOW_SECONDS) as s:
        yield s


def _service(tmp_path: Path, standin: StandInJapanPost, **overrides: object) -> bootstrap.RunningService:
    settings = test_settings(
        tracking_base_url=standin.url,
        tracking_rate_per_second=1000.0,
        tracking_rate_burst=1000,
        tracking_read_timeout_seconds=SLOW_SECONDS + 5,
        database_path=tmp_path / "labels.sqlite3",
        **overrides,
    )
    return bootstrap.start(settings)


def _quote(channel: grpc.Channel) -> rates_pb2.GetQuoteResponse:
    request = rates_pb2.GetQuoteRequest(destination_region_code="US", parcels=[{"weight_grams": 800}])
    return rates_pb2_grpc.RateServiceStub(channel).GetQuote(request, timeout=2)


def test_quotes_and_labels_are_answered_while_every_tracking_thread_waits_on_japan_post(tmp_path: Path, standin: StandInJapanPost) -> None:
    slow = [make("LX", 73_000_000 + i) for i in range(2)]
    quick = make("LX", 73_000_010)
    for n in slow:
        standin.set_scenario(n, "slow")
    standin.set_scenario(quick, "in_transit")
    service = _service(tmp_path, standin, tracking_threads=2, grpc_threads=1, compute_threads=1)
    try:
        with grpc.insecure_channel(service.address) as channel:
            tracking = tracking_pb2_grpc.TrackingServiceStub(channel)
            answers: list[str] = []

            def look_up(number: str) -> None:
                answers.append(tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=number), timeout=30).tracking_number)

            lookups = [threading.Thread(target=look_up, args=(n,)) for n in slow]
            for t in lookups:
                t.start()
            assert wait_until(lambda: all(standin.hits(n) for n in slow), 5)  # both tracking threads now wait on Japan Post

            assert _quote(channel).options
            assert rates_pb2_grpc.RateServiceStub(channel).ListRateTables(rates_pb2.ListRateTablesRequest(), timeout=2).rate_tables
            assert not labels_pb2_grpc.LabelServiceStub(channel).ListLabels(labels_pb2.ListLabelsRequest(), timeout=2).labels

            # The tracking pool really is the one in use: another lookup waits behind the slow ones...
            with pytest.raises(grpc.RpcError) as queued:
                tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=quick), timeout=1.0)
            assert queued.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
            # ...and all are answered once Japan Post does.
            for t in lookups:
                t.join(timeout=30)
            assert sorted(answers) == sorted(slow)
            assert tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=quick), timeout=5).tracking_number == quick
    finally:
        service.stop(0)


def test_watches_have_their_own_threads_and_a_cap(tmp_path: Path, standin: StandInJapanPost) -> None:
    numbers = [make("LX", 74_000_000 + i) for i in range(4)]
    for n in numbers:
        standin.set_scenario(n, "in_transit")
    service = _service(tmp_path, standin, grpc_threads=1, compute_threads=1, max_watches=2)
    try:
        with grpc.insecure_channel(service.address) as channel:
            tracking = tracking_pb2_grpc.TrackingServiceStub(channel)

            def watch(number: str) -> grpc.Call:
                return tracking.WatchTracking(tracking_pb2.WatchTrackingRequest(tracking_number=number), timeout=60)  # type: ignore[no-any-return]

            first, second = watch(numbers[0]), watch(numbers[1])
            assert next(first).tracking_number == numbers[0]
            assert next(second).tracking_number == numbers[1]

            # Two watches run, so the server's cap is reached: a third is refused at once.
            third = watch(numbers[2])
            with pytest.raises(grpc.RpcError) as refused:
                next(third)
            assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert error_info(refused.value).reason == "SERVER_WATCHES_FULL"  # type: ignore[union-attr]

            # The watches hold none of the other pools' threads (1 each here).
            assert tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=numbers[3]), timeout=2).tracking_number == numbers[3]
            labels = labels_pb2_grpc.LabelServiceStub(channel).ListLabels(labels_pb2.ListLabelsRequest(), timeout=2)
            assert not labels.labels
            assert _quote(channel).options

            first.cancel()

            def reopened() -> bool:
                again = watch(numbers[2])
                try:
                    return next(again).tracking_number == numbers[2]  # type: ignore[no-any-return]
                except grpc.RpcError:
                    return False
                finally:
                    again.cancel()

            assert wait_until(reopened, 10)
            second.cancel()
    finally:
        service.stop(0)
