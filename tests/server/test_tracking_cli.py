"""`kokokara-shipping track` against a real server pointed at the stand-in Japan Post."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kokokara.shipping.cli import main
from kokokara.shipping.server import bootstrap
from standin.japan_post import StandInJapanPost


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from tests.conftest import test_settings

    with StandInJapanPost() as standin:
        running = bootstrap.start(test_settings(tracking_base_url=standin.url, tracking_rate_per_second=1000.0, tracking_retries=0))
        yield running.address
        running.stop(0.5)


def test_table_for_people(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", server, "track", "EN 123 456 785 JP"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("EN123456785JP  DELIVERED (final)")
    assert "Japan Post says 'EMS'" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("date (local)"))
    assert "Japan Post says" in lines[header] and set(lines[header + 1].replace(" ", "")) == {"-"}
    events = lines[header + 2 :]
    assert len(events) == 8
    assert events[0].startswith("03/02/2026 15:40 JST") and "Posting/Collection" in events[0] and "150-8799" in events[0]
    assert "delivered" in events[-1] and "Final delivery" in events[-1] and "SEATTLE" in events[-1]


def test_json_for_scripts(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", server, "track", "--json", "CD126430535JP"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tracking_number"] == "CD126430535JP" and data["status"] == "TRACKING_STATUS_IN_CUSTOMS"
    assert data["events"][-1]["details"] == "Customs inspection"


def test_not_found_says_so(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", server, "track", "EN000000005JP"]) == 0
    assert "NOT FOUND" in capsys.readouterr().out


def test_bad_number_exits_2_with_the_reason(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", server, "track", "UA111111115JP"]) == 2
    err = capsys.readouterr().err
    assert "INVALID_ARGUMENT" in err and "TRACKING_NUMBER_IS_CUSTOMS_LABEL" in err


def test_carrier_failure_exits_1(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", server, "track", "CN134577206JP"]) == 1
    assert "UNAVAILABLE" in capsys.readouterr().err


def test_several_numbers_each_on_its_own(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", server, "track", "RR473124829JP", "EN123456784JP"]) == 1
    captured = capsys.readouterr()
    assert "RR473124829JP  RETURNED (final)" in captured.out
    assert "EN123456784JP" in captured.err and "TRACKING_NUMBER_CHECK_DIGIT" in captured.err


def test_watch_prints_until_final(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", server, "track", "--watch", "--json", "EN123456785JP"]) == 0
    assert json.loads(capsys.readouterr().out)["final"] is True
