"""server.py --workers N as real processes: N workers share one port (port 0 resolved once by the
supervisor), every worker answers, a killed worker is logged and replaced, SIGTERM drains all of
them and the supervisor exits 0, and a worker that cannot start stops the whole service."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.conftest import REPO


class ServerProcess:
    """server.py in its own process; its JSON log lines are collected by a reader thread."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, tmp: Path | None = None):
        extra = {"SHIPPING_LOG_LEVEL": "INFO", "SHIPPING_GRACE_SECONDS": "5"}
        if tmp is not None:
            extra["SHIPPING_DATABASE_PATH"] = str(tmp / "labels.sqlite3")
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "server.py"), *args],
            env={**os.environ, **extra, **(env or {})},
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        self.lines: queue.Queue[dict] = queue.Queue()
        self.seen: list[dict] = []
        # What is not a JSON log line (a traceback of a worker that died before logging) is kept
        # for the failure message.
        self.other: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if line.startswith("{"):
                self.lines.put(json.loads(line))
            else:
                self.other.append(line)

    def wait_for(self, condition: Callable[[dict], bool], seconds: float = 60) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                entry = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(entry)
            if condition(entry):
                return entry
        seen = [e["message"] for e in self.seen]
        raise AssertionError(f"no such log line; seen: {seen}; other output: {''.join(self.other)[-4000:]!r}")

    def drain(self) -> list[dict]:
        while True:
            try:
                self.seen.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                return self.seen

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def kill_all(self) -> None:
        """Kills the supervisor and every worker it logged: none is left behind, even when a test failed."""
        pids = [entry["pid"] for entry in self.drain() if entry.get("pid")]
        self.kill()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict]]:
    server = ServerProcess(["--listen", "127.0.0.1:0", "--workers", "2"], tmp=tmp_path)
    try:
        serving = server.wait_for(lambda e: e["message"] == "serving")
        yield server, serving
    finally:
        server.kill_all()


def _quote_over_fresh_connection(address: str, grams: int) -> rates_pb2.GetQuoteResponse:
    # A channel of its own (no shared subchannel) is a new TCP connection, which the kernel may
    # hand to either worker.
    with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        msg = rates_pb2.GetQuoteRequest(destination_region_code="US")
        msg.parcels.add(weight_grams=grams)
        return rates_pb2_grpc.RateServiceStub(ch).GetQuote(msg, timeout=20)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); its state in /proc says it is gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_port_zero_is_resolved_once_and_both_workers_answer(two_workers: tuple[ServerProcess, dict]) -> None:
    server, serving = two_workers
    address = serving["address"]
    assert address.startswith("127.0.0.1:") and not address.endswith(":0")
    workers = set(serving["pids"])
    assert len(workers) == 2
    # "serving" comes only after each worker said it was SERVING
    assert {e["pid"] for e in server.seen if e["message"] == "worker serving"} == workers
    for i in range(40):
        assert _quote_over_fresh_connection(address, 500 + i).options
        answered = {e.get("pid") for e in server.drain() if e["message"] == "rpc"}
        if answered >= workers:
            break
    assert answered == workers, f"only {answered} of {workers} answered 40 connections"


def test_a_killed_worker_is_logged_and_replaced(two_workers: tuple[ServerProcess, dict]) -> None:
    server, serving = two_workers
    victim, survivor = serving["pids"]
    os.kill(victim, signal.SIGKILL)
    died = server.wait_for(lambda e: e["message"] == "worker died")
    assert died["pid"] == victim and died["returncode"] == -signal.SIGKILL
    restarted = server.wait_for(lambda e: e["message"] == "worker restarted")
    assert restarted["replaces"] == victim and restarted["pid"] not in (victim, survivor)
    server.wait_for(lambda e: e["message"] == "worker serving" and e["pid"] == restarted["pid"])
    assert server.proc.poll() is None
    # the replacement serves its share of new connections
    for i in range(40):
        assert _quote_over_fresh_connection(serving["address"], 700 + i).options
        if any(e["message"] == "rpc" and e.get("pid") == restarted["pid"] for e in server.drain()):
            break
    else:
        raise AssertionError("the new worker answered none of 40 connections")


