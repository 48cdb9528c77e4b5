"""A Python client for notebooks and scripts: the analyst calls return pandas DataFrames with typed
columns; failures raise ShippingClientError naming the status, reason and bad fields.

    from kokokara.shipping.client import ShippingClient

    with ShippingClient("127.0.0.1:50051") as shipping:
        tables = shipping.list_tables()
        ems = shipping.get_table("ems", on="2026-11-01")
        grid = shipping.compare("US", [500, 1000, 2000])
        changes = shipping.diff("ems@2022-06-01", "ems@2027-04-01")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import grpc
from google.rpc import error_details_pb2
from google.type import date_pb2
from grpc_status import rpc_status

from kokokara.shipping.connect import ClientAuth, open_channel
from kokokara.shipping.v1 import common_pb2, rates_pb2, rates_pb2_grpc

if TYPE_CHECKING:
    import pandas as pd
else:

    class _Pandas:
        """pandas, imported when a DataFrame is first made: the light install (stubs, quotes, plans) has no
        pandas; the analysts' calls say which extra brings it."""

        def __getattr__(self, name: str) -> Any:
            try:
                import pandas
            except ImportError as error:
                raise ImportError("DataFrames need pandas: pip install 'kokokara-shipping[analysis]'") from error
            globals()["pd"] = pandas
            return getattr(pandas, name)

    pd = _Pandas()

MAX_WEIGHTS_PER_CALL = 1000
TABLE_COLUMNS = {
    "table_id": "string",
    "product": "string",
    "zone": "int64",
    "min_weight_g": "int64",
    "max_weight_g": "int64",
    "price_jpy": "int64",
    "source_id": "string",
}

DateLike = date | str | None
ProductLike = str | int | None
MethodLike = str | int


