"""A flood of idle connections against a server.py process (loopback only, a bounded count): the
process never holds more than SHIPPING_MAX_CONNECTIONS of them, so it keeps descriptors for its
other work; connections that never finish their HTTP/2 start are closed after
SHIPPING_HANDSHAKE_TIMEOUT_SECONDS and idle ones after SHIPPING_CONNECTION_IDLE_SECONDS, so a new
client gets in while the flood still holds its sockets open.

Without these, 22,000 idle connections from one client used up a worker's descriptors and new
clients timed out until that client let go; here 600 do the same to a process allowed 512."""

from __future__ import annotations

import resource
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import requests

from kokokara.shipping.server.security import DESCRIPTOR_HEADROOM, connection_options
from kokokara.shipping.server.settings import Settings, SettingsError
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.process_support import server_process
from tests.tracking_helpers import free_port

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
OPEN_FILES = 512
LIMIT = 100


def _descriptors(limit: int) -> Callable[[], None]:
    def lower() -> None:  # runs in the server's process before it starts
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return lower


def _quote(address: str, timeout: float) -> rates_pb2.GetQuoteResponse:
    request = rates_pb2.GetQuoteRequest(destination_region_code="US")
    request.parcels.add(weight_grams=500)
    with grpc.insecure_channel(address) as channel:
        return rates_pb2_grpc.RateServiceStub(channel).GetQuote(request, timeout=timeout, wait_for_ready=True)


def _flood(address: str, count: int) -> list[socket.socket]:
    """`count` connections that then say nothing: half send nothing at all, half the HTTP/2
    preface and an empty SETTINGS frame (a client that started HTTP/2 and went quiet)."""
    host, port = address.rsplit(":", 1)
    sockets = []
    for i in range(count):
        s = socket.create_connection((host, int(port)), timeout=5)
        if i % 2:
            s.sendall(PREFACE + EMPTY_SETTINGS)
        s.setblocking(False)
        sockets.append(s)
    return sockets


def _closed_by_server(sockets: list[socket.socket]) -> int:
    closed = 0
    for s in sockets:
        try:
            while s.recv(65536):  # the server's SETTINGS, GOAWAY, ...
                pass
            closed += 1  # b"": the server closed it
        except BlockingIOError:
            pass  # still open
        except OSError:
            closed += 1  # reset by the server
    return closed


def _wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_flood_of_idle_connections_does_not_lock_out_a_new_client(tmp_path: Path) -> None:
    metrics_port = free_port()
    env = {
        "SHIPPING_MAX_CONNECTIONS": str(LIMIT),
        "SHIPPING_HANDSHAKE_TIMEOUT_SECONDS": "3",
        "SHIPPING_CONNECTION_IDLE_SECONDS": "3",
        "SHIPPING_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
    }
    with server_process(tmp_path, env, preexec=_descriptors(OPEN_FILES)) as server:
        assert _quote(server.address, 10).options
        at_rest = server.open_fds()
        flood = _flood(server.address, OPEN_FILES + 88)
        try:
            # Past the limit, connections are closed as they come: the process keeps its descriptors.
            assert _wait_until(lambda: _closed_by_server(flood) >= len(flood) - LIMIT, 15), f"{_closed_by_server(flood)} of {len(flood)} closed"
            assert server.open_fds() <= at_rest + LIMIT + 10
            assert requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).ok
            # A new client is served while the flood holds every one of its sockets open...
            assert _quote(server.address, 30).options
            # ... because the server closes the quiet ones: no HTTP/2 start, or no call, for 3 s.
            assert _wait_until(lambda: _closed_by_server(flood) == len(flood), 30), f"{_closed_by_server(flood)} of {len(flood)} closed"
        finally:
            for s in flood:
                s.close()
        assert server.open_fds() <= at_rest + 5
        assert _quote(server.address, 10).options


def test_an_idle_client_connection_is_closed_and_reopened_on_the_next_call(tmp_path: Path) -> None:
    with server_process(tmp_path, {"SHIPPING_CONNECTION_IDLE_SECONDS": "1"}) as server, grpc.insecure_channel(server.address) as channel:
        idle = threading.Event()
        request = rates_pb2.GetQuoteRequest(destination_region_code="US")
        request.parcels.add(weight_grams=500)
        stub = rates_pb2_grpc.RateServiceStub(channel)
        assert stub.GetQuote(request, timeout=10).options
        ready = threading.Event()

        def watch(state: grpc.ChannelConnectivity) -> None:
            if state is grpc.ChannelConnectivity.READY:
                ready.set()
            elif ready.is_set() and state is grpc.ChannelConnectivity.IDLE:
                idle.set()  # the server said GOAWAY to a connection without calls

        channel.subscribe(watch, try_to_connect=False)
        assert idle.wait(20), "the idle connection was not closed"
        assert stub.GetQuote(request, timeout=10).options  # the client connects again


def test_the_process_raises_its_open_files_limit_for_its_connections(tmp_path: Path) -> None:
    def limits(soft: int, hard: int) -> Callable[[], None]:
        return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def soft_limit(pid: int) -> int:
        line = next(x for x in Path(f"/proc/{pid}/limits").read_text().splitlines() if x.startswith("Max open files"))
        return int(line.split()[3])

    with server_process(tmp_path, {"SHIPPING_MAX_CONNECTIONS": "1000"}, preexec=limits(300, 4096)) as server:
        assert soft_limit(server.pid) == 1000 + DESCRIPTOR_HEADROOM
    with server_process(tmp_path, {"SHIPPING_MAX_CONNECTIONS": "1000"}, preexec=limits(300, 600)) as server:
        assert soft_limit(server.pid) == 600
        assert any("too low for SHIPPING_MAX_CONNECTIONS" in e["message"] for e in server.log_entries())


def test_settings_and_the_grpc_options_they_become() -> None:
    defaults = Settings()
    assert (defaults.max_connections, defaults.handshake_timeout_seconds, defaults.connection_idle_seconds) == (1000, 10.0, 300.0)
    settings = Settings.from_env({"SHIPPING_MAX_CONNECTIONS": "50", "SHIPPING_HANDSHAKE_TIMEOUT_SECONDS": "2.5", "SHIPPING_CONNECTION_IDLE_SECONDS": "0"})
    assert dict(connection_options(settings)) == {"grpc.max_allowed_incoming_connections": 50, "grpc.server_handshake_timeout_ms": 2500}
    assert dict(connection_options(defaults))["grpc.max_connection_idle_ms"] == 300_000
    with pytest.raises(SettingsError, match="SHIPPING_MAX_CONNECTIONS"):
        Settings.from_env({"SHIPPING_MAX_CONNECTIONS": "0"})
    with pytest.raises(SettingsError, match="SHIPPING_HANDSHAKE_TIMEOUT_SECONDS"):
        Settings.from_env({"SHIPPING_HANDSHAKE_TIMEOUT_SECONDS": "0"})