def test_sigterm_drains_every_worker_and_exits_zero(two_workers: tuple[ServerProcess, dict]) -> None:
    server, serving = two_workers
    batch = rates_pb2.BatchGetQuotesRequest()
    for _ in range(1000):
        r = batch.requests.add(destination_region_code="GB")
        r.parcels.add(weight_grams=1500)
    with grpc.insecure_channel(serving["address"]) as ch:
        stub = rates_pb2_grpc.RateServiceStub(ch)
        stub.BatchGetQuotes(batch, timeout=30)  # warm: connection up
        future = stub.BatchGetQuotes.future(batch, timeout=30)
        threading.Timer(0.02, server.proc.send_signal, args=(signal.SIGTERM,)).start()
        assert len(future.result().results) == 1000  # the call in flight is answered
    assert server.proc.wait(timeout=30) == 0
    messages = [(e["message"], e.get("pid")) for e in server.drain()]
    for pid in serving["pids"]:
        assert ("stopped", pid) in messages  # each worker did its own graceful stop
        assert not _alive(pid)
    assert messages[-1] == ("stopped", None)  # the supervisor last


def test_a_worker_that_cannot_start_stops_the_service(tmp_path: Path) -> None:
    server = ServerProcess(["--listen", "127.0.0.1:0", "--workers", "2"], env={"SHIPPING_TABLES_DIR": str(tmp_path / "missing")}, tmp=tmp_path)
    try:
        assert server.proc.wait(timeout=60) == 3  # the worker's own exit code: invalid rate table
        assert "worker failed to start" in [e["message"] for e in server.drain()]
    finally:
        server.kill()


def test_workers_must_be_positive() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "server.py"), "--workers", "0"], capture_output=True, text=True, cwd=REPO, timeout=30)
    assert proc.returncode == 2 and "--workers" in proc.stderr
    env = {**os.environ, "SHIPPING_WORKERS": "many"}
    proc = subprocess.run([sys.executable, str(REPO / "server.py")], capture_output=True, text=True, cwd=REPO, timeout=30, env=env)
    assert proc.returncode == 2 and "SHIPPING_WORKERS" in proc.stderr


def test_reuse_port_setting_decides_whether_a_second_server_may_share_the_port(tmp_path: Path) -> None:
    from kokokara.shipping.server import bootstrap
    from tests.conftest import test_settings

    first = bootstrap.start(test_settings(database_path=tmp_path / "a.sqlite3", reuse_port=True), load_tables=False)
    try:
        taken = f"127.0.0.1:{first.port}"
        with pytest.raises(RuntimeError, match="Failed to bind"):  # grpc says so with a RuntimeError
            bootstrap.start(test_settings(listen_addr=taken, database_path=tmp_path / "b.sqlite3"), load_tables=False)
        second = bootstrap.start(test_settings(listen_addr=taken, database_path=tmp_path / "c.sqlite3", reuse_port=True), load_tables=False)
        assert second.port == first.port
        second.stop(0)
    finally:
        first.stop(0)


