"""bench/h2_client.py, the lean load client, against the real server: its figures count only
calls the server really answered with OK, every failure is counted under its gRPC code, and
requests larger than a frame or a flow-control window get through. A load figure is only as honest
as the client that counts it."""

from __future__ import annotations

import sys
import time
from array import array

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import rates_pb2
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import h2_client

GET_QUOTE = "/kokokara.shipping.v1.RateService/GetQuote"
BATCH = "/kokokara.shipping.v1.RateService/BatchGetQuotes"


def _quote(region: str, grams: int) -> bytes:
    msg = rates_pb2.GetQuoteRequest(destination_region_code=region)
    msg.parcels.add(weight_grams=grams)
    return msg.SerializeToString()


def _counts(result: dict) -> list[int]:
    return [len(array("q", lat)) for lat in result["latencies"]]


def _run(
    address: str,
    methods: list[str],
    calls: list[tuple[int, bytes]],
    *,
    seconds: float = 0.5,
    wrap: bool = False,
    concurrency: int = 4,
    connections: int = 2,
    warm_up: int = 2,
) -> dict:
    return h2_client.run(h2_client.Plan(address, methods, calls, concurrency, connections, time.time(), seconds, wrap, warm_up=warm_up))


def test_every_call_is_answered_ok_and_counted_once(service: bootstrap.RunningService) -> None:
    calls = [(0, _quote("US", 100 + i)) for i in range(300)]
    result = _run(service.address, [GET_QUOTE], calls, seconds=30)
    # not wrapping: the run ends when the calls run out, each sent once (the first two warm up)
    assert result["errors"] == {}
    assert result["exhausted"] is True
    assert _counts(result) == [298]
    assert min(array("q", result["latencies"][0])) > 0


def test_failed_calls_are_counted_by_grpc_code_not_as_throughput(service: bootstrap.RunningService) -> None:
    good, bad = _quote("US", 500), _quote("US", 0)  # weight 0: INVALID_ARGUMENT
    calls = [(0, good), (0, good)] + [(0, bad), (0, good)] * 50
    result = _run(service.address, [GET_QUOTE], calls, seconds=30)
    assert result["errors"] == {"GetQuote INVALID_ARGUMENT": 50}
    assert _counts(result) == [50]


def test_unknown_method_counted_as_unimplemented(service: bootstrap.RunningService) -> None:
    calls = [(0, _quote("US", 500))] * 2 + [(1, b"")] * 10
    result = _run(service.address, [GET_QUOTE, "/kokokara.nothing.v1.Nope/Nothing"], calls, seconds=30)
    assert result["errors"] == {"Nothing UNIMPLEMENTED": 10}


def _batch(carts: int) -> bytes:
    batch = rates_pb2.BatchGetQuotesRequest()
    for i in range(carts):
        cart = batch.requests.add(destination_region_code="GB")
        cart.parcels.add(weight_grams=200 + i, length_mm=300, width_mm=200, height_mm=100)
    return batch.SerializeToString()


def test_a_request_larger_than_a_frame_is_split_and_answered(service: bootstrap.RunningService) -> None:
    payload = _batch(1000)
    assert len(payload) > 16_384  # the largest frame a peer must accept
    result = _run(service.address, [BATCH], [(0, payload)] * 14, seconds=60, concurrency=4)
    assert result["errors"] == {}
    assert _counts(result) == [12]


def test_more_in_flight_than_the_servers_window_waits_for_window_update(service: bootstrap.RunningService) -> None:
    """gRPC's server opens a connection's window to 4 MB at once: 240 batches of about 19 KB in
    flight on one connection are more than that, so some must wait for its WINDOW_UPDATE."""
    payload = _batch(1000)
    result = _run(service.address, [BATCH], [(0, payload)] * 240, seconds=120, concurrency=240, connections=1, warm_up=0)
    assert result["errors"] == {}
    assert result["window_stalls"] > 0
    assert _counts(result) == [240]


def test_a_closed_loop_keeps_going_until_the_deadline(service: bootstrap.RunningService) -> None:
    calls = [(0, _quote(region, 800)) for region in ("US", "GB", "DE", "FR")]
    started = time.monotonic()
    result = _run(service.address, [GET_QUOTE], calls, seconds=1.0, wrap=True)
    assert result["errors"] == {}
    assert _counts(result)[0] > len(calls)  # wrapped round the list
    assert 1.0 <= result["elapsed"] < 5 and time.monotonic() - started < 10
