"""deploy/kubernetes/ starts as written: the Secrets made by the commands docs/deployment.md gives,
the kustomization rendered by the real kustomize, the pod's mounted files and environment laid out as
the kubelet would, and the image's CMD run with them. Only what names the cluster's own hosts is
swapped for local ones: the PostgreSQL database and the Redis Cluster, and the listening addresses
(loopback, free ports)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kokokara.shipping.connect import ClientAuth, open_channel
from kokokara.shipping.server.auth import KeyRing
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests import kube
from tests.certs import CertificateAuthority
from tests.conftest import REPO
from tests.labels_support import fresh_database
from tests.redis_cluster import OwnRedisCluster
from tests.tracking_helpers import free_port, wait_until

SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedisCluster]:
    own = OwnRedisCluster(tmp_path_factory.mktemp("redis-cluster"), masters=3, replicas=0)
    own.start()
    try:
        yield own
    finally:
        own.stop()


def test_the_documented_keys_file_example_loads(tmp_path: Path) -> None:
    text = kube.DOCS.read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", text.split("**Secrets.**", 1)[1], re.S)
    assert example is not None
    (tmp_path / "api-keys.json").write_text(example.group(1))
    assert [e.caller.role for e in KeyRing.load(tmp_path / "api-keys.json").entries] == ["checkout"]


def _health(address: str, service: str) -> int:
    with grpc.insecure_channel(address) as channel:
        try:
            return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=2).status)
        except grpc.RpcError:
            return -1  # not answering yet


def test_the_rendered_kustomization_starts_with_the_documented_secrets(tmp_path: Path, database_url: str, cluster: OwnRedisCluster) -> None:
    # What the operator keeps outside the repository: a server certificate and the client CA.
    workdir = tmp_path / "operator"
    workdir.mkdir()
    ca = CertificateAuthority(tmp_path, "client-ca")
    server = ca.issue("server", server=True)
    client = ca.issue("client", server=False)
    shutil.copy(server.cert, workdir / "server.crt")
    shutil.copy(server.key, workdir / "server.key")
    shutil.copy(ca.files.cert, workdir / "client-ca.crt")
    keys_tool = [str(Path(sys.executable).with_name("kokokara-shipping"))]  # the console script, as installed
    secrets, api_key = kube.run_documented_secret_commands(workdir, keys_tool)
    assert api_key.startswith("kks_")

    objects = [*kube.kustomize(), *secrets]
    pod = kube.lay_out_pod(objects, tmp_path / "pod")
    env = pod.env
    # The cluster's host names resolve only inside the cluster: the same settings, pointed at local servers.
    grpc_port, health_port, metrics_port = free_port(), free_port(), free_port()
    with fresh_database(database_url) as url:
        assert set(env) >= {"SHIPPING_DATABASE_URL", "SHIPPING_REDIS_CLUSTER_NODES", "PGPASSWORD", "SHIPPING_API_KEYS_FILE"}
        env.update(
            SHIPPING_DATABASE_URL=url,
            SHIPPING_REDIS_CLUSTER_NODES=cluster.nodes_setting,
            SHIPPING_HEALTH_ADDR=f"127.0.0.1:{health_port}",
            SHIPPING_METRICS_ADDR=f"127.0.0.1:{metrics_port}",
        )
        cmd = kube.image_cmd()
        assert cmd[:2] == ["python", "server.py"]
        listen = cmd.index("--listen") + 1
        cmd[listen] = f"127.0.0.1:{grpc_port}"
        log_file = tmp_path / "server.log"
        with log_file.open("w") as log:
            process = subprocess.Popen([sys.executable, *cmd[1:]], cwd=REPO, env={**kube.clean_environment(), **env}, stdout=subprocess.DEVNULL, stderr=log)
        try:
            health = f"127.0.0.1:{health_port}"
            probes = {p: pod.container[p]["grpc"].get("service", "") for p in ("startupProbe", "readinessProbe", "livenessProbe")}
            up = wait_until(lambda: process.poll() is not None or _health(health, probes["readinessProbe"]) == SERVING, 90)
            assert process.poll() is None, f"the server exited ({process.returncode}): {log_file.read_text()}"
            assert up, "not ready within 90 s"
            assert {p: _health(health, name) for p, name in probes.items()} == dict.fromkeys(probes, SERVING)

            auth = ClientAuth(api_key=api_key, tls_ca_file=ca.files.cert, tls_cert_file=client.cert, tls_key_file=client.key)
            request = rates_pb2.GetQuoteRequest(destination_region_code="GB")
            request.parcels.add(weight_grams=1200)
            options = [("grpc.ssl_target_name_override", "localhost")]
            with open_channel(f"127.0.0.1:{grpc_port}", auth, options) as channel:
                reply = rates_pb2_grpc.RateServiceStub(channel).GetQuote(request, timeout=20)
            assert reply.options
            keyless = ClientAuth(tls_ca_file=ca.files.cert, tls_cert_file=client.cert, tls_key_file=client.key)
            with open_channel(f"127.0.0.1:{grpc_port}", keyless, options) as channel, pytest.raises(grpc.RpcError) as caught:
                rates_pb2_grpc.RateServiceStub(channel).GetQuote(request, timeout=20)
            assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
        logs = log_file.read_text()
        assert code == 0, logs
        started = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
        assert any(line.get("message") == "api keys loaded" and line.get("keys") == 1 for line in started), logs
