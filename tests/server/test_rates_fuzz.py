"""Random, partly valid requests against a live server: every answer is OK or INVALID_ARGUMENT,
never INTERNAL or a crash, and the server answers normally afterwards."""

from __future__ import annotations

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc

regions = st.one_of(st.sampled_from(["US", "gb", "BR", "RU", "AQ", "XK", "", "ZZ", "U", "USA"]), st.text(max_size=6))
ints = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-5, 40_000))
money = st.fixed_dictionaries({"currency_code": st.sampled_from(["JPY", "USD", ""]), "units": ints, "nanos": st.sampled_from([0, 0, 5])})
parcel = st.fixed_dictionaries({"weight_grams": ints, "length_mm": ints, "width_mm": ints, "height_mm": ints})
item = st.fixed_dictionaries(
    {
        "description": st.text(max_size=20),
        "quantity": st.integers(-(2**31), 2**31 - 1),
        "value": money,
        "flags": st.lists(st.integers(0, 20), max_size=3),
    }
)
date = st.fixed_dictionaries({"year": st.integers(0, 9999), "month": st.integers(0, 13), "day": st.integers(0, 32)})
requests = st.fixed_dictionaries(
    {
        "destination_region_code": regions,
        "parcels": st.lists(parcel, max_size=4),
        "methods": st.lists(st.integers(0, 8), max_size=6),
        "contents": st.lists(item, max_size=3),
        "insure": st.booleans(),
    },
    optional={"declared_value": money, "ship_date": date, "order_date": date, "postal_code": st.text(max_size=40)},
)


def _message(fields: dict) -> rates_pb2.GetQuoteRequest:
    return rates_pb2.GetQuoteRequest(**fields)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(requests)
def test_random_requests_never_fail_internally(service: bootstrap.RunningService, fields: dict) -> None:
    with grpc.insecure_channel(service.address) as channel:
        stub = rates_pb2_grpc.RateServiceStub(channel)
        try:
            response = stub.GetQuote(_message(fields), timeout=10)
        except grpc.RpcError as error:
            assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
        else:
            answered = len(response.options) + len(response.unavailable)
            assert answered == (len({m for m in fields["methods"]}) if fields["methods"] else 5)
        batch = stub.BatchGetQuotes(rates_pb2.BatchGetQuotesRequest(requests=[_message(fields)]), timeout=10)
        assert len(batch.results) == 1


def test_server_still_answers(service: bootstrap.RunningService) -> None:
    with grpc.insecure_channel(service.address) as channel:
        msg = rates_pb2.GetQuoteRequest(destination_region_code="US")
        msg.parcels.add(weight_grams=1000)
        assert rates_pb2_grpc.RateServiceStub(channel).GetQuote(msg, timeout=10).options