@dataclass
class ShippingClientError(Exception):
    """A failed call: the gRPC status, the ErrorInfo reason and each bad field with its problem."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    field_violations: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.code.name}: {self.message}"
        if self.reason:
            text += f" [{self.reason}]"
        return text + "".join(f"\n  {f}: {d}" for f, d in self.field_violations)

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> ShippingClientError:
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        message = error.details() if hasattr(error, "details") else str(error)
        out = cls(code, message or "")
        status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None  # type: ignore[arg-type]
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                out.reason = info.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                out.field_violations += [(v.field, v.description) for v in bad.field_violations]
        return out


# ---------------------------------------------------------------------------------------------
# Conversions


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    """SHIPPING_METHOD_EMS -> 'ems'; unknown numbers stay numbers as text."""
    try:
        return str(enum.Name(value)).removeprefix(prefix).lower()
    except ValueError:
        return str(value)


def method_name(value: int) -> str:
    return _enum_name(common_pb2.ShippingMethod, value, "SHIPPING_METHOD_")


def product_name(value: int) -> str:
    return _enum_name(common_pb2.Product, value, "PRODUCT_")


def reason_name(value: int) -> str:
    return "" if value == 0 else _enum_name(rates_pb2.UnavailableReason, value, "UNAVAILABLE_REASON_").upper()


def _proto_enum(enum: Any, prefix: str, value: str | int, what: str) -> int:
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
    return cast("common_pb2.Product", _proto_enum(common_pb2.Product, "PRODUCT_", value, "product"))


def to_method(value: MethodLike) -> common_pb2.ShippingMethod:
    return cast("common_pb2.ShippingMethod", _proto_enum(common_pb2.ShippingMethod, "SHIPPING_METHOD_", value, "method"))


def to_date(value: DateLike) -> date_pb2.Date | None:
    if value is None:
        return None
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


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


class ShippingClient:
    """Talks to a kokokara-shipping server. Use as a context manager, or call close()."""

    def __init__(
        self,
        address: str = "127.0.0.1:50051",
        *,
        timeout: float = 10.0,
        channel: grpc.Channel | None = None,
        api_key: str | None = None,
        auth: ClientAuth | None = None,
    ):
        """`api_key` (or `auth`, for TLS as well) for servers that require keys; `channel` to bring
        your own."""
        self.address = address
        self.timeout = timeout
        self._own_channel = channel is None
        if auth is None:
            auth = ClientAuth(api_key=api_key) if api_key else None
        self._channel = channel or open_channel(address, auth)
        self._rates = rates_pb2_grpc.RateServiceStub(self._channel)

    def __enter__(self) -> ShippingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_channel:
            self._channel.close()

    def _call(self, rpc: str, request: Any) -> Any:
        try:
            return getattr(self._rates, rpc)(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ShippingClientError.from_rpc_error(error) from None

    # -- rate tables ------------------------------------------------------------------------------

    def list_tables(self, product: ProductLike = None, *, as_of: DateLike = None) -> pd.DataFrame:
        """Every table version: product, effective period, completeness, source, row count."""
        request = rates_pb2.ListRateTablesRequest(product=to_product(product), as_of_date=to_date(as_of))
        response = self._call("ListRateTables", request)
        return _frame([table_info(t) for t in response.rate_tables], LIST_TABLE_TYPES)

    def table_pages(
        self, product: ProductLike = None, *, on: DateLike = None, table_id: str = "", zones: Iterable[int] = (), page_size: int = 1000, max_pages: int = 10_000
    ) -> Iterator[rates_pb2.GetRateTableResponse]:
        """The pages of one table, as the server sends them (for progress on long reads)."""
        request = rates_pb2.GetRateTableRequest(product=to_product(product), date=to_date(on), table_id=table_id, zones=list(zones), page_size=page_size)
        for _ in range(max_pages):
            page = self._call("GetRateTable", request)
            yield page
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token
        raise RuntimeError(f"more than {max_pages} pages; raise page_size or max_pages")

    def get_table(
        self,
        product: ProductLike = None,
        *,
        on: DateLike = None,
        table_id: str = "",
        zones: Iterable[int] = (),
        page_size: int = 1000,
        progress: Callable[[int, int], None] | None = None,
    ) -> pd.DataFrame:
        """The rows of a product's table in force on `on` (default today), or of `table_id`.
        `progress(rows_so_far, total)` is called after each page. The table's description is in
        `frame.attrs["rate_table"]`."""
        rows: list[dict[str, Any]] = []
        info: dict[str, Any] = {}
        for page in self.table_pages(product, on=on, table_id=table_id, zones=zones, page_size=page_size):
            info = table_info(page.rate_table)
            rows += [
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
            if progress is not None:
                progress(len(rows), page.total_size)
        frame = _frame(rows, TABLE_COLUMNS)
        frame.attrs["rate_table"] = info
        return frame

    def destinations(self, region_codes: Sequence[str] = (), *, ship_date: DateLike = None, max_pages: int = 1000) -> pd.DataFrame:
        """Every destination (or those asked for): zone per product family, one bool column per
        method (offered for a light parcel of merchandise) and `<method>_reason` where it is not,
        and `acceptance_rules`: the dated rules in force, "rule-id (status from .. to)" joined by "; "."""
        request = rates_pb2.ListDestinationsRequest(region_codes=list(region_codes), ship_date=to_date(ship_date), page_size=1000)
        rows: list[dict[str, Any]] = []
        data_as_of = ""
        for _ in range(max_pages):
            page = self._call("ListDestinations", request)
            data_as_of = page.data_as_of
            for d in page.destinations:
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
                rows.append(row)
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        types = {"region_code": "string", "country_name": "string", "ems_zone": "Int64", "parcel_zone": "Int64", "letter_post_zone": "Int64"}
        types |= {m: "bool" for m in METHODS} | {f"{m}_reason": "string" for m in METHODS} | {"acceptance_rules": "string"}
        frame = _frame(rows, types)
        frame.attrs["data_as_of"] = data_as_of
        return frame

    def compare(
        self, region: str, weights_g: Iterable[int], *, methods: Sequence[MethodLike] = (), ship_date: DateLike = None, contents: str = "merchandise"
    ) -> pd.DataFrame:
        """One row per weight and method: the checkout's price, or the reason it is unavailable.
        Any number of weights (sent in calls of 1,000). `contents`: merchandise, gift, sample,
        documents or returned_goods (acceptance may depend on it)."""
        weights = list(weights_g)
        if not weights:
            raise ValueError("weights_g: at least one weight is required")
        rows: list[dict[str, Any]] = []
        shipped = ""
        for start in range(0, len(weights), MAX_WEIGHTS_PER_CALL):
            request = rates_pb2.CompareRatesRequest(
                destination_region_code=region,
                weights_grams=weights[start : start + MAX_WEIGHTS_PER_CALL],
                methods=[to_method(m) for m in methods],
                ship_date=to_date(ship_date),
                contents_type=common_pb2.ContentsType.Value(f"CONTENTS_TYPE_{contents.upper()}"),
            )
            response = self._call("CompareRates", request)
            shipped = date(response.ship_date.year, response.ship_date.month, response.ship_date.day).isoformat()
            rows += [
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
        frame = _frame(rows, COMPARE_TYPES)
        frame.attrs.update(region_code=region.strip().upper(), ship_date=shipped)
        return frame

    def acceptance_diff(self, from_day: DateLike, to_day: DateLike, regions: Iterable[str] = ()) -> pd.DataFrame:
        """Per destination, Japan Post product and contents type whose acceptance differs between the
        two ship dates: the status on each and the rule behind it (empty: Japan Post's country pages)."""
        request = rates_pb2.DiffAcceptanceRequest(from_date=to_date(from_day), to_date=to_date(to_day), region_codes=list(regions))
        response = self._call("DiffAcceptance", request)
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

    def diff(self, base_table_id: str, target_table_id: str, *, include_unchanged: bool = False) -> pd.DataFrame:
        """Row by row changes from `base_table_id` to `target_table_id`: added, removed, changed
        (and unchanged when asked), with the change in JPY and percent. Counts in `attrs`."""
        request = rates_pb2.DiffRateTablesRequest(base_table_id=base_table_id, target_table_id=target_table_id, include_unchanged=include_unchanged)
        response = self._call("DiffRateTables", request)
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

    # -- quotes -----------------------------------------------------------------------------------

    def quote(
        self,
        region: str,
        weights_g: int | Sequence[int],
        *,
        sizes_mm: Sequence[tuple[int, int, int]] = (),
        methods: Sequence[MethodLike] = (),
        ship_date: DateLike = None,
        order_date: DateLike = None,
        declared_value_jpy: int | None = None,
        insure: bool = False,
        as_frame: bool = False,
    ) -> rates_pb2.GetQuoteResponse | pd.DataFrame:
        """GetQuote for parcels of the given weights (and sizes, in order). With as_frame=True a
        DataFrame: one row per method, offered ones first (cheapest first), then the unavailable
        ones with their reason."""
        weights = [weights_g] if isinstance(weights_g, int) else list(weights_g)
        request = rates_pb2.GetQuoteRequest(
            destination_region_code=region,
            methods=[to_method(m) for m in methods],
            insure=insure,
            ship_date=to_date(ship_date),
            order_date=to_date(order_date),
        )
        for i, grams in enumerate(weights):
            length, width, height = sizes_mm[i] if i < len(sizes_mm) else (0, 0, 0)
            request.parcels.add(weight_grams=grams, length_mm=length, width_mm=width, height_mm=height)
        if declared_value_jpy is not None:
            request.declared_value.currency_code = "JPY"
            request.declared_value.units = declared_value_jpy
        response: rates_pb2.GetQuoteResponse = self._call("GetQuote", request)
        return quote_frame(response) if as_frame else response

    def plan(
        self,
        region: str,
        items: Sequence[rates_pb2.CartItem | Mapping[str, Any]],
        *,
        boxes: Sequence[rates_pb2.Box | Mapping[str, Any]] = (),
        methods: Sequence[MethodLike] = (),
        ship_date: DateLike = None,
        insure: bool = False,
        time_budget_ms: int | None = None,
    ) -> rates_pb2.PlanShipmentResponse:
        """PlanShipment: the cheapest parcels found for a cart, per method. Items and boxes are
        CartItem and Box messages or dicts of their fields, e.g. {"sku": "TEA", "weight_grams": 1000,
        "length_mm": 120, "width_mm": 90, "height_mm": 60, "quantity": 2}; no boxes: the service's."""
        request = rates_pb2.PlanShipmentRequest(
            destination_region_code=region,
            items=[i if isinstance(i, rates_pb2.CartItem) else rates_pb2.CartItem(**i) for i in items],
            boxes=[b if isinstance(b, rates_pb2.Box) else rates_pb2.Box(**b) for b in boxes],
            methods=[to_method(m) for m in methods],
            ship_date=to_date(ship_date),
            insure=insure,
        )
        if time_budget_ms is not None:
            request.time_budget.FromMilliseconds(time_budget_ms)
        response: rates_pb2.PlanShipmentResponse = self._call("PlanShipment", request)
        return response


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
