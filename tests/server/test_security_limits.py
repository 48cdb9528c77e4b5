"""Limits against real servers: message sizes, parcels/items/numbers per request, per-key
rate limits with a retry delay, work stopping at the caller's deadline, and the cap on concurrent
WatchTracking streams per key."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from domain.s10 import make
from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc, rates_pb2, rates_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.conftest import test_settings
from tests.security_support import auth, error_info, keyed_service, retry_info
from tests.tracking_helpers import wait_until


def _quote_request(**fields: object) -> rates_pb2.GetQuoteRequest:
    msg = rates_pb2.GetQuoteRequest(destination_region_code="US", **fields)  # type: ignore[arg-type]
    if not msg.parcels:
        msg.parcels.add(weight_grams=500)
    return msg


def _bad_fields(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    out = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            out += [v.field for v in bad.field_violations]
    return out


def test_a_message_over_the_size_limit_is_refused_and_the_server_keeps_serving(tmp_path: Path) -> None:
    service = bootstrap.start(test_settings(max_receive_message_bytes=64 * 1024, database_path=tmp_path / "l.sqlite3"))
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = rates_pb2_grpc.RateServiceStub(channel)
            with pytest.raises(grpc.RpcError) as big:
                stub.GetQuote(_quote_request(postal_code="9" * 100_000), timeout=10)
            assert big.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert stub.GetQuote(_quote_request(), timeout=10).options
    finally:
        service.stop(0)


def test_per_request_counts_are_capped_with_the_field_named(channel: grpc.Channel) -> None:
    rates = rates_pb2_grpc.RateServiceStub(channel)
    too_many_parcels = rates_pb2.GetQuoteRequest(destination_region_code="US")
    for _ in range(51):
        too_many_parcels.parcels.add(weight_grams=100)
    too_many_lines = _quote_request()
    for _ in range(201):
        too_many_lines.contents.add(description="green tea", quantity=1)
    for request, field in ((too_many_parcels, "parcels"), (too_many_lines, "contents")):
        with pytest.raises(grpc.RpcError) as refused:
            rates.GetQuote(request, timeout=10)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert field in _bad_fields(refused.value)

    batch = rates_pb2.BatchGetQuotesRequest(requests=[_quote_request()] * 1001)
    with pytest.raises(grpc.RpcError) as refused:
        rates.BatchGetQuotes(batch, timeout=10)
    assert error_info(refused.value).reason == "BATCH_TOO_LARGE"  # type: ignore[union-attr]

    tracking = tracking_pb2_grpc.TrackingServiceStub(channel)
    numbers = tracking_pb2.BatchGetTrackingRequest(requests=[tracking_pb2.GetTrackingRequest(tracking_number="EN123456785JP")] * 101)
    with pytest.raises(grpc.RpcError) as refused:
        tracking.BatchGetTracking(numbers, timeout=10)
    assert error_info(refused.value).reason == "BATCH_TOO_LARGE"  # type: ignore[union-attr]

    label = labels_pb2.CreateLabelRequest(request_id="too-many-items")
    for _ in range(101):
        label.customs_items.add(description="green tea", quantity=1)
    with pytest.raises(grpc.RpcError) as refused:
        labels_pb2_grpc.LabelServiceStub(channel).CreateLabel(label, timeout=10)
    assert "customs_items" in _bad_fields(refused.value)


def test_per_key_rate_limit_answers_resource_exhausted_with_a_retry_delay(tmp_path: Path) -> None:
    with keyed_service(tmp_path, rate_limit_per_second=0.01, rate_limit_burst=2) as (service, keys), grpc.insecure_channel(service.address) as channel:
        stub = rates_pb2_grpc.RateServiceStub(channel)
        for _ in range(2):
            assert stub.GetQuote(_quote_request(), metadata=auth(keys["checkout"]), timeout=10).options
        with pytest.raises(grpc.RpcError) as limited:
            stub.GetQuote(_quote_request(), metadata=auth(keys["checkout"]), timeout=10)
        assert limited.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_info(limited.value).reason == "RATE_LIMITED"  # type: ignore[union-attr]
        delay = retry_info(limited.value)
        assert delay is not None and delay.retry_delay.ToNanoseconds() > 0
        # Another key has its own bucket.
        assert stub.GetQuote(_quote_request(), metadata=auth(keys["analyst"]), timeout=10).options


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost(slow_seconds=1.5) as s:
        yield s


def test_a_batch_stops_starting_lookups_once_the_deadline_has_passed(tmp_path: Path, standin: StandInJapanPost, caplog: pytest.LogCaptureFixture) -> None:
    numbers = [make("EG", 70_000_000 + i) for i in range(40)]
    for n in numbers:
        standin.set_scenario(n, "slow")
    settings = test_settings(
        tracking_base_url=standin.url, tracking_batch_workers=2, tracking_rate_per_second=1000.0, tracking_rate_burst=1000, database_path=tmp_path / "l.sqlite3"
    )
    service = bootstrap.start(settings)
    try:
        with caplog.at_level(logging.INFO, logger="kokokara.shipping.access"), grpc.insecure_channel(service.address) as channel:
            request = tracking_pb2.BatchGetTrackingRequest(requests=[tracking_pb2.GetTrackingRequest(tracking_number=n) for n in numbers])
            with pytest.raises(grpc.RpcError) as late:
                tracking_pb2_grpc.TrackingServiceStub(channel).BatchGetTracking(request, timeout=1.0)
            assert late.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED

            def finished() -> list[logging.LogRecord]:
                return [r for r in caplog.records if getattr(r, "rpc", "").endswith("/BatchGetTracking")]

            # 40 slow lookups two at a time take 30 s; the call ends soon after its deadline instead.
            assert wait_until(lambda: finished(), 15)
            assert getattr(finished()[0], "code", None) == "DEADLINE_EXCEEDED"
            assert sum(standin.hits(n) for n in numbers) <= 6
    finally:
        service.stop(0)


def test_watch_streams_per_key_are_capped(tmp_path: Path, standin: StandInJapanPost) -> None:
    numbers = [make("LX", 71_000_000 + i) for i in range(4)]
    for n in numbers:
        standin.set_scenario(n, "in_transit")
    overrides = {"tracking_base_url": standin.url, "max_watches_per_key": 2, "tracking_rate_per_second": 1000.0, "tracking_rate_burst": 1000}
    with keyed_service(tmp_path, **overrides) as (service, keys), grpc.insecure_channel(service.address) as channel:
        stub = tracking_pb2_grpc.TrackingServiceStub(channel)

        def watch(number: str, role: str) -> grpc.Call:
            return stub.WatchTracking(tracking_pb2.WatchTrackingRequest(tracking_number=number), metadata=auth(keys[role]), timeout=60)

        first, second = watch(numbers[0], "support"), watch(numbers[1], "support")
        assert next(first).tracking_number == numbers[0]
        assert next(second).tracking_number == numbers[1]
        third = watch(numbers[2], "support")
        with pytest.raises(grpc.RpcError) as capped:
            next(third)
        assert third.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_info(capped.value).reason == "TOO_MANY_WATCHES"  # type: ignore[union-attr]
        other = watch(numbers[2], "warehouse")  # another key has its own allowance
        assert next(other).tracking_number == numbers[2]

        first.cancel()

        def reopened() -> bool:
            again = watch(numbers[3], "support")
            try:
                return next(again).tracking_number == numbers[3]
            except grpc.RpcError:
                return False
            finally:
                again.cancel()

        assert wait_until(reopened, 10)
        for call in (second, other):
            call.cancel()
