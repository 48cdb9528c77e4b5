"""Reading the service's CSV data files: each check names the file, the CSV line and the problem,
so a broken file stops start-up (or a reload) with a message an operator can act on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pycountry

from domain.errors import StartupError
from rates.model import Product

# ISO 3166-1 alpha-2, plus XK (Kosovo, user-assigned but used by CLDR and Japan Post's lists as XZ).
ISO_REGIONS: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}


class TableError(StartupError, ValueError):
    """A table the service cannot use. str() names the file, the line and the problem."""

    exit_code = 3
    what = "invalid rate table"

    def __init__(self, path: Path | str, line: int | None, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


def read_csv(path: Path, required: list[str]) -> pd.DataFrame:
    if not path.exists():
        raise TableError(path, None, "file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise TableError(path, None, f"cannot read as UTF-8 CSV: {error}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise TableError(path, 1, f"missing column(s) {', '.join(missing)}")
    for column in required:
        frame[column] = frame[column].str.strip()
    return frame


def line_of(index: int) -> int:
    """CSV line number of a data row (line 1 is the header)."""
    return int(index) + 2


def ints(frame: pd.DataFrame, path: Path, column: str, *, optional: bool = False, minimum: int = 0) -> pd.Series:
    values = pd.to_numeric(frame[column].where(frame[column] != "", None), errors="coerce")
    for index, raw in frame[column].items():
        value = values[index]
        if raw == "" and optional:
            continue
        if pd.isna(value) or float(value) != int(value):
            raise TableError(path, line_of(index), f"{column} must be a whole number, got {raw!r}")
        if value < minimum:
            raise TableError(path, line_of(index), f"{column} must be at least {minimum}, got {raw}")
    return values


def date_at(path: Path, line: int, column: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise TableError(path, line, f"{column} must be a date YYYY-MM-DD, got {raw!r}") from None


def bool_at(path: Path, line: int, column: str, raw: str) -> bool:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise TableError(path, line, f"{column} must be true or false, got {raw!r}")


def region_at(path: Path, line: int, raw: str, *, allow_any: bool = False) -> str:
    if allow_any and raw == "*":
        return raw
    if raw not in ISO_REGIONS:
        raise TableError(path, line, f"unknown ISO 3166-1 alpha-2 region code {raw!r}")
    return raw


def product_at(path: Path, line: int, raw: str) -> Product:
    try:
        return Product(raw)
    except ValueError:
        raise TableError(path, line, f"unknown product {raw!r}") from None


def source_text(path: Path, line: int, raw: str, sources: dict[str, str]) -> str:
    """The sources a row names (ids joined by ';', each in sources.csv), as one text."""
    ids = [s.strip() for s in raw.split(";") if s.strip()]
    unknown = [s for s in ids if s not in sources]
    if not ids or unknown:
        raise TableError(path, line, f"source_id must name sources in sources.csv, got {raw!r}")
    return "; ".join(sources[s] for s in ids)
