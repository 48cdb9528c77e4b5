"""No hand-written source file grows past 500 lines: past that a maintainer cannot hold one in mind, and
a file that size usually holds more than one concern. Generated stubs and the Cython kernel are
exempt (nobody edits the first; the second is one loop kept whole for speed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 500


def test_no_source_file_is_over_500_lines() -> None:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert listed, "git ls-files found no Python files"
    sources = [p for p in listed if not p.startswith(("tests/", "bench/")) and not p.endswith(("_pb2.py", "_pb2_grpc.py", "_connect.py"))]
    long = {p: n for p in sources if (n := len((ROOT / p).read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert long == {}, f"source files over {LIMIT} lines: {long}"
