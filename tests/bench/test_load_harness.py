"""bench/load.py end to end, briefly: both load drivers, a pinned server, pinned and unpinned
servers side by side; every call answered, the figures written where --out says. A benchmark that rots
silently gives figures nobody can rerun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("driver", ["h2", "aio"])
def test_load_harness_runs_every_scenario_without_an_error(driver: str, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    args = ["--out", str(out), "--workers", "1", "--seconds", "0.5", "--startup-runs", "0", "--driver", driver]
    if driver == "h2":  # and a pinned server
        args += ["--scenarios", "tracking,create_label,mix", "--pin-cpus"]
    else:
        args += ["--scenarios", "get_quote,mix"]
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "load.py"), *args], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["args"]["driver"] == driver
    rows = report["runs"]["1"]["scenarios"]
    assert [r["scenario"] for r in rows][1:-1] == report["args"]["scenarios"].split(",")
    for row in rows:
        assert row["errors"] == {} and row["calls"] > 0 and not row["labels_ran_out"], row
        assert row["upstream_fetches"] == 0  # tracking came from the cache the harness warmed
    assert report["args"]["pin_cpus"] is (driver == "h2")


def test_pinned_and_unpinned_servers_side_by_side(tmp_path: Path) -> None:
    args = ["--out", str(tmp_path / "load.json"), "--workers", "1", "--seconds", "0.3", "--startup-runs", "0", "--scenarios", "get_quote"]
    args += ["--pin-pairs", "2", "--pair-seconds", "0.3"]
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "load.py"), *args], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pairs = json.loads((tmp_path / "load.json").read_text())["pin_pairs"]["1"]
    assert set(pairs) == {"empty", "get_quote"} and all(len(ratios) == 2 and min(ratios) > 0 for ratios in pairs.values())
    assert "1 worker(s), pinned / not pinned over 2 alternated pairs" in proc.stdout


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs CPU pinning and 2 CPUs")
def test_the_bench_server_pins_its_workers_to_different_cpus() -> None:
    """The benchmark's own supervisor must stay unpinned, or every worker inherits its one CPU."""
    allowed = sorted(os.sched_getaffinity(0))
    env = {**os.environ, "SHIPPING_PIN_CPUS": "true", "SHIPPING_LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "_server.py"), "--workers", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert proc.stdout is not None
        pids = json.loads(proc.stdout.readline())["pids"]
        assert [os.sched_getaffinity(pid) for pid in pids] == [{allowed[0]}, {allowed[1]}]
        assert os.sched_getaffinity(proc.pid) == set(allowed)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
