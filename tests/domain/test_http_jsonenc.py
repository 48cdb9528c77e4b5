"""The compiled JSON encoder (kokokara/shipping/server/http/jsonenc.py) writes what json_format writes, for
every response message of the v1 services, on messages hypothesis generates from the descriptors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import any_pb2, json_format, symbol_database
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kokokara.shipping.server.http.jsonenc import encoder_for
from kokokara.shipping.v1 import labels_pb2, rates_pb2, tracking_pb2

T = FieldDescriptor
INT_RANGES = {
    T.TYPE_INT32: (-(2**31), 2**31 - 1),
    T.TYPE_SINT32: (-(2**31), 2**31 - 1),
    T.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    T.TYPE_UINT32: (0, 2**32 - 1),
    T.TYPE_FIXED32: (0, 2**32 - 1),
    T.TYPE_INT64: (-(2**63), 2**63 - 1),
    T.TYPE_SINT64: (-(2**63), 2**63 - 1),
    T.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    T.TYPE_UINT64: (0, 2**64 - 1),
    T.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type in INT_RANGES:
        lo, hi = INT_RANGES[field.type]
        return st.one_of(st.just(0), st.integers(lo, hi))
    if field.type == T.TYPE_BOOL:
        return st.booleans()
    if field.type == T.TYPE_STRING:
        return st.text(max_size=12)
    if field.type == T.TYPE_BYTES:
        return st.binary(max_size=12)
    if field.type == T.TYPE_DOUBLE:
        return st.floats(allow_nan=True, allow_infinity=True)
    if field.type == T.TYPE_FLOAT:
        return st.floats(width=32, allow_nan=True, allow_infinity=True)
    if field.type == T.TYPE_ENUM:
        numbers = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(numbers), st.integers(100, 110))  # unknown numbers too
    raise AssertionError(field.type)


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    cls = symbol_database.Default().GetSymbol(descriptor.full_name)
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.builds(lambda s, n: cls(seconds=s, nanos=n), st.integers(0, 253402300799), st.integers(0, 999_999_999))
    if descriptor.full_name == "google.protobuf.Duration":
        return st.builds(lambda s: cls(seconds=s), st.integers(-(10**9), 10**9))
    if descriptor.full_name == "google.protobuf.Any":  # a detail json_format can resolve
        return st.builds(lambda reason: _packed(error_details_pb2.ErrorInfo(reason=reason, domain="shipping.kokokara.jp")), st.text(max_size=8))
    if depth > 3:
        return st.just(cls())
    parts = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            continue  # none in this contract
        one = messages(field.message_type, depth + 1) if field.message_type is not None else _scalar(field)
        parts[field.name] = st.lists(one, max_size=2) if field.is_repeated else st.one_of(st.none(), one)

    def build(values: dict[str, Any]) -> Message:
        message = cls()
        for name, value in values.items():
            if value is None:
                continue
            target = getattr(message, name) if descriptor.fields_by_name[name].message_type is not None else None
            if descriptor.fields_by_name[name].is_repeated:
                if target is not None:
                    for item in value:
                        target.add().CopyFrom(item)
                else:
                    getattr(message, name).extend(value)
            elif target is not None:
                target.CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries({}, optional=parts).map(build)


def _packed(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


RESPONSES = [
    symbol_database.Default().GetSymbol(m.output_type.full_name).DESCRIPTOR
    for pb2 in (rates_pb2, labels_pb2, tracking_pb2)
    for service in pb2.DESCRIPTOR.services_by_name.values()
    for m in service.methods
]


@pytest.mark.parametrize("descriptor", RESPONSES, ids=lambda d: d.name)
def test_the_encoder_writes_what_json_format_writes(descriptor: Descriptor) -> None:
    encode = encoder_for(descriptor)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(messages(descriptor))
    def check(message: Message) -> None:
        assert json.loads(encode(message)) == json.loads(json_format.MessageToJson(message))

    check()


def test_a_real_quote_encodes_as_json_format_does(engine: Any) -> None:
    from kokokara.shipping.server.fast import wire
    from rates import model

    quote = engine.quote(_request(model))
    message = rates_pb2.GetQuoteResponse.FromString(wire.encode_quote(quote))
    assert json.loads(encoder_for(message.DESCRIPTOR)(message)) == json_format.MessageToDict(message)


def _request(model: Any) -> Any:
    from datetime import date

    today = date(2026, 12, 5)
    return model.QuoteRequest("GB", (model.Parcel(1200, 300, 200, 100),), today, today, (), (), None, False, "", model.ContentsType.MERCHANDISE)
