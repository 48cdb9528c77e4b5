"""CPU pinning of server processes (SHIPPING_PIN_CPUS).

A worker's threads hand work to each other all the time: gRPC's poller threads wake the Python
thread that runs a handler, and it wakes them back to send the reply. When those threads run on
different cores each hand-off is a wake-up across cores, which on a VM is an inter-processor
interrupt: on the 2-core VM of docs/performance.md a loopback ping-pong between two processes
(bench/wakeups.py) took 22-59 µs of CPU a round trip across cores against 8-10 µs on one. Pinning
each worker to a core of its own keeps its hand-offs on that core and leaves the other cores to
the other workers: one pinned worker served 1.13-1.30x the calls of an unpinned one, two pinned
workers 1.12-1.68x (the mix gained most).

"auto" (the default) pins only when there is one worker per allowed CPU: the layout of the default
worker count on a machine of the service's own, where each core then gets exactly one worker of
each server (two servers on one host share every core alike). With fewer workers than CPUs it does
not pin: a container with a CPU quota but no cpuset of its own sees every core of its host, and
every replica would put its first worker on the same core. "true" pins in any case (workers wrap
round the allowed CPUs), "false" never.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("kokokara.shipping")


def supported() -> bool:
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (its cpuset or affinity mask), in order."""
    return sorted(os.sched_getaffinity(0)) if supported() else []


def should_pin(setting: str, workers: int, cpus: list[int]) -> bool:
    """Whether `workers` processes pin themselves to `cpus` (the allowed CPUs) under `setting`."""
    if setting == "true":
        return bool(cpus)
    if setting == "auto":
        return len(cpus) > 1 and workers == len(cpus)
    return False


def cpu_for_worker(index: int, cpus: list[int]) -> int:
    """Worker i gets the i-th allowed CPU; more workers than CPUs wrap round."""
    return cpus[index % len(cpus)]


def pin_process(cpu: int) -> None:
    """Pins every thread this process has to `cpu`; threads it starts later inherit the mask."""
    threads = os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]
    for tid in threads:
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except ProcessLookupError:  # a thread that ended meanwhile
            continue
    log.info("pinned to a cpu", extra={"cpu": cpu})
