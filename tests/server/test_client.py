"""The Python client against a real server on port 0: typed DataFrames equal to the tables, and
errors that name the bad fields."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pandas as pd
import pytest

from domain.s10 import make
from kokokara.shipping.client import ShippingClient, ShippingClientError
from kokokara.shipping.frames import LIST_TABLE_TYPES, price_grid
from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import labels_pb2_grpc, tracking_pb2
from rates.book import RateBook
from rates.model import Product
from standin.japan_post import StandInJapanPost
from tests.conftest import test_settings as settings_for_tests
from tests.labels_support import proto_request
from tests.rate_versions import NEW_ID, OLD_ID, make_revised_tables

SHIP = "2026-11-01"


@pytest.fixture(scope="module")
def client(service: bootstrap.RunningService) -> Iterator[ShippingClient]:
    with ShippingClient(service.address) as c:
        yield c


def test_list_tables_is_typed(client: ShippingClient) -> None:
    frame = client.list_tables(as_of=SHIP)
    assert {c: str(t) for c, t in frame.dtypes.items()} == LIST_TABLE_TYPES
    ems = frame.set_index("table_id").loc["ems@2022-06-01"]
    assert ems["effective_from"] == pd.Timestamp("2022-06-01") and pd.isna(ems["effective_to"])
    assert bool(ems["in_force"]) and not bool(ems["partial"]) and ems["row_count"] == 210
    partial = set(frame.loc[frame["partial"], "table_id"])
    expected = {"epacket_2021@2021-04-01", "ems_2021_surcharge@2021-06-01", "small_packet_air@2023-10-01", "parcel_surface@2022-06-01", "air_packet@2026-01-01"}
    assert expected == partial


def test_get_table_equals_the_loaded_table(client: ShippingClient, rate_book: RateBook) -> None:
    calls: list[tuple[int, int]] = []
    frame = client.get_table("ems", on=SHIP, page_size=64, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(64, 210), (128, 210), (192, 210), (210, 210)]
    assert frame.attrs["rate_table"]["table_id"] == "ems@2022-06-01"
    expected = rate_book.tables[Product.EMS][0].frame
    pd.testing.assert_frame_equal(frame.drop(columns="table_id"), expected.astype({"product": "string", "source_id": "string"}))
    assert str(frame["price_jpy"].dtype) == "int64"


def test_destinations_and_compare(client: ShippingClient) -> None:
    places = client.destinations(["US", "BR"], ship_date=SHIP)
    assert list(places["region_code"]) == ["BR", "US"]
    br = places.set_index("region_code").loc["BR"]
    assert br["ems_zone"] == 5 and bool(br["ems"]) and not bool(br["sea"]) and br["sea_reason"] == "NO_PUBLISHED_RATE"
    grid = client.compare("US", [500, 1000, 2500], ship_date=SHIP, contents="documents")  # goods to the US are refused
    assert len(grid) == 15 and str(grid["price_jpy"].dtype) == "Int64"
    pivot = price_grid(grid)
    assert list(pivot.columns) == ["ems", "airmail", "epacket", "sea", "consolidation"]
    assert pivot.loc[500, "ems"] == 3900 and pd.isna(pivot.loc[2500, "epacket"])
    many = client.compare("KR", range(50, 60_001, 50), methods=["ems"], ship_date=SHIP)  # two calls
    assert len(many) == 1200 and many["weight_g"].is_monotonic_increasing


def test_quote_as_response_and_as_frame(client: ShippingClient) -> None:
    response = client.quote("US", 1200, ship_date=SHIP, order_date=SHIP)
    frame = client.quote("US", 1200, ship_date=SHIP, order_date=SHIP, as_frame=True)
    assert isinstance(frame, pd.DataFrame) and not isinstance(response, pd.DataFrame)
    assert list(frame.loc[frame["available"], "total_jpy"]) == [o.total_price.units for o in response.options]
    offered = client.quote("US", [1200, 300], methods=["epacket", "ems"], ship_date=SHIP, order_date=SHIP, as_frame=True)
    assert isinstance(offered, pd.DataFrame) and set(offered["method"]) == {"ems", "epacket"}


def test_diff_frame(tmp_path_factory: pytest.TempPathFactory) -> None:
    running = bootstrap.start(settings_for_tests(tables_dir=make_revised_tables(tmp_path_factory.mktemp("client-diff"))))
    try:
        with ShippingClient(running.address) as c:
            diff = c.diff(OLD_ID, NEW_ID)
            same = c.diff(OLD_ID, OLD_ID)
    finally:
        running.stop(0.5)
    assert diff.attrs["counts"] == {"added": 2, "removed": 1, "changed": 2, "unchanged": 207}
    assert list(diff["change"]) == ["changed", "changed", "added", "removed", "added"]
    assert str(diff["base_price_jpy"].dtype) == "Int64" and pd.isna(diff.loc[2, "base_price_jpy"])
    assert diff.loc[0, "change_percent"] == pytest.approx(50 * 100 / 1450)
    assert same.empty and list(same.columns) == list(diff.columns)


def test_errors_name_the_fields(client: ShippingClient) -> None:
    with pytest.raises(ShippingClientError) as caught:
        client.compare("ZZ", [500, -1])
    error = caught.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT and error.reason == "INVALID_COMPARE_REQUEST"
    assert [f for f, _ in error.field_violations] == ["destination_region_code", "weights_grams[1]"]
    assert "weights_grams[1]" in str(error)
    with pytest.raises(ValueError, match="unknown method"):
        client.compare("US", [500], methods=["pigeon"])


def test_parcels_tracked_found_and_watched_through_the_client(tmp_path: Path) -> None:
    with StandInJapanPost() as standin:
        number = make("EN", 75_000_001)
        standin.set_scenario(number, "in_transit")
        settings = settings_for_tests(
            database_path=tmp_path / "labels.sqlite3", tracking_base_url=standin.url, tracking_rate_per_second=100.0, tracking_rate_burst=100
        )
        service = bootstrap.start(settings)
        try:
            with grpc.insecure_channel(service.address) as channel, ShippingClient(channel=channel) as shipping:
                issued = labels_pb2_grpc.LabelServiceStub(channel).CreateLabel(proto_request("client-parcels"), timeout=30).label
                found = shipping.find_label(issued.tracking_number.lower())
                assert found is not None and (found.id, found.tracking_number, len(found.documents)) == (issued.id, issued.tracking_number, 0)
                assert shipping.find_label(number) is None  # a good number this service never issued
                assert shipping.track(f"{number[:2].lower()} {number[2:]}").status == tracking_pb2.TRACKING_STATUS_IN_TRANSIT
                watched = shipping.watch(number, "ORDER-7")
                assert (watched.tracking_number, watched.order_reference) == (number, "ORDER-7")
                shipping.unwatch(number)
                with pytest.raises(ShippingClientError) as refused:
                    shipping.track("EN123456780JP")  # the check digit is wrong
                assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
                assert [f for f, _ in refused.value.field_violations] == ["tracking_number"]
        finally:
            service.stop(0.5)
