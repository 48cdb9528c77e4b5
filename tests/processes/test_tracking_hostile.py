"""Tracking against a hostile or degraded Japan Post and a Redis outage, through a real gRPC server
(and, for SIGTERM, server.py as a process), real Redis servers of the tests' own, and the stand-in
Japan Post made to trickle (one byte a second, so no per-read timeout fires), hang or reset:

- lookups abandoned by their callers while Japan Post trickles leave CreateLabel (warehouse) and
  cached tracking answered well within their deadlines;
- a cached-but-stale number is answered within a 5 s deadline while Japan Post hangs or trickles;
- the server process exits within its grace period (plus a margin) after SIGTERM with lookups stuck;
- while Redis is down, known numbers are answered from the process, without waiting on Japan Post.

The waits here are bounded by the callers' own deadlines; the latencies are printed (pytest -s),
not asserted (speed targets live in bench/, e.g. bench/tracking_hostile.py).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest

from domain import s10
from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import labels_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.conftest import REPO, test_settings
from tests.labels_support import proto_request
from tests.tracking_helpers import OwnRedis, free_port, wait_until

pb = tracking_pb2


@pytest.fixture
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost(trickle_seconds=1.0) as s:
        yield s


def _get(stub: tracking_pb2_grpc.TrackingServiceStub, number: str, timeout: float) -> tracking_pb2.Tracking:
    return stub.GetTracking(pb.GetTrackingRequest(tracking_number=number), timeout=timeout)  # type: ignore[no-any-return]


def _code(call: object) -> grpc.StatusCode:
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as error:
        return error.code()  # type: ignore[attr-defined,no-any-return]
    return grpc.StatusCode.OK


def _past_refresh(answer: tracking_pb2.Tracking) -> None:
    refresh_at = answer.next_refresh_time.ToDatetime()
    assert wait_until(lambda: datetime.utcnow() > refresh_at + timedelta(milliseconds=50), seconds=10)


# --- a trickling Japan Post and the warehouse ------------------------------------------------------


@pytest.mark.slow
def test_trickling_japan_post_leaves_labels_and_cached_tracking_answered(tmp_path: Path, standin: StandInJapanPost) -> None:
    # Japan Post sends one byte a second. Two new numbers a second are looked up, each caller
    # leaving after 3 s; meanwhile the warehouse creates labels (10 s deadline) and reads a cached
    # number (2 s deadline). Labels get 4 threads, as a small server would have.
    known = s10.make("EN", 76_000_000)
    standin.set_scenario(known, "delivered")
    service = bootstrap.start(test_settings(tracking_base_url=standin.url, database_path=tmp_path / "labels.sqlite3", grpc_threads=4))
    label_seconds: list[float] = []
    label_codes: list[grpc.StatusCode] = []
    cached_codes: list[grpc.StatusCode] = []
    tracking_codes: list[grpc.StatusCode] = []
    try:
        with grpc.insecure_channel(service.address) as channel:
            tracking = tracking_pb2_grpc.TrackingServiceStub(channel)
            labels = labels_pb2_grpc.LabelServiceStub(channel)
            assert _get(tracking, known, 10).source == pb.TRACKING_SOURCE_CARRIER
            labels.CreateLabel(proto_request("hostile-warm-up"), timeout=10)  # the store and engine are warm

            storm_over = threading.Event()

            def abandoned_lookups() -> None:
                with ThreadPoolExecutor(16) as callers:
                    pending = []
                    for i in range(24):  # two a second for 12 s
                        number = s10.make("LX", 76_100_000 + i)
                        standin.set_scenario(number, "trickle")
                        pending.append(callers.submit(_code, lambda n=number: _get(tracking, n, 3.0)))
                        if storm_over.wait(0.5):
                            break
                    tracking_codes.extend(f.result() for f in pending)

            storm = threading.Thread(target=abandoned_lookups)
            storm.start()
            try:
                assert wait_until(lambda: standin.hits() >= 4, 5)  # Japan Post is trickling to us
                for i in range(10):
                    started = time.perf_counter()
                    label_codes.append(_code(lambda i=i: labels.CreateLabel(proto_request(f"hostile-{i}"), timeout=10)))
                    label_seconds.append(time.perf_counter() - started)
                    cached_codes.append(_code(lambda: _get(tracking, known, 2.0)))
                    time.sleep(0.5)
            finally:
                storm_over.set()
                storm.join(timeout=60)
    finally:
        service.stop(0)
    label_seconds.sort()
    print(
        f"\nCreateLabel while Japan Post trickles: n={len(label_seconds)} p50={statistics.median(label_seconds) * 1000:.1f} ms "
        f"max={label_seconds[-1] * 1000:.1f} ms; abandoned lookups: {sorted({c.name for c in tracking_codes})}"
    )
    assert label_codes == [grpc.StatusCode.OK] * 10
    assert cached_codes == [grpc.StatusCode.OK] * 10
    # The lookups themselves ended at their callers' deadline (or were refused at once), never OK.
    assert tracking_codes and set(tracking_codes) <= {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE}


# --- a cached-but-stale number while Japan Post hangs -----------------------------------------------


@pytest.mark.parametrize("scenario", ["hang", "trickle", "reset"])
def test_stale_number_is_answered_within_a_5_s_deadline_whatever_japan_post_does(tmp_path: Path, standin: StandInJapanPost, scenario: str) -> None:
    number = s10.make("EN", 77_000_000 + ["hang", "trickle", "reset"].index(scenario))
    standin.set_scenario(number, "in_transit")
    service = bootstrap.start(
        test_settings(
            tracking_base_url=standin.url,
            database_path=tmp_path / "labels.sqlite3",
            tracking_ttl_transit_seconds=1,
            tracking_ttl_jitter=0.0,
        )
    )
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = tracking_pb2_grpc.TrackingServiceStub(channel)
            fresh = _get(stub, number, 10)
            assert fresh.source == pb.TRACKING_SOURCE_CARRIER
            _past_refresh(fresh)
            standin.set_scenario(number, scenario)
            stale = _get(stub, number, 5.0)
            assert stale.source == pb.TRACKING_SOURCE_STALE_CACHE
            assert stale.fetch_time == fresh.fetch_time and list(stale.events) == list(fresh.events)
            assert standin.hits(number) >= 2  # it did ask Japan Post again
    finally:
        service.stop(0)


def test_unknown_number_ends_at_the_callers_deadline_and_its_lookup_fills_the_cache(tmp_path: Path) -> None:
    # Japan Post answers after 3 s; the caller leaves after 1 s; the lookup goes on for the cache,
    # and the next caller gets its answer from there without another request to Japan Post.
    number = s10.make("EN", 77_100_000)
    with StandInJapanPost(slow_seconds=3.0) as slow:
        slow.set_scenario(number, "slow")
        service = bootstrap.start(test_settings(tracking_base_url=slow.url, database_path=tmp_path / "labels.sqlite3"))
        try:
            with grpc.insecure_channel(service.address) as channel:
                stub = tracking_pb2_grpc.TrackingServiceStub(channel)
                assert _code(lambda: _get(stub, number, 1.0)) == grpc.StatusCode.DEADLINE_EXCEEDED

                def cached() -> bool:
                    try:
                        return _get(stub, number, 1.0).source == pb.TRACKING_SOURCE_CACHE  # type: ignore[no-any-return]
                    except grpc.RpcError:
                        return False

                assert wait_until(cached, 10)
                assert slow.hits(number) == 1
        finally:
            service.stop(0)


# --- SIGTERM with lookups stuck ----------------------------------------------------------------------


GRACE_SECONDS = 2
EXIT_MARGIN_SECONDS = 5


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """server.py as a process; its log (stderr) is read on a thread of its own all along, so a full
    pipe never blocks it."""
    proc = subprocess.Popen([sys.executable, str(REPO / "server.py")], env={**os.environ, **env}, stderr=subprocess.PIPE, text=True, cwd=REPO)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    ends = time.monotonic() + 60
    while time.monotonic() < ends:
        try:
            line = lines.get(timeout=max(0.0, ends - time.monotonic()))
        except queue.Empty:
            break
        if line.startswith("{") and json.loads(line)["message"] == "serving":
            return proc, json.loads(line)["address"]
    proc.kill()
    raise AssertionError("server did not report serving")


@pytest.mark.parametrize("scenario", ["hang", "trickle"])
def test_sigterm_exits_within_the_grace_period_while_lookups_are_stuck(tmp_path: Path, standin: StandInJapanPost, scenario: str) -> None:
    standin.set_override(scenario)
    proc, address = _serve(
        {
            "SHIPPING_LISTEN_ADDR": f"127.0.0.1:{free_port()}",
            "SHIPPING_WORKERS": "1",
            "SHIPPING_GRACE_SECONDS": str(GRACE_SECONDS),
            "SHIPPING_TRACKING_BASE_URL": standin.url,
            "SHIPPING_DATABASE_PATH": str(tmp_path / "labels.sqlite3"),
        }
    )
    try:
        with grpc.insecure_channel(address) as channel:
            stub = tracking_pb2_grpc.TrackingServiceStub(channel)
            # Callers without a deadline: they would wait as long as the lookups take.
            calls = [stub.GetTracking.future(pb.GetTrackingRequest(tracking_number=s10.make("CP", 78_000_000 + i))) for i in range(6)]
            assert wait_until(lambda: standin.hits() >= 3, 10)  # lookups are stuck on Japan Post
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=GRACE_SECONDS + EXIT_MARGIN_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the server did not exit within {GRACE_SECONDS} s of grace + {EXIT_MARGIN_SECONDS} s after SIGTERM")
            assert code == 0
            for call in calls:
                assert call.exception(timeout=10) is not None  # each ended (no answer came from Japan Post)
    finally:
        proc.kill()
        proc.wait(timeout=10)


# --- a Redis outage ------------------------------------------------------------------------------------


def test_redis_outage_answers_known_numbers_from_the_process_without_waiting(tmp_path: Path, standin: StandInJapanPost) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    fresh_numbers = [s10.make("EN", 79_000_000 + i) for i in range(5)]
    stale_number = s10.make("LX", 79_000_010)
    for n in fresh_numbers:
        standin.set_scenario(n, "delivered")
    standin.set_scenario(stale_number, "in_transit")
    service = bootstrap.start(
        test_settings(
            tracking_base_url=standin.url,
            database_path=tmp_path / "labels.sqlite3",
            redis_url=own.url,
            redis_probe_seconds=0.05,
            redis_timeout_seconds=0.2,
            tracking_ttl_transit_seconds=1,
            tracking_ttl_jitter=0.0,
        )
    )
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = tracking_pb2_grpc.TrackingServiceStub(channel)
            for n in [*fresh_numbers, stale_number]:
                assert _get(stub, n, 10).source == pb.TRACKING_SOURCE_CARRIER
            stale_before = _get(stub, stale_number, 10)
            hits = standin.hits()

            own.stop()
            standin.set_override("hang")  # Japan Post cannot help either: any answer comes from the process
            for n in fresh_numbers:
                answer = _get(stub, n, 2.0)
                assert (answer.status, answer.source) == (pb.TRACKING_STATUS_DELIVERED, pb.TRACKING_SOURCE_CACHE)
            assert standin.hits() == hits  # no lookup for a number the process knows

            _past_refresh(stale_before)
            stale = _get(stub, stale_number, 3.0)
            assert (stale.status, stale.source) == (pb.TRACKING_STATUS_IN_TRANSIT, pb.TRACKING_SOURCE_STALE_CACHE)
    finally:
        service.stop(0)
        own.stop()


# --- the settings ---------------------------------------------------------------------------------------


def test_the_new_tracking_settings_are_read_and_checked() -> None:
    from kokokara.shipping.server.settings import Settings, SettingsError

    defaults = Settings.from_env({})
    assert (
        defaults.tracking_fetch_timeout_seconds,
        defaults.tracking_threads,
        defaults.tracking_carrier_workers,
        defaults.tracking_carrier_queue,
        defaults.tracking_stale_wait_seconds,
    ) == (10.0, 16, 4, 16, 1.0)
    read = Settings.from_env(
        {
            "SHIPPING_TRACKING_FETCH_TIMEOUT_SECONDS": "4.5",
            "SHIPPING_TRACKING_THREADS": "8",
            "SHIPPING_TRACKING_CARRIER_WORKERS": "2",
            "SHIPPING_TRACKING_CARRIER_QUEUE": "0",
            "SHIPPING_TRACKING_STALE_WAIT_SECONDS": "0",
        }
    )
    assert (read.tracking_fetch_timeout_seconds, read.tracking_threads, read.tracking_carrier_workers) == (4.5, 8, 2)
    assert (read.tracking_carrier_queue, read.tracking_stale_wait_seconds) == (0, 0.0)
    for name, bad in [("SHIPPING_TRACKING_FETCH_TIMEOUT_SECONDS", "0"), ("SHIPPING_TRACKING_CARRIER_WORKERS", "0"), ("SHIPPING_TRACKING_THREADS", "x")]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: bad})
