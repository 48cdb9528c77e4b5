"""server.py as a process of its own, for tests that must see what the process does: its resident
memory (/proc/<pid>/status), its open descriptors, and every line it logs.

Its log goes to a file, not a pipe: a test that makes thousands of calls would otherwise fill the
pipe and stall the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from tests.conftest import REPO
from tests.tracking_helpers import free_port


class ServerProcess:
    def __init__(self, proc: subprocess.Popen[bytes], address: str, log_path: Path):
        self.proc = proc
        self.address = address
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self) -> int:
        """Resident memory of the server process now, in KiB (VmRSS)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError(f"no VmRSS in /proc/{self.pid}/status")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def log_entries(self) -> list[dict[str, Any]]:
        """Every JSON line logged so far; a line that is not JSON (a raw traceback) fails the test."""
        entries = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"the server logged a line that is not JSON: {line[:200]!r}") from None
        return entries


def _wait_for_serving(log_path: Path, proc: subprocess.Popen[bytes], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server.py exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        for line in log_path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{") and json.loads(line).get("message") == "serving":
                return str(json.loads(line)["address"])
        time.sleep(0.05)
    raise AssertionError("server.py did not report serving")


@contextmanager
def server_process(tmp_path: Path, env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None) -> Iterator[ServerProcess]:
    """One server.py worker (no supervisor) on a free loopback port, with a label database of its
    own; `env` adds SHIPPING_* settings. Stopped with SIGTERM (then SIGKILL) at the end."""
    log_path = tmp_path / f"server-{time.monotonic_ns()}.log"
    settings = {
        "SHIPPING_LISTEN_ADDR": f"127.0.0.1:{free_port()}",
        "SHIPPING_WORKERS": "1",
        "SHIPPING_PIN_CPUS": "false",
        "SHIPPING_DATABASE_PATH": str(tmp_path / "labels.sqlite3"),
        "SHIPPING_TABLES_POLL_SECONDS": "0",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "server.py")],
            env={**os.environ, **settings},
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=REPO,
            preexec_fn=preexec,  # e.g. a lower descriptor limit for the server
        )
    try:
        address = _wait_for_serving(log_path, proc, 60)
        yield ServerProcess(proc, address, log_path)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def send_raw(
    channel: grpc.Channel, rpc: str, payloads: Iterable[bytes], *, streaming: bool, metadata: tuple[tuple[str, str], ...] = (), window: int = 64
) -> list[grpc.RpcError]:
    """Sends each payload as the request bytes of `rpc`, `window` calls in flight at a time; returns
    the errors (a call that succeeds is a test failure the caller sees as a missing error)."""
    errors: list[grpc.RpcError] = []
    if streaming:
        stream = channel.unary_stream(rpc)

        def one(data: bytes) -> None:
            try:
                for _ in stream(data, metadata=metadata, timeout=30):
                    pass
            except grpc.RpcError as error:
                errors.append(error)

        with futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(one, payloads))
        return errors
    unary = channel.unary_unary(rpc)
    pending: list[grpc.Future] = []

    def drain(keep: int) -> None:
        while len(pending) > keep:
            future = pending.pop(0)
            try:
                future.result()
            except grpc.RpcError as error:
                errors.append(error)

    for data in payloads:
        pending.append(unary.future(data, metadata=metadata, timeout=30))
        drain(window)
    drain(0)
    return errors
