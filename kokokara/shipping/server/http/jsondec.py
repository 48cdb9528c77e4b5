"""Requests from proto3 JSON, quickly in the common case: the json module reads the text (duplicate
keys refused, as json_format refuses them), a table per message
type (built once from its descriptor) checks each value's type strictly, and the message is built in
one constructor call.

Anything the fast path is not sure of (malformed JSON, an unknown field, a value of a doubtful type,
null, a well-known type, bytes, maps, a number written as a string where a 32-bit integer is
expected, ...) returns None, and bridge.to_wire hands the text to json_format.Parse, which parses it
or raises the error the caller sees. So the fast path never accepts what json_format refuses, nor
reads anything differently: tests/domain/test_http_jsondec.py checks both on generated requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_T = FieldDescriptor
_INT_RANGES = {
    _T.TYPE_INT32: (-(2**31), 2**31 - 1),
    _T.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _T.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _T.TYPE_UINT32: (0, 2**32 - 1),
    _T.TYPE_FIXED32: (0, 2**32 - 1),
    _T.TYPE_INT64: (-(2**63), 2**63 - 1),
    _T.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _T.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _T.TYPE_UINT64: (0, 2**64 - 1),
    _T.TYPE_FIXED64: (0, 2**64 - 1),
}
_INT64 = frozenset({_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64, _T.TYPE_UINT64, _T.TYPE_FIXED64})
_DIGITS = re.compile(r"-?[0-9]{1,20}")


class _Unsure(Exception):
    """The fast path does not take this request; json_format decides."""


Convert = Callable[[Any], Any]
_tables: dict[str, dict[str, tuple[str, Convert, str | None]]] = {}


def _integer(field: FieldDescriptor) -> Convert:
    lo, hi = _INT_RANGES[field.type]
    as_string = field.type in _INT64  # proto3 JSON writes these as strings; both forms are read

    def convert(value: Any) -> int:
        if type(value) is int:
            number = value
        elif as_string and type(value) is str and _DIGITS.fullmatch(value):
            number = int(value)
        else:
            raise _Unsure
        if not lo <= number <= hi:
            raise _Unsure
        return number

    return convert


def _scalar(field: FieldDescriptor) -> Convert:
    kind = field.type
    if kind in _INT_RANGES:
        return _integer(field)
    if kind == _T.TYPE_BOOL:
        return _exact(bool)
    if kind == _T.TYPE_STRING:
        return _exact(str)
    if kind == _T.TYPE_ENUM:
        names = frozenset(v.name for v in field.enum_type.values)
        numbers = frozenset(v.number for v in field.enum_type.values)

        def enum(value: Any) -> Any:
            if (type(value) is str and value in names) or (type(value) is int and value in numbers):
                return value
            raise _Unsure

        return enum
    if kind in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):

        def number(value: Any) -> float:
            if type(value) is float or type(value) is int:
                if kind == _T.TYPE_FLOAT and abs(value) > 3.4028234663852886e38:
                    raise _Unsure
                return float(value)
            raise _Unsure

        return number
    if kind == _T.TYPE_MESSAGE and not field.message_type.full_name.startswith("google.protobuf."):
        return _message(field.message_type)
    raise _Unsure  # bytes, well-known types: json_format's


def _exact(kind: type) -> Convert:
    def convert(value: Any) -> Any:
        if type(value) is not kind:
            raise _Unsure
        return value

    return convert


def _field(field: FieldDescriptor) -> Convert:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        raise _Unsure
    one = _scalar(field)
    if not field.is_repeated:
        return one

    def repeated(values: Any) -> list[Any]:
        if type(values) is not list:
            raise _Unsure
        return [one(v) for v in values]

    return repeated


def _message(descriptor: Descriptor) -> Convert:
    table = _table(descriptor)

    def convert(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise _Unsure
        out: dict[str, Any] = {}
        oneofs: set[str] = set()
        for key, item in value.items():
            entry = table.get(key)
            if entry is None or item is None:
                raise _Unsure
            name, field_convert, oneof = entry
            if name in out:
                raise _Unsure  # the same field under its JSON and its proto name
            if oneof is not None:
                if oneof in oneofs:
                    raise _Unsure
                oneofs.add(oneof)
            out[name] = field_convert(item)
        return out

    return convert


def _table(descriptor: Descriptor) -> dict[str, tuple[str, Convert, str | None]]:
    table = _tables.get(descriptor.full_name)
    if table is None:
        table = _tables[descriptor.full_name] = {}
        for field in descriptor.fields:
            try:
                convert = _field(field)
            except _Unsure:
                convert = _refuse
            oneof = field.containing_oneof.name if field.containing_oneof is not None else None
            table[field.json_name] = table[field.name] = (field.name, convert, oneof)
    return table


def _refuse(value: Any) -> Any:
    raise _Unsure


_decoders: dict[str, Callable[[bytes], bytes | None]] = {}


def decoder_for(message_type: type[Message]) -> Callable[[bytes], bytes | None]:
    """The function that turns JSON text into the request's wire bytes, or None when json_format
    must decide."""
    found = _decoders.get(message_type.DESCRIPTOR.full_name)
    if found is not None:
        return found
    convert = _message(message_type.DESCRIPTOR)

    def decode(data: bytes) -> bytes | None:
        try:
            fields = convert(json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys))
            return message_type(**fields).SerializeToString()  # type: ignore[no-any-return]
        except (_Unsure, ValueError, TypeError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return None

    _decoders[message_type.DESCRIPTOR.full_name] = decode
    return decode


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Unsure
    return out
