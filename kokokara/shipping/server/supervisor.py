"""Multi-process serving: a supervisor that runs N worker processes of server.py on one port.

One Python process serves from one core, so server.py with `--workers N` (N > 1) starts N workers,
each a whole server (its own tables, caches, label-store connection) bound to the same address
with SO_REUSEPORT; the kernel spreads new connections over them. The supervisor:

- resolves port 0 once: it binds a socket with SO_REUSEPORT to get a free port and keeps it bound
  (never listening, so it takes no connections) while the workers bind the same port;
- reports "serving" only once every worker has said it is SERVING (a pipe per worker);
- logs a worker that dies and starts a new one: at once the first time, then after 1, 2, 4 ... 30 s
  while it keeps dying young, the others serving all along. One worker's failure (a file it cannot
  read, a database it cannot reach) never takes the others down; only when every worker keeps
  dying and none serves does the supervisor stop;
- when pinning (SHIPPING_PIN_CPUS), runs worker i on the i-th CPU it may use (affinity.py);
- on SIGTERM/SIGINT sends SIGTERM to every worker, which drains its calls as a single server does,
  and exits 0 once all have stopped.

It imports neither gRPC nor pandas: it only starts, watches and stops processes.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kokokara.shipping.server import affinity

log = logging.getLogger("kokokara.shipping")

SERVER_SCRIPT = Path(__file__).resolve().parents[3] / "server.py"
READY = b"ready\n"
# A worker that dies within CRASH_WINDOW_SECONDS of its start died young. Young deaths in a row
# delay its next start: 0 s, then 1, 2, 4 ... MAX_RESTART_DELAY_SECONDS. When every worker has
# died young MAX_DEATHS times in a row and none serves, the service is broken, not unlucky: stop.
MAX_DEATHS = 5
CRASH_WINDOW_SECONDS = 60.0
MAX_RESTART_DELAY_SECONDS = 30.0
START_TIMEOUT_SECONDS = 120.0


def reserve_port(listen_addr: str) -> tuple[str, socket.socket | None]:
    """For HOST:0, binds a SO_REUSEPORT socket to a free port and returns HOST:PORT and the socket
    (keep it open while the workers bind; close it at the end). Any other address is returned as is."""
    host, _, port = listen_addr.rpartition(":")
    if port != "0":
        return listen_addr, None
    infos = socket.getaddrinfo(host.strip("[]") or None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, sockaddr = infos[0]
    holder = socket.socket(family, kind, proto)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(sockaddr)
    return f"{host}:{holder.getsockname()[1]}", holder


@dataclass
class Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float
    ready: threading.Event = field(default_factory=threading.Event)

    @property
    def pid(self) -> int:
        return self.process.pid


class Supervisor:
    def __init__(
        self,
        address: str,
        workers: int,
        grace_seconds: float,
        *,
        script: Path = SERVER_SCRIPT,
        on_serving: Callable[[list[int]], None] | None = None,
        worker_args: list[str] | None = None,
        pin_cpus: bool = False,
        metrics_addr: str = "",
    ):
        """`script` is run as a worker with `--listen ADDRESS --workers 1 --ready-fd FD [--pin-cpu N]` (server.py,
        or a benchmark's server with extra RPCs); `on_serving` gets the worker pids once all serve.
        `metrics_addr` is the settings' HOST:PORT for /metrics (empty: none); worker i serves on PORT + i.
        Workers inherit this process's environment, which they read once into their own settings."""
        self.metrics_addr = metrics_addr
        self.address = address
        self.count = workers
        self.grace_seconds = grace_seconds
        self.script = script
        self.on_serving = on_serving
        self.worker_args = list(worker_args or [])
        # worker i (a replacement keeps the index of the one it replaces) runs on the i-th allowed CPU
        self.cpus = affinity.allowed_cpus() if pin_cpus else []
        self.workers: list[Worker] = []
        self.stopping = threading.Event()
        # Per worker index: young deaths in a row, and when a dead worker is to be started again.
        self._young_deaths: list[int] = [0] * workers
        self._restart_at: dict[int, float] = {}

    # --- processes -------------------------------------------------------------------------

    def _spawn(self, index: int) -> Worker:
        read_fd, write_fd = os.pipe()
        env = {**os.environ, "SHIPPING_WORKERS": "1", "SHIPPING_REUSE_PORT": "true", "SHIPPING_LISTEN_ADDR": self.address}
        # glibc gives every thread that allocates its own malloc arena (up to 8 per core); with 16
        # server threads a worker's memory then creeps as new code paths run in new threads (seen in
        # the soak). Two arenas is the usual setting for threaded Python servers; an explicit value wins.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        if index > 0:
            env["SHIPPING_HTTP_ADDR"] = ""  # the JSON API and the console are served by the first worker only
        metrics = self.metrics_addr
        if metrics:
            # Each worker keeps its own counters: worker i serves /metrics on the given port + i.
            host, _, port = metrics.rpartition(":")
            env["SHIPPING_METRICS_ADDR"] = f"{host}:{int(port) + index}"
        pin = ["--pin-cpu", str(affinity.cpu_for_worker(index, self.cpus))] if self.cpus else []
        try:
            process = subprocess.Popen(
                [sys.executable, str(self.script), "--listen", self.address, "--workers", "1", "--ready-fd", str(write_fd), *pin, *self.worker_args],
                env=env,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        worker = Worker(index=index, process=process, started=time.monotonic())
        threading.Thread(target=self._await_ready, args=(worker, read_fd), name=f"ready-{index}", daemon=True).start()
        return worker

    def _await_ready(self, worker: Worker, read_fd: int) -> None:
        """Sets worker.ready when it writes READY; the pipe closes without it if the worker dies first."""
        with os.fdopen(read_fd, "rb") as pipe:
            if pipe.readline() == READY:
                worker.ready.set()
                log.info(
                    "worker serving",
                    extra={"worker": worker.index, "pid": worker.pid, "seconds": round(time.monotonic() - worker.started, 3)},
                )

    # --- running ---------------------------------------------------------------------------

    def run(self) -> int:
        """Starts the workers, serves until a signal, drains them. Returns the exit code."""
        self.workers = [self._spawn(i) for i in range(self.count)]
        code = self._wait_all_ready()
        if code is not None:
            self._stop_all()
            return code
        log.info("serving", extra={"address": self.address, "workers": self.count, "pids": [w.pid for w in self.workers], "pinned": bool(self.cpus)})
        if self.on_serving is not None:
            self.on_serving([w.pid for w in self.workers])
        while not self.stopping.wait(0.1):
            for i, worker in enumerate(self.workers):
                if self.stopping.is_set():
                    break
                if i in self._restart_at:
                    if time.monotonic() >= self._restart_at[i]:
                        del self._restart_at[i]
                        self.workers[i] = self._spawn(worker.index)
                        log.info("worker restarted", extra={"worker": worker.index, "pid": self.workers[i].pid, "replaces": worker.pid})
                    continue
                returncode = worker.process.poll()
                if returncode is None:
                    continue
                log.error("worker died", extra={"worker": worker.index, "pid": worker.pid, "returncode": returncode})
                if self._died(i, worker):
                    log.error("workers keep dying; stopping", extra={"deaths": MAX_DEATHS, "window_seconds": CRASH_WINDOW_SECONDS})
                    self._stop_all()
                    return 1
        self._stop_all()
        log.info("stopped")
        return 0

    def _died(self, i: int, worker: Worker) -> bool:
        """Schedules the start of a new worker i; True when every worker keeps dying and none serves."""
        now = time.monotonic()
        young = now - worker.started < CRASH_WINDOW_SECONDS
        self._young_deaths[i] = self._young_deaths[i] + 1 if young else 1
        delay = 0.0 if self._young_deaths[i] == 1 else min(2.0 ** (self._young_deaths[i] - 2), MAX_RESTART_DELAY_SECONDS)
        self._restart_at[i] = now + delay
        if delay:
            log.warning("worker restart delayed", extra={"worker": worker.index, "seconds": delay, "young_deaths_in_a_row": self._young_deaths[i]})
        serving = any(j not in self._restart_at and w.ready.is_set() and w.process.poll() is None for j, w in enumerate(self.workers))
        return not serving and all(n >= MAX_DEATHS for n in self._young_deaths)

    def _wait_all_ready(self) -> int | None:
        """None once every worker is SERVING; else the exit code to stop with (a worker that fails
        to start, e.g. on a broken rate table, passes its own code on)."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not all(w.ready.is_set() for w in self.workers):
            if self.stopping.is_set():
                return 0
            for worker in self.workers:
                returncode = worker.process.poll()
                if returncode is not None and not worker.ready.is_set():
                    log.error("worker failed to start", extra={"worker": worker.index, "pid": worker.pid, "returncode": returncode})
                    return returncode or 1
            if time.monotonic() > deadline:
                log.error("workers did not start in time", extra={"seconds": START_TIMEOUT_SECONDS})
                return 1
            time.sleep(0.02)
        return None

    def _stop_all(self) -> None:
        """SIGTERM to every worker (each drains its running calls), then waits; a worker still
        running well past the grace period is killed."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds + 10
        for worker in self.workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker did not stop in time; killing it", extra={"worker": worker.index, "pid": worker.pid})
                worker.process.kill()
                worker.process.wait()

    def forward(self, signum: int, _frame: object) -> None:
        """Passes a signal (SIGHUP: reload the rate tables) on to every running worker."""
        log.info("passing signal to workers", extra={"signal": signal.Signals(signum).name})
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signum)

    def request_stop(self, signum: int, _frame: object) -> None:
        log.info("shutting down", extra={"signal": signal.Signals(signum).name, "workers": self.count})
        self.stopping.set()
