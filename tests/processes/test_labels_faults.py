"""Faults and load with real server processes (server.py subprocesses):

- two servers sharing one database create 500 labels each at once, while some requests are sent
  to both at the same time and everything is retried afterwards: all numbers distinct, all labels
  stored, every retry answered with its original label;
- a server killed with SIGKILL in the middle of creating labels loses nothing it answered, and
  after a restart issues no number twice.

Run on SQLite (one file shared by both processes) and PostgreSQL (a fresh database).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc
from labels.postgres_store import PostgresLabelStore
from labels.sqlite_store import SqliteLabelStore
from tests.labels_support import fresh_database, proto_request

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0

pytestmark = pytest.mark.slow


class Server:
    def __init__(self, proc: subprocess.Popen[str], address: str):
        self.proc = proc
        self.address = address
        self.channel = grpc.insecure_channel(address)
        self.stub = labels_pb2_grpc.LabelServiceStub(self.channel)


def _wait_for_address(proc: subprocess.Popen[str]) -> str:
    """Reads the server's JSON log lines until it says where it serves."""
    assert proc.stderr is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError(f"server exited with {proc.wait()} before serving")
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == "serving":
            return str(entry["address"])
    raise RuntimeError("server did not start in time")


@contextmanager
def server(env_db: dict[str, str]) -> Iterator[Server]:
    env = {**os.environ, **env_db, "SHIPPING_LOG_REQUESTS": "false", "SHIPPING_GRPC_THREADS": "16", "PYTHONPATH": str(REPO)}
    # One server process (no supervisor): the test kills exactly the process that serves.
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "server.py"), "--listen", "127.0.0.1:0", "--workers", "1"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        address = _wait_for_address(proc)
        # Keep draining stderr so the server never blocks on a full pipe.
        assert proc.stderr is not None
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        s = Server(proc, address)
        grpc.channel_ready_future(s.channel).result(timeout=START_TIMEOUT_S)
        yield s
        s.channel.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {"SHIPPING_DATABASE_PATH": str(tmp_path / "shared.sqlite3"), "SHIPPING_DATABASE_URL": ""}
    else:
        with fresh_database(request.getfixturevalue("database_url")) as url:
            yield {"SHIPPING_DATABASE_URL": url}


def stored_numbers(env_db: dict[str, str]) -> list[str]:
    store = (
        PostgresLabelStore(env_db["SHIPPING_DATABASE_URL"]) if env_db.get("SHIPPING_DATABASE_URL") else SqliteLabelStore(Path(env_db["SHIPPING_DATABASE_PATH"]))
    )
    try:
        return store.issued_numbers()  # type: ignore[attr-defined, no-any-return]
    finally:
        store.close()


def create(stub: labels_pb2_grpc.LabelServiceStub, request_id: str) -> labels_pb2.Label:
    request = proto_request(request_id, fmt=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6)
    for attempt in range(20):  # a warehouse retries on UNAVAILABLE; bounded
        try:
            return stub.CreateLabel(request, timeout=60).label
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == 19:  # type: ignore[attr-defined]
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


PER_SERVER = 500


def test_two_servers_sharing_one_database(database: dict[str, str]) -> None:
    with server(database) as a, server(database) as b:
        jobs = [(a, f"a-{i}") for i in range(PER_SERVER)] + [(b, f"b-{i}") for i in range(PER_SERVER)]
        # Every 25th request goes to both servers at the same moment (a retry racing its original).
        jobs += [(b, f"a-{i}") for i in range(0, PER_SERVER, 25)] + [(a, f"b-{i}") for i in range(0, PER_SERVER, 25)]
        jobs.sort(key=lambda j: j[1])  # interleave the racing pairs
        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda job: (job[1], create(job[0].stub, job[1])), jobs))
        first: dict[str, labels_pb2.Label] = {}
        for request_id, label in results:
            if request_id in first:
                assert label.id == first[request_id].id and label.tracking_number == first[request_id].tracking_number
            else:
                first[request_id] = label
        assert len(first) == 2 * PER_SERVER
        numbers = [label.tracking_number for label in first.values()]
        assert len(set(numbers)) == len(numbers)

        # Every request retried afterwards, on the other server, gets its original label back.
        def retry(item: tuple[str, labels_pb2.Label]) -> bool:
            request_id, label = item
            other = b if request_id.startswith("a") else a
            again = other.stub.CreateLabel(proto_request(request_id, fmt=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6), timeout=60)
            return again.replayed and again.label.id == label.id and again.label.tracking_number == label.tracking_number

        with ThreadPoolExecutor(16) as pool:
            assert all(pool.map(retry, first.items()))
    stored = stored_numbers(database)
    assert sorted(stored) == sorted(numbers)  # all stored, nothing extra


def test_sigkill_mid_creation_loses_nothing_answered_and_reissues_nothing(database: dict[str, str]) -> None:
    answered: dict[str, str] = {}
    in_flight: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    with server(database) as victim:

        def worker(n: int) -> None:
            for i in range(10_000):  # bounded; the kill ends it long before
                if stop.is_set():
                    return
                request_id = f"k-{n}-{i}"
                try:
                    label = victim.stub.CreateLabel(proto_request(request_id, fmt=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6), timeout=30).label
                except grpc.RpcError:
                    with lock:
                        in_flight.append(request_id)  # the server died under this call: not answered
                    return
                with lock:
                    answered[request_id] = label.tracking_number

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(answered) < 150 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(victim.proc.pid, signal.SIGKILL)  # with calls in flight
        stop.set()
        for t in threads:
            t.join(timeout=60)
        victim.proc.wait(timeout=10)
    assert len(answered) >= 150
    assert in_flight, "the kill should have cut calls in flight"
    before = stored_numbers(database)
    assert set(answered.values()) <= set(before)  # nothing answered was lost

    with server(database) as again:
        # Every answered request, retried, gets its number back.
        for request_id, number in list(answered.items())[:200]:
            response = again.stub.CreateLabel(proto_request(request_id, fmt=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6), timeout=30)
            assert response.replayed and response.label.tracking_number == number
        # Calls cut by the kill, retried: committed ones come back replayed, others are issued now.
        cut = {rid: again.stub.CreateLabel(proto_request(rid, fmt=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6), timeout=30) for rid in in_flight}
        fresh = [create(again.stub, f"after-{i}").tracking_number for i in range(50)]
    new_for_cut = [r.label.tracking_number for r in cut.values() if not r.replayed]
    assert all(r.label.tracking_number in before for r in cut.values() if r.replayed)
    assert not (set(fresh) | set(new_for_cut)) & set(before)
    after = stored_numbers(database)
    assert len(after) == len(set(after)) == len(before) + 50 + len(new_for_cut)
