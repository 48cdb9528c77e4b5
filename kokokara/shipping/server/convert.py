"""Small translations shared by the servicers: dates, money, and request-field checks."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from google.type import date_pb2, money_pb2

from domain.errors import ViolationCollector

JST = timezone(timedelta(hours=9), "JST")


def today_in_japan() -> date:
    return datetime.now(JST).date()


def date_from_proto(value: date_pb2.Date, field: str, errors: ViolationCollector, default: date) -> date:
    if value.year == 0 and value.month == 0 and value.day == 0:
        return default
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        errors.add(field, "must be a full calendar date (year, month and day)")
        return default


def date_to_proto(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def yen(amount: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="JPY", units=amount)


def yen_from_proto(value: money_pb2.Money, field: str, errors: ViolationCollector, *, maximum: int) -> int:
    if value.currency_code != "JPY":
        errors.add(f"{field}.currency_code", f"must be JPY, got {value.currency_code or 'nothing'!r}")
        return 0
    if value.nanos != 0:
        errors.add(f"{field}.nanos", "JPY has no fractions; nanos must be 0")
    if value.units < 0:
        errors.add(f"{field}.units", "must not be negative")
    elif value.units > maximum:
        errors.add(f"{field}.units", f"must be at most {maximum:,} JPY")
    return int(value.units)
