"""The label database unreachable or misconfigured, with real server.py processes and the real
PostgreSQL reached through a TCP forwarder the tests close and reopen (PostgreSQL itself is never
stopped):

- a worker that cannot reach the database at start serves quotes and tracking, reports
  kokokara.shipping.v1.LabelService NOT_SERVING (the server as a whole SERVING), answers label
  calls UNAVAILABLE saying why, and serves labels once the database answers;
- with several workers, PostgreSQL unreachable and a worker killed, its replacement starts in that
  state and the supervisor keeps every worker serving; labels come back when PostgreSQL does;
- a malformed SHIPPING_DATABASE_URL is a start-up error (exit 2) that never shows the password; a
  missing role or database (exit 5) says so instead of "cannot be reached".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc, rates_pb2, rates_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.conftest import REPO
from tests.grpc_support import status_details
from tests.labels_support import fresh_database, proto_request
from tests.processes.test_workers import ServerProcess
from tests.tcp_forwarder import TcpForwarder
from tests.tracking_helpers import wait_until

LABELS = "kokokara.shipping.v1.LabelService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def database(database_url: str) -> Iterator[tuple[str, TcpForwarder]]:
    """A fresh database, and its URL through a forwarder (open) to the shared PostgreSQL."""
    target = urlparse(database_url)
    with fresh_database(database_url) as url, TcpForwarder((target.hostname or "127.0.0.1", target.port or 5432)) as forwarder:
        parsed = urlparse(url)
        user = f"{parsed.username}@" if parsed.username else ""
        yield urlunparse(parsed._replace(netloc=f"{user}127.0.0.1:{forwarder.port}")), forwarder


def _health(channel: grpc.Channel, service: str) -> int:
    return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status)


def _fresh(address: str) -> grpc.Channel:
    """A channel of its own: a new TCP connection, which the kernel may hand to any worker."""
    return grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])


def _quote(channel: grpc.Channel) -> rates_pb2.GetQuoteResponse:
    msg = rates_pb2.GetQuoteRequest(destination_region_code="US")
    msg.parcels.add(weight_grams=1200)
    return rates_pb2_grpc.RateServiceStub(channel).GetQuote(msg, timeout=20)


def _create(channel: grpc.Channel, request_id: str) -> labels_pb2.CreateLabelResponse:
    return labels_pb2_grpc.LabelServiceStub(channel).CreateLabel(proto_request(request_id), timeout=30)


def test_a_worker_that_cannot_reach_the_database_serves_all_but_labels_until_it_can(database: tuple[str, TcpForwarder], tmp_path: Path) -> None:
    url, forwarder = database
    forwarder.close()  # PostgreSQL unreachable from the start
    with StandInJapanPost() as standin:
        env = {
            "SHIPPING_DATABASE_URL": url,
            "SHIPPING_DATABASE_RETRY_MAX_SECONDS": "1",
            "SHIPPING_TRACKING_BASE_URL": standin.url,
            "SHIPPING_TRACKING_RATE_PER_SECOND": "100",
        }
        server = ServerProcess(["--listen", "127.0.0.1:0", "--workers", "1"], env=env, tmp=tmp_path)
        try:
            address = server.wait_for(lambda e: e["message"] == "serving")["address"]
            assert any(e["message"].startswith("label database unavailable at start-up") for e in server.seen)
            with grpc.insecure_channel(address) as channel:
                assert _health(channel, "") == SERVING
                assert _health(channel, "kokokara.shipping.v1.RateService") == SERVING
                assert _health(channel, "kokokara.shipping.v1.TrackingService") == SERVING
                assert _health(channel, LABELS) == NOT_SERVING
                assert _quote(channel).options
                number = "EN123456785JP"
                standin.set_scenario(number, "in_customs")
                tracked = tracking_pb2_grpc.TrackingServiceStub(channel).GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=number), timeout=30)
                assert tracked.status == tracking_pb2.TRACKING_STATUS_IN_CUSTOMS
                for call, request in (
                    (labels_pb2_grpc.LabelServiceStub(channel).CreateLabel, proto_request("outage-1")),
                    (labels_pb2_grpc.LabelServiceStub(channel).ListLabels, labels_pb2.ListLabelsRequest()),
                ):
                    with pytest.raises(grpc.RpcError) as caught:
                        call(request, timeout=30)
                    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
                    assert status_details(caught.value).reason == "DATABASE_UNAVAILABLE"
                    assert "label database cannot be reached" in (caught.value.details() or "")

                forwarder.open()  # PostgreSQL is back
                assert wait_until(lambda: _health(channel, LABELS) == SERVING, seconds=30), "labels did not come back"
                assert _create(channel, "outage-1").label.tracking_number
            server.wait_for(lambda e: e["message"] == "label database available; serving labels")
            assert server.proc.poll() is None
        finally:
            server.kill_all()


def test_a_replacement_worker_without_database_keeps_the_service_up(database: tuple[str, TcpForwarder], tmp_path: Path) -> None:
    url, forwarder = database
    env = {"SHIPPING_DATABASE_URL": url, "SHIPPING_DATABASE_RETRY_MAX_SECONDS": "1", "SHIPPING_WORKERS": "2"}
    server = ServerProcess(["--listen", "127.0.0.1:0", "--workers", "2"], env=env, tmp=tmp_path)
    try:
        serving = server.wait_for(lambda e: e["message"] == "serving")
        address, (victim, survivor) = serving["address"], serving["pids"]
        with _fresh(address) as channel:
            assert _create(channel, "before").label.tracking_number

        forwarder.close()  # PostgreSQL unreachable...
        os.kill(victim, signal.SIGKILL)  # ...and a worker dies
        replacement = server.wait_for(lambda e: e["message"] == "worker restarted")["pid"]
        server.wait_for(lambda e: e["message"] == "worker serving" and e["pid"] == replacement)

        # Every worker answers quotes; the replacement says labels are NOT_SERVING.
        answered: set[int] = set()
        labels_down_seen = False
        for _ in range(60):
            with _fresh(address) as channel:
                assert _quote(channel).options
                assert _health(channel, "") == SERVING
                labels_down_seen |= _health(channel, LABELS) == NOT_SERVING
            answered |= {e["pid"] for e in server.drain() if e["message"] == "rpc"}
            if answered >= {survivor, replacement} and labels_down_seen:
                break
        assert answered >= {survivor, replacement} and labels_down_seen
        assert server.proc.poll() is None and not any(e["message"] == "workers keep dying; stopping" for e in server.seen)

        forwarder.open()  # PostgreSQL is back: both workers issue labels
        issued_by: set[int] = set()
        for i in range(200):
            with _fresh(address) as channel:
                try:
                    _create(channel, f"after-{i}")
                except grpc.RpcError as error:
                    assert error.code() == grpc.StatusCode.UNAVAILABLE  # not yet reconnected
            issued_by |= {e["pid"] for e in server.drain() if e["message"] == "rpc" and e.get("rpc", "").endswith("CreateLabel") and e.get("code") == "OK"}
            if issued_by >= {survivor, replacement}:
                break
        assert issued_by >= {survivor, replacement}
        assert server.proc.poll() is None
    finally:
        server.kill_all()


# -- start-up errors --------------------------------------------------------------------------------


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "server.py"), "--listen", "127.0.0.1:0", "--workers", "1"],
        env={**os.environ, "SHIPPING_DATABASE_PATH": str(tmp_path / "unused.sqlite3"), **env},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


@pytest.mark.parametrize(
    "url",
    [
        "shipping:S3cret@127.0.0.1",  # no scheme: libpq read it as key=value text and quoted it
        "postgresql://shipping:S3cret@127.0.0.1:54x2/shipping",
        "postgresql://shipping:S3cret%zz@127.0.0.1/shipping",
        "postgresql://shipping:S3cret@127.0.0.1/ship ping",
        "mysql://shipping:S3cret@127.0.0.1/shipping",
    ],
)
def test_a_malformed_database_url_is_a_settings_error_without_the_password(url: str, tmp_path: Path) -> None:
    done = _start({"SHIPPING_DATABASE_URL": url}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "SHIPPING_DATABASE_URL" in done.stderr
    assert "S3cret" not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_a_url_the_driver_refuses_is_reported_without_the_password(tmp_path: Path) -> None:
    done = _start({"SHIPPING_DATABASE_URL": "postgresql://shipping:S3cret@127.0.0.1:5432/shipping?no_such_option=1"}, tmp_path)
    assert done.returncode == 5, done.stderr
    assert "SHIPPING_DATABASE_URL" in done.stderr and "no_such_option" in done.stderr
    assert "S3cret" not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_a_missing_role_or_database_says_so(database_url: str, tmp_path: Path) -> None:
    parsed = urlparse(database_url)
    host = f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 5432}"
    no_role = _start({"SHIPPING_DATABASE_URL": f"postgresql://no_such_role_kks:S3cret@{host}/postgres"}, tmp_path)
    assert no_role.returncode == 5, no_role.stderr
    assert "role" in no_role.stderr and "does not exist" in no_role.stderr and "cannot be reached" not in no_role.stderr
    assert "S3cret" not in no_role.stderr and "Traceback" not in no_role.stderr
    no_database = _start({"SHIPPING_DATABASE_URL": urlunparse(parsed._replace(path="/no_such_database_kks"))}, tmp_path)
    assert no_database.returncode == 5, no_database.stderr
    assert "'no_such_database_kks' does not exist" in no_database.stderr and "cannot be reached" not in no_database.stderr


def test_an_unusable_sqlite_file_is_a_clear_start_up_error(tmp_path: Path) -> None:
    not_a_database = tmp_path / "labels.sqlite3"
    not_a_database.write_bytes(b"this is not an SQLite database, just bytes " * 100)
    done = _start({"SHIPPING_DATABASE_PATH": str(not_a_database), "SHIPPING_DATABASE_URL": ""}, tmp_path)
    assert done.returncode == 5, done.stderr
    assert "SHIPPING_DATABASE_PATH" in done.stderr and "Traceback" not in done.stderr


def test_after_a_cut_one_call_fails_and_the_next_connect_anew(database: tuple[str, TcpForwarder]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from domain.errors import Unavailable
    from labels.postgres_store import PostgresLabelStore

    url, forwarder = database
    store = PostgresLabelStore(url)
    try:
        with ThreadPoolExecutor(8) as pool:  # several pooled connections
            list(pool.map(lambda i: store.list_labels(None, None, 10, ""), range(64)))
        assert store._idle.qsize() > 1
        forwarder.close()  # every connection is cut
        forwarder.open()
        with pytest.raises(Unavailable):
            store.list_labels(None, None, 10, "")  # found broken: this call fails...
        assert store.list_labels(None, None, 10, "").labels == ()  # ...and the next one connects anew
    finally:
        store.close()


def test_a_role_that_may_not_create_the_tables_says_so(database_url: str, tmp_path: Path) -> None:
    import uuid

    import psycopg

    role = f"kks_no_create_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN'.encode())
    try:
        with fresh_database(database_url) as url:  # PostgreSQL 15: only the owner creates in schema public
            parsed = urlparse(url)
            done = _start({"SHIPPING_DATABASE_URL": urlunparse(parsed._replace(netloc=f"{role}@{parsed.hostname}:{parsed.port or 5432}"))}, tmp_path)
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"'.encode())
    assert done.returncode == 5, done.stderr
    assert "refuses this service's tables" in done.stderr and "permission denied" in done.stderr and "Traceback" not in done.stderr
