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
from typing import TYPE_CHECKING, Any

import grpc
from google.rpc import error_details_pb2
from google.type import date_pb2
from grpc_status import rpc_status

from kokokara.shipping import frames
from kokokara.shipping.connect import ClientAuth, open_channel
from kokokara.shipping.v1 import common_pb2, labels_pb2, labels_pb2_grpc, rates_pb2, rates_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from kokokara.shipping.values import DateLike, MethodLike, ProductLike, to_date, to_method, to_product

if TYPE_CHECKING:
    import pandas as pd

MAX_WEIGHTS_PER_CALL = 1000


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
        self._labels = labels_pb2_grpc.LabelServiceStub(self._channel)
        self._tracking = tracking_pb2_grpc.TrackingServiceStub(self._channel)

    def __enter__(self) -> ShippingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_channel:
            self._channel.close()

    def _call(self, rpc: str, request: Any, stub: Any = None) -> Any:
        try:
            return getattr(self._rates if stub is None else stub, rpc)(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ShippingClientError.from_rpc_error(error) from None

    # -- parcels ----------------------------------------------------------------------------------

    def track(self, tracking_number: str) -> tracking_pb2.Tracking:
        """GetTracking: the parcel's normalised state and events (from the service's cache or Japan
        Post). Spaces, hyphens and lower case in the number are accepted."""
        return self._call("GetTracking", tracking_pb2.GetTrackingRequest(tracking_number=tracking_number), self._tracking)  # type: ignore[no-any-return]

    def find_label(self, tracking_number: str) -> labels_pb2.Label | None:
        """The label this service issued under `tracking_number`, without its documents (GetLabel
        has them), or None. Support keys get it without names, addresses or customs contents."""
        request = labels_pb2.ListLabelsRequest(tracking_number=tracking_number, page_size=1)
        found = self._call("ListLabels", request, self._labels).labels
        return found[0] if found else None

    def watch(self, tracking_number: str, order_reference: str = "", *, webhook_endpoint_id: str = "") -> tracking_pb2.WatchedParcel:
        """WatchParcel: the service polls the parcel and sends its changes to the webhook endpoints
        (or only to `webhook_endpoint_id`). Watching a parcel twice changes nothing."""
        request = tracking_pb2.WatchParcelRequest(tracking_number=tracking_number, order_reference=order_reference, webhook_endpoint_id=webhook_endpoint_id)
        return self._call("WatchParcel", request, self._tracking)  # type: ignore[no-any-return]

    def unwatch(self, tracking_number: str) -> None:
        """UnwatchParcel: no more polling or events for the parcel."""
        self._call("UnwatchParcel", tracking_pb2.UnwatchParcelRequest(tracking_number=tracking_number), self._tracking)

    # -- rate tables ------------------------------------------------------------------------------

    def list_tables(self, product: ProductLike = None, *, as_of: DateLike = None) -> pd.DataFrame:
        """Every table version: product, effective period, completeness, source, row count."""
        request = rates_pb2.ListRateTablesRequest(product=to_product(product), as_of_date=to_date(as_of))
        return frames.tables_frame(self._call("ListRateTables", request))

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
            info = frames.table_info(page.rate_table)
            rows += frames.table_rows(page)
            if progress is not None:
                progress(len(rows), page.total_size)
        return frames.table_frame(rows, info)

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
            rows += [frames.destination_row(d) for d in page.destinations]
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        return frames.destinations_frame(rows, data_as_of)

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
        shipped: date_pb2.Date | None = None
        for start in range(0, len(weights), MAX_WEIGHTS_PER_CALL):
            request = rates_pb2.CompareRatesRequest(
                destination_region_code=region,
                weights_grams=weights[start : start + MAX_WEIGHTS_PER_CALL],
                methods=[to_method(m) for m in methods],
                ship_date=to_date(ship_date),
                contents_type=common_pb2.ContentsType.Value(f"CONTENTS_TYPE_{contents.upper()}"),
            )
            response = self._call("CompareRates", request)
            shipped = response.ship_date
            rows += frames.compare_rows(response)
        return frames.compare_frame(rows, region, shipped)

    def acceptance_diff(self, from_day: DateLike, to_day: DateLike, regions: Iterable[str] = ()) -> pd.DataFrame:
        """Per destination, Japan Post product and contents type whose acceptance differs between the
        two ship dates: the status on each and the rule behind it (empty: Japan Post's country pages)."""
        request = rates_pb2.DiffAcceptanceRequest(from_date=to_date(from_day), to_date=to_date(to_day), region_codes=list(regions))
        return frames.acceptance_diff_frame(self._call("DiffAcceptance", request))

    def diff(self, base_table_id: str, target_table_id: str, *, include_unchanged: bool = False) -> pd.DataFrame:
        """Row by row changes from `base_table_id` to `target_table_id`: added, removed, changed
        (and unchanged when asked), with the change in JPY and percent. Counts in `attrs`."""
        request = rates_pb2.DiffRateTablesRequest(base_table_id=base_table_id, target_table_id=target_table_id, include_unchanged=include_unchanged)
        return frames.diff_frame(self._call("DiffRateTables", request))

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
        return frames.quote_frame(response) if as_frame else response

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
