"""Failed authentication is rate-limited per peer address, against a real server with keys: an
address that keeps sending missing or wrong keys is answered RESOURCE_EXHAUSTED,
TOO_MANY_AUTH_FAILURES, with a retry delay, before its key is even looked at (so a right guess gets
no further than a wrong one), until its bucket refills; other addresses, and addresses that never
fail, go on as before."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import grpc
import pytest

from kokokara.shipping.server.guard import FailedAuthThrottle, peer_address
from kokokara.shipping.server.settings import Settings, SettingsError
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.grpc_support import status_details
from tests.security_support import auth, keyed_service

WRONG_KEY = "kks_000000000000_" + "x" * 43


def _quote() -> rates_pb2.GetQuoteRequest:
    request = rates_pb2.GetQuoteRequest(destination_region_code="US")
    request.parcels.add(weight_grams=500)
    return request


def _answer(stub: rates_pb2_grpc.RateServiceStub, key: str | None) -> tuple[grpc.StatusCode, str]:
    try:
        stub.GetQuote(_quote(), metadata=auth(key), timeout=10)
    except grpc.RpcError as error:
        return error.code(), status_details(error).reason
    return grpc.StatusCode.OK, ""


@contextmanager
def from_address(source: str, target: str) -> Iterator[str]:
    """A loopback relay: connections to the address it yields reach `target` from `source`
    (e.g. 127.0.0.2), so the server sees a second peer address. Traffic stays on 127.0.0.1."""
    host, port = target.rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    sockets: list[socket.socket] = [listener]

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection((host, int(port)), timeout=10, source_address=(source, 0))
            upstream.settimeout(None)
            client.settimeout(None)
            sockets.extend((client, upstream))
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(5)
        for s in sockets:
            s.close()


def test_an_address_that_keeps_failing_is_refused_before_its_key_is_checked(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with (
        keyed_service(tmp_path, auth_failures_per_second=0.5, auth_failures_burst=3) as (service, keys),
        grpc.insecure_channel(service.address) as channel,
        caplog.at_level(logging.INFO, logger="kokokara.shipping.access"),
    ):
        stub = rates_pb2_grpc.RateServiceStub(channel)
        # An address that never fails is never held back (the per-key limit is another matter).
        for _ in range(30):
            assert _answer(stub, keys["checkout"]) == (grpc.StatusCode.OK, "")
        # Three failures (missing or wrong keys) are answered as such...
        assert _answer(stub, None) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_MISSING")
        assert _answer(stub, WRONG_KEY) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")
        assert _answer(stub, WRONG_KEY) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")
        # ... then the address is refused, with a delay, whatever key it sends: the right key too.
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetQuote(_quote(), metadata=auth(WRONG_KEY), timeout=10)
        details = status_details(refused.value)
        assert (details.code, details.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_AUTH_FAILURES")
        assert details.retry_info is not None and 0 < details.retry_info.retry_delay.ToNanoseconds() <= 2e9  # one token at 0.5 a second
        assert _answer(stub, keys["checkout"]) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_AUTH_FAILURES")

        # Another address is not held back by this one's failures.
        with from_address("127.0.0.2", service.address) as relay, grpc.insecure_channel(relay) as other:
            other_stub = rates_pb2_grpc.RateServiceStub(other)
            assert _answer(other_stub, keys["checkout"]) == (grpc.StatusCode.OK, "")
            assert _answer(other_stub, WRONG_KEY) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")

        # Once the bucket has a token again, the right key works from the first address.
        deadline = time.monotonic() + 15
        while _answer(stub, keys["checkout"]) != (grpc.StatusCode.OK, "") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _answer(stub, keys["checkout"]) == (grpc.StatusCode.OK, "")

    refusals = [r for r in caplog.records if getattr(r, "reason", "") == "TOO_MANY_AUTH_FAILURES"]
    assert refusals and all(getattr(r, "code", "") == "RESOURCE_EXHAUSTED" for r in refusals)


def test_without_the_limit_failures_are_never_throttled(tmp_path: Path) -> None:
    with keyed_service(tmp_path, auth_failures_per_second=0.0) as (service, _), grpc.insecure_channel(service.address) as channel:
        stub = rates_pb2_grpc.RateServiceStub(channel)
        for _ in range(60):
            assert _answer(stub, WRONG_KEY) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")


def test_the_default_limit_stops_a_key_guesser(tmp_path: Path) -> None:
    defaults = Settings()
    with keyed_service(tmp_path) as (service, _), grpc.insecure_channel(service.address) as channel:
        stub = rates_pb2_grpc.RateServiceStub(channel)
        answers = [_answer(stub, WRONG_KEY)[1] for _ in range(defaults.auth_failures_burst + 5)]
    assert answers.count("API_KEY_INVALID") <= defaults.auth_failures_burst + 1
    assert answers[-1] == "TOO_MANY_AUTH_FAILURES"


def test_peer_addresses() -> None:
    assert peer_address("ipv4:10.0.0.7:51234") == "10.0.0.7"
    assert peer_address("ipv6:%5B2001:db8:1:2:3:4:5:6%5D:443") == "2001:db8:1:2::/64"
    assert peer_address("ipv6:[2001:db8:1:2:ffff::9]:443") == "2001:db8:1:2::/64"
    assert peer_address("ipv6:%5B::1%5D:41314") == "::1"
    assert peer_address("ipv6:[::ffff:10.1.2.3]:5") == "10.1.2.3"
    assert peer_address("unix:/run/shipping.sock") == "unix:/run/shipping.sock"


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    now = [0.0]
    throttle = FailedAuthThrottle(1.0, 2, max_peers=3, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("a")
    assert throttle.wait("a") == pytest.approx(1.0)
    for peer in ("b", "c", "d"):  # the fourth address pushes out the one that failed longest ago
        throttle.failed(peer)
    assert throttle.wait("a") == 0.0 and throttle.wait("b") == 0.0
    now[0] = 0.5
    for _ in range(2):
        throttle.failed("c")
    assert throttle.wait("c") == pytest.approx(0.5)


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env({"SHIPPING_AUTH_FAILURES_PER_SECOND": "0.2", "SHIPPING_AUTH_FAILURES_BURST": "5"})
    assert (settings.auth_failures_per_second, settings.auth_failures_burst) == (0.2, 5)
    assert Settings.from_env({"SHIPPING_AUTH_FAILURES_PER_SECOND": "0"}).auth_failures_per_second == 0
    with pytest.raises(SettingsError, match="SHIPPING_AUTH_FAILURES_BURST"):
        Settings.from_env({"SHIPPING_AUTH_FAILURES_BURST": "0"})
