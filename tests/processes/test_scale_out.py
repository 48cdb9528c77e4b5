"""Scale-out, proven on loopback: two replicas of the service (real `server.py` processes) sharing a
Redis Cluster of the test's own (3 masters, 1 replica each) and a fresh PostgreSQL database, called
through ONE gRPC channel that balances over both with `round_robin`, as a client in Kubernetes
would over the headless Service.

- a tracking number looked up through one replica is a cache hit through the other;
- 1,000 labels created across both replicas at once, each request also retried at once: all
  numbers distinct, every retry answered with the original label;
- a Redis master killed: calls keep succeeding, straight from (the stand-in) Japan Post, until its
  replica has taken over; then the cache is used again;
- a replica killed: the next calls succeed on the other.

The tests share one deployment and run in file order (the last one kills a replica).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from domain import s10
from kokokara.shipping.server.bootstrap import TRACKING_CACHE_HEALTH
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.labels_support import fresh_database, proto_request
from tests.redis_cluster import OwnRedisCluster
from tests.tracking_helpers import free_port, wait_until

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PREFIX = f"test:scale:{uuid.uuid4().hex}:"
CREATE_LABEL = "/kokokara.shipping.v1.LabelService/CreateLabel"
GET_TRACKING = "/kokokara.shipping.v1.TrackingService/GetTracking"
# What a client in production would set too (docs/deployment.md): round_robin over every address
# the name resolves to, and a retry on UNAVAILABLE (a replica that just died, or is draining).
# Retrying CreateLabel is safe: request_id makes it idempotent.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [{"service": "kokokara.shipping.v1.TrackingService"}, {"service": "kokokara.shipping.v1.LabelService"}],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.05s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}


@dataclass
class Replica:
    address: str
    process: subprocess.Popen[bytes]
    log: Path
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = grpc.insecure_channel(self.address)

    def calls(self, method: str) -> int:
        """How many calls of `method` this replica logged (one JSON line per call). The request log is
        written by a thread of its own, in batches: wait until the log has stopped growing."""
        deadline, size = time.monotonic() + 10, -1
        while time.monotonic() < deadline and self.log.stat().st_size != size:
            size = self.log.stat().st_size
            time.sleep(0.2)
        count = 0
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{") and json.loads(line).get("rpc") == method:
                count += 1
        return count

    def health(self, service: str = "") -> int:
        try:
            reply = health_pb2_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        except grpc.RpcError:
            return -1
        return int(reply.status)


@dataclass
class Deployment:
    cluster: OwnRedisCluster
    standin: StandInJapanPost
    database_url: str
    replicas: list[Replica]
    channel: grpc.Channel  # round_robin over both replicas

    def tracking(self, channel: grpc.Channel | None = None) -> tracking_pb2_grpc.TrackingServiceStub:
        return tracking_pb2_grpc.TrackingServiceStub(channel or self.channel)

    def labels(self) -> labels_pb2_grpc.LabelServiceStub:
        return labels_pb2_grpc.LabelServiceStub(self.channel)


def start_replica(workdir: Path, env: dict[str, str], index: int) -> Replica:
    address = f"127.0.0.1:{free_port()}"
    log = workdir / f"replica-{index}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(REPO / "server.py"), "--listen", address, "--workers", "1"], env=env, cwd=REPO, stdout=out, stderr=out)
    return Replica(address, process, log)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("scale-out")
    cluster = OwnRedisCluster(workdir)
    replicas: list[Replica] = []
    try:
        cluster.start()
        with StandInJapanPost(latency_seconds=0.05) as standin, fresh_database(database_url) as db:
            env = {
                **os.environ,
                "SHIPPING_TRACKING_BASE_URL": standin.url,
                "SHIPPING_REDIS_CLUSTER_NODES": cluster.nodes_setting,
                "SHIPPING_REDIS_KEY_PREFIX": PREFIX,
                "SHIPPING_REDIS_TIMEOUT_SECONDS": "0.3",
                "SHIPPING_REDIS_PROBE_SECONDS": "0.2",
                "SHIPPING_DATABASE_URL": db,
                "SHIPPING_TRACKING_RATE_PER_SECOND": "1000",
                "SHIPPING_TRACKING_RATE_BURST": "100",
                "SHIPPING_LOG_LEVEL": "INFO",
                "SHIPPING_GRACE_SECONDS": "2",
            }
            replicas = [start_replica(workdir, env, i) for i in range(2)]
            for r in replicas:
                assert wait_until(lambda r=r: r.health() == health_pb2.HealthCheckResponse.SERVING, seconds=90), (
                    f"replica {r.address} did not start: {r.log.read_text()[-2000:]}"
                )
            target = "ipv4:" + ",".join(r.address for r in replicas)
            with grpc.insecure_channel(target, options=[("grpc.service_config", json.dumps(SERVICE_CONFIG)), ("grpc.enable_retries", 1)]) as channel:
                grpc.channel_ready_future(channel).result(timeout=10)
                yield Deployment(cluster, standin, db, replicas, channel)
    finally:
        for r in replicas:
            r.channel.close()
            if r.process.poll() is None:
                r.process.send_signal(signal.SIGTERM)
        for r in replicas:
            try:
                r.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                r.process.kill()
                r.process.wait(timeout=10)
        cluster.stop()


def track(stub: tracking_pb2_grpc.TrackingServiceStub, number: str) -> tracking_pb2.GetTrackingResponse:
    return stub.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=number), timeout=20)


CARRIER, CACHE = tracking_pb2.TRACKING_SOURCE_CARRIER, tracking_pb2.TRACKING_SOURCE_CACHE


def test_a_number_looked_up_through_one_replica_is_a_cache_hit_through_the_other(deployment: Deployment) -> None:
    a, b = deployment.replicas
    number = s10.make("CD", 50_000_001)
    deployment.standin.set_scenario(number, "in_customs")
    first = track(deployment.tracking(a.channel), number)
    second = track(deployment.tracking(b.channel), number)
    assert first.source == CARRIER and second.source == CACHE
    assert first.status == second.status == tracking_pb2.TRACKING_STATUS_IN_CUSTOMS
    assert second.fetch_time == first.fetch_time
    # And through the balanced channel, which alternates between them: still that one request.
    answers = [track(deployment.tracking(), number) for _ in range(6)]
    assert all(x.source == CACHE for x in answers)
    assert deployment.standin.hits(number) == 1
    assert a.calls(GET_TRACKING) >= 4 and b.calls(GET_TRACKING) >= 4  # round_robin used both


def test_a_thousand_labels_across_both_replicas_at_once_each_retried(deployment: Deployment) -> None:
    stub = deployment.labels()
    before = [r.calls(CREATE_LABEL) for r in deployment.replicas]
    ids = [f"scale-{i:04d}-{uuid.uuid4().hex[:8]}" for i in range(1000)]
    # Every request twice, the copy at once (a client retrying while its first try is in flight)
    # or later in the run, shuffled over 24 threads and both replicas.
    calls = [*ids, *ids]
    random.Random(8).shuffle(calls)

    def create(request_id: str) -> tuple[str, labels_pb2.CreateLabelResponse]:
        request = proto_request(request_id, fmt=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6)
        return request_id, stub.CreateLabel(request, timeout=60)

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(create, calls))

    by_id: dict[str, list[labels_pb2.CreateLabelResponse]] = {}
    for request_id, answer in answers:
        by_id.setdefault(request_id, []).append(answer)
    assert len(by_id) == 1000 and all(len(pair) == 2 for pair in by_id.values())
    for request_id, (x, y) in by_id.items():
        assert x.label == y.label, request_id  # the retry got the original label, document and all
        assert sorted([x.replayed, y.replayed]) == [False, True], request_id  # issued once, replayed once
    numbers = [pair[0].label.tracking_number for pair in by_id.values()]
    assert len(set(numbers)) == 1000
    assert all(s10.validate(n) == n for n in numbers)
    with psycopg.connect(deployment.database_url) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT tracking_number), count(DISTINCT request_id) FROM labels").fetchone()
    assert stored == (1000, 1000, 1000)
    served = [r.calls(CREATE_LABEL) - b for r, b in zip(deployment.replicas, before, strict=True)]
    assert sum(served) == 2000 and min(served) >= 500  # both replicas took a share


def test_a_redis_master_killed_answers_from_japan_post_until_the_failover(deployment: Deployment) -> None:
    cluster, standin = deployment.cluster, deployment.standin
    stub = deployment.tracking()
    number = s10.make("CD", 50_000_002)
    standin.set_scenario(number, "in_customs")
    assert track(stub, number).source == CARRIER
    assert track(stub, number).source == CACHE
    master = cluster.master_of(f"{PREFIX}jp:{{{number}}}")
    replica = cluster.replica_of(master)

    cluster.kill(master)
    hits = standin.hits(number)
    # Straight after the kill, through each replica: Redis cannot be read; a replica that has the
    # answer in its own process answers from there, the other asks Japan Post.
    right_after = [track(deployment.tracking(r.channel), number) for r in deployment.replicas]
    assert all(x.source in (CARRIER, CACHE) for x in right_after)
    assert all(x.status == tracking_pb2.TRACKING_STATUS_IN_CUSTOMS for x in right_after)
    assert standin.hits(number) == hits + sum(x.source == CARRIER for x in right_after)

    # Both replicas see the outage (their probe, since answers from their own copy need no Redis).
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    assert wait_until(lambda: all(r.health(TRACKING_CACHE_HEALTH) == not_serving for r in deployment.replicas), seconds=10)

    # Keep calling through the balanced channel until both replicas use the cache again: every call
    # answers. Bounded: the failover takes a few seconds (node timeout 2 s).
    during = []

    def recovered() -> bool:
        during.append(track(stub, number))
        return all(r.health(TRACKING_CACHE_HEALTH) == health_pb2.HealthCheckResponse.SERVING for r in deployment.replicas)

    assert wait_until(recovered, seconds=45), "the replicas did not use the cache again after the failover"
    assert all(x.status == tracking_pb2.TRACKING_STATUS_IN_CUSTOMS for x in during)
    assert cluster.master_of(f"{PREFIX}jp:{{{number}}}") == replica  # a real failover happened
    cluster.wait_ok()

    # The cache is shared again: a new number makes one request, whichever replica answers.
    fresh = s10.make("CD", 50_000_003)
    standin.set_scenario(fresh, "in_customs")
    a, b = deployment.replicas
    assert track(deployment.tracking(a.channel), fresh).source == CARRIER
    assert track(deployment.tracking(b.channel), fresh).source == CACHE
    assert standin.hits(fresh) == 1


def test_a_replica_killed_the_next_calls_succeed_on_the_other(deployment: Deployment) -> None:
    a, b = deployment.replicas
    stub, labels = deployment.tracking(), deployment.labels()
    number = s10.make("CD", 50_000_004)
    standin = deployment.standin
    standin.set_scenario(number, "in_customs")
    track(stub, number)
    served_before = a.calls(GET_TRACKING)

    b.process.send_signal(signal.SIGKILL)
    b.process.wait(timeout=10)
    answers = [track(stub, number) for _ in range(20)]
    assert all(x.status == tracking_pb2.TRACKING_STATUS_IN_CUSTOMS for x in answers)
    created = [labels.CreateLabel(proto_request(f"after-kill-{i}-{uuid.uuid4().hex[:8]}"), timeout=30) for i in range(5)]
    assert len({c.label.tracking_number for c in created}) == 5 and not any(c.replayed for c in created)
    assert a.calls(GET_TRACKING) - served_before == 20  # all on the survivor
    assert standin.hits(number) == 1  # and still from the shared cache
