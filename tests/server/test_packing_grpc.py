"""PlanShipment over gRPC against a real server on 127.0.0.1:0 (its own SQLite label file): plans,
reasons, INVALID_ARGUMENT naming the field, and labels created from a plan's parcels, one by one,
at the plan's prices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import common_pb2, labels_pb2, labels_pb2_grpc, rates_pb2, rates_pb2_grpc
from tests.conftest import test_settings as settings_for_test
from tests.grpc_support import status_details
from tests.labels_support import SHIP_DATE, proto_request, yen

DATE = {"year": SHIP_DATE.year, "month": SHIP_DATE.month, "day": SHIP_DATE.day}
AIRMAIL = common_pb2.SHIPPING_METHOD_AIRMAIL


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    path: Path = tmp_path_factory.mktemp("plans") / "labels.sqlite3"
    running = bootstrap.start(settings_for_test(database_path=path))
    with grpc.insecure_channel(running.address) as ch:
        yield ch
    running.stop(0.5)


@pytest.fixture(scope="module")
def rates(channel: grpc.Channel) -> rates_pb2_grpc.RateServiceStub:
    return rates_pb2_grpc.RateServiceStub(channel)


def cart_item(sku: str, grams: int, quantity: int = 1, size: tuple[int, int, int] = (120, 90, 60), value: int = 3000) -> rates_pb2.CartItem:
    return rates_pb2.CartItem(
        sku=sku,
        description=f"Ceramic item {sku}",
        weight_grams=grams,
        length_mm=size[0],
        width_mm=size[1],
        height_mm=size[2],
        quantity=quantity,
        unit_value=yen(value),
    )


def plan_request(*items: rates_pb2.CartItem, region: str = "DE", **kw: object) -> rates_pb2.PlanShipmentRequest:
    return rates_pb2.PlanShipmentRequest(destination_region_code=region, items=list(items), ship_date=DATE, **kw)  # type: ignore[arg-type]


def test_a_plan_per_method_with_boxes_products_and_money(rates: rates_pb2_grpc.RateServiceStub) -> None:
    response = rates.PlanShipment(plan_request(cart_item("TEA", 1000), cart_item("POT", 2500, size=(200, 150, 100))))
    assert response.destination_region_code == "DE"
    assert {p.method for p in response.plans} | {u.method for u in response.unavailable} == set(range(1, 6))
    totals = [p.total_price.units for p in response.plans]
    assert totals == sorted(totals)
    for plan in response.plans:
        assert plan.optimal
        assert plan.total_price.currency_code == "JPY"
        assert plan.total_price.units == sum(p.price.units for p in plan.parcels)
        assert sorted((i.sku, i.quantity) for p in plan.parcels for i in p.items) == [("POT", 1), ("TEA", 1)]
        for parcel in plan.parcels:
            assert parcel.box_name.startswith(("mailer", "box-"))
            assert parcel.quote.total_price == parcel.price
            assert parcel.quote.product == parcel.product


def test_labels_created_from_a_plans_parcels_cost_what_the_plan_says(channel: grpc.Channel, rates: rates_pb2_grpc.RateServiceStub) -> None:
    items = [cart_item("TEA", 1000), cart_item("POT", 2500, size=(200, 150, 100)), cart_item("CUP", 300, quantity=3, size=(90, 90, 90), value=1500)]
    response = rates.PlanShipment(plan_request(*items, methods=[AIRMAIL]))
    (plan,) = response.plans
    labels = labels_pb2_grpc.LabelServiceStub(channel)
    for n, parcel in enumerate(plan.parcels):
        customs = [
            labels_pb2.CustomsItem(
                description=items[i.item_index].description,
                quantity=i.quantity,
                unit_value=items[i.item_index].unit_value,
                net_weight_grams=i.quantity * items[i.item_index].weight_grams,
                origin_region_code="JP",
                hs_code="691200",
                flags=items[i.item_index].flags,
            )
            for i in parcel.items
        ]
        request = proto_request(f"plan-{n}", method=plan.method, region="DE", items=customs)
        request.parcel.CopyFrom(parcel.parcel)
        label = labels.CreateLabel(request).label
        assert label.price == parcel.price
        assert label.product == parcel.product
        assert label.parcel == parcel.parcel


def test_items_that_fit_no_box_or_cannot_go_give_reasons(rates: rates_pb2_grpc.RateServiceStub) -> None:
    tube = rates.PlanShipment(plan_request(cart_item("TUBE", 800, size=(1200, 80, 80))))
    assert not tube.plans
    assert {u.reason for u in tube.unavailable} == {rates_pb2.UNAVAILABLE_REASON_NO_BOX_FITS}
    spray = cart_item("SPRAY", 200)
    spray.flags.append(common_pb2.CONTENTS_FLAG_AEROSOL)
    refused = rates.PlanShipment(plan_request(spray, methods=[common_pb2.SHIPPING_METHOD_EMS]))
    assert [u.reason for u in refused.unavailable] == [rates_pb2.UNAVAILABLE_REASON_PROHIBITED_CONTENTS]


def test_a_requests_own_boxes_replace_the_catalogue(rates: rates_pb2_grpc.RateServiceStub) -> None:
    box = rates_pb2.Box(
        name="crate",
        inner_length_mm=500,
        inner_width_mm=400,
        inner_height_mm=300,
        outer_length_mm=520,
        outer_width_mm=420,
        outer_height_mm=320,
        tare_weight_grams=900,
    )
    response = rates.PlanShipment(plan_request(cart_item("TEA", 1000), boxes=[box], methods=[common_pb2.SHIPPING_METHOD_EMS]))
    assert [p.box_name for p in response.plans[0].parcels] == ["crate"]
    assert response.plans[0].parcels[0].parcel.weight_grams == 1900


def test_a_large_cart_is_answered_within_its_budget_not_proven(rates: rates_pb2_grpc.RateServiceStub) -> None:
    items = [cart_item(f"S{n}", 100 + 53 * n % 1500, size=(60 + n % 100, 80, 40)) for n in range(60)]
    response = rates.PlanShipment(plan_request(*items, time_budget=duration_pb2.Duration(nanos=30_000_000)), timeout=30)
    assert response.plans
    assert not any(p.optimal for p in response.plans)
    for plan in response.plans:
        assert sum(i.quantity for p in plan.parcels for i in p.items) == 60


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (plan_request(cart_item("A", 100, quantity=0)), "items[0].quantity"),
        (plan_request(cart_item("A", 100, quantity=-3)), "items[0].quantity"),
        (plan_request(cart_item("A", 0)), "items[0].weight_grams"),
        (plan_request(cart_item("A", 100, size=(0, 10, 10))), "items[0].length_mm"),
        (plan_request(), "items"),
        (plan_request(*[cart_item(f"S{n}", 100) for n in range(10_000)]), "items"),
        (plan_request(cart_item("A", 100, quantity=10_000)), "items"),
        (plan_request(cart_item("A", 100), region="XX"), "destination_region_code"),
        (plan_request(cart_item("A", 100), boxes=[rates_pb2.Box(name="flat")]), "boxes[0].inner_length_mm"),
        (plan_request(cart_item("A", 100), time_budget=duration_pb2.Duration(seconds=60)), "time_budget"),
        (plan_request(cart_item("A", 100), methods=[99]), "methods[0]"),
    ],
)
def test_bad_requests_are_invalid_argument_naming_the_field(rates: rates_pb2_grpc.RateServiceStub, request_: rates_pb2.PlanShipmentRequest, field: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        rates.PlanShipment(request_, timeout=30)
    found = status_details(caught.value)
    assert found.code is grpc.StatusCode.INVALID_ARGUMENT
    assert found.reason == "INVALID_PLAN_REQUEST"
    assert field in found.fields


def test_the_python_client_plans_a_cart(channel: grpc.Channel, rates: rates_pb2_grpc.RateServiceStub) -> None:
    from kokokara.shipping.client import ShippingClient

    with ShippingClient(channel=channel) as client:
        response = client.plan(
            "DE",
            [{"sku": "TEA", "weight_grams": 1000, "length_mm": 120, "width_mm": 90, "height_mm": 60, "quantity": 2}],
            methods=["airmail"],
            ship_date=SHIP_DATE,
            time_budget_ms=500,
        )
    (plan,) = response.plans
    assert plan.method == AIRMAIL
    assert sum(i.quantity for p in plan.parcels for i in p.items) == 2
