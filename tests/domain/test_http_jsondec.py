"""The fast JSON request reader (kokokara/shipping/server/http/jsondec.py) reads what json_format reads and
takes nothing json_format refuses: on generated requests of every v1 RPC, as proto3 JSON with JSON or
proto field names, and on arbitrary JSON objects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format, symbol_database
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kokokara.shipping.server.http.jsondec import decoder_for
from kokokara.shipping.v1 import labels_pb2, rates_pb2, tracking_pb2
from tests.domain.test_http_jsonenc import messages

REQUESTS = [
    symbol_database.Default().GetSymbol(m.input_type.full_name).DESCRIPTOR
    for pb2 in (rates_pb2, labels_pb2, tracking_pb2)
    for service in pb2.DESCRIPTOR.services_by_name.values()
    for m in service.methods
]
FIELD_NAMES = sorted({f.json_name for d in REQUESTS for f in d.fields} | {f.name for d in REQUESTS for f in d.fields})


def json_format_reading(cls: type[Message], data: bytes) -> bytes | None:
    message = cls()
    try:
        json_format.Parse(data, message)
    except (json_format.ParseError, ValueError, RecursionError):
        return None
    return message.SerializeToString(deterministic=True)


def fast_reading(cls: type[Message], data: bytes) -> bytes | None:
    wire = decoder_for(cls)(data)
    return None if wire is None else cls.FromString(wire).SerializeToString(deterministic=True)


@pytest.mark.parametrize("descriptor", REQUESTS, ids=lambda d: d.name)
def test_the_fast_reader_reads_what_json_format_reads(descriptor: Descriptor) -> None:
    cls = symbol_database.Default().GetSymbol(descriptor.full_name)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(messages(descriptor), st.booleans())
    def check(message: Message, proto_names: bool) -> None:
        data = json_format.MessageToJson(message, preserving_proto_field_name=proto_names).encode()
        fast = fast_reading(cls, data)
        assert fast is None or fast == json_format_reading(cls, data)

    check()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**65), 2**65) | st.floats() | st.text(max_size=6) | st.sampled_from(["SHIPPING_METHOD_EMS", "12", "-3", "GB"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize(
    "descriptor",
    [rates_pb2.GetQuoteRequest.DESCRIPTOR, rates_pb2.CompareRatesRequest.DESCRIPTOR, tracking_pb2.GetTrackingRequest.DESCRIPTOR],
    ids=lambda d: d.name,
)
def test_the_fast_reader_takes_nothing_json_format_refuses(descriptor: Descriptor) -> None:
    cls = symbol_database.Default().GetSymbol(descriptor.full_name)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=5))
    def check(value: Any) -> None:
        data = json.dumps(value).encode()
        fast = fast_reading(cls, data)
        if fast is not None:
            assert fast == json_format_reading(cls, data)

    check()


@pytest.mark.parametrize(
    "data",
    [
        b'{"destinationRegionCode": "GB", "destinationRegionCode": "US"}',
        b'{"postalCode": "1", "postal_code": "2"}',
        '{"destinationRegionCode": "GB"}'.encode("utf-16"),
    ],
)
def test_what_only_json_format_may_decide(data: bytes) -> None:
    assert decoder_for(rates_pb2.GetQuoteRequest)(data) is None


def test_the_fast_reader_takes_the_usual_requests() -> None:
    quote = (
        b'{"destinationRegionCode": "GB", "parcels": [{"weightGrams": 1200, "lengthMm": 300}], "methods": ["SHIPPING_METHOD_EMS"],'
        b' "contentsType": "CONTENTS_TYPE_GIFT", "declaredValue": {"currencyCode": "JPY", "units": "8000"}, "shipDate": {"year": 2026, "month": 12, "day": 5}}'
    )
    wire = decoder_for(rates_pb2.GetQuoteRequest)(quote)
    assert wire is not None
    assert rates_pb2.GetQuoteRequest.FromString(wire) == json_format.Parse(quote, rates_pb2.GetQuoteRequest())
    assert decoder_for(tracking_pb2.GetTrackingRequest)(b'{"trackingNumber": "EN123456785JP"}') is not None
