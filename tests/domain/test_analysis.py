"""Domain tests of rates.analysis: table listing, completeness, in-force selection, diff, the price
grid and destinations, on the shipped tables and on a copy with a second EMS version."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from domain.errors import NotFound
from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from rates.analysis import (
    Catalog,
    Change,
    IncomparableTables,
    compare_rates,
    describe_destinations,
    destination_regions,
    diff_rows,
    diff_tables,
)
from rates.book import RateBook
from rates.model import ContentsType, Method, Parcel, Product, QuoteRequest, Reason
from rates.quote import QuoteEngine
from rates.tables import load_rate_book
from tests.rate_versions import ADDED, CHANGED, NEW_ID, OLD_ID, REMOVED, make_revised_tables

SHIP = date(2026, 11, 1)


@pytest.fixture(scope="module")
def catalog(rate_book: RateBook) -> Catalog:
    return Catalog(rate_book)


@pytest.fixture(scope="module")
def revised(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    directory = make_revised_tables(tmp_path_factory.mktemp("revised"))
    return Catalog(load_rate_book(directory, DEFAULT_CONSOLIDATION_FILE))


def test_every_manifest_version_is_listed_with_its_period_and_row_count(catalog: Catalog) -> None:
    manifest = pd.read_csv(DEFAULT_TABLES_DIR / "rate_tables.csv", dtype=str, keep_default_na=False)
    listed = {s.table_id: s for s in catalog.list_tables()}
    assert set(listed) == set(manifest["table_id"])
    for _, meta in manifest.iterrows():
        summary = listed[meta["table_id"]]
        rows = pd.read_csv(DEFAULT_TABLES_DIR / meta["file"])
        assert summary.row_count == len(rows)
        assert summary.table.ref.effective_from.isoformat() == meta["effective_from"]
        assert (summary.table.ref.effective_to.isoformat() if summary.table.ref.effective_to else "") == meta["effective_to"]
        assert summary.max_weight_g == rows["max_weight_g"].max()


def test_list_filters_by_product(catalog: Catalog) -> None:
    assert [s.table_id for s in catalog.list_tables(Product.EPACKET_2021)] == ["epacket_2021@2021-04-01"]


def test_partly_known_tables_say_what_is_missing(catalog: Catalog) -> None:
    by_id = {s.table_id: s for s in catalog.list_tables()}
    assert not by_id["ems@2022-06-01"].partial
    assert not by_id["parcel_air@2022-06-01"].partial
    surcharge = by_id["ems_2021_surcharge@2021-06-01"]
    assert surcharge.partial and surcharge.zones == (2,) and surcharge.missing_zones == (1, 3, 4)
    assert "zone 1 has no published rate" in surcharge.completeness_notes
    epacket = by_id["epacket_2021@2021-04-01"]
    assert epacket.partial and epacket.missing_zones == ()
    assert epacket.completeness_notes == ("zone 4 is priced only up to 200 g (other zones up to 300 g)",)
    assert by_id["small_packet_air@2023-10-01"].completeness_notes == ("zone 5 has no published rate",)
    assert by_id["parcel_surface@2022-06-01"].missing_zones == (5,)


def test_in_force_picks_the_version_covering_the_day(catalog: Catalog, revised: Catalog) -> None:
    assert catalog.in_force(Product.EMS, date(2023, 1, 1)).table_id == "ems@2022-06-01"
    assert catalog.in_force(Product.EPACKET_2021, date(2023, 9, 30)).table_id == "epacket_2021@2021-04-01"
    assert revised.in_force(Product.EMS, date(2027, 3, 31)).table_id == OLD_ID
    assert revised.in_force(Product.EMS, date(2027, 4, 1)).table_id == NEW_ID
    with pytest.raises(NotFound) as caught:
        catalog.in_force(Product.EPACKET_2021, date(2023, 10, 1))
    assert caught.value.reason == "RATE_TABLE_NOT_IN_FORCE"
    with pytest.raises(NotFound):
        catalog.in_force(Product.EMS, date(2022, 5, 31))


def test_unknown_table_id_is_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFound) as caught:
        catalog.summary("ems@1999-01-01")
    assert caught.value.reason == "RATE_TABLE_NOT_FOUND"


def test_rows_are_the_frame_and_filter_by_zone(catalog: Catalog, rate_book: RateBook) -> None:
    table = rate_book.tables[Product.EMS][0]
    rows = catalog.rows("ems@2022-06-01")
    frame = pd.DataFrame(
        [(r.zone, r.min_weight_g, r.max_weight_g, r.price_jpy, r.source_id) for r in rows],
        columns=["zone", "min_weight_g", "max_weight_g", "price_jpy", "source_id"],
    )
    expected = table.frame.drop(columns="product").sort_values(["zone", "min_weight_g"], ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    only = catalog.rows("ems@2022-06-01", [2, 4])
    assert {r.zone for r in only} == {2, 4} and len(only) == 84


def test_diff_of_every_table_with_itself_is_empty(catalog: Catalog) -> None:
    for summary in catalog.list_tables():
        diff = diff_tables(catalog, summary.table_id, summary.table_id)
        assert diff.rows == ()
        assert diff.counts[Change.UNCHANGED] == summary.row_count
        assert diff.counts[Change.ADDED] == diff.counts[Change.REMOVED] == diff.counts[Change.CHANGED] == 0


def test_diff_between_two_versions_finds_the_edits(revised: Catalog) -> None:
    diff = diff_tables(revised, OLD_ID, NEW_ID)
    got = {(r.change, r.zone, r.min_weight_g, r.max_weight_g): (r.base_price_jpy, r.target_price_jpy) for r in diff.rows}
    expected = {(Change.CHANGED, *k): v for k, v in CHANGED.items()}
    expected |= {(Change.REMOVED, *k): (p, None) for k, p in REMOVED.items()}
    expected |= {(Change.ADDED, *k): (None, p) for k, p in ADDED.items()}
    assert got == expected
    assert diff.counts == {Change.ADDED: 2, Change.REMOVED: 1, Change.CHANGED: 2, Change.UNCHANGED: 207}
    first = diff.rows[0]
    assert (first.zone, first.change_jpy) == (1, 50)
    assert first.change_percent == pytest.approx(50 * 100 / 1450)
    removed = next(r for r in diff.rows if r.change is Change.REMOVED)
    assert (removed.change_jpy, removed.change_percent) == (0, 0.0)
    # rows sorted by zone then weight
    assert [r.zone for r in diff.rows] == sorted(r.zone for r in diff.rows)
    everything = diff_tables(revised, OLD_ID, NEW_ID, include_unchanged=True)
    assert len(everything.rows) == 212


def test_diff_rows_of_incomparable_tables_is_refused(catalog: Catalog) -> None:
    with pytest.raises(IncomparableTables):
        diff_tables(catalog, "ems@2022-06-01", "parcel_air@2022-06-01")
    assert diff_rows([], [])[0] == ()


def test_compare_rates_gives_the_checkout_price_of_every_method(engine: QuoteEngine) -> None:
    weights = [50, 500, 1999, 2500, 31000]
    grid = compare_rates(engine, "US", weights, ship_date=SHIP, contents_type=ContentsType.DOCUMENTS)  # goods to the US are refused
    assert len(grid) == len(weights) * len(Method)
    assert [g.weight_g for g in grid[:5]] == [50] * 5
    assert [g.method for g in grid[:5]] == list(Method)
    for item in grid:
        quote = engine.quote(QuoteRequest("US", (Parcel(item.weight_g),), SHIP, SHIP, (item.method,), contents_type=ContentsType.DOCUMENTS))
        if item.available:
            assert quote.options[0].postage_jpy == item.price_jpy
            assert quote.options[0].table.table_id == item.table_id
        else:
            assert quote.unavailable[0].reason is item.reason and item.message
    ems_30k = next(g for g in grid if g.weight_g == 31000 and g.method is Method.EMS)
    assert ems_30k.reason is Reason.OVER_WEIGHT_LIMIT
    ems_500 = next(g for g in grid if g.weight_g == 500 and g.method is Method.EMS)
    assert (ems_500.price_jpy, ems_500.zone, ems_500.bracket_max_g) == (3900, 4, 500)


def test_compare_rates_keeps_the_methods_asked_for(engine: QuoteEngine) -> None:
    grid = compare_rates(engine, "BR", [1000], ship_date=SHIP, methods=[Method.SEA, Method.EMS, Method.SEA])
    assert [g.method for g in grid] == [Method.SEA, Method.EMS]
    assert grid[0].reason is Reason.NO_PUBLISHED_RATE
    assert grid[1].price_jpy == 5100


def test_destinations_have_zones_and_methods(rate_book: RateBook, engine: QuoteEngine) -> None:
    regions = destination_regions(rate_book)
    assert "US" in regions and "RU" in regions and list(regions) == sorted(regions)
    us, ru, fo = describe_destinations(engine, ["US", "RU", "FO"], ship_date=SHIP)
    assert us.zones == {"ems": 4, "parcel": 4, "letter_post": 4}
    assert [m.available for m in us.methods] == [False, False, False, False, True]  # goods: only the contract
    assert {m.method: m.reason for m in ru.methods}[Method.EMS] is Reason.SERVICE_SUSPENDED
    assert {s.service: s.status for s in ru.services}["ems"] == "not_acceptable"
    assert fo.country_name  # not in the zone lists: named from ISO 3166


def test_load_revised_tables_twice_is_stable(tmp_path: Path) -> None:
    directory = make_revised_tables(tmp_path)
    book = load_rate_book(directory, DEFAULT_CONSOLIDATION_FILE)
    assert [t.ref.table_id for t in book.tables[Product.EMS]] == [OLD_ID, NEW_ID]
