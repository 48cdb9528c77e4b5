"""server.py as a process: the address from --listen or SHIPPING_LISTEN_ADDR, structured logs, and
a graceful stop on SIGTERM that lets a running call finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.conftest import REPO
from tests.tracking_helpers import free_port


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "server.py"), *args],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        entry = json.loads(line)
        if entry["message"] == "serving":
            return proc, entry["address"]
    proc.kill()
    raise AssertionError("server did not report serving")


def _quote(address: str) -> rates_pb2.GetQuoteResponse:
    with grpc.insecure_channel(address) as ch:
        msg = rates_pb2.GetQuoteRequest(destination_region_code="US")
        msg.parcels.add(weight_grams=500)
        return rates_pb2_grpc.RateServiceStub(ch).GetQuote(msg, timeout=10)


def test_listen_from_environment_and_sigterm_stops_cleanly() -> None:
    port = free_port()
    proc, address = _start(["--workers", "1"], {"SHIPPING_LISTEN_ADDR": f"127.0.0.1:{port}"})
    try:
        assert address == f"127.0.0.1:{port}"
        assert _quote(address).options
        # The server never loads Arrow (75 MB that pandas would otherwise pull in): see lean.py.
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "pandas" in maps and "libarrow" not in maps
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert proc.stderr is not None
        messages = [json.loads(line)["message"] for line in proc.stderr.read().splitlines() if line.startswith("{")]
        assert "shutting down" in messages and messages[-1] == "stopped"
        assert any(m == "rpc" for m in messages)
    finally:
        proc.kill()


def test_flag_overrides_environment_and_running_calls_finish_on_sigterm() -> None:
    port = free_port()
    proc, address = _start(["--listen", f"127.0.0.1:{port}"], {"SHIPPING_LISTEN_ADDR": "127.0.0.1:1"})
    try:
        assert address == f"127.0.0.1:{port}"
        # A batch of 1,000 quotes in flight while SIGTERM arrives still gets its answer.
        batch = rates_pb2.BatchGetQuotesRequest()
        for _ in range(1000):
            r = batch.requests.add(destination_region_code="GB")
            r.parcels.add(weight_grams=1500)
        results: list[object] = []
        with grpc.insecure_channel(address) as ch:
            stub = rates_pb2_grpc.RateServiceStub(ch)
            grpc.channel_ready_future(ch).result(timeout=10)
            stub.BatchGetQuotes(batch, timeout=30)  # warm: the connection is up and the server busy-ready
            future = stub.BatchGetQuotes.future(batch, timeout=30)
            threading.Timer(0.02, proc.send_signal, args=(signal.SIGTERM,)).start()
            results.append(future.result())
        assert len(results[0].results) == 1000  # type: ignore[attr-defined]
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
