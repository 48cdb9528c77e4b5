"""CreateLabel and cached tracking while Japan Post trickles.

Japan Post (the stand-in) sends its answers one byte a second, so no per-read timeout fires. For
`--seconds` (30), two new numbers a second are looked up, each caller leaving after 3 s; meanwhile
the warehouse creates a label every half second (10 s deadline) and reads a cached number (2 s
deadline). Prints CreateLabel's and the cached lookup's latency (p50, p99, max) and every outcome.
The server runs as its own process (server.py, one worker, default settings) against a fresh
SQLite file; all traffic stays on 127.0.0.1.

    .venv/bin/python bench/tracking_hostile.py [--seconds 30] [--trickle-seconds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from domain import s10  # noqa: E402
from kokokara.shipping.v1 import labels_pb2_grpc, tracking_pb2, tracking_pb2_grpc  # noqa: E402
from standin.japan_post import StandInJapanPost  # noqa: E402
from tests.labels_support import proto_request  # noqa: E402
from tests.tracking_helpers import free_port  # noqa: E402


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(REPO / "server.py")], env={**os.environ, **env}, stderr=subprocess.PIPE, text=True, cwd=REPO)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr or []], daemon=True).start()
    ends = time.monotonic() + 60
    while time.monotonic() < ends:
        try:
            line = lines.get(timeout=max(0.0, ends - time.monotonic()))
        except queue.Empty:
            break
        if line.startswith("{") and json.loads(line)["message"] == "serving":
            return proc, json.loads(line)["address"]
    proc.kill()
    raise SystemExit("server did not start")


def timed(call: object) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        call()  # type: ignore[operator]
        code = "OK"
    except grpc.RpcError as error:
        code = error.code().name  # type: ignore[attr-defined]
    return code, time.perf_counter() - started


def summary(name: str, results: list[tuple[str, float]]) -> str:
    seconds = sorted(s for _, s in results)
    p99 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))]
    codes = dict(Counter(c for c, _ in results))
    return f"{name}: n={len(seconds)} p50={statistics.median(seconds) * 1000:.1f} ms p99={p99 * 1000:.1f} ms max={seconds[-1] * 1000:.1f} ms outcomes={codes}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long new lookups keep coming (bounded: at most 600)")
    parser.add_argument("--trickle-seconds", type=float, default=1.0, help="seconds between the bytes Japan Post sends")
    args = parser.parse_args()
    seconds = min(max(args.seconds, 1.0), 600.0)
    known = s10.make("EN", 76_000_000)
    with tempfile.TemporaryDirectory() as tmp, StandInJapanPost(trickle_seconds=args.trickle_seconds) as standin:
        standin.set_scenario(known, "delivered")
        proc, address = serve(
            {
                "SHIPPING_LISTEN_ADDR": f"127.0.0.1:{free_port()}",
                "SHIPPING_WORKERS": "1",
                "SHIPPING_TRACKING_BASE_URL": standin.url,
                "SHIPPING_DATABASE_PATH": str(Path(tmp) / "labels.sqlite3"),
                "SHIPPING_LOG_REQUESTS": "false",
            }
        )
        try:
            with grpc.insecure_channel(address) as channel:
                tracking = tracking_pb2_grpc.TrackingServiceStub(channel)
                labels = labels_pb2_grpc.LabelServiceStub(channel)
                tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=known), timeout=10)
                labels.CreateLabel(proto_request("bench-warm-up"), timeout=10)

                lookups: list[tuple[str, float]] = []
                stop = threading.Event()

                def storm() -> None:
                    with ThreadPoolExecutor(32) as callers:
                        pending = []
                        for i in range(int(seconds * 2)):
                            number = s10.make("LX", 76_100_000 + i)
                            standin.set_scenario(number, "trickle")
                            request = tracking_pb2.GetTrackingRequest(tracking_number=number)
                            pending.append(callers.submit(timed, lambda r=request: tracking.GetTracking(r, timeout=3.0)))
                            if stop.wait(0.5):
                                break
                        lookups.extend(f.result() for f in pending)

                storm_thread = threading.Thread(target=storm)
                storm_thread.start()
                created: list[tuple[str, float]] = []
                cached: list[tuple[str, float]] = []
                ends = time.monotonic() + seconds
                i = 0
                while time.monotonic() < ends:
                    created.append(timed(lambda i=i: labels.CreateLabel(proto_request(f"bench-{i}"), timeout=10)))
                    cached.append(timed(lambda: tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=known), timeout=2.0)))
                    i += 1
                    time.sleep(0.5)
                stop.set()
                storm_thread.join(timeout=120)
            stopped = time.monotonic()
            proc.terminate()
            try:
                proc.wait(timeout=120)
                exited = f"{time.monotonic() - stopped:.1f} s"
            except subprocess.TimeoutExpired:
                exited = "none within 120 s (killed)"
        finally:
            proc.kill()
            proc.wait(timeout=10)
    print(f"Japan Post trickling one byte every {args.trickle_seconds} s, {seconds:.0f} s of two abandoned lookups a second")
    print(summary("CreateLabel (10 s deadline)", created))
    print(summary("GetTracking, cached number (2 s deadline)", cached))
    print(summary("GetTracking, new numbers (3 s deadline)", lookups))
    print(f"requests Japan Post received: {standin.hits()}; server exit after SIGTERM: {exited} (grace 10 s)")
    return 0 if all(c == "OK" for c, _ in created + cached) else 1


if __name__ == "__main__":
    raise SystemExit(main())
