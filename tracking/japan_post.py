"""Japan Post's English tracking page: the request it takes, and a pure parser of its HTML.

The page (`/services/srv/search/direct?reqCodeNo1=<number>&locale=en`) has no API behind it we can
use. Its tables carry Japanese `summary` attributes even in English (shared/reference/tracking.md
section 3.2): `照会結果` (search result; holds the not-found message), `配達状況詳細` (item details:
number and class of goods) and `履歴情報` (history: two header rows, then a pair of rows per event,
oldest first). The parser checks that structure and raises PageUnreadable rather than guessing when
it does not find it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from tracking.model import Event, LocalTime, Status

SEARCH_PATH = "/services/srv/search/direct"

RESULT_SUMMARY = "照会結果"
DETAILS_SUMMARY = "配達状況詳細"
HISTORY_SUMMARY = "履歴情報"
NOT_FOUND_TEXTS = ("your item was not found", "お問い合わせ番号が見つかりません")
HISTORY_HEADER = (
    "state occurrence date",  # a prefix: the cell goes on with a note on local times
    "shipping track record",
    "details",
    "office",
    ("prefecture / country", "prefecture"),
    "zip code（postal code number）",
)


def search_params(number: str) -> dict[str, str]:
    """Query parameters of the English result page for one number."""
    return {"reqCodeNo1": number, "locale": "en"}


class PageUnreadable(ValueError):
    """The page does not have the structure the parser knows; `why` says what was missing."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


@dataclass(frozen=True, slots=True)
class Page:
    """What a result page says about one number."""

    found: bool
    events: tuple[Event, ...] = ()
    product_text: str = ""


# --- status wording ----------------------------------------------------------------------------

# Japan Post's English wording (exact, compared case-insensitively with whitespace collapsed) ->
# normalised status. Table 4.3 of the reference; "Item returned from import Customs" means released
# by customs, so it is in transit, not an exception.
_STATUS_TEXTS: dict[str, Status] = {
    "posting/collection": Status.IN_TRANSIT,
    "arrival at outward office of exchange": Status.IN_TRANSIT,
    "dispatch from outward office of exchange": Status.IN_TRANSIT,
    "departure from outward office of exchange": Status.IN_TRANSIT,
    "en route": Status.IN_TRANSIT,
    "arrival at inward office of exchange": Status.IN_TRANSIT,
    "departure from inward office of exchange": Status.IN_TRANSIT,
    "item held at inward office of exchange": Status.IN_TRANSIT,
    "held at inward office of exchange": Status.IN_TRANSIT,
    "arrival": Status.IN_TRANSIT,
    "dispatched from exchange office": Status.IN_TRANSIT,
    "dispatch to overland transport": Status.IN_TRANSIT,
    "arrival at over land transport": Status.IN_TRANSIT,
    "arrival at sorting center": Status.IN_TRANSIT,
    "item returned from import customs": Status.IN_TRANSIT,
    "processing at delivery post office": Status.IN_TRANSIT,
    "transported in bond": Status.IN_CUSTOMS,
    "arrived in bond": Status.IN_CUSTOMS,
    "item presented to import customs": Status.IN_CUSTOMS,
    "in customs": Status.IN_CUSTOMS,
    "held by import customs": Status.IN_CUSTOMS,
    "item returned from export customs": Status.EXCEPTION,
    "allocated to delivery staff": Status.OUT_FOR_DELIVERY,
    "item out for physical delivery": Status.OUT_FOR_DELIVERY,
    "absence. attempted delivery": Status.ATTEMPT_FAIL,
    "retention": Status.AVAILABLE_FOR_PICKUP,
    "final delivery": Status.DELIVERED,
    "final delivery - collected at counter": Status.DELIVERED,
    "return to sender": Status.RETURNED,
    "returned to sender": Status.RETURNED,
}
# Wording after which nothing more is expected.
_FINAL_TEXTS = {"final delivery", "final delivery - collected at counter", "returned to sender"}
_SPACES = re.compile(r"\s+")


