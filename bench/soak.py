"""Soak with faults: the mix against a multi-worker server for a set time while its parts fail.

    .venv/bin/python bench/soak.py [--seconds 600] [--workers 2] [--threads 8]

Starts its own redis-server on a spare port (so it can stop and restart it), the stand-in Japan
Post (standin/japan_post.py) in this process, and `server.py --workers N` on port 0 with Redis as the
tracking cache, SQLite labels in a temporary directory and short tracking TTLs (so answers go stale
during the run and outages matter). Client threads send the mix (60% GetQuote, 10% BatchGetQuotes
of 10, 20% GetTracking of 40 numbers, 10% CreateLabel, of which a part replays an answered
request_id) over several connections. On a schedule, as fractions of the run:

    0.15-0.30  Japan Post fails (every page 503), then recovers
    0.40-0.50  Redis is stopped, then started again (empty: it keeps nothing on disk)
    0.60       one worker is killed with SIGKILL (the supervisor starts a new one)
    0.75-0.85  Japan Post fails again

Checks, each a loss when it fails (exit status 1):
- no quote fails: a GetQuote/BatchGetQuotes may be retried on UNAVAILABLE (a killed worker drops
  its connections; quotes are idempotent), but must be answered, with options, within 5 tries;
- no label lost or issued twice: every CreateLabel answered is in the database with the same
  tracking number, all tracking numbers in the database are distinct, and a replayed request_id
  returns the original label (same id and number, replayed=true);
- tracking answers stale rather than failing: while Japan Post fails, numbers answered before are
  answered (source stale_cache/cache), and stale answers were actually given. A failure is excused
  only for a number with no answer since Redis last restarted empty (there is nothing to be stale
  from); such failures are counted and shown;
- memory: the RSS of each worker that lived through the run grows less than 10% from its value
  after the warm-up (the first tenth of the run, at least 10 s).
Prints a summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import grpc  # noqa: E402
from labels_support import proto_request  # noqa: E402
from tracking_helpers import OwnRedis  # noqa: E402

from domain import s10  # noqa: E402
from kokokara.shipping.v1 import labels_pb2_grpc, rates_pb2, rates_pb2_grpc, tracking_pb2, tracking_pb2_grpc  # noqa: E402
from labels.sqlite_store import SqliteLabelStore  # noqa: E402
from standin.japan_post import StandInJapanPost  # noqa: E402

NUMBERS = [s10.make("EE", 93_000_000 + i) for i in range(40)]
PAGES = ["in_transit", "in_customs", "delivered", "returned"]
REGIONS = ["US", "GB", "DE", "FR", "AU", "CA", "KR", "SG", "NZ", "IT", "ES", "NL", "SE", "HK", "TH", "BR", "MX", "ZA"]
QUOTE_TRIES = 5


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def service_reason(error: grpc.RpcError) -> str | None:
    """The ErrorInfo reason the service put in the status details; None when the error came from
    the transport (e.g. the connection to a killed worker dropped), which carries no details."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return str(info.reason)
    return None


def dropped_connection(error: grpc.RpcError) -> bool:
    return error.code() == grpc.StatusCode.UNAVAILABLE and service_reason(error) is None  # type: ignore[attr-defined]


class Server:
    """server.py --workers N; a reader thread follows its log for the current worker pids."""

    def __init__(self, workers: int, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "server.py"), "--listen", "127.0.0.1:0", "--workers", str(workers)],
            env={**os.environ, **env},
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        self.pids: list[int] = []
        self.events: list[dict[str, Any]] = []
        self.address = ""
        self.tail: deque[str] = deque(maxlen=40)  # the server's last lines, for a failure's message
        self._serving = threading.Event()
        threading.Thread(target=self._follow, daemon=True).start()
        if not self._serving.wait(120):
            status = self.proc.poll()
            self.proc.kill()
            said = "".join(self.tail) or "(nothing)\n"
            raise RuntimeError(f"server did not report serving in 120 s (exit status {status}); its last lines:\n{said}")

    def _follow(self) -> None:
        # Reads every line to the end, whatever it holds: a reader that stopped would leave the
        # server blocked on a full pipe.
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.tail.append(line)
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:  # e.g. a traceback's first line, or two processes' lines run together
                continue
            message = entry.get("message")
            if message == "serving" and "pids" in entry:
                self.pids, self.address = list(entry["pids"]), entry["address"]
                self._serving.set()
            elif message == "worker restarted":
                self.pids = [entry["pid"] if p == entry["replaces"] else p for p in self.pids]
            if message in ("worker died", "worker restarted", "worker serving", "workers keep dying; stopping") or entry.get("level") == "ERROR":
                self.events.append(entry)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


