"""The analysts' DataFrames: the rate tables, destinations, comparisons, diffs and quotes the client
reads, as typed pandas columns. pandas is imported when a DataFrame is first made: the light install
(stubs, quotes, plans) has none, and these calls say which extra brings it."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from google.type import date_pb2

from kokokara.shipping.v1 import common_pb2, rates_pb2
from kokokara.shipping.values import method_name, product_name, reason_name

if TYPE_CHECKING:
    import pandas as pd
else:

    class _Pandas:
        """pandas, imported when a DataFrame is first made."""

        def __getattr__(self, name: str) -> Any:
            try:
                import pandas
            except ImportError as error:
                raise ImportError("DataFrames need pandas: pip install 'kokokara-shipping[analysis]'") from error
            globals()["pd"] = pandas
            return getattr(pandas, name)

    pd = _Pandas()

TABLE_COLUMNS = {
    "table_id": "string",
    "product": "string",
    "zone": "int64",
    "min_weight_g": "int64",
    "max_weight_g": "int64",
    "price_jpy": "int64",
    "source_id": "string",
}


def _from_date(value: date_pb2.Date, present: bool = True) -> pd.Timestamp:
    if not present or value.year == 0:
        return pd.NaT
    return pd.Timestamp(year=value.year, month=value.month, day=value.day)


def table_info(info: rates_pb2.RateTableInfo) -> dict[str, Any]:
    """One RateTableInfo as a plain row (the columns of list_tables())."""
    return {
        "table_id": info.table_id,
        "product": product_name(info.product),
        "product_name": info.product_name,
        "effective_from": _from_date(info.effective_date),
        "effective_to": _from_date(info.expiry_date, info.HasField("expiry_date")),
        "effective_date_confirmed": info.effective_date_confirmed,
        "quotable": info.quotable,
        "in_force": info.in_force,
        "partial": info.completeness == rates_pb2.TABLE_COMPLETENESS_PARTIAL,
        "completeness_notes": "; ".join(info.completeness_notes),
        "row_count": info.row_count,
        "zones": ",".join(str(z) for z in info.zones),
        "missing_zones": ",".join(str(z) for z in info.missing_zones),
        "max_weight_g": info.max_weight_grams,
        "zone_scheme": info.zone_scheme,
        "confidence": info.confidence,
        "source": info.source,
        "notes": info.notes,
    }


LIST_TABLE_TYPES = {
    "table_id": "string",
    "product": "string",
    "product_name": "string",
    "effective_from": "datetime64[ns]",
    "effective_to": "datetime64[ns]",
    "effective_date_confirmed": "bool",
    "quotable": "bool",
    "in_force": "bool",
    "partial": "bool",
    "completeness_notes": "string",
    "row_count": "int64",
    "zones": "string",
    "missing_zones": "string",
    "max_weight_g": "int64",
    "zone_scheme": "string",
    "confidence": "string",
    "source": "string",
    "notes": "string",
}
COMPARE_TYPES = {
    "weight_g": "int64",
    "method": "string",
    "available": "bool",
    "price_jpy": "Int64",
    "product": "string",
    "product_name": "string",
    "zone": "Int64",
    "bracket_max_g": "Int64",
    "table_id": "string",
    "reason": "string",
    "message": "string",
}
DIFF_TYPES = {
    "change": "string",
    "zone": "int64",
    "min_weight_g": "int64",
    "max_weight_g": "int64",
    "base_price_jpy": "Int64",
    "target_price_jpy": "Int64",
    "change_jpy": "int64",
    "change_percent": "float64",
}
ACCEPTANCE_DIFF_TYPES = {
    "region_code": "string",
    "product": "string",
    "product_name": "string",
    "contents_type": "string",
    "from_status": "string",
    "to_status": "string",
    "from_rule_id": "string",
    "to_rule_id": "string",
    "to_message": "string",
}
METHODS = [method_name(v) for v in common_pb2.ShippingMethod.values()[1:]]


def _rule_text(rule: rates_pb2.AcceptanceRule) -> str:
    def day(d: date_pb2.Date) -> str:
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"

    until = day(rule.effective_to) if rule.HasField("effective_to") else "further notice"
    return f"{rule.rule_id} ({rule.status} {day(rule.effective_from)} to {until})"


def _frame(rows: list[dict[str, Any]], types: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(types))
    return frame.astype(types) if len(frame) else pd.DataFrame({c: pd.Series(dtype=t) for c, t in types.items()})


QUOTE_TYPES = {
    "method": "string",
    "available": "bool",
    "total_jpy": "Int64",
    "postage_jpy": "Int64",
    "insurance_jpy": "Int64",
    "product": "string",
    "product_name": "string",
    "zone": "Int64",
    "billable_weight_g": "Int64",
    "tracked": "boolean",
    "compensation_jpy": "Int64",
    "min_days": "Int64",
    "max_days": "Int64",
    "earliest_arrival": "datetime64[ns]",
    "latest_arrival": "datetime64[ns]",
    "table_id": "string",
    "reason": "string",
    "message": "string",
}


def quote_frame(response: rates_pb2.GetQuoteResponse) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for o in response.options:
        has_delivery = o.HasField("delivery")
        rows.append(
            {
                "method": method_name(o.method),
                "available": True,
                "total_jpy": o.total_price.units,
                "postage_jpy": o.breakdown.postage.units,
                "insurance_jpy": o.breakdown.insurance.units,
                "product": product_name(o.product),
                "product_name": o.product_name,
                "zone": o.zone,
                "billable_weight_g": o.billable_weight_grams,
                "tracked": o.tracked,
                "compensation_jpy": o.compensation_limit.units,
                "min_days": o.delivery.min_days if has_delivery else pd.NA,
                "max_days": o.delivery.max_days if has_delivery else pd.NA,
                "earliest_arrival": _from_date(o.delivery.earliest_arrival_date, has_delivery),
                "latest_arrival": _from_date(o.delivery.latest_arrival_date, has_delivery),
                "table_id": o.rate_table.table_id,
                "reason": "",
                "message": "",
            }
        )
    for u in response.unavailable:
        row: dict[str, Any] = dict.fromkeys(QUOTE_TYPES, pd.NA)
        row.update(method=method_name(u.method), available=False, reason=reason_name(u.reason), message=u.message, product="", product_name="", table_id="")
        row.update(earliest_arrival=pd.NaT, latest_arrival=pd.NaT)
        rows.append(row)
    return _frame(rows, QUOTE_TYPES)


def price_grid(compare: pd.DataFrame) -> pd.DataFrame:
    """A compare() frame as weight rows by method columns of prices (<NA> where unavailable)."""
    grid = compare.pivot(index="weight_g", columns="method", values="price_jpy")
    order = [m for m in dict.fromkeys(compare["method"])]
    return grid[order].astype("Int64")


def tables_frame(response: rates_pb2.ListRateTablesResponse) -> pd.DataFrame:
    return _frame([table_info(t) for t in response.rate_tables], LIST_TABLE_TYPES)


def table_rows(page: rates_pb2.GetRateTableResponse) -> list[dict[str, Any]]:
    """One page of GetRateTable as rows of get_table()'s frame."""
    info = table_info(page.rate_table)
    return [
        {
            "table_id": info["table_id"],
            "product": info["product"],
            "zone": r.zone,
            "min_weight_g": r.min_weight_grams,
            "max_weight_g": r.max_weight_grams,
            "price_jpy": r.price.units,
            "source_id": r.source_id,
        }
        for r in page.rows
    ]


