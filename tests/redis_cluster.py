"""A Redis Cluster of the test's own: redis-server processes on spare ports in a temp dir, joined with
`redis-cli --cluster create`, that a test can break (kill a master) and watch recover."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from tests.tracking_helpers import free_port


def need_redis_binaries() -> None:
    missing = [b for b in ("redis-server", "redis-cli") if shutil.which(b) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: skipping the tests that start a Redis Cluster"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)


class OwnRedisCluster:
    """`masters` masters with `replicas` replicas each; node timeout 2 s, so a killed master's
    replica takes over a few seconds later."""

    def __init__(self, workdir: Path, *, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 2000):
        need_redis_binaries()
        self.workdir = workdir
        self.masters = masters
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.ports = [free_port() for _ in range(masters * (1 + replicas))]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def nodes(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", p) for p in self.ports]

    @property
    def nodes_setting(self) -> str:
        """The value for SHIPPING_REDIS_CLUSTER_NODES: every node, as a deployment would list them."""
        return ",".join(f"{h}:{p}" for h, p in self.nodes)

    def start(self) -> None:
        for port in self.ports:
            self.processes[port] = subprocess.Popen(
                [
                    "redis-server",
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-port", str(free_port()),
                    "--cluster-config-file", str(self.workdir / f"nodes-{port}.conf"),
                    "--cluster-node-timeout", str(self.node_timeout_ms),
                    "--save", "",
                    "--appendonly", "no",
                    "--repl-diskless-sync-delay", "0",
                    "--daemonize", "no",
                    "--dir", str(self.workdir),
                    "--logfile", str(self.workdir / f"redis-{port}.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        for port in self.ports:
            self._wait(lambda p=port: self._node(p).ping(), f"redis-server on {port} did not start")
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports), "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        self.wait_ok()

    def _node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1, decode_responses=True)

    def _wait(self, probe: object, message: str, seconds: float = 30.0) -> None:
        ends = time.monotonic() + seconds
        while True:
            try:
                if probe() is not False:  # type: ignore[operator]
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > ends:
                raise RuntimeError(message)
            time.sleep(0.05)

    def running(self) -> list[int]:
        return [p for p, proc in self.processes.items() if proc.poll() is None]

    def _state_ok(self) -> bool:
        """Every running node says cluster_state:ok and knows `masters` masters that are not failed,
        and every running replica's link to its master is up."""
        for port in self.running():
            node = self._node(port)
            try:
                if node.cluster("info").get("cluster_state") != "ok":
                    return False
                masters = [n for n in node.cluster("nodes").values() if "master" in n["flags"] and "fail" not in n["flags"] and n["slots"]]
                if len(masters) != self.masters:
                    return False
                info = node.info("replication")
                if info["role"] == "slave" and info.get("master_link_status") != "up":
                    return False
            finally:
                node.close()
        return True

    def wait_ok(self, seconds: float = 30.0) -> None:
        self._wait(self._state_ok, "the Redis Cluster did not reach cluster_state:ok", seconds)

    def client(self) -> RedisCluster:
        return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in self.nodes if p in self.running()])

    def master_of(self, key: str) -> int:
        """The port of the master that holds `key`'s slot now."""
        client = self.client()
        try:
            return int(client.get_node_from_key(key).port)
        finally:
            client.close()

    def replica_of(self, master_port: int) -> int:
        node = self._node(master_port)
        try:
            replicas = node.info("replication")
            return int(replicas["slave0"]["port"])
        finally:
            node.close()

    def kill(self, port: int) -> None:
        """SIGKILL, as a crash: no chance to hand anything over."""
        proc = self.processes[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
