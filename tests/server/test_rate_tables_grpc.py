"""The analyst RPCs of RateService against a real server on 127.0.0.1:0: answers, paging, version
diffs, and INVALID_ARGUMENT naming the field for every kind of bad input."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.type import date_pb2

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import common_pb2, rates_pb2, rates_pb2_grpc
from rates.book import RateBook
from rates.model import Product
from tests.conftest import test_settings as settings_for_tests
from tests.grpc_support import status_details
from tests.rate_versions import ADDED, CHANGED, NEW_ID, OLD_ID, REMOVED, make_revised_tables

SHIP = date_pb2.Date(year=2026, month=11, day=1)


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> rates_pb2_grpc.RateServiceStub:
    return rates_pb2_grpc.RateServiceStub(channel)


@pytest.fixture(scope="module")
def revised_stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rates_pb2_grpc.RateServiceStub]:
    tables = make_revised_tables(tmp_path_factory.mktemp("revised"))
    running = bootstrap.start(settings_for_tests(tables_dir=tables))
    with grpc.insecure_channel(running.address) as ch:
        yield rates_pb2_grpc.RateServiceStub(ch)
    running.stop(0.5)


def details(error: grpc.RpcError) -> tuple[grpc.StatusCode, str, list[str]]:
    found = status_details(error)
    return found.code, found.reason, list(found.fields)


def test_list_rate_tables_shows_every_version_and_what_is_partial(stub: rates_pb2_grpc.RateServiceStub, rate_book: RateBook) -> None:
    response = stub.ListRateTables(rates_pb2.ListRateTablesRequest(as_of_date=date_pb2.Date(year=2022, month=1, day=1)))
    by_id = {t.table_id: t for t in response.rate_tables}
    assert set(by_id) == {t.ref.table_id for versions in rate_book.tables.values() for t in versions}
    ems = by_id["ems@2022-06-01"]
    assert (ems.row_count, ems.completeness, ems.quotable, ems.in_force) == (210, rates_pb2.TABLE_COMPLETENESS_COMPLETE, True, False)
    assert not ems.HasField("expiry_date") and ems.effective_date == date_pb2.Date(year=2022, month=6, day=1)
    surcharge = by_id["ems_2021_surcharge@2021-06-01"]
    assert surcharge.completeness == rates_pb2.TABLE_COMPLETENESS_PARTIAL and not surcharge.quotable and surcharge.in_force
    assert surcharge.expiry_date == date_pb2.Date(year=2022, month=5, day=31)
    assert list(surcharge.missing_zones) == [1, 3, 4] and "partly known" in surcharge.notes
    assert by_id["epacket_2021@2021-04-01"].completeness_notes == ["zone 4 is priced only up to 200 g (other zones up to 300 g)"]
    only = stub.ListRateTables(rates_pb2.ListRateTablesRequest(product=common_pb2.PRODUCT_PARCEL_AIR))
    assert [t.table_id for t in only.rate_tables] == ["parcel_air@2022-06-01"]


def test_get_rate_table_pages_through_the_table_in_force(stub: rates_pb2_grpc.RateServiceStub, rate_book: RateBook) -> None:
    rows, token, pages = [], "", 0
    while pages < 10:
        page = stub.GetRateTable(rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, date=SHIP, page_size=50, page_token=token))
        pages += 1
        assert page.rate_table.table_id == "ems@2022-06-01" and page.total_size == 210
        rows += [(r.zone, r.min_weight_grams, r.max_weight_grams, r.price.units) for r in page.rows]
        token = page.next_page_token
        if not token:
            break
    assert pages == 5
    frame = rate_book.tables[Product.EMS][0].frame
    assert rows == list(frame[["zone", "min_weight_g", "max_weight_g", "price_jpy"]].itertuples(index=False, name=None))


def test_get_rate_table_by_id_with_a_zone_filter(stub: rates_pb2_grpc.RateServiceStub) -> None:
    page = stub.GetRateTable(rates_pb2.GetRateTableRequest(table_id="epacket_2021@2021-04-01", zones=[4, 1]))
    assert [(r.zone, r.max_weight_grams, r.price.units) for r in page.rows] == [(1, 100, 690), (1, 200, 780), (1, 300, 870), (4, 100, 1150), (4, 200, 1280)]
    assert page.rate_table.completeness == rates_pb2.TABLE_COMPLETENESS_PARTIAL and not page.next_page_token
    assert all(r.price.currency_code == "JPY" and r.source_id == "OFF21" for r in page.rows)


def test_historical_table_in_force_on_a_past_date(stub: rates_pb2_grpc.RateServiceStub) -> None:
    page = stub.GetRateTable(rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS_2021_SURCHARGE, date=date_pb2.Date(year=2021, month=12, day=1)))
    assert page.rate_table.table_id == "ems_2021_surcharge@2021-06-01" and page.rate_table.in_force and len(page.rows) == 12


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (rates_pb2.GetRateTableRequest(table_id="ems@1999-01-01"), "RATE_TABLE_NOT_FOUND"),
        (rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EPACKET_2021, date=SHIP), "RATE_TABLE_NOT_IN_FORCE"),
    ],
)
def test_missing_tables_are_not_found(stub: rates_pb2_grpc.RateServiceStub, request_: rates_pb2.GetRateTableRequest, reason: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetRateTable(request_)
    assert details(caught.value)[:2] == (grpc.StatusCode.NOT_FOUND, reason)


def test_list_destinations_pages_and_describes_methods(stub: rates_pb2_grpc.RateServiceStub, rate_book: RateBook) -> None:
    seen, token = [], ""
    for _ in range(20):
        page = stub.ListDestinations(rates_pb2.ListDestinationsRequest(ship_date=SHIP, page_size=100, page_token=token))
        seen += list(page.destinations)
        token = page.next_page_token
        if not token:
            break
    assert not token and len(seen) == page.total_size and len({d.region_code for d in seen}) == len(seen)
    assert page.data_as_of == rate_book.data_as_of
    us = next(d for d in seen if d.region_code == "US")
    assert (us.ems_zone, us.parcel_zone, us.letter_post_zone) == (4, 4, 4)
    # Goods (a light parcel of merchandise): Japan Post refuses them to the US; the contract takes them.
    assert [m.method for m in us.methods] == [1, 2, 3, 4, 5]
    assert [m.available for m in us.methods] == [False, False, False, False, True]
    assert all(m.reason == rates_pb2.UNAVAILABLE_REASON_SERVICE_SUSPENDED for m in us.methods if not m.available)
    ru = stub.ListDestinations(rates_pb2.ListDestinationsRequest(region_codes=["ru"], ship_date=SHIP)).destinations[0]
    ems = next(m for m in ru.methods if m.method == common_pb2.SHIPPING_METHOD_EMS)
    assert (ems.available, ems.reason) == (False, rates_pb2.UNAVAILABLE_REASON_SERVICE_SUSPENDED)
    assert {s.service: s.status for s in ru.services}["ems"] == "not_acceptable"


def test_compare_rates_matches_what_checkout_quotes(stub: rates_pb2_grpc.RateServiceStub) -> None:
    weights = [100, 1500, 2500, 20000, 31000]
    response = stub.CompareRates(rates_pb2.CompareRatesRequest(destination_region_code="us", weights_grams=weights, ship_date=SHIP))
    assert response.destination_region_code == "US" and len(response.rates) == len(weights) * 5
    for rate in response.rates:
        quote = stub.GetQuote(
            rates_pb2.GetQuoteRequest(
                destination_region_code="US", parcels=[common_pb2.Parcel(weight_grams=rate.weight_grams)], methods=[rate.method], ship_date=SHIP
            )
        )
        if rate.available:
            assert quote.options[0].total_price.units == rate.price.units
            assert quote.options[0].rate_table.table_id == rate.table_id
            assert quote.options[0].parcels[0].bracket_max_weight_grams == rate.bracket_max_weight_grams
        else:
            assert (quote.unavailable[0].reason, quote.unavailable[0].message) == (rate.reason, rate.message)
    assert sum(not r.available for r in response.rates) >= 5  # 2.5 kg+ Air Packet, 31 kg everything


def test_diff_of_a_table_with_itself_is_empty(stub: rates_pb2_grpc.RateServiceStub) -> None:
    diff = stub.DiffRateTables(rates_pb2.DiffRateTablesRequest(base_table_id="parcel_air@2022-06-01", target_table_id="parcel_air@2022-06-01"))
    assert len(diff.rows) == 0 and (diff.added_count, diff.removed_count, diff.changed_count, diff.unchanged_count) == (0, 0, 0, 150)


def test_diff_between_two_versions(revised_stub: rates_pb2_grpc.RateServiceStub) -> None:
    listed = revised_stub.ListRateTables(rates_pb2.ListRateTablesRequest(product=common_pb2.PRODUCT_EMS, as_of_date=date_pb2.Date(year=2027, month=4, day=1)))
    assert [(t.table_id, t.in_force) for t in listed.rate_tables] == [(OLD_ID, False), (NEW_ID, True)]
    assert listed.rate_tables[0].expiry_date == date_pb2.Date(year=2027, month=3, day=31)

    diff = revised_stub.DiffRateTables(rates_pb2.DiffRateTablesRequest(base_table_id=OLD_ID, target_table_id=NEW_ID))
    assert (diff.added_count, diff.removed_count, diff.changed_count, diff.unchanged_count) == (2, 1, 2, 207)
    changed = {(r.zone, r.min_weight_grams, r.max_weight_grams): r for r in diff.rows if r.change == rates_pb2.ROW_CHANGE_CHANGED}
    assert set(changed) == set(CHANGED)
    for key, (old, new) in CHANGED.items():
        row = changed[key]
        assert (row.base_price.units, row.target_price.units, row.change_jpy) == (old, new, new - old)
        assert row.change_percent == pytest.approx((new - old) * 100 / old)
    added = {(r.zone, r.min_weight_grams, r.max_weight_grams): r.target_price.units for r in diff.rows if r.change == rates_pb2.ROW_CHANGE_ADDED}
    assert added == ADDED
    removed = [r for r in diff.rows if r.change == rates_pb2.ROW_CHANGE_REMOVED]
    assert [((r.zone, r.min_weight_grams, r.max_weight_grams), r.base_price.units, r.HasField("target_price")) for r in removed] == [
        (k, p, False) for k, p in REMOVED.items()
    ]
    # the checkout quotes with the version in force on the ship date
    for day, price in ((date_pb2.Date(year=2027, month=3, day=31), 1450), (date_pb2.Date(year=2027, month=4, day=1), 1500)):
        quote = revised_stub.GetQuote(
            rates_pb2.GetQuoteRequest(
                destination_region_code="KR", parcels=[common_pb2.Parcel(weight_grams=400)], methods=[common_pb2.SHIPPING_METHOD_EMS], ship_date=day
            )
        )
        assert quote.options[0].total_price.units == price


BAD_REQUESTS = [
    ("ListRateTables", rates_pb2.ListRateTablesRequest(product=99), "product"),
    ("ListRateTables", rates_pb2.ListRateTablesRequest(as_of_date=date_pb2.Date(year=2026, month=2, day=30)), "as_of_date"),
    ("GetRateTable", rates_pb2.GetRateTableRequest(), "product"),
    ("GetRateTable", rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_CONSOLIDATION), "product"),
    ("GetRateTable", rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, date=date_pb2.Date(year=2026, month=13, day=1)), "date"),
    ("GetRateTable", rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, zones=[1, 6]), "zones[1]"),
    ("GetRateTable", rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, page_size=-1), "page_size"),
    ("GetRateTable", rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, page_token="not-a-token"), "page_token"),
    ("GetRateTable", rates_pb2.GetRateTableRequest(table_id="x" * 65), "table_id"),
    ("GetRateTable", rates_pb2.GetRateTableRequest(table_id="ems@2022-06-01", product=common_pb2.PRODUCT_PARCEL_AIR), "product"),
    ("ListDestinations", rates_pb2.ListDestinationsRequest(region_codes=["US", "ZZZ"]), "region_codes[1]"),
    ("ListDestinations", rates_pb2.ListDestinationsRequest(ship_date=date_pb2.Date(year=2026)), "ship_date"),
    ("ListDestinations", rates_pb2.ListDestinationsRequest(page_size=-5), "page_size"),
    ("ListDestinations", rates_pb2.ListDestinationsRequest(page_token="eyJxIjoiMCIsIm8iOjF9"), "page_token"),
    ("CompareRates", rates_pb2.CompareRatesRequest(weights_grams=[500]), "destination_region_code"),
    ("CompareRates", rates_pb2.CompareRatesRequest(destination_region_code="US"), "weights_grams"),
    ("CompareRates", rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=[500] * 1001), "weights_grams"),
    ("CompareRates", rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=[500, 0]), "weights_grams[1]"),
    ("CompareRates", rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=[100_001]), "weights_grams[0]"),
    ("CompareRates", rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=[500], methods=[1, 42]), "methods[1]"),
    ("CompareRates", rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=[500], ship_date=date_pb2.Date(month=1, day=1)), "ship_date"),
    ("DiffRateTables", rates_pb2.DiffRateTablesRequest(target_table_id="ems@2022-06-01"), "base_table_id"),
    ("DiffRateTables", rates_pb2.DiffRateTablesRequest(base_table_id="ems@2022-06-01"), "target_table_id"),
]


def test_tables_of_different_products_are_a_failed_precondition_naming_the_target(stub: rates_pb2_grpc.RateServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.DiffRateTables(rates_pb2.DiffRateTablesRequest(base_table_id="ems@2022-06-01", target_table_id="parcel_air@2022-06-01"))
    code, reason, fields = details(caught.value)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert reason == "TABLES_NOT_COMPARABLE"
    assert fields == ["target_table_id"]


@pytest.mark.parametrize(("rpc", "request_", "field"), BAD_REQUESTS, ids=[f"{r}-{f}" for r, _, f in BAD_REQUESTS])
def test_bad_input_is_invalid_argument_naming_the_field(stub: rates_pb2_grpc.RateServiceStub, rpc: str, request_: object, field: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, rpc)(request_)
    code, reason, fields = details(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in fields
    assert reason.isupper() and reason


def test_every_analyst_rpc_has_bad_input_cases() -> None:
    analyst = {"ListRateTables", "GetRateTable", "ListDestinations", "CompareRates", "DiffRateTables"}
    assert analyst <= set(rates_pb2.DESCRIPTOR.services_by_name["RateService"].methods_by_name)
    assert {rpc for rpc, _, _ in BAD_REQUESTS} == analyst


@pytest.mark.parametrize(
    ("rpc", "request_", "field"),
    [
        ("CompareRates", rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=[-1] * 1000), "weights_grams"),
        ("CompareRates", rates_pb2.CompareRatesRequest(destination_region_code="US", weights_grams=[1], methods=[77] * 5000), "methods"),
        ("GetRateTable", rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, zones=[9] * 5000), "zones"),
        ("ListDestinations", rates_pb2.ListDestinationsRequest(region_codes=["QQQQQQQQ"] * 1000), "region_codes"),
    ],
)
def test_many_bad_entries_stay_one_readable_invalid_argument(stub: rates_pb2_grpc.RateServiceStub, rpc: str, request_: object, field: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, rpc)(request_)
    code, _, fields = details(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert len(fields) == 11 and fields[-1] == field and fields[0] == f"{field}[0]"


def test_page_token_from_another_query_is_refused(stub: rates_pb2_grpc.RateServiceStub) -> None:
    first = stub.GetRateTable(rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, date=SHIP, page_size=10))
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetRateTable(rates_pb2.GetRateTableRequest(product=common_pb2.PRODUCT_EMS, date=SHIP, zones=[1], page_token=first.next_page_token))
    assert details(caught.value)[0::2] == (grpc.StatusCode.INVALID_ARGUMENT, ["page_token"])
