"""The soak with faults (bench/soak.py) for 60 s: two workers, the mix, Japan Post failing and
recovering, Redis restarted, one worker killed. It exits non-zero on any loss (a failed quote, a
label lost or issued twice, a tracking failure where a stale answer was due, RSS growth >= 10%)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import IN_CI, REPO

pytestmark = pytest.mark.slow


def test_sixty_second_soak_with_faults_loses_nothing() -> None:
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is not installed; CI=true requires it")
        pytest.skip("redis-server is not installed: the soak starts (and restarts) its own")
    seconds = os.environ.get("SHIPPING_SOAK_SECONDS", "60")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "soak.py"), "--seconds", seconds], capture_output=True, text=True, cwd=REPO, timeout=float(seconds) + 180
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-4000:]
    assert "no losses" in out
    # the faults happened and were seen: a worker replaced, stale answers given during the outages
    assert "worker restarted" in out and "Redis started again" in out
    assert "stale during outages: 0" not in out
