"""Requests whose bytes are not a message, against real servers: every RPC of every service we
register answers INVALID_ARGUMENT, MALFORMED_REQUEST, with a BadRequest naming `request` (after
UNAUTHENTICATED where a key is needed), logs one line without a traceback, is counted in the request
log and the metrics like any call, and costs the server process no memory.

grpcio, left to deserialise requests itself, answered these INTERNAL "Exception deserializing
request!", logged a traceback for each, left them out of the request log and the metrics, and kept
about 19 KB per call: 20,000 of them to GetLabel, without a key, grew a worker by 375 MiB."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from tests.grpc_support import status_details
from tests.process_support import send_raw, server_process
from tests.security_support import auth, every_rpc, keyed_service
from tests.server.test_security_metrics import scrape, value
from tests.tracking_helpers import free_port

RPCS = [(rpc, request_type, streaming) for rpc, request_type, _, streaming in every_rpc()]
IDS = [rpc.rsplit("/", 1)[1] for rpc, _, _ in RPCS]
# Bytes that are no message of any of our request types: a field key with no value, an end-group
# tag, a wire type that does not exist, a length past the end, nesting deeper than protobuf allows.
MALFORMED = {
    "truncated": b"\x08",
    "end_group": b"\x0c",
    "wire_type_7": b"\x0f",
    "length_past_end": b"\x0a\x10ab",
    "too_deep": b"\x7b" * 200 + b"\x7c" * 200,  # groups of field 15 in groups, 200 deep (protobuf stops at 100)
}


def malformed_for(request_type: type[Message]) -> dict[str, bytes]:
    """MALFORMED, and where the request has a string field, that field with bytes that are not UTF-8."""
    cases = dict(MALFORMED)
    text = next((f for f in request_type.DESCRIPTOR.fields if f.type == FieldDescriptor.TYPE_STRING), None)
    if text is not None:
        cases["bad_utf8"] = bytes([text.number << 3 | 2, 2, 0xFF, 0xFE])
    return cases


BAD_KEY = "kks_000000000000_" + "x" * 43


def _expect_malformed(error: grpc.RpcError) -> None:
    details = status_details(error)
    assert (details.code, details.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST"), error.details()
    assert list(details.fields) == ["request"]


def _one(channel: grpc.Channel, rpc: str, streaming: bool, data: bytes, key: str | None) -> grpc.RpcError:
    errors = send_raw(channel, rpc, [data], streaming=streaming, metadata=auth(key))
    assert len(errors) == 1, f"{rpc} accepted {data!r}"
    return errors[0]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[grpc.Channel, dict[str, str]]]:
    # Every call here without a key or with a wrong one comes from one address: not throttled in this
    # test, which is about the order of the checks (tests/server/test_auth_failures.py is about the throttle).
    # Nor is the one key's call rate (tests/server/test_security_limits.py): every RPC gets many calls here.
    with (
        keyed_service(tmp_path_factory.mktemp("hostile"), auth_failures_per_second=0.0, rate_limit_per_second=0.0) as (service, keys),
        grpc.insecure_channel(service.address) as channel,
    ):
        yield channel, keys


@pytest.mark.parametrize(("rpc", "request_type", "streaming"), RPCS, ids=IDS)
def test_malformed_bytes_are_invalid_argument_after_authentication(
    keyed: tuple[grpc.Channel, dict[str, str]], rpc: str, request_type: type[Message], streaming: bool
) -> None:
    channel, keys = keyed
    for name, data in malformed_for(request_type).items():
        for key, reason in ((None, "API_KEY_MISSING"), (BAD_KEY, "API_KEY_INVALID")):
            details = status_details(_one(channel, rpc, streaming, data, key))
            assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, reason), (name, key)
        _expect_malformed(_one(channel, rpc, streaming, data, keys["admin"]))


@pytest.mark.slow
def test_thousands_of_malformed_calls_cost_the_server_process_no_memory(tmp_path: Path) -> None:
    calls_per_rpc = 2000
    metrics_port = free_port()
    with server_process(tmp_path, {"SHIPPING_METRICS_ADDR": f"127.0.0.1:{metrics_port}"}) as server, grpc.insecure_channel(server.address) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        # Warm up: pools grow to their size, the allocator gets its arenas, every path runs once.
        for rpc, _, streaming in RPCS:
            for error in send_raw(channel, rpc, [b"\x08"] * 100, streaming=streaming):
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (rpc, error.details())
        before_kib = server.rss_kib()
        answers: Counter[tuple[str, grpc.StatusCode]] = Counter()
        for rpc, _, streaming in RPCS:
            errors = send_raw(channel, rpc, [b"\x08"] * calls_per_rpc, streaming=streaming)
            assert len(errors) == calls_per_rpc, f"{rpc} answered some malformed requests OK"
            answers.update((rpc, e.code()) for e in errors)
            _expect_malformed(errors[-1])
        after_kib = server.rss_kib()
        samples = scrape(metrics_port)

    calls = calls_per_rpc * len(RPCS)
    assert answers == Counter({(rpc, grpc.StatusCode.INVALID_ARGUMENT): calls_per_rpc for rpc, _, _ in RPCS})
    # 19 KB a call (grpcio's own deserialising) would be 570 MiB here; 20 MiB is 700 bytes a call.
    assert after_kib - before_kib < 20 * 1024, f"RSS grew {(after_kib - before_kib) / 1024:.1f} MiB over {calls} malformed calls"
    # Logged like any call, one line each, and never a traceback or an ERROR.
    entries = server.log_entries()
    assert not [e for e in entries if "exception" in e or e["level"] in ("ERROR", "CRITICAL")]
    logged = Counter((e["rpc"], e["code"], e["reason"]) for e in entries if e["message"] == "rpc")
    for rpc, _, _ in RPCS:
        assert logged[(rpc, "INVALID_ARGUMENT", "MALFORMED_REQUEST")] == calls_per_rpc + 100, rpc
        # ... and counted in the metrics.
        assert value(samples, "shipping_rpc_calls_total", rpc=rpc, caller="anonymous", code="INVALID_ARGUMENT") == calls_per_rpc + 100, rpc
