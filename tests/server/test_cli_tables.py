"""`kokokara-shipping tables` against a real server on port 0: exports read back equal to the
tables, progress on stderr, the chart is a PNG of the asked size whose axes and legend name the
methods, and failures exit non-zero naming the field."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from kokokara.shipping.cli import main
from kokokara.shipping.cli.charts import price_chart, save_png
from kokokara.shipping.client import ShippingClient
from kokokara.shipping.server import bootstrap
from rates.book import RateBook
from tests.conftest import test_settings as settings_for_tests
from tests.rate_versions import NEW_ID, OLD_ID, make_revised_tables

SHIP = "2026-11-01"
TYPES = {
    "table_id": "string",
    "product": "string",
    "zone": "int64",
    "min_weight_g": "int64",
    "max_weight_g": "int64",
    "price_jpy": "int64",
    "source_id": "string",
}


def run(service: bootstrap.RunningService, *args: str) -> int:
    return main(["--server", service.address, "tables", *args])


def expected_tables(book: RateBook) -> pd.DataFrame:
    frames = [t.frame.assign(table_id=t.ref.table_id) for versions in book.tables.values() for t in versions]
    frame = pd.concat(frames, ignore_index=True)[list(TYPES)].astype(TYPES)
    return frame.sort_values(["table_id", "zone", "min_weight_g"], ignore_index=True)


def read_back(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        frame = pd.read_csv(path, dtype={"source_id": str})
    elif fmt == "parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_json(path, orient="records", dtype={"source_id": str})
    return frame.astype(TYPES).sort_values(["table_id", "zone", "min_weight_g"], ignore_index=True)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_export_of_every_table_reads_back_equal(
    service: bootstrap.RunningService, rate_book: RateBook, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"tables.{fmt}"
    assert run(service, "export", "--output", str(out), "--page-size", "40") == 0
    captured = capsys.readouterr()
    pd.testing.assert_frame_equal(read_back(out, fmt), expected_tables(rate_book))
    progress = [line for line in captured.err.splitlines() if line.startswith("export: table")]
    assert "export: table 1/8 ems@2022-06-01: 40/210 rows" in progress
    assert progress[-1] == "export: table 8/8 ems_2021_surcharge@2021-06-01: 12/12 rows"
    assert f"wrote {len(expected_tables(rate_book))} rows of 8 table(s)" in captured.out


def test_export_of_one_product_in_force_and_one_version(service: bootstrap.RunningService, rate_book: RateBook, tmp_path: Path) -> None:
    out = tmp_path / "two.csv"
    assert run(service, "export", "parcel_air", "epacket_2021@2021-04-01", "--date", SHIP, "-o", str(out)) == 0
    expected = expected_tables(rate_book)
    expected = expected[expected["table_id"].isin(["parcel_air@2022-06-01", "epacket_2021@2021-04-01"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(read_back(out, "csv"), expected)


def test_export_refuses_an_unknown_format(service: bootstrap.RunningService, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(service, "export", "-o", str(tmp_path / "x.xlsx")) == 2
    assert "--format" in capsys.readouterr().err


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_figure_names_the_methods_and_draws_steps(service: bootstrap.RunningService, tmp_path: Path) -> None:
    with ShippingClient(service.address) as client:
        frame = client.compare("US", range(100, 5001, 100), ship_date=SHIP, contents="documents")
    figure = price_chart(frame, width_px=900, height_px=500)
    (ax,) = figure.axes
    assert ax.get_xlabel() == "Weight (kg)" and ax.get_ylabel() == "Price (JPY)"
    assert "US" in ax.get_title() and "zone 4" in ax.get_title() and SHIP in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [label.split(":")[0].split(",")[0] for label in legend] == ["EMS", "Airmail", "ePacket", "Sea", "Consolidation"]
    assert legend[2] == "ePacket: International Air Packet, up to 2 kg"
    lines = ax.get_lines()
    assert len(lines) == 5 and all(line.get_drawstyle() == "steps-pre" for line in lines)
    ems = lines[0].get_xydata()
    assert (ems[0] == [0.1, 3900]).all() and (ems[-1] == [5.0, 15100]).all()
    path = save_png(figure, tmp_path / "chart.png")
    assert png_size(path) == (900, 500)


def test_chart_names_a_method_that_is_never_available(service: bootstrap.RunningService) -> None:
    with ShippingClient(service.address) as client:
        frame = client.compare("RU", [500, 1000], ship_date=SHIP)
    legend = [t.get_text() for t in price_chart(frame).axes[0].get_legend().get_texts()]
    assert legend[0] == "EMS: not available (SERVICE_SUSPENDED)"
    assert legend[4] == "Consolidation: not available (DESTINATION_NOT_SERVED)"


def test_chart_command_writes_a_png_of_the_asked_size(service: bootstrap.RunningService, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "img" / "compare_US.png"
    assert (
        run(service, "chart", "US", "-o", str(out), "--max-weight", "3kg", "--step", "100g", "--width", "800", "--height", "450", "--contents", "documents")
        == 0
    )
    assert png_size(out) == (800, 450)
    assert "30 weights per method" in capsys.readouterr().out


def test_chart_command_bounds_its_work(service: bootstrap.RunningService, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(service, "chart", "US", "-o", str(tmp_path / "x.png"), "--step", "1g") == 2
    assert "at most 5000" in capsys.readouterr().err


def test_compare_list_show_and_destinations_print_tables(service: bootstrap.RunningService, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(service, "compare", "US", "--weights", "500g,5kg", "--ship-date", SHIP, "--contents", "documents") == 0
    out = capsys.readouterr().out
    assert ["500", "g", "3900", "1670", "2040", "2600", "2400"] in [line.split() for line in out.splitlines()]
    assert "epacket (from 5 kg): OVER_WEIGHT_LIMIT" in out
    assert run(service, "list") == 0
    assert "ems_2021_surcharge@2021-06-01  2021-06-01  2022-05-31" in capsys.readouterr().out
    assert run(service, "show", "ems", "--date", SHIP, "--zone", "1") == 0
    out = capsys.readouterr().out
    assert "ems@2022-06-01: EMS, in force 2022-06-01 to no end known" in out and "zone 1" in out and "zone 2" not in out
    assert run(service, "destinations", "RU") == 0
    assert "SERVICE_SUSPENDED" in capsys.readouterr().out


def test_bad_input_exits_1_naming_the_field(service: bootstrap.RunningService, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(service, "compare", "ZZ", "--weights", "500g") == 1
    err = capsys.readouterr().err
    assert "INVALID_ARGUMENT" in err and "destination_region_code" in err
    assert run(service, "show", "ems@1999-01-01") == 1
    assert "NOT_FOUND" in capsys.readouterr().err


@pytest.fixture(scope="module")
def revised_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bootstrap.RunningService]:
    running = bootstrap.start(settings_for_tests(tables_dir=make_revised_tables(tmp_path_factory.mktemp("cli-diff"))))
    yield running
    running.stop(0.5)


def test_diff_command(revised_service: bootstrap.RunningService, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(revised_service, "diff", OLD_ID, NEW_ID) == 0
    out = capsys.readouterr().out
    assert f"{OLD_ID} -> {NEW_ID}: 2 added, 1 removed, 2 changed, 207 unchanged" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["changed", "1", "1", "500", "1450", "1500", "+50", "+3.45%"] in rows
    assert ["removed", "5", "29001", "30000", "77700", "-", "-", "-"] in rows
    assert run(revised_service, "diff", OLD_ID, OLD_ID, "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
