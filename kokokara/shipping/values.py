"""Values as the light client names them: enum numbers to short names ("ems", "small_packet") and
back, and dates as the contract sends them. Shared by ShippingClient and its DataFrames."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from google.type import date_pb2

from kokokara.shipping.v1 import common_pb2, rates_pb2

DateLike = date | str | None
ProductLike = str | int | None
MethodLike = str | int


def enum_name(enum: Any, value: int, prefix: str) -> str:
    """SHIPPING_METHOD_EMS -> 'ems'; unknown numbers stay numbers as text."""
    try:
        return str(enum.Name(value)).removeprefix(prefix).lower()
    except ValueError:
        return str(value)


def method_name(value: int) -> str:
    return enum_name(common_pb2.ShippingMethod, value, "SHIPPING_METHOD_")


def product_name(value: int) -> str:
    return enum_name(common_pb2.Product, value, "PRODUCT_")


def reason_name(value: int) -> str:
    return "" if value == 0 else enum_name(rates_pb2.UnavailableReason, value, "UNAVAILABLE_REASON_").upper()


def proto_enum(enum: Any, prefix: str, value: str | int, what: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(enum.Value(prefix + value.strip().upper()))
    except ValueError:
        choices = ", ".join(n.removeprefix(prefix).lower() for n in enum.keys()[1:])
        raise ValueError(f"unknown {what} {value!r}; choose from {choices}") from None


def to_product(value: ProductLike) -> common_pb2.Product:
    if value is None:
        return common_pb2.PRODUCT_UNSPECIFIED
    return cast("common_pb2.Product", proto_enum(common_pb2.Product, "PRODUCT_", value, "product"))


def to_method(value: MethodLike) -> common_pb2.ShippingMethod:
    return cast("common_pb2.ShippingMethod", proto_enum(common_pb2.ShippingMethod, "SHIPPING_METHOD_", value, "method"))


def to_date(value: DateLike) -> date_pb2.Date | None:
    if value is None:
        return None
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)
