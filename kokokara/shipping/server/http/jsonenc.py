"""Proto3 JSON for responses, from an encoder compiled once per message type from its descriptor.

google.protobuf.json_format.MessageToDict walks every field with generic checks on each call; it
took two thirds of a quote's time over HTTP. Here each message type gets, once, a function written
from its descriptor: one test per field, in the way json_format decides presence (set messages,
optional and oneof members; other scalars when not their default, -0.0 included), and the
field's converter inlined: int64 kinds as strings, enums by name
(an unknown number as the number), bytes as base64, float and double as json_format writes them,
maps with string keys, well-known types (Timestamp, Duration, Any, ...) through json_format itself;
the text is written by orjson (UTF-8, compact).
tests/domain/test_http_jsonenc.py checks it equals json_format on generated messages.
"""

from __future__ import annotations

import base64
import keyword
import math
from collections.abc import Callable
from typing import Any

import orjson
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

Converter = Callable[[Any], Any]
_T = FieldDescriptor
_INT64 = frozenset({_T.TYPE_INT64, _T.TYPE_UINT64, _T.TYPE_SINT64, _T.TYPE_FIXED64, _T.TYPE_SFIXED64})
_dicts: dict[str, Callable[[Message], dict[str, Any]]] = {}
_encoders: dict[str, Callable[[Message], bytes]] = {}


def _double(value: float) -> Any:
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if math.isnan(value):
        return "NaN"
    return value


def _float(value: float) -> Any:
    if math.isinf(value) or math.isnan(value):
        return _double(value)
    return type_checkers.ToShortestFloat(value)


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _is_well_known(descriptor: Descriptor) -> bool:
    return descriptor.full_name.startswith("google.protobuf.")


def _scalar(field: FieldDescriptor) -> Converter | None:
    """The converter of one value of the field (None: the value is its own JSON)."""
    kind = field.type
    if kind in _INT64:
        return str
    if kind == _T.TYPE_ENUM:
        names = {v.number: v.name for v in field.enum_type.values}
        if field.enum_type.full_name == "google.protobuf.NullValue":
            return lambda v: None
        return lambda v: names.get(v, v)
    if kind == _T.TYPE_DOUBLE:
        return _double
    if kind == _T.TYPE_FLOAT:
        return _float
    if kind == _T.TYPE_BYTES:
        return _bytes
    if kind in (_T.TYPE_MESSAGE, _T.TYPE_GROUP):
        return message_dict(field.message_type)
    return None


def _map_key(field: FieldDescriptor) -> Converter:
    if field.type == _T.TYPE_BOOL:
        return lambda k: "true" if k else "false"
    return str


