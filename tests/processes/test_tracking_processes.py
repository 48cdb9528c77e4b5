"""Two real server processes sharing one Redis: 50 concurrent lookups of one number, spread over
both, make one request to (the stand-in) Japan Post."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc

from domain import s10
from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.tracking_helpers import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]


def serving(address: str) -> bool:
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


@pytest.fixture
def two_servers(redis_url: str) -> Iterator[tuple[StandInJapanPost, list[str]]]:
    prefix = f"test:tracking:{uuid.uuid4().hex}:"
    with StandInJapanPost(latency_seconds=0.5) as standin:
        processes, addresses = [], []
        for _ in range(2):
            address = f"127.0.0.1:{free_port()}"
            env = {
                **os.environ,
                "SHIPPING_LISTEN_ADDR": address,
                "SHIPPING_TRACKING_BASE_URL": standin.url,
                "SHIPPING_REDIS_URL": redis_url,
                "SHIPPING_REDIS_KEY_PREFIX": prefix,
                "SHIPPING_TRACKING_RATE_PER_SECOND": "1000",
                "SHIPPING_LOG_LEVEL": "WARNING",
            }
            processes.append(subprocess.Popen([sys.executable, str(REPO / "server.py")], env=env, cwd=REPO))
            addresses.append(address)
        try:
            for address in addresses:
                assert wait_until(lambda a=address: serving(a), seconds=60), f"server at {address} did not start"
            yield standin, addresses
        finally:
            for p in processes:
                p.terminate()
            for p in processes:
                p.wait(timeout=30)
            r = redis.Redis.from_url(redis_url)
            for key in r.scan_iter(f"{prefix}*"):
                r.delete(key)
            r.close()


def test_fifty_concurrent_lookups_over_two_processes_make_one_request(two_servers: tuple[StandInJapanPost, list[str]]) -> None:
    standin, addresses = two_servers
    number = s10.make("EN", 72000001)
    standin.set_scenario(number, "in_customs")
    channels = [grpc.insecure_channel(a) for a in addresses]
    stubs = [tracking_pb2_grpc.TrackingServiceStub(c) for c in channels]
    try:
        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(lambda i: stubs[i % 2].GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=number), timeout=30), range(50)))
    finally:
        for c in channels:
            c.close()
    assert all(a.status == tracking_pb2.TRACKING_STATUS_IN_CUSTOMS for a in answers)
    assert len({a.fetch_time.ToNanoseconds() for a in answers}) == 1  # one fetch, shared by both processes
    assert standin.hits(number) == 1