@dataclass
class Tally:
    ok: int = 0
    retried: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


class Soak:
    def __init__(self, args: argparse.Namespace, server: Server, standin: StandInJapanPost):
        self.args = args
        self.server = server
        self.standin = standin
        self.lock = threading.Lock()
        self.tallies: dict[str, Tally] = defaultdict(Tally)
        self.labels: dict[str, tuple[str, str]] = {}  # request_id -> (label id, tracking number)
        self.label_requests: dict[str, Any] = {}  # request_id -> the request sent (a replay sends it again as is)
        self.label_problems: list[str] = []
        self.sources: Counter[str] = Counter()
        self.stale_during_outage = 0
        self.outage = False
        self.redis_epoch = 0  # bumped when Redis restarts empty
        self.answered_in_epoch: set[tuple[int, str]] = set()
        self.excused_tracking = 0
        self.stop = threading.Event()
        self.label_seq = 0

    # --- operations ------------------------------------------------------------------------

    def _record(self, name: str, started: float, tries: int, error: str | None) -> None:
        with self.lock:
            t = self.tallies[name]
            if error is None:
                t.ok += 1
                t.latencies.append(time.perf_counter() - started)
            else:
                t.failed += 1
                t.errors[error] += 1
            if tries > 1:
                t.retried += 1

    def _retrying(self, name: str, call: Any, request: Any, check: Any) -> None:
        started = time.perf_counter()
        for attempt in range(1, QUOTE_TRIES + 1):
            try:
                reply = call(request, timeout=30)
            except grpc.RpcError as error:
                if error.code() in (grpc.StatusCode.UNAVAILABLE,) and attempt < QUOTE_TRIES:  # type: ignore[attr-defined]
                    time.sleep(0.05 * attempt)
                    continue
                self._record(name, started, attempt, error.code().name)  # type: ignore[attr-defined]
                return
            problem = check(reply)
            self._record(name, started, attempt, problem)
            return

    def quote(self, stub: rates_pb2_grpc.RateServiceStub, rng: random.Random) -> None:
        msg = rates_pb2.GetQuoteRequest(destination_region_code=rng.choice(REGIONS))
        msg.parcels.add(weight_grams=rng.randint(50, 20_000), length_mm=rng.randint(100, 500), width_mm=rng.randint(80, 300), height_mm=rng.randint(20, 200))
        self._retrying("GetQuote", stub.GetQuote, msg, lambda r: None if r.options else "NO_OPTIONS")

    def batch(self, stub: rates_pb2_grpc.RateServiceStub, rng: random.Random) -> None:
        batch = rates_pb2.BatchGetQuotesRequest()
        for _ in range(10):
            r = batch.requests.add(destination_region_code=rng.choice(REGIONS))
            r.parcels.add(weight_grams=rng.randint(50, 20_000))

        def check(reply: rates_pb2.BatchGetQuotesResponse) -> str | None:
            return None if len(reply.results) == 10 and all(x.HasField("response") for x in reply.results) else "BAD_BATCH"

        self._retrying("BatchGetQuotes", stub.BatchGetQuotes, batch, check)

    def tracking(self, stub: tracking_pb2_grpc.TrackingServiceStub, rng: random.Random) -> None:
        number = rng.choice(NUMBERS)
        epoch, outage = self.redis_epoch, self.outage
        started = time.perf_counter()
        reply, failure, tries = None, None, 0
        while reply is None and failure is None:
            tries += 1
            try:
                reply = stub.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=number), timeout=30)
            except grpc.RpcError as error:
                if dropped_connection(error) and tries < QUOTE_TRIES:
                    time.sleep(0.05 * tries)  # the worker holding the connection was killed: ask again
                    continue
                failure = error
        if failure is not None:
            with self.lock:
                if (epoch, number) not in self.answered_in_epoch and self.redis_epoch == epoch:
                    self.excused_tracking += 1  # nothing cached since Redis came back empty: nothing to be stale from
                    return
            self._record("GetTracking", started, tries, f"{failure.code().name} {service_reason(failure) or 'transport'}")  # type: ignore[attr-defined]
            return
        assert reply is not None
        source = tracking_pb2.TrackingSource.Name(reply.source)
        with self.lock:
            self.sources[source] += 1
            self.answered_in_epoch.add((epoch, number))
            if outage and reply.source == tracking_pb2.TRACKING_SOURCE_STALE_CACHE:
                self.stale_during_outage += 1
        self._record("GetTracking", started, tries, None)

    def create_label(self, stub: labels_pb2_grpc.LabelServiceStub, rng: random.Random) -> None:
        with self.lock:
            answered = list(self.labels.items()) if self.labels and rng.random() < 0.2 else []
            self.label_seq += 1
            seq = self.label_seq
        replay = rng.choice(answered) if answered else None
        if replay:
            request_id = replay[0]
            request = self.label_requests[request_id]
        else:
            request_id = f"soak-{os.getpid()}-{seq}"
            request = proto_request(request_id, region=rng.choice(["GB", "DE", "AU", "CA"]), weight_g=rng.randint(900, 5000))
        name = "CreateLabel (replay)" if replay else "CreateLabel"
        started = time.perf_counter()
        for attempt in range(1, 11):  # retries carry the same request_id: exactly once
            try:
                reply = stub.CreateLabel(request, timeout=30)
            except grpc.RpcError as error:
                if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and attempt < 10:  # type: ignore[attr-defined]
                    time.sleep(0.1 * attempt)
                    continue
                self._record(name, started, attempt, error.code().name)  # type: ignore[attr-defined]
                return
            got = (reply.label.id, reply.label.tracking_number)
            problem = None
            with self.lock:
                before = self.labels.get(request_id)
                if before is None:
                    self.labels[request_id] = got
                    self.label_requests[request_id] = request
                elif before != got:
                    problem = "NOT_THE_ORIGINAL"
                    self.label_problems.append(f"{request_id}: first {before}, then {got}")
                if replay and not reply.replayed:
                    problem = "REPLAY_NOT_MARKED"
            self._record(name, started, attempt, problem)
            return

    def client(self, index: int) -> None:
        rng = random.Random(index)
        # a channel of its own per thread: its own connection, so load (and the kill) hits every worker
        with grpc.insecure_channel(self.server.address, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
            rates = rates_pb2_grpc.RateServiceStub(ch)
            tracking = tracking_pb2_grpc.TrackingServiceStub(ch)
            labels = labels_pb2_grpc.LabelServiceStub(ch)
            while not self.stop.is_set():
                r = rng.random()
                if r < 0.60:
                    self.quote(rates, rng)
                elif r < 0.70:
                    self.batch(rates, rng)
                elif r < 0.90:
                    self.tracking(tracking, rng)
                else:
                    self.create_label(labels, rng)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--malloc-arena-max", type=int, default=0, help="set MALLOC_ARENA_MAX for the server (glibc; fewer arenas, less fragmentation); 0: leave unset"
    )
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be at least 2 (one is killed)")

    losses: list[str] = []
    timeline: list[tuple[float, str]] = []
    with tempfile.TemporaryDirectory() as tmp, StandInJapanPost(latency_seconds=0.005) as standin:
        for i, number in enumerate(NUMBERS):
            standin.set_scenario(number, PAGES[i % len(PAGES)])
        own_redis = OwnRedis(Path(tmp), missing=lambda problem: sys.exit(f"{problem} (apt-get install redis-server)"))
        own_redis.start()
        db = Path(tmp) / "labels.sqlite3"
        env = {
            "SHIPPING_REDIS_URL": own_redis.url,
            "SHIPPING_REDIS_TIMEOUT_SECONDS": "0.2",
            "SHIPPING_REDIS_PROBE_SECONDS": "0.5",
            "SHIPPING_TRACKING_BASE_URL": standin.url,
            "SHIPPING_TRACKING_RATE_PER_SECOND": "1000",
            "SHIPPING_TRACKING_RATE_BURST": "1000",
            "SHIPPING_TRACKING_RETRIES": "1",
            "SHIPPING_TRACKING_READ_TIMEOUT_SECONDS": "2",
            "SHIPPING_TRACKING_BREAKER_RESET_SECONDS": "2",
            # short freshness so answers go stale during the run and Japan Post outages matter
            "SHIPPING_TRACKING_TTL_FINAL_SECONDS": "8",
            "SHIPPING_TRACKING_TTL_TRANSIT_SECONDS": "4",
            "SHIPPING_TRACKING_TTL_DELIVERY_DAY_SECONDS": "4",
            "SHIPPING_TRACKING_TTL_NOT_FOUND_SECONDS": "4",
            "SHIPPING_DATABASE_PATH": str(db),
            "SHIPPING_LOG_REQUESTS": "false",
            "SHIPPING_LOG_LEVEL": "INFO",
            "SHIPPING_GRACE_SECONDS": "5",
        }
        if args.malloc_arena_max:
            env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
        server = Server(args.workers, env)
        soak = Soak(args, server, standin)
        started = time.monotonic()

        def at(fraction: float) -> None:
            soak.stop.wait(max(0.0, started + fraction * args.seconds - time.monotonic()))

        def note(what: str) -> None:
            timeline.append((time.monotonic() - started, what))
            print(f"[{time.monotonic() - started:7.1f} s] {what}", flush=True)

        threads = [threading.Thread(target=soak.client, args=(i,), daemon=True) for i in range(args.threads)]
        for t in threads:
            t.start()
        baseline: dict[int, float] = {}
        samples: dict[int, list[tuple[float, float]]] = defaultdict(list)
        sampler_stop = threading.Event()

        def sample() -> None:
            while not sampler_stop.wait(1.0):
                for pid in list(server.pids):
                    value = rss_mb(pid)
                    if value is not None:
                        samples[pid].append((time.monotonic() - started, value))

        threading.Thread(target=sample, daemon=True).start()
        warm_up = max(10.0, 0.1 * args.seconds)
        soak.stop.wait(warm_up)
        for pid in server.pids:
            value = rss_mb(pid)
            if value is not None:
                baseline[pid] = value
        note(f"warm-up done; worker RSS {', '.join(f'{p}: {v:.0f} MB' for p, v in baseline.items())}")
        at(0.15)
        soak.outage = True
        standin.set_override("unavailable")
        note("Japan Post fails (503)")
        at(0.30)
        standin.set_override(None)
        soak.outage = False
        note("Japan Post recovers")
        at(0.40)
        own_redis.stop()
        note("Redis stopped")
        at(0.50)
        with soak.lock:
            soak.redis_epoch += 1
        own_redis.start()
        note("Redis started again (empty)")
        at(0.60)
        victim = server.pids[0]
        os.kill(victim, signal.SIGKILL)
        note(f"worker {victim} killed (SIGKILL)")
        at(0.75)
        soak.outage = True
        standin.set_override("unavailable")
        note("Japan Post fails (503)")
        at(0.85)
        standin.set_override(None)
        soak.outage = False
        note("Japan Post recovers")
        at(1.0)
        final = {pid: rss_mb(pid) for pid in server.pids}
        soak.stop.set()
        sampler_stop.set()
        for t in threads:
            t.join(timeout=60)
        note("load stopped")
        exit_code = server.stop()
        own_redis.stop()

        # --- checks ---------------------------------------------------------------------
        store = SqliteLabelStore(db)
        try:
            numbers = store.issued_numbers()
            missing = [rid for rid, (_, number) in soak.labels.items() if (lbl := store.get_by_request_id(rid)) is None or lbl.tracking_number != number]
        finally:
            store.close()

    tallies = soak.tallies
    for name in ("GetQuote", "BatchGetQuotes"):
        if tallies[name].failed:
            losses.append(f"{tallies[name].failed} {name} failed: {dict(tallies[name].errors)}")
    if missing:
        losses.append(f"{len(missing)} answered labels are not in the database as answered, e.g. {missing[:3]}")
    if len(numbers) != len(set(numbers)):
        losses.append(f"{len(numbers) - len(set(numbers))} tracking numbers issued twice")
    if soak.label_problems:
        losses.append(f"{len(soak.label_problems)} retries did not return the original label: {soak.label_problems[:3]}")
    for name in ("CreateLabel", "CreateLabel (replay)"):
        if tallies[name].failed:
            losses.append(f"{tallies[name].failed} {name} failed: {dict(tallies[name].errors)}")
    if tallies["GetTracking"].failed:
        losses.append(f"{tallies['GetTracking'].failed} GetTracking failed instead of answering stale: {dict(tallies['GetTracking'].errors)}")
    if soak.stale_during_outage == 0:
        losses.append("no stale tracking answer during the Japan Post outages: the fault was not exercised")
    if not any(e.get("message") == "worker restarted" for e in server.events):
        losses.append("the killed worker was not replaced")
    if exit_code != 0:
        losses.append(f"the server exited {exit_code} on SIGTERM, not 0")
    growth = {}
    for pid, base in baseline.items():
        end = final.get(pid)
        if end is not None:
            growth[pid] = (end - base) / base
            if growth[pid] >= 0.10:
                losses.append(f"worker {pid} RSS grew {growth[pid]:.1%} ({base:.0f} -> {end:.0f} MB)")

    # --- summary --------------------------------------------------------------------------
    arenas = f", MALLOC_ARENA_MAX={args.malloc_arena_max}" if args.malloc_arena_max else ""
    print(f"\nsoak: {args.seconds:g} s, {args.workers} workers, {args.threads} client threads{arenas}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'operation':<22}{'ok':>8}{'retried':>9}{'failed':>8}{'p50 ms':>9}{'p99 ms':>9}  errors")
    for name, t in sorted(tallies.items()):
        lat = sorted(t.latencies)
        p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
        p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else float("nan")
        print(f"{name:<22}{t.ok:>8}{t.retried:>9}{t.failed:>8}{p50:>9.1f}{p99:>9.1f}  {dict(t.errors) or ''}")
    print(f"tracking answers by source: {dict(soak.sources)}; stale during outages: {soak.stale_during_outage}")
    print(f"tracking failures excused (no answer since Redis restarted empty): {soak.excused_tracking}")
    print(f"labels: {len(soak.labels)} answered, {len(numbers)} in the database, {len(set(numbers))} distinct tracking numbers, {len(missing)} missing")
    events = [(e.get("message"), e.get("pid"), e.get("returncode")) for e in server.events if e.get("message") in ("worker died", "worker restarted")]
    print(f"supervisor: {events}; exit status on SIGTERM {exit_code}")
    for pid, g in growth.items():
        series = samples[pid]
        peak = max(v for _, v in series) if series else float("nan")
        print(f"worker {pid}: RSS {baseline[pid]:.0f} MB after warm-up -> {final[pid]:.0f} MB at the end ({g:+.1%}); peak sampled {peak:.0f} MB")
        # the trend, to tell a leak (still climbing) from a heap settling (flattening)
        marks = [next((v for t, v in series if t >= f * args.seconds), series[-1][1]) for f in (0.1, 0.25, 0.5, 0.75, 1.0)] if series else []
        print("   RSS at 10/25/50/75/100% of the run: " + " / ".join(f"{v:.0f}" for v in marks) + " MB")
    for pid in final:
        if pid not in baseline and final[pid] is not None:
            print(f"worker {pid} (the replacement): {final[pid]:.0f} MB at the end")
    if losses:
        print("\nLOSSES:")
        for loss in losses:
            print(f"  - {loss}")
        return 1
    print("\nno losses")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