def _key(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def status_for_text(text: str) -> Status:
    """The normalised status of one of Japan Post's status texts; UNKNOWN for wording not known."""
    return _STATUS_TEXTS.get(_key(text), Status.UNKNOWN)


def overall_status(events: tuple[Event, ...]) -> tuple[Status, bool]:
    """The item's status and whether it is final, from its events (oldest first).

    The latest event with known wording decides: unknown wording never moves the state. A delivery
    after a return-to-sender event is the return reaching the sender, so the item is RETURNED, final.
    """
    if not events:
        return Status.NOT_FOUND, False
    status, final, returning = Status.UNKNOWN, False, False
    for event in events:
        if event.status is Status.UNKNOWN:
            continue
        key = _key(event.carrier_text)
        if event.status is Status.RETURNED:
            returning = True
        if returning and event.status is Status.DELIVERED:
            status, final = Status.RETURNED, True
            continue
        status, final = event.status, key in _FINAL_TEXTS
    return status, final


# --- HTML tables ------------------------------------------------------------------------------


@dataclass
class _Cell:
    header: bool
    attrs: dict[str, str]
    text: str = ""


@dataclass
class _Table:
    attrs: dict[str, str]
    rows: list[list[_Cell]]


class _TableCollector(HTMLParser):
    """Collects every table's rows and cells (text with tags dropped, whitespace collapsed).

    Tolerates the lax HTML of real pages: unclosed cells and rows end at the next one, nested
    tables are collected on their own, and <br> is a space.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._stack: list[_Table] = []
        self._cell: _Cell | None = None
        self._parts: list[str] = []

    def _close_cell(self) -> None:
        if self._cell is not None:
            self._cell.text = _SPACES.sub(" ", "".join(self._parts).replace("\xa0", " ")).strip()
            self._cell = None
            self._parts = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._close_cell()
            table = _Table({k: v or "" for k, v in attrs}, [])
            self.tables.append(table)
            self._stack.append(table)
        elif not self._stack:
            return
        elif tag == "tr":
            self._close_cell()
            self._stack[-1].rows.append([])
        elif tag in ("td", "th"):
            self._close_cell()
            table = self._stack[-1]
            if not table.rows:
                table.rows.append([])
            self._cell = _Cell(tag == "th", {k: v or "" for k, v in attrs})
            table.rows[-1].append(self._cell)
        elif tag == "br" and self._cell is not None:
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._stack:
            self._close_cell()
            self._stack.pop()
        elif tag in ("td", "th", "tr"):
            self._close_cell()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._parts.append(data)


def _tables(html: str) -> dict[str, _Table]:
    collector = _TableCollector()
    collector.feed(html)
    collector.close()
    found: dict[str, _Table] = {}
    for table in collector.tables:
        summary = table.attrs.get("summary", "")
        if summary and summary not in found:
            found[summary] = table
    return found


# --- the page ---------------------------------------------------------------------------------

_DATE_TIME = re.compile(r"^(\d{2})/(\d{2})/(\d{4})(?:\s+(\d{1,2}):(\d{2}))?$")
_PREFECTURES = frozenset(
    p.upper()
    for p in [
        "Hokkaido",
        "Aomori",
        "Iwate",
        "Miyagi",
        "Akita",
        "Yamagata",
        "Fukushima",
        "Ibaraki",
        "Tochigi",
        "Gunma",
        "Saitama",
        "Chiba",
        "Tokyo",
        "Kanagawa",
        "Niigata",
        "Toyama",
        "Ishikawa",
        "Fukui",
        "Yamanashi",
        "Nagano",
        "Gifu",
        "Shizuoka",
        "Aichi",
        "Mie",
        "Shiga",
        "Kyoto",
        "Osaka",
        "Hyogo",
        "Nara",
        "Wakayama",
        "Tottori",
        "Shimane",
        "Okayama",
        "Hiroshima",
        "Yamaguchi",
        "Tokushima",
        "Kagawa",
        "Ehime",
        "Kochi",
        "Fukuoka",
        "Saga",
        "Nagasaki",
        "Kumamoto",
        "Oita",
        "Miyazaki",
        "Kagoshima",
        "Okinawa",
        "Japan",
    ]
)


def _in_japan(location: str) -> bool:
    """Whether the location column names Japan or one of its prefectures ("TOKYO", "Osaka-fu")."""
    word = re.split(r"[\s\-,]", location.strip().upper(), maxsplit=1)[0] if location.strip() else ""
    return word in _PREFECTURES or location.strip().endswith(("都", "道", "府", "県"))


def parse_time(text: str, *, in_japan: bool) -> LocalTime:
    """`MM/DD/YYYY HH:mm` or `MM/DD/YYYY`, as printed; Asia/Tokyo only for scans in Japan."""
    m = _DATE_TIME.match(text.strip())
    if not m:
        raise PageUnreadable(f"event date {text[:40]!r} is not MM/DD/YYYY [HH:mm]")
    month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    hour = int(m.group(4)) if m.group(4) is not None else None
    minute = int(m.group(5)) if m.group(5) is not None else None
    if not (1 <= month <= 12 and 1 <= day <= 31) or (hour is not None and (hour > 23 or (minute or 0) > 59)):
        raise PageUnreadable(f"event date {text[:40]!r} is out of range")
    return LocalTime(year, month, day, hour, minute, "Asia/Tokyo" if in_japan else None)


def _compact(text: str) -> str:
    return re.sub(r"[\s\-]", "", text).upper()


def _check_header(rows: list[list[_Cell]]) -> None:
    if len(rows) < 2:
        raise PageUnreadable("history table has fewer than two header rows")
    texts = [_key(c.text) for c in rows[0] + rows[1] if c.header]
    if len(texts) != len(HISTORY_HEADER):
        raise PageUnreadable(f"history header has {len(texts)} cells, expected {len(HISTORY_HEADER)}")
    for got, want in zip(texts, HISTORY_HEADER, strict=True):
        wanted = want if isinstance(want, tuple) else (want,)
        if not any(got == w or (w == HISTORY_HEADER[0] and got.startswith(w)) for w in wanted):
            raise PageUnreadable(f"history header cell {got[:40]!r} is not {wanted[0]!r}")


def _events(table: _Table) -> tuple[Event, ...]:
    _check_header(table.rows)
    body = [row for row in table.rows[2:] if row]
    if len(body) % 2:
        raise PageUnreadable("history rows do not come in pairs (event row + postal code row)")
    events = []
    for i in range(0, len(body), 2):
        event_row, zip_row = body[i], body[i + 1]
        if len(event_row) != 5 or len(zip_row) != 1 or any(c.header for c in event_row + zip_row):
            raise PageUnreadable(f"history pair {i // 2 + 1} has {len(event_row)}+{len(zip_row)} cells, expected 5+1")
        if event_row[0].attrs.get("rowspan") != "2":
            raise PageUnreadable(f"history pair {i // 2 + 1} is not a rowspan=2 event row")
        time_text, carrier_text, details, office, location = (c.text for c in event_row)
        if not carrier_text:
            raise PageUnreadable(f"history pair {i // 2 + 1} has no status text")
        events.append(
            Event(
                time_text=time_text,
                time=parse_time(time_text, in_japan=_in_japan(location)),
                carrier_text=carrier_text,
                status=status_for_text(carrier_text),
                details=details,
                office=office,
                location=location,
                postal_code=zip_row[0].text,
            )
        )
    return tuple(events)


def _product_text(table: _Table | None, number: str) -> str:
    """The class of goods from the details table, after checking the page is about `number`."""
    if table is None:
        return ""
    headers = [(_key(c.text), i) for i, c in enumerate(table.rows[0] if table.rows else []) if c.header]
    index = {text: i for text, i in headers}
    if "item number" not in index or len(table.rows) < 2:
        raise PageUnreadable("details table has no 'Item number' column")
    values = table.rows[1]
    if len(values) <= index["item number"]:
        raise PageUnreadable("details table has no item number value")
    if _compact(values[index["item number"]].text) != number:
        raise PageUnreadable("the page is about another item number")
    i = index.get("class of goods")
    return values[i].text if i is not None and i < len(values) else ""


def parse_page(html: str, number: str) -> Page:
    """Reads a result page for the normalised `number`. Raises PageUnreadable when the page is
    neither a not-found page nor a history of the structure described in the module docstring."""
    tables = _tables(html)
    result = tables.get(RESULT_SUMMARY)
    if result is not None:
        text = _key(" ".join(c.text for row in result.rows for c in row))
        if any(t in text for t in NOT_FOUND_TEXTS):
            return Page(found=False)
    history = tables.get(HISTORY_SUMMARY)
    if history is None:
        raise PageUnreadable("no history table (summary=履歴情報) and no not-found message")
    product_text = _product_text(tables.get(DETAILS_SUMMARY), number)
    events = _events(history)
    if not events:
        raise PageUnreadable("history table has no events")
    return Page(found=True, events=events, product_text=product_text)
