"""Instructions per quote on the servicer's path, counted by valgrind's callgrind.

Timings on a shared VM drift by up to 2x from minute to minute (docs/performance.md), so small
changes to the quote path cannot be judged by them. Instruction counts do not drift: the same code,
carts and interpreter give the same count whatever else the machine is doing. This runs the path
GetQuote and BatchGetQuotes run (request message to response bytes: translation, the engine, the
wire encoding) under callgrind twice, once with N quotes and once with none, after the same set-up
and warm-up, and reports the difference divided by N.

    .venv/bin/python bench/instructions.py [--quotes 10000] [--carts getquote|harness] [--path python|kernel]

--path python: the Python path (request message to response bytes); kernel: the compiled quote
kernel, as the server runs plain requests by default (request bytes to response bytes).

--carts getquote: bench/quote.py's carts (one parcel, 20 destinations); harness: bench/load.py's
(1-3 parcels, every served destination, 20% with a declared value). Needs valgrind (Debian's
package of that name); about two minutes. The set-up itself varies by about 0.5% between runs
(pandas loading the tables), which spreads over the N quotes: 10,000 keep that to about 1% of a
quote's count. Not a timing: an instruction can cost anything
from a fraction of a cycle to a cache miss, so compare counts of one path before and after a
change, not against a latency target.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_quotes(count: int, carts: str, path: str = "python") -> None:
    """The measured program: set-up, one pass over every cart to warm the caches, then `count` quotes."""
    sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]
    from kokokara.shipping.server.servicers.rates import quote_response
    from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
    from kokokara.shipping.v1 import rates_pb2
    from rates.quote import QuoteEngine
    from rates.tables import ISO_REGIONS, load_rate_book

    book = load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE)
    engine, regions, today = QuoteEngine(book), frozenset(ISO_REGIONS), date(2026, 11, 27)
    if carts == "getquote":
        from quote import carts as quote_carts
        from quote import get_quote_request

        messages = [get_quote_request(r, g, s) for r, g, s in quote_carts(1000)]
    else:
        from load import batch_payloads

        batches = batch_payloads(40, 100, sorted(book.served_regions()), 7)
        messages = [m for b in batches for m in rates_pb2.BatchGetQuotesRequest.FromString(b).requests]
    if path == "kernel":
        from kokokara.shipping.server.fast.fastquote import FastQuotes
        from kokokara.shipping.server.servicers.rates import KERNEL_LIMITS

        fast = FastQuotes(engine, regions, KERNEL_LIMITS)
        payloads = [m.SerializeToString() for m in messages]
        for data in payloads:
            if fast.quote(data, today) is None:
                raise SystemExit("a cart the kernel does not take: the count would mix the two paths")
        for i in range(count):
            fast.quote(payloads[i % len(payloads)], today)
        return
    for msg in messages:
        quote_response(engine, regions, msg, today)
    for i in range(count):
        quote_response(engine, regions, messages[i % len(messages)], today)


def instructions(count: int, carts: str, path: str) -> int:
    command = [
        *("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__),
        *("--run", str(count), "--carts", carts, "--path", path),
    ]
    # A fixed hash seed: with random ones, dict layouts and so the counts differ a little per run.
    done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : ([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quotes", type=int, default=10_000)
    parser.add_argument("--carts", choices=("getquote", "harness"), default="getquote")
    parser.add_argument("--path", choices=("python", "kernel"), default="python")
    parser.add_argument("--run", type=int, default=None, help=argparse.SUPPRESS)  # the measured program
    args = parser.parse_args()
    if args.run is not None:
        run_quotes(args.run, args.carts, args.path)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    base = instructions(0, args.carts, args.path)
    loaded = instructions(args.quotes, args.carts, args.path)
    per_quote = (loaded - base) / args.quotes
    print(f"{args.carts} carts, {args.path} path: {per_quote:,.0f} instructions per quote ({args.quotes} quotes; {base:,} for set-up and warm-up)")


if __name__ == "__main__":
    main()
