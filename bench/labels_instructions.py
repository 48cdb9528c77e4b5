"""Instructions per label, counted by valgrind's callgrind: the checks before issue and the
rendering of bench/labels_bench.py's labels (to distinct recipients by default), exact where
timings on this shared machine move by 2x from one minute to the next.

    python bench/labels_instructions.py [--count 100] [--format pdf|zpl] [--alike]

Runs `bench/labels_bench.py --one-thread --rounds 1` under callgrind twice, side by side, with
--count N and with --count 0 (the same start-up and warm-up), and reports the difference divided
by N. Like labels_bench.py it runs on older checkouts (copy both scripts there). Needs valgrind;
two to four minutes. Python's hash seed differs between runs, so two counts a few per cent apart
are not different; and an instruction can cost anything from a fraction of a cycle to a cache
miss, so compare counts of one path before and after a change, not with a time.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "labels_bench.py"


def count(n: int, fmt: str, distinct: bool) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(BENCH), "--one-thread", "--rounds", "1"]
    command += ["--count", str(n), "--format", fmt, *(["--distinct"] if distinct else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no count in callgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--format", choices=["pdf", "zpl"], default="pdf")
    parser.add_argument("--alike", action="store_true", help="the bench's labels, alike but for request_id, instead of distinct recipients")
    args = parser.parse_args()
    with ThreadPoolExecutor(2) as pool:
        with_labels, without = pool.map(lambda n: count(n, args.format, not args.alike), (args.count, 0))
    kind = "alike" if args.alike else "distinct recipients"
    print(f"{args.format.upper()}, {kind}: {(with_labels - without) / args.count / 1e6:.2f} M instructions per label ({args.count} labels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
