"""Property-based fuzz: random, partly valid requests to EVERY RPC of a live server with
keys, sent without a key, with a wrong one, or with a valid key of a random role. Never INTERNAL or
UNKNOWN, never a crash, and the server answers normally afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kokokara.shipping.server.auth import ROLES
from standin.japan_post import StandInJapanPost
from tests.security_support import call, every_rpc, keyed_service

RPCS = every_rpc()
FD = descriptor.FieldDescriptor
# Values that are valid somewhere, so requests get past the first checks now and then.
WORDS = ["", "US", "JP", "TW", "DE", "EN123456785JP", "CD126430535JP", "ems", "ems@2022-06-01", "Ceramic tea cup", "691200", "x" * 300, "é漢字", "\x00"]
INTS = st.one_of(st.sampled_from([0, 1, 2, 3, 500, 1200, 2026, 12, 31, -1, 100_000, 2**31 - 1]), st.integers(-(2**31), 2**31 - 1))


def _value(draw: Any, field: Any, depth: int) -> Any:
    if field.type == FD.TYPE_MESSAGE:
        return _message(draw, field.message_type._concrete_class, depth + 1)
    if field.type == FD.TYPE_STRING:
        return draw(st.one_of(st.sampled_from(WORDS), st.text(max_size=20)))
    if field.type == FD.TYPE_BYTES:
        return draw(st.binary(max_size=20))
    if field.type == FD.TYPE_BOOL:
        return draw(st.booleans())
    if field.type == FD.TYPE_ENUM:
        return draw(st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), st.integers(-5, 50)))
    if field.type in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return draw(st.floats(allow_nan=False, width=32))
    if field.type in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return draw(st.one_of(INTS, st.integers(-(2**63), 2**63 - 1)))
    if field.type in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return draw(st.integers(0, 2**32 - 1))
    if field.type in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return draw(st.integers(0, 2**64 - 1))
    return draw(INTS)


def _message(draw: Any, cls: Any, depth: int = 0) -> Any:
    msg = cls()
    if depth > 3:
        return msg
    for field in cls.DESCRIPTOR.fields:
        if not draw(st.booleans()):
            continue
        repeated = field.is_repeated
        count = draw(st.integers(0, 3)) if repeated else 1
        for _ in range(count):
            v = _value(draw, field, depth)
            if field.type == FD.TYPE_MESSAGE:
                (getattr(msg, field.name).add() if repeated else getattr(msg, field.name)).CopyFrom(v)
            elif repeated:
                getattr(msg, field.name).append(v)
            else:
                setattr(msg, field.name, v)
    return msg


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[grpc.Channel, dict[str, str]]]:
    with StandInJapanPost(slow_seconds=0.5) as standin:
        overrides = {
            "tracking_base_url": standin.url,
            "tracking_retries": 0,
            "tracking_rate_per_second": 1000.0,
            "tracking_rate_burst": 1000,
            "tracking_watch_max_seconds": 2,
            "rate_limit_per_second": 0.0,
            "auth_failures_per_second": 0.0,  # the fuzz sends hundreds of missing and wrong keys from one address
        }
        with keyed_service(tmp_path_factory.mktemp("fuzz"), **overrides) as (service, keys), grpc.insecure_channel(service.address) as channel:
            yield channel, keys


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_requests_to_every_rpc_never_fail_internally(live: tuple[grpc.Channel, dict[str, str]], data: st.DataObject) -> None:
    channel, keys = live
    rpc, request_type, response_type, streaming = data.draw(st.sampled_from(RPCS), label="rpc")
    request = _message(data.draw, request_type)
    who = data.draw(st.sampled_from([None, "bogus", *ROLES]), label="key")
    key = keys.get(who, "kks_0123456789ab_" + "x" * 43) if who else None
    try:
        call(channel, rpc, request, response_type, streaming, key, timeout=5)
    except grpc.RpcError as error:
        assert error.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (rpc, who, error.details())


def test_the_server_answers_normally_after_the_fuzz(live: tuple[grpc.Channel, dict[str, str]]) -> None:
    channel, keys = live
    assert health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
    rpc, req, resp, streaming = next(r for r in RPCS if r[0].endswith("/GetQuote"))
    msg = req(destination_region_code="US")
    msg.parcels.add(weight_grams=500)
    assert call(channel, rpc, msg, resp, streaming, keys["checkout"]).options


def test_garbage_bytes_do_not_crash_the_server(live: tuple[grpc.Channel, dict[str, str]]) -> None:
    channel, keys = live
    for rpc, *_ in RPCS:
        raw = channel.unary_unary(rpc, request_serializer=None, response_deserializer=None)
        # Refused (INVALID_ARGUMENT, MALFORMED_REQUEST: tests/processes/test_hostile_input.py); what matters here is that the server lives on.
        with contextlib.suppress(grpc.RpcError):
            raw(b"\xff\xff\xff\x0f\x12garbage", metadata=(("authorization", f"Bearer {keys['admin']}"),), timeout=5)
    test_the_server_answers_normally_after_the_fuzz(live)
