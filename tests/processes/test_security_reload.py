"""Rate-table reload against real servers: a changed price file is served after the
files change (poll) or on SIGHUP (server.py process); a broken file is refused in full, the old
prices keep serving, and the failure is logged and shown in the metrics."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.reload import content_version
from kokokara.shipping.server.settings import DEFAULT_TABLES_DIR
from kokokara.shipping.v1 import common_pb2, rates_pb2, rates_pb2_grpc
from tests.conftest import REPO, test_settings
from tests.server.test_security_metrics import scrape, value
from tests.tracking_helpers import free_port, wait_until


def _ems_price(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        msg = rates_pb2.GetQuoteRequest(destination_region_code="GB")
        msg.parcels.add(weight_grams=500)
        answer = rates_pb2_grpc.RateServiceStub(channel).GetQuote(msg, timeout=10)
    return next(o.total_price.units for o in answer.options if o.method == common_pb2.SHIPPING_METHOD_EMS)


def _raise_ems_prices(tables: Path, by: int) -> None:
    path = tables / "ems_rates.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    for row in rows:
        row["price_jpy"] = str(int(row["price_jpy"]) + by)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _replace(path, out.getvalue())


def _replace(path: Path, text: str) -> None:
    """Writes a whole new file at once, as an operator's deploy would (and bumps its mtime)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    copy = tmp_path / "tables"
    shutil.copytree(DEFAULT_TABLES_DIR, copy)
    return copy


def test_changed_files_are_served_and_broken_ones_refused(tables: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    settings = test_settings(tables_dir=tables, tables_poll_seconds=0.1, metrics_addr=f"127.0.0.1:{port}", database_path=tmp_path / "l.sqlite3")
    service = bootstrap.start(settings)
    try:
        before = _ems_price(service.address)
        first_version = content_version(tables, settings.consolidation_file)
        _raise_ems_prices(tables, 1000)
        assert wait_until(lambda: _ems_price(service.address) == before + 1000, 20)
        m = scrape(port)
        assert value(m, "shipping_rate_tables_reloads_total") == 1
        new_version = content_version(tables, settings.consolidation_file)
        assert new_version != first_version
        assert value(m, "shipping_rate_tables_info", version=new_version, data_as_of=service.book.data_as_of if service.book else "") == 1
        assert not any(labels for (name, labels), v in m.items() if name == "shipping_rate_tables_info" and dict(labels)["version"] == first_version)

        # A broken file: one price is not a number. The whole set is refused.
        with caplog.at_level(logging.ERROR, logger="kokokara.shipping.tables"):
            broken = (tables / "ems_rates.csv").read_text().replace(f",{before + 1000},", ",lots,", 1)
            _replace(tables / "ems_rates.csv", broken)
            assert wait_until(lambda: value(scrape(port), "shipping_rate_tables_reload_failures_total") == 1, 20)
        assert _ems_price(service.address) == before + 1000
        m = scrape(port)
        assert value(m, "shipping_rate_tables_last_reload_ok") == 0
        assert value(m, "shipping_rate_tables_info", version=new_version, data_as_of=service.book.data_as_of if service.book else "") == 1
        failures = [r for r in caplog.records if r.getMessage().startswith("rate table reload failed")]
        assert failures and "ems_rates.csv" in getattr(failures[0], "problem", "")

        # Fixed again: served, and the metric says the last reload worked.
        fixed = (tables / "ems_rates.csv").read_text().replace(",lots,", f",{before + 1000},", 1)
        _replace(tables / "ems_rates.csv", fixed)
        assert wait_until(lambda: value(scrape(port), "shipping_rate_tables_last_reload_ok") == 1, 20)
        _raise_ems_prices(tables, 500)
        assert wait_until(lambda: _ems_price(service.address) == before + 1500, 20)
    finally:
        service.stop(0)


def test_sighup_reloads_a_running_server_process(tables: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SHIPPING_LISTEN_ADDR": f"127.0.0.1:{port}",
        "SHIPPING_TABLES_DIR": str(tables),
        "SHIPPING_TABLES_POLL_SECONDS": "0",  # only SIGHUP reloads
        "SHIPPING_DATABASE_PATH": str(tmp_path / "l.sqlite3"),
    }
    proc = subprocess.Popen([sys.executable, str(REPO / "server.py")], env=env, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stderr is not None
    try:
        for _ in range(200):
            line = proc.stderr.readline()
            if not line or json.loads(line)["message"] == "serving":
                break
        address = f"127.0.0.1:{port}"
        before = _ems_price(address)
        _raise_ems_prices(tables, 700)
        time.sleep(0.3)  # not a timing assertion: the poller is off, so nothing may change by itself
        assert _ems_price(address) == before
        proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: _ems_price(address) == before + 700, 20)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
