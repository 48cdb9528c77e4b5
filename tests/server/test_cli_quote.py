"""`kokokara-shipping quote` against a real server: the table for people and --json for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kokokara.shipping.cli import main
from kokokara.shipping.cli.quote import parse_size, parse_weight
from kokokara.shipping.server import bootstrap


def test_parsers() -> None:
    assert parse_weight("1.2kg") == 1200 and parse_weight("350g") == 350 and parse_weight("500") == 500
    assert parse_size("30x20x10cm") == (300, 200, 100) and parse_size("300x200x100mm") == (300, 200, 100)
    assert parse_size("0.3x0.2x0.1m") == (300, 200, 100) and parse_size("30x20x10") == (300, 200, 100)


def test_quote_table(service: bootstrap.RunningService, capsys: pytest.CaptureFixture[str]) -> None:
    # A gift within US$100: Japan Post takes it to the US (goods it refuses since 2025-08-27).
    command = ["--server", service.address, "quote", "--to", "US", "--weight", "1.2kg", "--size", "30x20x10cm", "--contents", "gift", "--value", "8000"]
    assert main(command) == 0
    out = capsys.readouterr().out
    assert out.startswith("Shipping to US:")
    lines = out.splitlines()
    assert lines[1].split() == ["method", "product", "price", "zone", "tracked", "cover", "days", "arrives"]
    ems = next(line for line in lines if line.startswith("ems "))
    assert "¥5,990" in ems and " 3-18 " in ems
    assert "EXAMPLE RATES" in out


def test_goods_to_the_us_are_refused_and_the_rule_named(service: bootstrap.RunningService, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", service.address, "quote", "--to", "US", "--weight", "1.2kg"]) == 0
    out = capsys.readouterr().out
    assert "SERVICE_SUSPENDED" in out and "rule us-2026-04-14-goods" in out
    with pytest.raises(SystemExit) as raised:
        main(["--server", service.address, "quote", "--to", "US", "--weight", "1kg", "--contents", "parcels"])
    assert raised.value.code == 2  # argparse names the choices


def test_quote_reasons_and_json(service: bootstrap.RunningService, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", service.address, "quote", "--to", "BR", "--weight", "3kg", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["destination_region_code"] == "BR"
    reasons = {u["method"]: u["reason"] for u in data["unavailable"]}
    assert reasons["SHIPPING_METHOD_SEA"] == "UNAVAILABLE_REASON_NO_PUBLISHED_RATE"
    assert main(["--server", service.address, "quote", "--to", "BR", "--weight", "3kg"]) == 0
    out = capsys.readouterr().out
    assert "Not available:" in out and "NO_PUBLISHED_RATE" in out


def test_quote_error_names_the_field(service: bootstrap.RunningService, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", service.address, "quote", "--to", "ZZ", "--weight", "1kg"]) == 1
    err = capsys.readouterr().err
    assert "INVALID_ARGUMENT" in err and "destination_region_code:" in err


def test_a_reader_that_goes_away_stops_the_command_quietly(service: bootstrap.RunningService) -> None:
    # `kokokara-shipping quote ... | head -3`: the pipe closes before the table is written. The
    # command stops with the shell's code for SIGPIPE and no traceback.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from kokokara.shipping.cli import main; raise SystemExit(main())",
                "--server",
                service.address,
                "quote",
                "--to",
                "US",
                "--weight",
                "1.2kg",
            ],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141 and "Traceback" not in done.stderr, done.stderr