def table_frame(rows: list[dict[str, Any]], info: dict[str, Any]) -> pd.DataFrame:
    frame = _frame(rows, TABLE_COLUMNS)
    frame.attrs["rate_table"] = info
    return frame


def destination_row(d: rates_pb2.Destination) -> dict[str, Any]:
    row: dict[str, Any] = {
        "region_code": d.region_code,
        "country_name": d.country_name,
        "ems_zone": d.ems_zone or pd.NA,
        "parcel_zone": d.parcel_zone or pd.NA,
        "letter_post_zone": d.letter_post_zone or pd.NA,
    }
    for m in d.methods:
        row[method_name(m.method)] = m.available
        row[f"{method_name(m.method)}_reason"] = reason_name(m.reason)
    row["acceptance_rules"] = "; ".join(_rule_text(r) for r in d.acceptance_rules)
    return row


def destinations_frame(rows: list[dict[str, Any]], data_as_of: str) -> pd.DataFrame:
    types = {"region_code": "string", "country_name": "string", "ems_zone": "Int64", "parcel_zone": "Int64", "letter_post_zone": "Int64"}
    types |= {m: "bool" for m in METHODS} | {f"{m}_reason": "string" for m in METHODS} | {"acceptance_rules": "string"}
    frame = _frame(rows, types)
    frame.attrs["data_as_of"] = data_as_of
    return frame


