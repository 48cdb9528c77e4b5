"""S10 serial ranges that the operator configures per product (a CSV file, see
data/labels/EXAMPLE_s10_ranges.csv). Loaded and checked once at start-up, then synchronised into
the label store, which allocates from them."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from domain.errors import StartupError
from rates.model import Product

_INDICATOR = re.compile(r"^[A-Z]{2}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")
MAX_SERIAL = 99_999_999


class RangeError(StartupError, ValueError):
    """The ranges file is unusable; the message names the file, line and field."""

    exit_code = 5


@dataclass(frozen=True, slots=True)
class SerialRange:
    name: str
    product: Product
    service_indicator: str
    first_serial: int
    last_serial: int

    def describe(self) -> str:
        return f"{self.name} ({self.service_indicator}{self.first_serial:08d}-{self.service_indicator}{self.last_serial:08d})"


def load_ranges(path: Path) -> tuple[SerialRange, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RangeError(f"{path}: cannot read the S10 ranges file ({error.strerror})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise RangeError(f"{path}: no header and no ranges")
    reader = csv.DictReader([line for _, line in lines])
    need = {"name", "product", "service_indicator", "first_serial", "last_serial"}
    missing = need - set(reader.fieldnames or ())
    if missing:
        raise RangeError(f"{path}: missing columns {sorted(missing)}")
    ranges: list[SerialRange] = []
    for (lineno, _), row in zip(lines[1:], reader, strict=True):
        where = f"{path}:{lineno}"
        name = (row["name"] or "").strip()
        if not _NAME.match(name):
            raise RangeError(f"{where}: name must be 1-63 letters, digits, '.', '_' or '-'")
        try:
            product = Product((row["product"] or "").strip())
        except ValueError:
            raise RangeError(f"{where}: unknown product {row['product']!r}; one of {[p.value for p in Product]}") from None
        indicator = (row["service_indicator"] or "").strip().upper()
        if not _INDICATOR.match(indicator):
            raise RangeError(f"{where}: service_indicator must be two letters")
        try:
            first, last = int(row["first_serial"]), int(row["last_serial"])
        except (TypeError, ValueError):
            raise RangeError(f"{where}: first_serial and last_serial must be integers") from None
        if not 0 <= first <= last <= MAX_SERIAL:
            raise RangeError(f"{where}: need 0 <= first_serial <= last_serial <= {MAX_SERIAL}")
        ranges.append(SerialRange(name, product, indicator, first, last))
    names = [r.name for r in ranges]
    if len(set(names)) != len(names):
        raise RangeError(f"{path}: range names must be unique")
    for a in ranges:
        for b in ranges:
            if a is not b and a.service_indicator == b.service_indicator and a.first_serial <= b.last_serial and b.first_serial <= a.last_serial:
                raise RangeError(f"{path}: ranges {a.name} and {b.name} overlap")
    return tuple(ranges)
