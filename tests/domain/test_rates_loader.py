"""A broken table stops start-up with a message naming the file, the line and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from rates.tables import TableError, load_consolidation, load_rate_book


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    target = tmp_path / "tables"
    shutil.copytree(DEFAULT_TABLES_DIR, target)
    return target


def _edit(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line - 1], (line, lines[line - 1])
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


def _load(directory: Path) -> None:
    load_rate_book(directory, DEFAULT_CONSOLIDATION_FILE)


def _fails(directory: Path, file: str, line: int | None, words: str) -> TableError:
    with pytest.raises(TableError) as caught:
        _load(directory)
    error = caught.value
    assert Path(error.path).name == file
    assert error.line == line
    assert words in error.problem
    assert file in str(error) and (line is None or f"line {line}" in str(error))
    return error


def test_shipped_tables_are_valid() -> None:
    _load(DEFAULT_TABLES_DIR)


def test_gap_between_brackets(tables: Path) -> None:
    # ems_rates.csv line 3 is zone 1, 501-600 g; make it start at 502.
    _edit(tables / "ems_rates.csv", 3, "ems,1,501,600", "ems,1,502,600")
    _fails(tables, "ems_rates.csv", 3, "gap in brackets: nothing covers 501-501 g")


def test_overlapping_brackets(tables: Path) -> None:
    _edit(tables / "ems_rates.csv", 3, "ems,1,501,600", "ems,1,450,600")
    _fails(tables, "ems_rates.csv", 3, "overlaps the previous bracket")


def test_price_falling_as_weight_rises(tables: Path) -> None:
    _edit(tables / "ems_rates.csv", 3, ",1600,", ",1400,")
    _fails(tables, "ems_rates.csv", 3, "below the previous bracket's 1450 JPY")


def test_unknown_zone(tables: Path) -> None:
    _edit(tables / "parcel_air_rates.csv", 2, "parcel_air,1,", "parcel_air,7,")
    _fails(tables, "parcel_air_rates.csv", 2, "zone 7 is not a zone of scheme 2023-10")


def test_price_that_is_not_a_number(tables: Path) -> None:
    _edit(tables / "air_packet_rates.csv", 4, ",920,", ",UNKNOWN,")
    _fails(tables, "air_packet_rates.csv", 4, "price_jpy must be a whole number, got 'UNKNOWN'")


def test_unknown_country_code(tables: Path) -> None:
    _edit(tables / "zones.csv", 2, "KR,KR", "QQ,KR")
    _fails(tables, "zones.csv", 2, "unknown ISO 3166-1 alpha-2 region code 'QQ'")


def test_country_in_two_zones(tables: Path) -> None:
    with (tables / "zones.csv").open("a", encoding="utf-8") as f:
        f.write("US,US,United States,ems,3,2024-03-01,S09\n")
    lines = (tables / "zones.csv").read_text(encoding="utf-8").count("\n")
    _fails(tables, "zones.csv", lines, "US is in zone 4 and zone 3 for ems")


def test_unknown_acceptance_status(tables: Path) -> None:
    _edit(tables / "acceptance.csv", 2, "acceptable", "maybe")
    _fails(tables, "acceptance.csv", 2, "unknown status 'maybe'")


def test_missing_column(tables: Path) -> None:
    path = tables / "limits.csv"
    text = path.read_text(encoding="utf-8").replace("max_weight_g,", "max_weight,", 1)
    path.write_text(text, encoding="utf-8")
    _fails(tables, "limits.csv", 1, "missing column(s) max_weight_g")


def test_missing_file(tables: Path) -> None:
    (tables / "delivery_days.csv").unlink()
    _fails(tables, "delivery_days.csv", None, "file not found")


def test_table_row_with_unknown_source(tables: Path) -> None:
    _edit(tables / "ems_rates.csv", 2, ",S02", ",NOPE")
    _fails(tables, "ems_rates.csv", 2, "source_id 'NOPE' is not in sources.csv")


def test_effective_date_that_is_not_a_date(tables: Path) -> None:
    _edit(tables / "rate_tables.csv", 2, "2022-06-01,,true", "June 2022,,true")
    _fails(tables, "rate_tables.csv", 2, "effective_from must be a date YYYY-MM-DD")


def test_consolidation_contract_checked_too(tmp_path: Path) -> None:
    contract = tmp_path / "contract.csv"
    lines = DEFAULT_CONSOLIDATION_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].replace(",6000,", ",5000,", 1)  # a second divisor for US
    contract.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(TableError) as caught:
        load_consolidation(contract)
    assert "US: volumetric_divisor differs between rows of one destination" in str(caught.value)


def test_server_refuses_to_start_on_a_broken_table(tables: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    _edit(tables / "ems_rates.csv", 3, ",1600,", ",1400,")
    result = subprocess.run(
        [sys.executable, str(REPO / "server.py"), "--listen", "127.0.0.1:0"],
        env={"SHIPPING_TABLES_DIR": str(tables), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 3
    assert "ems_rates.csv, line 3: zone 1: price 1400 JPY" in result.stderr
