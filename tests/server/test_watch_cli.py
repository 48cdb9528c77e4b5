"""`kokokara-shipping watched` against a real server and the stand-in Japan Post."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kokokara.shipping.cli import main
from kokokara.shipping.server import bootstrap
from standin.japan_post import StandInJapanPost
from tests.server.test_watch_flow import FAST, fast_settings


def test_add_list_events_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StandInJapanPost() as standin:
        standin.set_scenario("CD126430535JP", "in_customs")
        service = bootstrap.start(fast_settings(tmp_path, standin), watch_options=FAST)
        try:
            server = ["--server", service.address]
            assert main([*server, "watched", "add", "cd 126 430 535 jp", "--order", "ORDER-9"]) == 0
            assert "CD126430535JP  watched" in capsys.readouterr().out
            deadline = time.monotonic() + 30
            while True:
                assert main([*server, "watched", "--json", "events", "--number", "CD126430535JP"]) == 0
                events = json.loads(capsys.readouterr().out).get("events", [])
                if len(events) == 6 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert [e["type"] for e in events][-1] == "TRACKING_EVENT_TYPE_STATUS_CHANGED"
            assert main([*server, "watched", "list", "--status", "in_customs"]) == 0
            out = capsys.readouterr().out
            assert "CD126430535JP" in out and "ORDER-9" in out and "in_customs" in out
            assert main([*server, "watched", "events", "--after", str(events[2]["sequence"])]) == 0
            captured = capsys.readouterr()
            assert captured.out.count("CD126430535JP") == 3 and f"--after {events[-1]['sequence']}" in captured.err
            assert main([*server, "watched", "remove", "CD126430535JP"]) == 0
            assert main([*server, "watched", "remove", "CD126430535JP"]) == 1
            assert "NOT_FOUND" in capsys.readouterr().err
        finally:
            service.stop(0.5)