def _two_consecutive_free_ports() -> int:
    """A port p with p + 1 free too (worker i serves metrics on the given port + i), taken below the
    kernel's ephemeral range so that no bind to port 0 or outgoing connection grabs p + 1 meanwhile."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12_000), low - 2)
        with socket.socket() as first, socket.socket() as second:
            try:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise AssertionError("no two consecutive free ports")


def test_sighup_reloads_every_worker_and_each_serves_its_own_metrics(tmp_path: Path) -> None:
    base = _two_consecutive_free_ports()
    server = ServerProcess(["--listen", "127.0.0.1:0", "--workers", "2"], env={"SHIPPING_METRICS_ADDR": f"127.0.0.1:{base}"}, tmp=tmp_path)
    try:
        serving = server.wait_for(lambda e: e["message"] == "serving")
        pids = set(serving["pids"])
        for port in (base, base + 1):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
                assert b"shipping_rate_tables_info" in page.read()
        server.proc.send_signal(signal.SIGHUP)
        reloaded: set[int] = set()
        while reloaded != pids:
            entry = server.wait_for(lambda e: e["message"] == "rate tables reloaded", 30)
            reloaded.add(entry["pid"])
        assert _quote_over_fresh_connection(serving["address"], 500).options
    finally:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=30)
        finally:
            server.kill()


def _thread_cpus(pid: int) -> set[frozenset[int]]:
    """The CPU masks of every thread of a process (gRPC's pollers and executors included)."""
    masks = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            masks.add(frozenset(os.sched_getaffinity(int(tid))))
    return masks


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU pinning is Linux-only")
def test_pinned_workers_each_run_every_thread_on_a_cpu_of_their_own_and_a_replacement_keeps_it(tmp_path: Path) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    server = ServerProcess(["--listen", "127.0.0.1:0", "--workers", "2", "--pin-cpus"], tmp=tmp_path)
    try:
        serving = server.wait_for(lambda e: e["message"] == "serving")
        first, second = serving["pids"]
        assert _quote_over_fresh_connection(serving["address"], 900).options  # threads started by a call too
        assert _thread_cpus(first) == {frozenset({allowed[0]})}
        assert _thread_cpus(second) == {frozenset({allowed[1 % len(allowed)]})}
        assert len(os.listdir(f"/proc/{first}/task")) > 3  # the gRPC threads were checked, not only the main one
        os.kill(second, signal.SIGKILL)
        restarted = server.wait_for(lambda e: e["message"] == "worker restarted")
        server.wait_for(lambda e: e["message"] == "worker serving" and e["pid"] == restarted["pid"])
        assert _thread_cpus(restarted["pid"]) == {frozenset({allowed[1 % len(allowed)]})}
        assert _thread_cpus(server.proc.pid) == {frozenset(allowed)}  # the supervisor itself stays free
    finally:
        server.kill_all()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU pinning is Linux-only")
def test_a_single_process_pins_itself_only_when_asked(tmp_path: Path) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    cases = [({"SHIPPING_PIN_CPUS": "true"}, [], {frozenset({allowed[0]})}), ({}, [], {frozenset(allowed)}), ({}, ["--pin-cpus"], {frozenset({allowed[0]})})]
    for env, flags, expected in cases:  # auto (the default) leaves one process on a many-CPU machine free
        server = ServerProcess(["--listen", "127.0.0.1:0", "--workers", "1", *flags], env=env, tmp=tmp_path)
        try:
            serving = server.wait_for(lambda e: e["message"] == "serving")
            assert _quote_over_fresh_connection(serving["address"], 900).options
            assert _thread_cpus(server.proc.pid) == expected, (env, flags)
        finally:
            server.kill()
    proc = subprocess.run(
        [sys.executable, str(REPO / "server.py")], capture_output=True, text=True, cwd=REPO, timeout=30, env={**os.environ, "SHIPPING_PIN_CPUS": "sometimes"}
    )
    assert proc.returncode == 2 and "SHIPPING_PIN_CPUS must be auto, true or false" in proc.stderr


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU pinning is Linux-only")
@pytest.mark.skipif(not 2 <= len(os.sched_getaffinity(0)) <= 4, reason="needs 2 to 4 allowed CPUs (one worker each)")
def test_auto_pins_one_worker_per_allowed_cpu_and_no_pin_cpus_turns_it_off(tmp_path: Path) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    for flags, pinned in (([], True), (["--no-pin-cpus"], False)):
        server = ServerProcess(["--listen", "127.0.0.1:0", "--workers", str(len(allowed)), *flags], env={"SHIPPING_PIN_CPUS": ""}, tmp=tmp_path)
        try:
            serving = server.wait_for(lambda e: e["message"] == "serving")
            assert serving["pinned"] is pinned
            masks = [_thread_cpus(pid) for pid in serving["pids"]]
            if pinned:
                assert masks == [{frozenset({cpu})} for cpu in allowed]
            else:
                assert masks == [{frozenset(allowed)}] * len(allowed)
        finally:
            server.kill_all()


@pytest.mark.parametrize(
    ("setting", "workers", "cpus", "placed"),
    [
        ("auto", 2, [0, 1], [0, 1]),  # one worker per allowed CPU
        ("auto", 4, [2, 3, 4, 5], [2, 3, 4, 5]),
        ("auto", 1, [0, 1], None),  # fewer workers than CPUs: replicas would stack on the first
        ("auto", 3, [0, 1], None),
        ("auto", 1, [0], None),  # nothing to choose
        ("true", 1, [0, 1], [0]),
        ("true", 3, [0, 1], [0, 1, 0]),  # wraps round
        ("true", 2, [], None),  # no affinity calls on this system
        ("false", 2, [0, 1], None),
    ],
)
def test_when_workers_are_pinned_and_where(setting: str, workers: int, cpus: list[int], placed: list[int] | None) -> None:
    from kokokara.shipping.server import affinity

    assert affinity.should_pin(setting, workers, cpus) is (placed is not None)
    if placed is not None:
        assert [affinity.cpu_for_worker(i, cpus) for i in range(workers)] == placed


# A worker stand-in for the supervisor's own rules: it fails to start (exit 3) while the file named
# by FAKE_WORKER_BROKEN exists, as a worker with a broken rate table does; else it says it is
# ready and runs until stopped. Starting in milliseconds, it lets the restart delays be watched.
FAKE_WORKER = """
import argparse, os, pathlib, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--ready-fd", type=int)
args, _ = parser.parse_known_args()
if pathlib.Path(os.environ["FAKE_WORKER_BROKEN"]).exists():
    sys.exit(3)
os.write(args.ready_fd, b"ready\\n")
os.close(args.ready_fd)
while True:
    time.sleep(1)
"""


def test_a_worker_that_keeps_failing_is_restarted_with_backoff_while_the_others_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from kokokara.shipping.server.supervisor import MAX_DEATHS, Supervisor

    script = tmp_path / "worker.py"
    script.write_text(FAKE_WORKER)
    broken = tmp_path / "broken"
    monkeypatch.setenv("FAKE_WORKER_BROKEN", str(broken))
    caplog.set_level("INFO", logger="kokokara.shipping")
    supervisor = Supervisor("127.0.0.1:1", 2, 1.0, script=script)
    code: list[int] = []
    runner = threading.Thread(target=lambda: code.append(supervisor.run()), daemon=True)
    runner.start()

    def logged(message: str, worker: int | None = None) -> list[logging.LogRecord]:
        return [r for r in list(caplog.records) if r.getMessage() == message and (worker is None or getattr(r, "worker", None) == worker)]

    def until(condition: Callable[[], bool], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.05)

    try:
        until(lambda: bool(logged("serving")))
        healthy = supervisor.workers[1].process
        broken.touch()  # worker 0 cannot start any more
        supervisor.workers[0].process.kill()
        # MAX_DEATHS young deaths used to stop the whole service; now each only delays the next start.
        until(lambda: len(logged("worker restart delayed", 0)) >= MAX_DEATHS - 1)
        assert len(logged("worker died", 0)) == MAX_DEATHS
        assert [r.seconds for r in logged("worker restart delayed", 0)] == [1, 2, 4, 8]  # type: ignore[attr-defined]
        time.sleep(0.5)  # a supervisor that was to stop would have by now
        assert healthy.poll() is None and runner.is_alive()  # the healthy worker was never touched
        assert not logged("workers keep dying; stopping")

        broken.unlink()  # fixed: the next start of worker 0 serves
        until(lambda: supervisor.workers[0].ready.is_set() and supervisor.workers[0].process.poll() is None)

        broken.touch()  # now every worker keeps dying: nothing is left to protect, the supervisor stops
        for worker in supervisor.workers:
            worker.process.kill()
        runner.join(timeout=120)
        assert code == [1] and logged("workers keep dying; stopping")
    finally:
        supervisor.request_stop(signal.SIGTERM, None)
        runner.join(timeout=60)
        for worker in supervisor.workers:
            if worker.process.poll() is None:
                worker.process.kill()
