"""Server settings for running many replicas: a plaintext health-only port for Kubernetes' grpc probes,
and a maximum connection age so clients re-resolve the headless Service and reach new replicas."""

from __future__ import annotations

import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.settings import Settings, SettingsError
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.conftest import test_settings
from tests.tracking_helpers import wait_until


def check(address: str, service: str = "") -> int:
    with grpc.insecure_channel(address) as channel:
        return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status)


def test_settings_read_the_health_address_and_connection_age() -> None:
    s = Settings.from_env({"SHIPPING_HEALTH_ADDR": "0.0.0.0:8086", "SHIPPING_MAX_CONNECTION_AGE_SECONDS": "300"})
    assert (s.health_addr, s.max_connection_age_seconds) == ("0.0.0.0:8086", 300.0)
    assert (Settings.from_env({}).health_addr, Settings.from_env({}).max_connection_age_seconds) == ("", 0.0)
    with pytest.raises(SettingsError, match="SHIPPING_HEALTH_ADDR"):
        Settings.from_env({"SHIPPING_HEALTH_ADDR": "8086:health"})
    with pytest.raises(SettingsError, match="SHIPPING_MAX_CONNECTION_AGE_SECONDS"):
        Settings.from_env({"SHIPPING_MAX_CONNECTION_AGE_SECONDS": "-1"})


def test_health_port_serves_health_alone_and_follows_the_loading_phase() -> None:
    service = bootstrap.start(test_settings(health_addr="127.0.0.1:0"), load_tables=False)
    try:
        health_address = f"127.0.0.1:{service.health_port}"
        assert service.health_port not in (0, service.port)
        assert check(health_address) == health_pb2.HealthCheckResponse.NOT_SERVING  # tables not loaded yet
        bootstrap.load_into(service)
        assert check(health_address) == health_pb2.HealthCheckResponse.SERVING
        assert check(health_address, "kokokara.shipping.v1.RateService") == health_pb2.HealthCheckResponse.SERVING
        with grpc.insecure_channel(health_address) as channel, pytest.raises(grpc.RpcError) as caught:
            rates_pb2_grpc.RateServiceStub(channel).ListRateTables(rates_pb2.ListRateTablesRequest(), timeout=5)
        assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED  # nothing but health on this port
        service.health.enter_graceful_shutdown()  # what stop() does first: probes see the drain
        assert check(health_address) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        service.stop(0)


def test_health_port_in_use_stops_the_start() -> None:
    service = bootstrap.start(test_settings(health_addr="127.0.0.1:0"), load_tables=False)
    try:
        with pytest.raises(OSError, match="SHIPPING_HEALTH_ADDR"):
            bootstrap.start(test_settings(health_addr=f"127.0.0.1:{service.health_port}"), load_tables=False)
    finally:
        service.stop(0)


def test_connections_are_recycled_after_the_maximum_age_and_calls_keep_succeeding() -> None:
    service = bootstrap.start(test_settings(max_connection_age_seconds=0.5, grace_seconds=0.5))
    states: list[grpc.ChannelConnectivity] = []
    lock = threading.Lock()

    def seen(state: grpc.ChannelConnectivity) -> None:
        with lock:
            states.append(state)

    def reconnected() -> bool:
        with lock:
            ready = [i for i, s in enumerate(states) if s is grpc.ChannelConnectivity.READY]
        return len(ready) >= 2  # ready, dropped by the server's GOAWAY, ready again

    try:
        with grpc.insecure_channel(service.address) as channel:
            channel.subscribe(seen, try_to_connect=True)
            stub = rates_pb2_grpc.RateServiceStub(channel)
            answered = 0

            def call_and_check() -> bool:
                nonlocal answered
                stub.ListRateTables(rates_pb2.ListRateTablesRequest(), timeout=5, wait_for_ready=True)
                answered += 1
                return reconnected()

            assert wait_until(call_and_check, seconds=15), f"the connection was not recycled: {states}"
            assert answered > 1
            channel.unsubscribe(seen)
    finally:
        service.stop(0)