def compare_rows(response: rates_pb2.CompareRatesResponse) -> list[dict[str, Any]]:
    return [
        {
            "weight_g": r.weight_grams,
            "method": method_name(r.method),
            "available": r.available,
            "price_jpy": r.price.units if r.available else pd.NA,
            "product": product_name(r.product) if r.available else "",
            "product_name": r.product_name,
            "zone": r.zone if r.available else pd.NA,
            "bracket_max_g": r.bracket_max_weight_grams if r.available else pd.NA,
            "table_id": r.table_id,
            "reason": reason_name(r.reason),
            "message": r.message,
        }
        for r in response.rates
    ]


def compare_frame(rows: list[dict[str, Any]], region: str, ship_date: date_pb2.Date | None) -> pd.DataFrame:
    frame = _frame(rows, COMPARE_TYPES)
    shipped = date(ship_date.year, ship_date.month, ship_date.day).isoformat() if ship_date is not None and ship_date.year else ""
    frame.attrs.update(region_code=region.strip().upper(), ship_date=shipped)
    return frame


def acceptance_diff_frame(response: rates_pb2.DiffAcceptanceResponse) -> pd.DataFrame:
    rows = [
        {
            "region_code": c.region_code,
            "product": product_name(c.product),
            "product_name": c.product_name,
            "contents_type": common_pb2.ContentsType.Name(c.contents_type).removeprefix("CONTENTS_TYPE_").lower(),
            "from_status": c.from_status,
            "to_status": c.to_status,
            "from_rule_id": c.from_rule_id,
            "to_rule_id": c.to_rule_id,
            "to_message": c.to_message,
        }
        for c in response.changes
    ]
    return _frame(rows, ACCEPTANCE_DIFF_TYPES)


def diff_frame(response: rates_pb2.DiffRateTablesResponse) -> pd.DataFrame:
    rows = [
        {
            "change": rates_pb2.RowChange.Name(r.change).removeprefix("ROW_CHANGE_").lower(),
            "zone": r.zone,
            "min_weight_g": r.min_weight_grams,
            "max_weight_g": r.max_weight_grams,
            "base_price_jpy": r.base_price.units if r.HasField("base_price") else pd.NA,
            "target_price_jpy": r.target_price.units if r.HasField("target_price") else pd.NA,
            "change_jpy": r.change_jpy,
            "change_percent": r.change_percent,
        }
        for r in response.rows
    ]
    frame = _frame(rows, DIFF_TYPES)
    frame.attrs.update(
        base=table_info(response.base),
        target=table_info(response.target),
        counts={"added": response.added_count, "removed": response.removed_count, "changed": response.changed_count, "unchanged": response.unchanged_count},
    )
    return frame
