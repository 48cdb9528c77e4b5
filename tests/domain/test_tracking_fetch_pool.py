"""The carrier lookups' own pool (tracking/fetch_pool.py): bounded threads and queue, cancelled
lookups that never run, and daemon threads that never hold up the process's exit."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import CancelledError

import pytest

from tests.conftest import REPO
from tests.tracking_helpers import wait_until
from tracking.fetch_pool import DaemonPool, PoolFull


def test_past_its_threads_and_queue_the_pool_refuses_at_once() -> None:
    release = threading.Event()
    pool = DaemonPool(workers=2, queue=1, name="test")
    try:
        running = [pool.submit(release.wait, 10) for _ in range(2)]
        queued = pool.submit(lambda: "queued")
        with pytest.raises(PoolFull):
            pool.submit(lambda: "one too many")
        release.set()
        assert [f.result(timeout=5) for f in running] == [True, True]
        assert queued.result(timeout=5) == "queued"
    finally:
        release.set()
        pool.close()


def test_a_cancelled_lookup_never_runs_and_frees_its_place() -> None:
    release = threading.Event()
    ran: list[str] = []
    pool = DaemonPool(workers=1, queue=1, name="test")
    try:
        busy = pool.submit(release.wait, 10)
        abandoned = pool.submit(ran.append, "abandoned")
        assert abandoned.cancel()
        wanted = pool.submit(ran.append, "wanted")  # the cancelled one holds no place in the queue
        release.set()
        busy.result(timeout=5)
        wanted.result(timeout=5)
        with pytest.raises(CancelledError):
            abandoned.result(timeout=0)
        assert ran == ["wanted"]
    finally:
        release.set()
        pool.close()


def test_close_cancels_what_waits_and_errors_reach_the_caller() -> None:
    release = threading.Event()
    pool = DaemonPool(workers=1, queue=2, name="test")
    busy = pool.submit(release.wait, 10)
    assert wait_until(busy.running, 5)
    waiting = pool.submit(lambda: "never")
    pool.close()
    assert waiting.cancelled()
    with pytest.raises(PoolFull):
        pool.submit(lambda: "after close")
    release.set()
    assert busy.result(timeout=5) is True
    failing = DaemonPool(workers=1, queue=0, name="test")
    with pytest.raises(ZeroDivisionError):
        failing.submit(lambda: 1 / 0).result(timeout=5)
    failing.close()


def test_a_stuck_thread_does_not_hold_up_exit() -> None:
    # ThreadPoolExecutor's threads are joined at exit; these are not.
    program = "import threading; from tracking.fetch_pool import DaemonPool; p = DaemonPool(1, 0); p.submit(threading.Event().wait); print('done')"
    finished = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert finished.returncode == 0 and finished.stdout.strip() == "done"
