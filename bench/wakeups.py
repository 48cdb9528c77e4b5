"""What a wake-up across cores costs on this machine, against one on the same core.

    .venv/bin/python bench/wakeups.py [--round-trips 20000]

Two processes play ping-pong over a loopback TCP connection (100 bytes each way, TCP_NODELAY): each
round trip wakes the other process twice. Run once with the kernel free to place them (on a
2-core machine they end up on different cores) and once with both pinned to one core. Printed:
wall time and this process's CPU per round trip. On the 2-core VM of docs/performance.md a round
trip across cores cost 55-148 µs of wall time and 22-59 µs of CPU (two readings an hour apart),
against 15-20 µs and 8-10 µs on one core: what SHIPPING_PIN_CPUS saves a worker whose threads wake
each other on every call.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from multiprocessing import get_context


def _echo(port: int, cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(65536):
            conn.sendall(data)


def ping_pong(round_trips: int, cpu: int | None) -> tuple[float, float]:
    """(wall µs, CPU µs of this side) per round trip; with `cpu`, both sides run on that core."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        peer = get_context("spawn").Process(target=_echo, args=(listener.getsockname()[1], cpu))
        peer.start()
        conn, _ = listener.accept()
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        message = b"x" * 100
        for _ in range(1000):  # warm-up
            conn.sendall(message)
            conn.recv(65536)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        for _ in range(round_trips):
            conn.sendall(message)
            conn.recv(65536)
        wall, used = time.perf_counter() - wall_before, time.process_time() - cpu_before
    peer.join(10)
    return wall / round_trips * 1e6, used / round_trips * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--round-trips", type=int, default=20_000)
    args = parser.parse_args()
    free = os.sched_getaffinity(0)
    wall, used = ping_pong(args.round_trips, None)
    print(f"placed by the kernel (on {len(free)} CPUs): {wall:6.1f} µs wall, {used:5.1f} µs CPU per round trip")
    os.sched_setaffinity(0, free)
    wall, used = ping_pong(args.round_trips, min(free))
    print(f"both on CPU {min(free)}:            {wall:6.1f} µs wall, {used:5.1f} µs CPU per round trip")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