def _field(field: FieldDescriptor) -> Converter:
    """The converter of the field's whole value (a repeated field's list, a map's dict)."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key = _map_key(field.message_type.fields_by_name["key"])
        value = _scalar(field.message_type.fields_by_name["value"])
        if value is None:
            return lambda m: {key(k): v for k, v in m.items()}
        return lambda m: {key(k): value(v) for k, v in m.items()}
    one = _scalar(field)
    if field.is_repeated:
        if one is None:
            return list
        return lambda values: [one(v) for v in values]
    return one if one is not None else _same


def _same(value: Any) -> Any:
    return value


# Messages of other types within a message are written inline (no call per sub-message) down to
# this depth; deeper, and for a type within itself, the sub-message's own function is called.
INLINE_DEPTH = 4


class _Source:
    """The Python source of one message type's function, and the names it uses."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_negative_zero": _negative_zero}
        self.late: list[tuple[str, FieldDescriptor | Descriptor]] = []  # names bound after compiling
        self._count = 0

    def name(self) -> str:
        self._count += 1
        return f"_{self._count}"

    def converter(self, of: FieldDescriptor | Descriptor) -> str:
        name = "c" + self.name()
        self.names[name] = None
        self.late.append((name, of))
        return name

    def bound(self, value: Any) -> str:
        """A name for a value the function uses (bound once, read as a global)."""
        name = "b" + self.name()
        self.names[name] = value
        return name

    def has_field(self, descriptor: Descriptor) -> str:
        """The name of the message class's HasField, called unbound: a bound method is made at
        every call otherwise, and presence tests are a good part of the function's work."""
        return self.bound(message_factory.GetMessageClass(descriptor).HasField)

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _emit_message(src: _Source, descriptor: Descriptor, message: str, out: str, indent: int, path: tuple[str, ...]) -> None:
    """Code that fills the dict `out` from the message in the variable `message`."""
    has = src.has_field(descriptor) if any(f.has_presence and not f.is_repeated for f in descriptor.fields) else ""
    for field in descriptor.fields:
        attribute = f"{message}.{field.name}" if field.name.isidentifier() and not keyword.iskeyword(field.name) else f"getattr({message}, {field.name!r})"
        key = repr(field.json_name)
        sub = field.message_type
        inline = sub is not None and not sub.GetOptions().map_entry and not _is_well_known(sub) and sub.full_name not in path and len(path) < INLINE_DEPTH
        if inline and field.is_repeated:
            values, item, items, fields = src.name(), src.name(), src.name(), src.name()
            src.emit(indent, f"{values} = {attribute}")
            src.emit(indent, f"if {values}:")
            src.emit(indent + 1, f"{items} = []")
            src.emit(indent + 1, f"for {item} in {values}:")
            src.emit(indent + 2, f"{fields} = {{}}")
            _emit_message(src, sub, item, fields, indent + 2, (*path, sub.full_name))
            src.emit(indent + 2, f"{items}.append({fields})")
            src.emit(indent + 1, f"{out}[{key}] = {items}")
        elif inline:
            value, fields = src.name(), src.name()
            src.emit(indent, f"if {has}({message}, {field.name!r}):")
            src.emit(indent + 1, f"{value} = {attribute}")
            src.emit(indent + 1, f"{fields} = {{}}")
            _emit_message(src, sub, value, fields, indent + 1, (*path, sub.full_name))
            src.emit(indent + 1, f"{out}[{key}] = {fields}")
        elif field.is_repeated:  # lists and maps: written when not empty
            value = src.name()
            src.emit(indent, f"{value} = {attribute}")
            src.emit(indent, f"if {value}:")
            src.emit(indent + 1, f"{out}[{key}] = {src.converter(field)}({value})")
        elif field.has_presence:  # messages, proto3 optional, oneof members: written when set
            src.emit(indent, f"if {has}({message}, {field.name!r}):")
            src.emit(indent + 1, f"{out}[{key}] = {src.converter(field)}({attribute})")
        else:
            value = src.name()
            src.emit(indent, f"{value} = {attribute}")
            if field.type in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):  # -0.0 is not the default: it is written
                src.emit(indent, f"if {value} or _negative_zero({value}):")
            else:
                src.emit(indent, f"if {value}:")
            if _scalar(field) is None:  # strings, bools, 32-bit integers: the value is its own JSON
                src.emit(indent + 1, f"{out}[{key}] = {value}")
            elif field.type == _T.TYPE_ENUM and field.enum_type.full_name != "google.protobuf.NullValue":  # by name, inline
                names = src.bound({v.number: v.name for v in field.enum_type.values})
                src.emit(indent + 1, f"{out}[{key}] = {names}.get({value}, {value})")
            else:
                src.emit(indent + 1, f"{out}[{key}] = {src.converter(field)}({value})")


def message_dict(descriptor: Descriptor) -> Callable[[Message], dict[str, Any]]:
    """The function that turns a message of this type into its proto3 JSON dict: Python source
    written from the descriptor (a test per field, sub-messages and converters inlined), compiled
    once."""
    found = _dicts.get(descriptor.full_name)
    if found is not None:
        return found
    if _is_well_known(descriptor):

        def well_known(message: Message) -> Any:
            return json_format.MessageToDict(message)

        _dicts[descriptor.full_name] = well_known  # type: ignore[assignment]
        return well_known  # type: ignore[return-value]
    src = _Source()
    src.emit(0, "def to_dict(m):")
    src.emit(1, "out = {}")
    _emit_message(src, descriptor, "m", "out", 1, (descriptor.full_name,))
    src.emit(1, "return out")
    namespace: dict[str, Any] = {}
    # the source is written above from the descriptor, nothing else
    exec(compile("\n".join(src.lines), f"<json encoder of {descriptor.full_name}>", "exec"), src.names, namespace)
    to_dict: Callable[[Message], dict[str, Any]] = namespace["to_dict"]
    _dicts[descriptor.full_name] = to_dict  # before the converters: a type may contain itself
    for name, of in src.late:
        src.names[name] = _field(of) if isinstance(of, FieldDescriptor) else message_dict(of)
    return to_dict


def _negative_zero(value: float) -> bool:
    return math.copysign(1.0, value) < 0


def encoder_for(descriptor: Descriptor) -> Callable[[Message], bytes]:
    """The function that turns a message of this type into its proto3 JSON text (UTF-8, compact)."""
    found = _encoders.get(descriptor.full_name)
    if found is None:
        to_dict = message_dict(descriptor)

        def found(message: Message) -> bytes:
            return orjson.dumps(to_dict(message))

        _encoders[descriptor.full_name] = found
    return found
