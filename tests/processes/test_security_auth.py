"""Who may call what, against real servers: API keys, roles, open health checks,
reflection behind a key or switched off, loopback-only without keys, and the keys command."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from kokokara.shipping.cli import main as cli_main
from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.auth import ROLES, KeyRing, allowed, read_entries
from kokokara.shipping.server.security import InsecureListenError, is_loopback
from kokokara.shipping.v1 import rates_pb2
from tests.conftest import REPO, test_settings
from tests.security_support import call, error_info, every_rpc, keyed_service

RPCS = every_rpc()
TRACKING = {"GetTracking", "BatchGetTracking", "WatchTracking", "WatchParcel", "UnwatchParcel", "ListWatchedParcels", "ListTrackingEvents"}
EXPECTED = {
    "checkout": {"GetQuote", "BatchGetQuotes", "PlanShipment"},
    "warehouse": {"CreateLabel", "GetLabel", "ListLabels", "VoidLabel", "GetManifest", *TRACKING},
    # support reads labels too, without what they say of people (test_security_privacy.py)
    "support": {"GetLabel", "ListLabels", *TRACKING},
    # webhook endpoints receive every parcel's events: operators manage them, not the warehouse
    "operator": {"CreateWebhookEndpoint", "ListWebhookEndpoints", "DeleteWebhookEndpoint", "ListDeadDeliveries", "ListTrackingEvents", "ListWatchedParcels"},
    "analyst": {
        "GetQuote",
        "BatchGetQuotes",
        "PlanShipment",
        "ListRateTables",
        "GetRateTable",
        "ListDestinations",
        "CompareRates",
        "DiffRateTables",
        "DiffAcceptance",
    },
    "admin": {rpc.rsplit("/", 1)[1] for rpc, *_ in RPCS},
}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    # These tests send dozens of missing and wrong keys from one address: not throttled here
    # (tests/server/test_auth_failures.py is about that).
    with (
        keyed_service(tmp_path_factory.mktemp("keyed"), auth_failures_per_second=0.0) as (service, keys),
        grpc.insecure_channel(service.address) as channel,
    ):
        yield service, keys, channel


def _code(channel: grpc.Channel, rpc: str, req: type, resp: type, streaming: bool, key: str | None) -> tuple[grpc.StatusCode, str]:
    try:
        call(channel, rpc, req(), resp, streaming, key)
    except grpc.RpcError as error:
        info = error_info(error)
        return error.code(), info.reason if info else ""
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize(("rpc", "req", "resp", "streaming"), RPCS, ids=[r[0].rsplit("/", 1)[1] for r in RPCS])
def test_every_rpc_needs_a_key(keyed, rpc: str, req: type, resp: type, streaming: bool) -> None:  # type: ignore[no-untyped-def]
    _, _, channel = keyed
    assert _code(channel, rpc, req, resp, streaming, None) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_MISSING")
    assert _code(channel, rpc, req, resp, streaming, "kks_000000000000_" + "x" * 43) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")
    assert _code(channel, rpc, req, resp, streaming, "not a key") == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")


def test_a_key_with_a_changed_secret_is_refused(keyed) -> None:  # type: ignore[no-untyped-def]
    _, keys, channel = keyed
    good = keys["admin"]
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")  # right id, wrong secret
    rpc, req, resp, streaming = next(r for r in RPCS if r[0].endswith("/ListRateTables"))
    assert _code(channel, rpc, req, resp, streaming, good)[0] is grpc.StatusCode.OK
    assert _code(channel, rpc, req, resp, streaming, forged) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_call_exactly_its_rpcs(keyed, role: str) -> None:  # type: ignore[no-untyped-def]
    _, keys, channel = keyed
    for rpc, req, resp, streaming in RPCS:
        name = rpc.rsplit("/", 1)[1]
        code, reason = _code(channel, rpc, req, resp, streaming, keys[role])
        if name in EXPECTED[role]:
            assert code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INTERNAL), (role, name, code)
            assert allowed(role, rpc)
        else:
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED"), (role, name, code)


def test_health_stays_open_and_reflection_needs_a_key(keyed) -> None:  # type: ignore[no-untyped-def]
    _, keys, channel = keyed
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    ask = [reflection_pb2.ServerReflectionRequest(list_services="")]
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.ServerReflectionInfo(iter(ask), timeout=5))
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    answers = list(stub.ServerReflectionInfo(iter(ask), metadata=(("authorization", f"Bearer {keys['support']}"),), timeout=5))
    names = {s.name for s in answers[0].list_services_response.service}
    assert "kokokara.shipping.v1.RateService" in names


def test_reflection_can_be_switched_off(tmp_path: Path) -> None:
    service = bootstrap.start(test_settings(reflection=False, database_path=tmp_path / "l.sqlite3"))
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            with pytest.raises(grpc.RpcError) as off:
                list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5))
            assert off.value.code() is grpc.StatusCode.UNIMPLEMENTED
    finally:
        service.stop(0)


def test_access_log_names_the_caller_never_the_key(keyed, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    _, keys, channel = keyed
    rpc, req, resp, streaming = next(r for r in RPCS if r[0].endswith("/ListRateTables"))
    with caplog.at_level(logging.INFO, logger="kokokara.shipping.access"):
        _code(channel, rpc, req, resp, streaming, keys["analyst"])
        _code(channel, rpc, req, resp, streaming, keys["checkout"])
    lines = [r for r in caplog.records if r.name == "kokokara.shipping.access"]
    assert [(getattr(r, "caller", None), getattr(r, "code", None)) for r in lines[-2:]] == [("analyst-test", "OK"), ("checkout-test", "PERMISSION_DENIED")]
    assert all(k not in caplog.text for k in keys.values())


def test_without_keys_only_loopback_unless_insecure(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert is_loopback("127.0.0.1:0") and is_loopback("[::1]:50051") and is_loopback("localhost:1")
    assert not is_loopback("0.0.0.0:50051") and not is_loopback("[::]:1") and not is_loopback("shipping.internal:1")
    with pytest.raises(InsecureListenError):
        bootstrap.start(test_settings(listen_addr="0.0.0.0:0", database_path=tmp_path / "l.sqlite3"))
    with caplog.at_level(logging.WARNING):
        service = bootstrap.start(test_settings(listen_addr="0.0.0.0:0", insecure=True, database_path=tmp_path / "l.sqlite3"))
    try:
        assert any(r.levelno >= logging.ERROR and "INSECURE" in r.getMessage() for r in caplog.records)
        with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            msg = rates_pb2.GetQuoteRequest(destination_region_code="US")
            msg.parcels.add(weight_grams=500)
            assert channel.unary_unary(
                "/kokokara.shipping.v1.RateService/GetQuote",
                request_serializer=rates_pb2.GetQuoteRequest.SerializeToString,
                response_deserializer=rates_pb2.GetQuoteResponse.FromString,
            )(msg, timeout=10).options
    finally:
        service.stop(0)


def test_server_process_refuses_a_public_address_without_keys() -> None:
    done = subprocess.run([sys.executable, str(REPO / "server.py"), "--listen", "0.0.0.0:0"], capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert done.returncode == 4
    assert "without API keys" in done.stderr


def test_keys_command_prints_a_key_once_and_stores_only_its_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.json"
    assert cli_main(["keys", "add", "--name", "checkout-prod", "--role", "checkout", "--file", str(path)]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("kks_")
    stored = path.read_text()
    assert key not in stored and key.split("_", 2)[2] not in stored
    assert json.loads(stored)["keys"][0]["name"] == "checkout-prod"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    ring = KeyRing.load(path)
    caller = ring.identify(key)
    assert caller is not None and (caller.name, caller.role) == ("checkout-prod", "checkout")
    assert cli_main(["keys", "add", "--name", "ops", "--role", "admin", "--file", str(path)]) == 0
    capsys.readouterr()
    assert cli_main(["keys", "list", "--file", str(path)]) == 0
    listing = capsys.readouterr().out
    assert "checkout-prod" in listing and "ops" in listing and key not in listing
    assert cli_main(["keys", "remove", "--name", "checkout-prod", "--file", str(path)]) == 0
    assert [e.caller.name for e in read_entries(path)] == ["ops"]
    assert KeyRing.load(path).identify(key) is None


def test_the_printed_key_works_against_a_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.json"
    assert cli_main(["keys", "add", "--name", "analyst-1", "--role", "analyst", "--file", str(path)]) == 0
    key = capsys.readouterr().out.strip()
    service = bootstrap.start(test_settings(api_keys_file=path, database_path=tmp_path / "l.sqlite3"))
    try:
        with grpc.insecure_channel(service.address) as channel:
            rpc, req, resp, streaming = next(r for r in RPCS if r[0].endswith("/ListRateTables"))
            assert call(channel, rpc, req(), resp, streaming, key).rate_tables
    finally:
        service.stop(0)


def test_a_broken_keys_file_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"id": "x"}]}')
    done = subprocess.run(
        [sys.executable, str(REPO / "server.py"), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env={"SHIPPING_API_KEYS_FILE": str(path), "PATH": "/usr/bin:/bin", "SHIPPING_DATABASE_PATH": str(tmp_path / "l.sqlite3")},
    )
    assert done.returncode == 6
    assert "keys[0]" in done.stderr
