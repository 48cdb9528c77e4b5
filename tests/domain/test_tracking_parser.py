"""Domain tests of the Japan Post page parser and status mapping, on the fixture pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracking import model
from tracking.japan_post import PageUnreadable, overall_status, parse_page, parse_time, status_for_text
from tracking.model import Event, Status

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "japan_post"


def page(name: str) -> str:
    return (FIXTURES / f"{name}.html").read_text(encoding="utf-8")


def test_delivered_page_gives_every_event_oldest_first() -> None:
    parsed = parse_page(page("delivered"), "EN123456785JP")
    assert parsed.found and parsed.product_text == "EMS"
    assert [e.carrier_text for e in parsed.events][:2] == ["Posting/Collection", "Dispatch from outward office of exchange"]
    assert len(parsed.events) == 8
    first, last = parsed.events[0], parsed.events[-1]
    assert (first.office, first.location, first.postal_code) == ("SHIBUYA", "TOKYO", "150-8799")
    assert first.time == model.LocalTime(2026, 3, 2, 15, 40, "Asia/Tokyo")
    # Scans abroad are local wall-clock times: no zone is guessed.
    assert last.time == model.LocalTime(2026, 3, 6, 13, 20, None)
    assert (last.status, last.location, last.postal_code) == (Status.DELIVERED, "U.S.A.", "98101")
    assert overall_status(parsed.events) == (Status.DELIVERED, True)


def test_customs_page() -> None:
    parsed = parse_page(page("in_customs"), "CD126430535JP")
    assert parsed.product_text == "Parcel"
    assert parsed.events[-1].details == "Customs inspection"
    assert overall_status(parsed.events) == (Status.IN_CUSTOMS, False)


def test_return_then_delivery_is_returned_and_final() -> None:
    parsed = parse_page(page("returned"), "RR473124829JP")
    assert [e.status for e in parsed.events][3:5] == [Status.ATTEMPT_FAIL, Status.RETURNED]
    # A date alone is kept as a date.
    assert parsed.events[4].time == model.LocalTime(2026, 2, 12, None, None, None)
    assert overall_status(parsed.events) == (Status.RETURNED, True)
    assert overall_status(parsed.events[:5]) == (Status.RETURNED, False)


def test_unknown_wording_is_kept_and_does_not_move_the_state() -> None:
    parsed = parse_page(page("in_transit"), "LX331479647JP")
    assert parsed.events[-1].status is Status.UNKNOWN
    assert parsed.events[-1].carrier_text.startswith("Customs clearance with a wording")
    assert overall_status(parsed.events) == (Status.IN_TRANSIT, False)


def test_only_unknown_wording_is_unknown() -> None:
    e = Event("03/01/2026", None, "Something new", Status.UNKNOWN)
    assert overall_status((e,)) == (Status.UNKNOWN, False)


def test_not_found_page() -> None:
    assert parse_page(page("not_found"), "EN000000005JP").found is False


def test_garbled_page_is_refused_not_guessed() -> None:
    with pytest.raises(PageUnreadable, match="history header"):
        parse_page(page("garbled"), "EN123456785JP")


@pytest.mark.parametrize(
    ("html", "why"),
    [
        ("", "no history table"),
        ("<html><body><h1>Service temporarily unavailable</h1></body></html>", "no history table"),
        ("\x00\xff<table summary='履歴情報'><tr><td>", "header"),
        ("<table summary='履歴情報'></table>", "header"),
    ],
)
def test_pages_without_the_structure_are_refused(html: str, why: str) -> None:
    with pytest.raises(PageUnreadable, match=why):
        parse_page(html, "EN123456785JP")


def test_page_about_another_number_is_refused() -> None:
    with pytest.raises(PageUnreadable, match="another item number"):
        parse_page(page("delivered"), "EN111111115JP")


def test_unpaired_rows_are_refused() -> None:
    html = page("delivered").replace("<tr>\n<td>98101</td>\n</tr>", "", 1)
    with pytest.raises(PageUnreadable, match=r"pairs|cells"):
        parse_page(html, "EN123456785JP")


def test_bad_date_is_refused() -> None:
    html = page("delivered").replace("03/02/2026 15:40", "2026-03-02 15:40")
    with pytest.raises(PageUnreadable, match="MM/DD/YYYY"):
        parse_page(html, "EN123456785JP")


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Posting/Collection", Status.IN_TRANSIT),
        ("  final   DELIVERY ", Status.DELIVERED),
        ("Final delivery - Collected at counter", Status.DELIVERED),
        ("Item presented to import Customs", Status.IN_CUSTOMS),
        ("Item returned from import Customs", Status.IN_TRANSIT),
        ("Item returned from export Customs", Status.EXCEPTION),
        ("Allocated to delivery staff", Status.OUT_FOR_DELIVERY),
        ("Absence. Attempted delivery", Status.ATTEMPT_FAIL),
        ("Retention", Status.AVAILABLE_FOR_PICKUP),
        ("Returned to sender", Status.RETURNED),
        ("Delivered", Status.UNKNOWN),  # not Japan Post's wording: never guessed
    ],
)
def test_status_wording(text: str, status: Status) -> None:
    assert status_for_text(text) is status


def test_parse_time_rejects_nonsense() -> None:
    with pytest.raises(PageUnreadable):
        parse_time("13/40/2026 10:00", in_japan=True)
    assert parse_time("12/31/2025 23:59", in_japan=False) == model.LocalTime(2025, 12, 31, 23, 59, None)
