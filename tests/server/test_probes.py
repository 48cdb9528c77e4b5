"""The health names the Deployment's probes ask for (deploy/kubernetes/deployment.yaml), against a real
server: startup waits for the tables, readiness follows what a replica needs to serve every RPC
(tables loaded, label database reached), liveness only the process. A database that cannot be
reached takes a replica out of rotation and never gets it restarted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kokokara.shipping.server import bootstrap
from tests.conftest import REPO, test_settings
from tests.labels_support import fresh_database
from tests.tcp_forwarder import TcpForwarder
from tests.tracking_helpers import wait_until

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def probe_services() -> dict[str, str]:
    """startupProbe / readinessProbe / livenessProbe -> the health name each asks for."""
    deployment = yaml.safe_load((REPO / "deploy" / "kubernetes" / "deployment.yaml").read_text())
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return {probe: container[probe]["grpc"].get("service", "") for probe in ("startupProbe", "readinessProbe", "livenessProbe")}


def status(address: str, service: str) -> int:
    with grpc.insecure_channel(address) as channel:
        return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status)


def test_the_probes_ask_for_the_names_the_server_defines() -> None:
    probes = probe_services()
    assert probes == {"startupProbe": bootstrap.OVERALL, "readinessProbe": bootstrap.LABEL_SERVICE, "livenessProbe": bootstrap.PROCESS_HEALTH}
    assert probes["readinessProbe"] != probes["livenessProbe"]


@pytest.fixture
def database(database_url: str) -> Iterator[tuple[str, TcpForwarder]]:
    """A fresh database, and its URL through a forwarder to the shared PostgreSQL (closed and
    reopened by the test; PostgreSQL itself is never stopped)."""
    target = urlparse(database_url)
    with fresh_database(database_url) as url, TcpForwarder((target.hostname or "127.0.0.1", target.port or 5432)) as forwarder:
        parsed = urlparse(url)
        user = f"{parsed.username}@" if parsed.username else ""
        yield urlunparse(parsed._replace(netloc=f"{user}127.0.0.1:{forwarder.port}")), forwarder


def test_liveness_answers_while_tables_load_and_readiness_waits_for_them(tmp_path: Path) -> None:
    probes = probe_services()
    service = bootstrap.start(test_settings(health_addr="127.0.0.1:0", database_path=tmp_path / "labels.sqlite3"), load_tables=False)
    try:
        health = f"127.0.0.1:{service.health_port}"
        assert status(health, probes["livenessProbe"]) == SERVING  # the process answers: do not restart it
        assert status(health, probes["startupProbe"]) == NOT_SERVING  # tables still loading
        assert status(health, probes["readinessProbe"]) == NOT_SERVING
        bootstrap.load_into(service)
        assert [status(health, probes[p]) for p in ("startupProbe", "readinessProbe", "livenessProbe")] == [SERVING] * 3
        assert status(health, bootstrap.WATCH_HEALTH) == SERVING  # its SQLite file opened at start-up
        service.health.enter_graceful_shutdown()  # what stop() does first: the draining replica leaves rotation
        assert status(health, probes["readinessProbe"]) == NOT_SERVING
    finally:
        service.stop(0)


def test_an_unreachable_database_takes_the_replica_out_of_rotation_without_a_restart(database: tuple[str, TcpForwarder]) -> None:
    url, forwarder = database
    probes = probe_services()
    forwarder.close()  # the label database cannot be reached when the replica starts
    service = bootstrap.start(test_settings(health_addr="127.0.0.1:0", database_url=url, database_retry_max_seconds=0.5))
    try:
        health = f"127.0.0.1:{service.health_port}"
        assert status(health, probes["startupProbe"]) == SERVING  # tables loaded: liveness probing may begin
        assert status(health, probes["livenessProbe"]) == SERVING  # so the kubelet never restarts it for this
        assert status(health, probes["readinessProbe"]) == NOT_SERVING  # but it gets no traffic
        forwarder.open()
        assert wait_until(lambda: status(health, probes["readinessProbe"]) == SERVING, 30)
        assert status(health, probes["livenessProbe"]) == SERVING
    finally:
        service.stop(0)
