"""The composition root takes its adapters as parameters (defaults from the settings), and closes
what it opened in reverse order of opening: when the service stops, and when a start fails part way."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from domain.errors import StartupError
from kokokara.shipping.server import bootstrap, security
from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc
from labels.sqlite_store import SqliteLabelStore
from labels.stores import open_store
from standin.japan_post import StandInJapanPost
from tests.conftest import test_settings
from tracking.cache import InProcessCache
from tracking.japan_post_client import ClientOptions, JapanPostClient


class RecordedStore(SqliteLabelStore):
    """The real SQLite label store, noting when the composition root closes it."""

    closed_at: float | None = None

    def close(self) -> None:
        self.closed_at = time.monotonic()
        super().close()


class Opener:
    """Opens the real SQLite label store (migrated as the server's own would be), recorded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened: list[RecordedStore] = []

    def __call__(self) -> RecordedStore:
        open_store("", self.path).close()
        self.opened.append(RecordedStore(self.path))
        return self.opened[-1]


@pytest.fixture
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost() as running:
        yield running


def test_the_tracking_lookup_runs_on_the_cache_and_carrier_it_is_given(tmp_path: Path, standin: StandInJapanPost) -> None:
    cache = InProcessCache(100)
    carrier = JapanPostClient(standin.url, ClientOptions(rate_per_second=100.0, burst=10))
    service = bootstrap.start(test_settings(database_path=tmp_path / "labels.sqlite3"), tracking_cache=cache, carrier=carrier)
    try:
        with grpc.insecure_channel(service.address) as channel:
            answer = tracking_pb2_grpc.TrackingServiceStub(channel).GetTracking(tracking_pb2.GetTrackingRequest(tracking_number="EN123456785JP"), timeout=10)
        assert answer.tracking_number == "EN123456785JP"
        assert cache.get("EN123456785JP") is not None  # the answer went into the cache we handed in
        assert standin.hits() == 1  # through the client we handed in
    finally:
        service.stop(0)
    carrier.close()


def test_the_label_store_comes_from_the_opener_it_is_given_and_closes_when_the_service_stops(tmp_path: Path) -> None:
    opener = Opener(tmp_path / "labels.sqlite3")
    service = bootstrap.start(
        test_settings(database_path=tmp_path / "labels.sqlite3", label_retention_days=30, label_purge_interval_seconds=3600),
        open_label_store=opener,
    )
    assert len(opener.opened) == 1 and opener.opened[0].closed_at is None
    service.stop(0)
    assert opener.opened[0].closed_at is not None


def test_a_start_that_fails_part_way_closes_what_it_had_opened(tmp_path: Path) -> None:
    opener = Opener(tmp_path / "labels.sqlite3")
    with socket.socket() as taken:  # the metrics port is taken: the start fails after the server started
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        before = threading.active_count()
        with pytest.raises(security.CannotServe, match="SHIPPING_METRICS_ADDR"):
            bootstrap.start(
                test_settings(database_path=tmp_path / "labels.sqlite3", metrics_addr=f"127.0.0.1:{taken.getsockname()[1]}"),
                open_label_store=opener,
            )
    assert opener.opened and opener.opened[0].closed_at is not None
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before, [t.name for t in threading.enumerate()]


def test_a_broken_endpoints_file_found_after_the_label_store_opened_closes_it(tmp_path: Path) -> None:
    """The webhook endpoints file is read after the label store has opened: the store is closed
    again before the error reaches server.py (which exits)."""
    opener = Opener(tmp_path / "labels.sqlite3")
    broken = tmp_path / "endpoints.json"
    broken.write_text("{not json")
    with pytest.raises(StartupError, match="SHIPPING_WEBHOOK_ENDPOINTS_FILE"):
        bootstrap.start(test_settings(database_path=tmp_path / "labels.sqlite3", webhook_endpoints_file=broken), open_label_store=opener)
    assert opener.opened and opener.opened[0].closed_at is not None
