"""RateService against a real gRPC server on 127.0.0.1:0: answers, error statuses with details,
health, reflection and the per-request log line."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import common_pb2, rates_pb2, rates_pb2_grpc
from tests.conftest import test_settings
from tests.grpc_support import status_details

ALL = {
    common_pb2.SHIPPING_METHOD_EMS,
    common_pb2.SHIPPING_METHOD_AIRMAIL,
    common_pb2.SHIPPING_METHOD_EPACKET,
    common_pb2.SHIPPING_METHOD_SEA,
    common_pb2.SHIPPING_METHOD_CONSOLIDATION,
}


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> rates_pb2_grpc.RateServiceStub:
    return rates_pb2_grpc.RateServiceStub(channel)


def request(region: str = "US", *parcels: tuple[int, int, int, int], **kw) -> rates_pb2.GetQuoteRequest:
    msg = rates_pb2.GetQuoteRequest(destination_region_code=region, **kw)
    for p in parcels or ((1200, 300, 200, 100),):
        msg.parcels.add(weight_grams=p[0], length_mm=p[1], width_mm=p[2], height_mm=p[3])
    return msg


def details(error: grpc.RpcError) -> tuple[str, dict[str, str]]:
    found = status_details(error)
    return found.reason, found.fields


def test_quote(stub: rates_pb2_grpc.RateServiceStub) -> None:
    # Documents: Japan Post refuses goods to the US (tests/server/test_acceptance_rules.py).
    response = stub.GetQuote(request("us", ship_date={"year": 2026, "month": 11, "day": 26}, contents_type=common_pb2.CONTENTS_TYPE_DOCUMENTS), timeout=10)
    assert response.destination_region_code == "US"
    methods = [o.method for o in response.options] + [u.method for u in response.unavailable]
    assert sorted(methods) == sorted(ALL)
    totals = [o.total_price.units for o in response.options]
    assert totals == sorted(totals) and all(o.total_price.currency_code == "JPY" for o in response.options)
    ems = next(o for o in response.options if o.method == common_pb2.SHIPPING_METHOD_EMS)
    assert (ems.product, ems.product_name, ems.total_price.units, ems.zone, ems.tracked) == (common_pb2.PRODUCT_EMS, "EMS", 5990, 4, True)
    assert ems.breakdown.postage.units + ems.breakdown.insurance.units == ems.total_price.units
    assert ems.compensation_limit.units == 20000 and ems.billable_weight_grams == 1200
    assert (ems.delivery.min_days, ems.delivery.max_days) == (3, 18)
    assert ems.rate_table.table_id == "ems@2022-06-01" and ems.rate_table.effective_date.year == 2022
    assert ems.rate_table.effective_date_confirmed and ems.rate_table.source
    assert ems.parcels[0].bracket_max_weight_grams == 1250
    airmail = next(o for o in response.options if o.method == common_pb2.SHIPPING_METHOD_AIRMAIL)
    assert airmail.product == common_pb2.PRODUCT_SMALL_PACKET_AIR and not airmail.tracked


def test_unavailable_methods_carry_reasons(stub: rates_pb2_grpc.RateServiceStub) -> None:
    response = stub.GetQuote(request("BR", (3000, 0, 0, 0)), timeout=10)
    reasons = {u.method: (u.reason, u.message) for u in response.unavailable}
    assert reasons[common_pb2.SHIPPING_METHOD_SEA][0] == rates_pb2.UNAVAILABLE_REASON_NO_PUBLISHED_RATE
    assert reasons[common_pb2.SHIPPING_METHOD_EPACKET][0] == rates_pb2.UNAVAILABLE_REASON_OVER_WEIGHT_LIMIT
    assert "2 kg" in reasons[common_pb2.SHIPPING_METHOD_EPACKET][1]


def test_prohibited_contents_over_grpc(stub: rates_pb2_grpc.RateServiceStub) -> None:
    msg = request("US", contents_type=common_pb2.CONTENTS_TYPE_GIFT)
    item = msg.contents.add(description="Hair spray", quantity=1, flags=[common_pb2.CONTENTS_FLAG_AEROSOL])
    item.value.currency_code = "JPY"
    item.value.units = 1200
    response = stub.GetQuote(msg, timeout=10)
    assert not response.options
    assert {u.reason for u in response.unavailable} == {rates_pb2.UNAVAILABLE_REASON_PROHIBITED_CONTENTS}


@pytest.mark.parametrize(
    ("msg", "fields", "reason"),
    [
        (request(""), {"destination_region_code"}, "INVALID_QUOTE_REQUEST"),
        (request("ZZ"), {"destination_region_code"}, "INVALID_QUOTE_REQUEST"),
        (request("USA"), {"destination_region_code"}, "INVALID_QUOTE_REQUEST"),
        (rates_pb2.GetQuoteRequest(destination_region_code="US"), {"parcels"}, "INVALID_QUOTE_REQUEST"),
        (request("US", (0, 0, 0, 0)), {"parcels[0].weight_grams"}, "INVALID_QUOTE_REQUEST"),
        (request("US", (-5, 0, 0, 0)), {"parcels[0].weight_grams"}, "INVALID_QUOTE_REQUEST"),
        (request("US", (10**12, 0, 0, 0)), {"parcels[0].weight_grams"}, "INVALID_QUOTE_REQUEST"),
        (request("US", (500, 100, 0, 50)), {"parcels[0].width_mm"}, "INVALID_QUOTE_REQUEST"),
        (request("US", (500, -1, -1, -1)), {"parcels[0].length_mm", "parcels[0].width_mm", "parcels[0].height_mm"}, "INVALID_QUOTE_REQUEST"),
        (request("US", (500, 10**9, 10, 10)), {"parcels[0].length_mm"}, "INVALID_QUOTE_REQUEST"),
        (request("US", *[(500, 0, 0, 0)] * 51), {"parcels"}, "INVALID_QUOTE_REQUEST"),
        (request("US", methods=[99]), {"methods[0]"}, "INVALID_QUOTE_REQUEST"),
        (request("US", methods=[1] * 21), {"methods"}, "INVALID_QUOTE_REQUEST"),
        (request("US", declared_value={"currency_code": "USD", "units": 10}), {"declared_value.currency_code"}, "INVALID_QUOTE_REQUEST"),
        (request("US", declared_value={"currency_code": "JPY", "units": -10}), {"declared_value.units"}, "INVALID_QUOTE_REQUEST"),
        (request("US", ship_date={"year": 2026, "month": 2, "day": 30}), {"ship_date"}, "INVALID_QUOTE_REQUEST"),
        (request("", (0, 0, 0, 0), methods=[42]), {"destination_region_code", "parcels[0].weight_grams", "methods[0]"}, "INVALID_QUOTE_REQUEST"),
    ],
)
def test_bad_input_is_invalid_argument_naming_each_field(stub: rates_pb2_grpc.RateServiceStub, msg, fields, reason) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetQuote(msg, timeout=10)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    got_reason, got_fields = details(caught.value)
    assert got_reason == reason
    assert set(got_fields) == fields
    # The server keeps serving.
    assert stub.GetQuote(request("US"), timeout=10).options


def test_thousands_of_bad_fields_still_get_invalid_argument(stub: rates_pb2_grpc.RateServiceStub) -> None:
    msg = request("US", *[(-1, -1, -1, -1)] * 50)
    for _ in range(200):
        msg.contents.add(description="x" * 300, quantity=-1, flags=[99, 98], value={"currency_code": "USD", "units": -1})
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetQuote(msg, timeout=10)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    reason, fields = details(caught.value)
    assert reason == "INVALID_QUOTE_REQUEST"
    assert "parcels[0].weight_grams" in fields and len(fields) <= 21
    assert any("more bad fields not listed" in d for d in fields.values())
    # Binary values travel base64-encoded: four bytes for every three.
    metadata = sum(len(k) + (len(v) * 4 // 3 if k.endswith("-bin") else len(v)) for k, v in caught.value.trailing_metadata())
    assert metadata < 8 * 1024 - 1024, "error details must stay under the clients' 8 KiB soft limit"


def test_unknown_contents_flag(stub: rates_pb2_grpc.RateServiceStub) -> None:
    msg = request("US")
    msg.contents.add(description="Thing", quantity=1, flags=[77])
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetQuote(msg, timeout=10)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert set(details(caught.value)[1]) == {"contents[0].flags[0]"}


def test_destination_not_served_is_an_answer_not_an_error(stub: rates_pb2_grpc.RateServiceStub) -> None:
    response = stub.GetQuote(request("AQ"), timeout=10)
    assert not response.options
    assert {u.reason for u in response.unavailable} == {rates_pb2.UNAVAILABLE_REASON_DESTINATION_NOT_SERVED}


def test_batch_answers_each_request_on_its_own(stub: rates_pb2_grpc.RateServiceStub) -> None:
    batch = rates_pb2.BatchGetQuotesRequest(requests=[request("US"), request("ZZ"), request("GB", (800, 0, 0, 0))])
    response = stub.BatchGetQuotes(batch, timeout=10)
    assert [r.WhichOneof("result") for r in response.results] == ["response", "error", "response"]
    assert response.results[0].response.destination_region_code == "US"
    assert response.results[1].error.code == code_pb2.INVALID_ARGUMENT
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in response.results[1].error.details if d.Is(bad.DESCRIPTOR))
    assert bad.field_violations[0].field == "destination_region_code"
    assert response.results[2].response.destination_region_code == "GB"


def test_batch_results_are_the_quotes_getquote_gives(stub: rates_pb2_grpc.RateServiceStub) -> None:
    carts = [
        request("US", (1200, 300, 200, 100)),
        request("DE", (400, 0, 0, 0), (2500, 500, 300, 200)),
        request("BR", (31_000, 0, 0, 0)),
        request("RU", (900, 0, 0, 0)),
        request("AU", (1500, 0, 0, 0), methods=[common_pb2.SHIPPING_METHOD_EMS]),
        request("ZZ"),
        request("CN", (20, 100, 90, 5)),
    ]
    response = stub.BatchGetQuotes(rates_pb2.BatchGetQuotesRequest(requests=carts), timeout=10)
    for cart, result in zip(carts, response.results, strict=True):
        if result.WhichOneof("result") == "error":
            with pytest.raises(grpc.RpcError):
                stub.GetQuote(cart, timeout=10)
        else:
            assert result.response == stub.GetQuote(cart, timeout=10)
    assert [r.WhichOneof("result") for r in response.results].count("error") == 1


def test_batch_limits(stub: rates_pb2_grpc.RateServiceStub) -> None:
    full = stub.BatchGetQuotes(rates_pb2.BatchGetQuotesRequest(requests=[request("US")] * 1000), timeout=60)
    assert len(full.results) == 1000
    for batch, field in ((rates_pb2.BatchGetQuotesRequest(), "requests"), (rates_pb2.BatchGetQuotesRequest(requests=[request("US")] * 1001), "requests")):
        with pytest.raises(grpc.RpcError) as caught:
            stub.BatchGetQuotes(batch, timeout=30)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert set(details(caught.value)[1]) == {field}


def test_health_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "kokokara.shipping.v1.RateService"):
        assert health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    answer = next(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5))
    names = {s.name for s in answer.list_services_response.service}
    assert {"kokokara.shipping.v1.RateService", "grpc.health.v1.Health"} <= names


def test_not_serving_until_tables_are_loaded() -> None:
    service = bootstrap.start(test_settings(), load_tables=False)
    try:
        with grpc.insecure_channel(service.address) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.RpcError) as caught:
                rates_pb2_grpc.RateServiceStub(ch).GetQuote(request("US"), timeout=5)
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
            assert details(caught.value)[0] == "TABLES_NOT_LOADED"
            bootstrap.load_into(service)
            assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
            assert rates_pb2_grpc.RateServiceStub(ch).GetQuote(request("US"), timeout=5).options
    finally:
        service.stop(0)


def test_one_log_line_per_request(stub: rates_pb2_grpc.RateServiceStub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kokokara.shipping.access")
    stub.GetQuote(request("US"), timeout=10)
    with pytest.raises(grpc.RpcError):
        stub.GetQuote(request("ZZ"), timeout=10)
    lines = [r for r in caplog.records if r.name == "kokokara.shipping.access"]
    assert [(r.rpc, r.code) for r in lines[-2:]] == [
        ("/kokokara.shipping.v1.RateService/GetQuote", "OK"),
        ("/kokokara.shipping.v1.RateService/GetQuote", "INVALID_ARGUMENT"),
    ]
    assert lines[-1].reason == "INVALID_QUOTE_REQUEST"
    assert all(r.duration_ms >= 0 for r in lines[-2:])
