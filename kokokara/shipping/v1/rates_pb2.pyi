import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.rpc import status_pb2 as _status_pb2
from google.type import date_pb2 as _date_pb2
from google.type import money_pb2 as _money_pb2
from kokokara.shipping.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UnavailableReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNAVAILABLE_REASON_UNSPECIFIED: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_OVER_WEIGHT_LIMIT: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_OVER_SIZE_LIMIT: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_DESTINATION_NOT_SERVED: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_SERVICE_SUSPENDED: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_PROHIBITED_CONTENTS: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_NO_PUBLISHED_RATE: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_INSURANCE_NOT_AVAILABLE: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_UNDER_SIZE_LIMIT: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_NOT_REQUESTED: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_NO_BOX_FITS: _ClassVar[UnavailableReason]

class TableCompleteness(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TABLE_COMPLETENESS_UNSPECIFIED: _ClassVar[TableCompleteness]
    TABLE_COMPLETENESS_COMPLETE: _ClassVar[TableCompleteness]
    TABLE_COMPLETENESS_PARTIAL: _ClassVar[TableCompleteness]

class RowChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROW_CHANGE_UNSPECIFIED: _ClassVar[RowChange]
    ROW_CHANGE_ADDED: _ClassVar[RowChange]
    ROW_CHANGE_REMOVED: _ClassVar[RowChange]
    ROW_CHANGE_CHANGED: _ClassVar[RowChange]
    ROW_CHANGE_UNCHANGED: _ClassVar[RowChange]
UNAVAILABLE_REASON_UNSPECIFIED: UnavailableReason
UNAVAILABLE_REASON_OVER_WEIGHT_LIMIT: UnavailableReason
UNAVAILABLE_REASON_OVER_SIZE_LIMIT: UnavailableReason
UNAVAILABLE_REASON_DESTINATION_NOT_SERVED: UnavailableReason
UNAVAILABLE_REASON_SERVICE_SUSPENDED: UnavailableReason
UNAVAILABLE_REASON_PROHIBITED_CONTENTS: UnavailableReason
UNAVAILABLE_REASON_NO_PUBLISHED_RATE: UnavailableReason
UNAVAILABLE_REASON_INSURANCE_NOT_AVAILABLE: UnavailableReason
UNAVAILABLE_REASON_UNDER_SIZE_LIMIT: UnavailableReason
UNAVAILABLE_REASON_NOT_REQUESTED: UnavailableReason
UNAVAILABLE_REASON_NO_BOX_FITS: UnavailableReason
TABLE_COMPLETENESS_UNSPECIFIED: TableCompleteness
TABLE_COMPLETENESS_COMPLETE: TableCompleteness
TABLE_COMPLETENESS_PARTIAL: TableCompleteness
ROW_CHANGE_UNSPECIFIED: RowChange
ROW_CHANGE_ADDED: RowChange
ROW_CHANGE_REMOVED: RowChange
ROW_CHANGE_CHANGED: RowChange
ROW_CHANGE_UNCHANGED: RowChange

class GetQuoteRequest(_message.Message):
    __slots__ = ("destination_region_code", "postal_code", "parcels", "methods", "contents", "declared_value", "insure", "ship_date", "order_date", "contents_type")
    DESTINATION_REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    PARCELS_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    DECLARED_VALUE_FIELD_NUMBER: _ClassVar[int]
    INSURE_FIELD_NUMBER: _ClassVar[int]
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    ORDER_DATE_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_TYPE_FIELD_NUMBER: _ClassVar[int]
    destination_region_code: str
    postal_code: str
    parcels: _containers.RepeatedCompositeFieldContainer[_common_pb2.Parcel]
    methods: _containers.RepeatedScalarFieldContainer[_common_pb2.ShippingMethod]
    contents: _containers.RepeatedCompositeFieldContainer[_common_pb2.ContentsItem]
    declared_value: _money_pb2.Money
    insure: bool
    ship_date: _date_pb2.Date
    order_date: _date_pb2.Date
    contents_type: _common_pb2.ContentsType
    def __init__(self, destination_region_code: _Optional[str] = ..., postal_code: _Optional[str] = ..., parcels: _Optional[_Iterable[_Union[_common_pb2.Parcel, _Mapping]]] = ..., methods: _Optional[_Iterable[_Union[_common_pb2.ShippingMethod, str]]] = ..., contents: _Optional[_Iterable[_Union[_common_pb2.ContentsItem, _Mapping]]] = ..., declared_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., insure: _Optional[bool] = ..., ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., order_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., contents_type: _Optional[_Union[_common_pb2.ContentsType, str]] = ...) -> None: ...

class GetQuoteResponse(_message.Message):
    __slots__ = ("options", "unavailable", "destination_region_code")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    options: _containers.RepeatedCompositeFieldContainer[QuoteOption]
    unavailable: _containers.RepeatedCompositeFieldContainer[UnavailableMethod]
    destination_region_code: str
    def __init__(self, options: _Optional[_Iterable[_Union[QuoteOption, _Mapping]]] = ..., unavailable: _Optional[_Iterable[_Union[UnavailableMethod, _Mapping]]] = ..., destination_region_code: _Optional[str] = ...) -> None: ...

class QuoteOption(_message.Message):
    __slots__ = ("method", "product_name", "product", "total_price", "breakdown", "zone", "billable_weight_grams", "tracked", "compensation_limit", "delivery", "rate_table", "parcels", "notes", "low_confidence")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PRICE_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    TRACKED_FIELD_NUMBER: _ClassVar[int]
    COMPENSATION_LIMIT_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    RATE_TABLE_FIELD_NUMBER: _ClassVar[int]
    PARCELS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    LOW_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    method: _common_pb2.ShippingMethod
    product_name: str
    product: _common_pb2.Product
    total_price: _money_pb2.Money
    breakdown: PriceBreakdown
    zone: int
    billable_weight_grams: int
    tracked: bool
    compensation_limit: _money_pb2.Money
    delivery: DeliveryEstimate
    rate_table: RateTableRef
    parcels: _containers.RepeatedCompositeFieldContainer[ParcelPrice]
    notes: _containers.RepeatedScalarFieldContainer[str]
    low_confidence: bool
    def __init__(self, method: _Optional[_Union[_common_pb2.ShippingMethod, str]] = ..., product_name: _Optional[str] = ..., product: _Optional[_Union[_common_pb2.Product, str]] = ..., total_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., breakdown: _Optional[_Union[PriceBreakdown, _Mapping]] = ..., zone: _Optional[int] = ..., billable_weight_grams: _Optional[int] = ..., tracked: _Optional[bool] = ..., compensation_limit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., delivery: _Optional[_Union[DeliveryEstimate, _Mapping]] = ..., rate_table: _Optional[_Union[RateTableRef, _Mapping]] = ..., parcels: _Optional[_Iterable[_Union[ParcelPrice, _Mapping]]] = ..., notes: _Optional[_Iterable[str]] = ..., low_confidence: _Optional[bool] = ...) -> None: ...

class PriceBreakdown(_message.Message):
    __slots__ = ("postage", "insurance")
    POSTAGE_FIELD_NUMBER: _ClassVar[int]
    INSURANCE_FIELD_NUMBER: _ClassVar[int]
    postage: _money_pb2.Money
    insurance: _money_pb2.Money
    def __init__(self, postage: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., insurance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ParcelPrice(_message.Message):
    __slots__ = ("billable_weight_grams", "postage", "insurance", "bracket_max_weight_grams")
    BILLABLE_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    POSTAGE_FIELD_NUMBER: _ClassVar[int]
    INSURANCE_FIELD_NUMBER: _ClassVar[int]
    BRACKET_MAX_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    billable_weight_grams: int
    postage: _money_pb2.Money
    insurance: _money_pb2.Money
    bracket_max_weight_grams: int
    def __init__(self, billable_weight_grams: _Optional[int] = ..., postage: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., insurance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., bracket_max_weight_grams: _Optional[int] = ...) -> None: ...

class DeliveryEstimate(_message.Message):
    __slots__ = ("min_days", "max_days", "earliest_arrival_date", "latest_arrival_date", "published_text")
    MIN_DAYS_FIELD_NUMBER: _ClassVar[int]
    MAX_DAYS_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_ARRIVAL_DATE_FIELD_NUMBER: _ClassVar[int]
    LATEST_ARRIVAL_DATE_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_TEXT_FIELD_NUMBER: _ClassVar[int]
    min_days: int
    max_days: int
    earliest_arrival_date: _date_pb2.Date
    latest_arrival_date: _date_pb2.Date
    published_text: str
    def __init__(self, min_days: _Optional[int] = ..., max_days: _Optional[int] = ..., earliest_arrival_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., latest_arrival_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., published_text: _Optional[str] = ...) -> None: ...

class RateTableRef(_message.Message):
    __slots__ = ("table_id", "version", "effective_date", "source", "effective_date_confirmed", "confidence")
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DATE_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    table_id: str
    version: str
    effective_date: _date_pb2.Date
    source: str
    effective_date_confirmed: bool
    confidence: str
    def __init__(self, table_id: _Optional[str] = ..., version: _Optional[str] = ..., effective_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., source: _Optional[str] = ..., effective_date_confirmed: _Optional[bool] = ..., confidence: _Optional[str] = ...) -> None: ...

class UnavailableMethod(_message.Message):
    __slots__ = ("method", "reason", "message")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    method: _common_pb2.ShippingMethod
    reason: UnavailableReason
    message: str
    def __init__(self, method: _Optional[_Union[_common_pb2.ShippingMethod, str]] = ..., reason: _Optional[_Union[UnavailableReason, str]] = ..., message: _Optional[str] = ...) -> None: ...

class BatchGetQuotesRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[GetQuoteRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[GetQuoteRequest, _Mapping]]] = ...) -> None: ...

class BatchGetQuotesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchQuoteResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchQuoteResult, _Mapping]]] = ...) -> None: ...

class BatchQuoteResult(_message.Message):
    __slots__ = ("response", "error")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    response: GetQuoteResponse
    error: _status_pb2.Status
    def __init__(self, response: _Optional[_Union[GetQuoteResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class PlanShipmentRequest(_message.Message):
    __slots__ = ("destination_region_code", "items", "boxes", "methods", "contents_type", "ship_date", "order_date", "insure", "time_budget")
    DESTINATION_REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    BOXES_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    ORDER_DATE_FIELD_NUMBER: _ClassVar[int]
    INSURE_FIELD_NUMBER: _ClassVar[int]
    TIME_BUDGET_FIELD_NUMBER: _ClassVar[int]
    destination_region_code: str
    items: _containers.RepeatedCompositeFieldContainer[CartItem]
    boxes: _containers.RepeatedCompositeFieldContainer[Box]
    methods: _containers.RepeatedScalarFieldContainer[_common_pb2.ShippingMethod]
    contents_type: _common_pb2.ContentsType
    ship_date: _date_pb2.Date
    order_date: _date_pb2.Date
    insure: bool
    time_budget: _duration_pb2.Duration
    def __init__(self, destination_region_code: _Optional[str] = ..., items: _Optional[_Iterable[_Union[CartItem, _Mapping]]] = ..., boxes: _Optional[_Iterable[_Union[Box, _Mapping]]] = ..., methods: _Optional[_Iterable[_Union[_common_pb2.ShippingMethod, str]]] = ..., contents_type: _Optional[_Union[_common_pb2.ContentsType, str]] = ..., ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., order_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., insure: _Optional[bool] = ..., time_budget: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CartItem(_message.Message):
    __slots__ = ("sku", "description", "weight_grams", "length_mm", "width_mm", "height_mm", "quantity", "unit_value", "flags")
    SKU_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_MM_FIELD_NUMBER: _ClassVar[int]
    WIDTH_MM_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_MM_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    sku: str
    description: str
    weight_grams: int
    length_mm: int
    width_mm: int
    height_mm: int
    quantity: int
    unit_value: _money_pb2.Money
    flags: _containers.RepeatedScalarFieldContainer[_common_pb2.ContentsFlag]
    def __init__(self, sku: _Optional[str] = ..., description: _Optional[str] = ..., weight_grams: _Optional[int] = ..., length_mm: _Optional[int] = ..., width_mm: _Optional[int] = ..., height_mm: _Optional[int] = ..., quantity: _Optional[int] = ..., unit_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., flags: _Optional[_Iterable[_Union[_common_pb2.ContentsFlag, str]]] = ...) -> None: ...

class Box(_message.Message):
    __slots__ = ("name", "inner_length_mm", "inner_width_mm", "inner_height_mm", "outer_length_mm", "outer_width_mm", "outer_height_mm", "tare_weight_grams")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INNER_LENGTH_MM_FIELD_NUMBER: _ClassVar[int]
    INNER_WIDTH_MM_FIELD_NUMBER: _ClassVar[int]
    INNER_HEIGHT_MM_FIELD_NUMBER: _ClassVar[int]
    OUTER_LENGTH_MM_FIELD_NUMBER: _ClassVar[int]
    OUTER_WIDTH_MM_FIELD_NUMBER: _ClassVar[int]
    OUTER_HEIGHT_MM_FIELD_NUMBER: _ClassVar[int]
    TARE_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    inner_length_mm: int
    inner_width_mm: int
    inner_height_mm: int
    outer_length_mm: int
    outer_width_mm: int
    outer_height_mm: int
    tare_weight_grams: int
    def __init__(self, name: _Optional[str] = ..., inner_length_mm: _Optional[int] = ..., inner_width_mm: _Optional[int] = ..., inner_height_mm: _Optional[int] = ..., outer_length_mm: _Optional[int] = ..., outer_width_mm: _Optional[int] = ..., outer_height_mm: _Optional[int] = ..., tare_weight_grams: _Optional[int] = ...) -> None: ...

class PlanShipmentResponse(_message.Message):
    __slots__ = ("destination_region_code", "plans", "unavailable")
    DESTINATION_REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    PLANS_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    destination_region_code: str
    plans: _containers.RepeatedCompositeFieldContainer[ShipmentPlan]
    unavailable: _containers.RepeatedCompositeFieldContainer[UnavailableMethod]
    def __init__(self, destination_region_code: _Optional[str] = ..., plans: _Optional[_Iterable[_Union[ShipmentPlan, _Mapping]]] = ..., unavailable: _Optional[_Iterable[_Union[UnavailableMethod, _Mapping]]] = ...) -> None: ...

class ShipmentPlan(_message.Message):
    __slots__ = ("method", "total_price", "optimal", "parcels")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PRICE_FIELD_NUMBER: _ClassVar[int]
    OPTIMAL_FIELD_NUMBER: _ClassVar[int]
    PARCELS_FIELD_NUMBER: _ClassVar[int]
    method: _common_pb2.ShippingMethod
    total_price: _money_pb2.Money
    optimal: bool
    parcels: _containers.RepeatedCompositeFieldContainer[PlannedParcel]
    def __init__(self, method: _Optional[_Union[_common_pb2.ShippingMethod, str]] = ..., total_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., optimal: _Optional[bool] = ..., parcels: _Optional[_Iterable[_Union[PlannedParcel, _Mapping]]] = ...) -> None: ...

class PlannedParcel(_message.Message):
    __slots__ = ("box_name", "parcel", "items", "product", "product_name", "price", "quote")
    BOX_NAME_FIELD_NUMBER: _ClassVar[int]
    PARCEL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    box_name: str
    parcel: _common_pb2.Parcel
    items: _containers.RepeatedCompositeFieldContainer[PlannedItem]
    product: _common_pb2.Product
    product_name: str
    price: _money_pb2.Money
    quote: QuoteOption
    def __init__(self, box_name: _Optional[str] = ..., parcel: _Optional[_Union[_common_pb2.Parcel, _Mapping]] = ..., items: _Optional[_Iterable[_Union[PlannedItem, _Mapping]]] = ..., product: _Optional[_Union[_common_pb2.Product, str]] = ..., product_name: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., quote: _Optional[_Union[QuoteOption, _Mapping]] = ...) -> None: ...

class PlannedItem(_message.Message):
    __slots__ = ("item_index", "sku", "description", "quantity")
    ITEM_INDEX_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    item_index: int
    sku: str
    description: str
    quantity: int
    def __init__(self, item_index: _Optional[int] = ..., sku: _Optional[str] = ..., description: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class ListRateTablesRequest(_message.Message):
    __slots__ = ("product", "as_of_date")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    product: _common_pb2.Product
    as_of_date: _date_pb2.Date
    def __init__(self, product: _Optional[_Union[_common_pb2.Product, str]] = ..., as_of_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class ListRateTablesResponse(_message.Message):
    __slots__ = ("rate_tables",)
    RATE_TABLES_FIELD_NUMBER: _ClassVar[int]
    rate_tables: _containers.RepeatedCompositeFieldContainer[RateTableInfo]
    def __init__(self, rate_tables: _Optional[_Iterable[_Union[RateTableInfo, _Mapping]]] = ...) -> None: ...

class RateTableInfo(_message.Message):
    __slots__ = ("table_id", "product", "product_name", "effective_date", "expiry_date", "effective_date_confirmed", "quotable", "in_force", "source", "confidence", "zone_scheme", "row_count", "zones", "missing_zones", "max_weight_grams", "completeness", "completeness_notes", "notes")
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DATE_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_DATE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DATE_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    QUOTABLE_FIELD_NUMBER: _ClassVar[int]
    IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ZONE_SCHEME_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    ZONES_FIELD_NUMBER: _ClassVar[int]
    MISSING_ZONES_FIELD_NUMBER: _ClassVar[int]
    MAX_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    COMPLETENESS_FIELD_NUMBER: _ClassVar[int]
    COMPLETENESS_NOTES_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    table_id: str
    product: _common_pb2.Product
    product_name: str
    effective_date: _date_pb2.Date
    expiry_date: _date_pb2.Date
    effective_date_confirmed: bool
    quotable: bool
    in_force: bool
    source: str
    confidence: str
    zone_scheme: str
    row_count: int
    zones: _containers.RepeatedScalarFieldContainer[int]
    missing_zones: _containers.RepeatedScalarFieldContainer[int]
    max_weight_grams: int
    completeness: TableCompleteness
    completeness_notes: _containers.RepeatedScalarFieldContainer[str]
    notes: str
    def __init__(self, table_id: _Optional[str] = ..., product: _Optional[_Union[_common_pb2.Product, str]] = ..., product_name: _Optional[str] = ..., effective_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., expiry_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., effective_date_confirmed: _Optional[bool] = ..., quotable: _Optional[bool] = ..., in_force: _Optional[bool] = ..., source: _Optional[str] = ..., confidence: _Optional[str] = ..., zone_scheme: _Optional[str] = ..., row_count: _Optional[int] = ..., zones: _Optional[_Iterable[int]] = ..., missing_zones: _Optional[_Iterable[int]] = ..., max_weight_grams: _Optional[int] = ..., completeness: _Optional[_Union[TableCompleteness, str]] = ..., completeness_notes: _Optional[_Iterable[str]] = ..., notes: _Optional[str] = ...) -> None: ...

class GetRateTableRequest(_message.Message):
    __slots__ = ("product", "date", "table_id", "zones", "page_size", "page_token")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    ZONES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    product: _common_pb2.Product
    date: _date_pb2.Date
    table_id: str
    zones: _containers.RepeatedScalarFieldContainer[int]
    page_size: int
    page_token: str
    def __init__(self, product: _Optional[_Union[_common_pb2.Product, str]] = ..., date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., table_id: _Optional[str] = ..., zones: _Optional[_Iterable[int]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetRateTableResponse(_message.Message):
    __slots__ = ("rate_table", "rows", "next_page_token", "total_size")
    RATE_TABLE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    rate_table: RateTableInfo
    rows: _containers.RepeatedCompositeFieldContainer[RateRow]
    next_page_token: str
    total_size: int
    def __init__(self, rate_table: _Optional[_Union[RateTableInfo, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[RateRow, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class RateRow(_message.Message):
    __slots__ = ("zone", "min_weight_grams", "max_weight_grams", "price", "source_id")
    ZONE_FIELD_NUMBER: _ClassVar[int]
    MIN_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    MAX_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    zone: int
    min_weight_grams: int
    max_weight_grams: int
    price: _money_pb2.Money
    source_id: str
    def __init__(self, zone: _Optional[int] = ..., min_weight_grams: _Optional[int] = ..., max_weight_grams: _Optional[int] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., source_id: _Optional[str] = ...) -> None: ...

class ListDestinationsRequest(_message.Message):
    __slots__ = ("region_codes", "ship_date", "page_size", "page_token")
    REGION_CODES_FIELD_NUMBER: _ClassVar[int]
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    region_codes: _containers.RepeatedScalarFieldContainer[str]
    ship_date: _date_pb2.Date
    page_size: int
    page_token: str
    def __init__(self, region_codes: _Optional[_Iterable[str]] = ..., ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDestinationsResponse(_message.Message):
    __slots__ = ("destinations", "next_page_token", "total_size", "data_as_of")
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_AS_OF_FIELD_NUMBER: _ClassVar[int]
    destinations: _containers.RepeatedCompositeFieldContainer[Destination]
    next_page_token: str
    total_size: int
    data_as_of: str
    def __init__(self, destinations: _Optional[_Iterable[_Union[Destination, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., data_as_of: _Optional[str] = ...) -> None: ...

class Destination(_message.Message):
    __slots__ = ("region_code", "country_name", "ems_zone", "parcel_zone", "letter_post_zone", "methods", "services", "acceptance_rules")
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMS_ZONE_FIELD_NUMBER: _ClassVar[int]
    PARCEL_ZONE_FIELD_NUMBER: _ClassVar[int]
    LETTER_POST_ZONE_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    ACCEPTANCE_RULES_FIELD_NUMBER: _ClassVar[int]
    region_code: str
    country_name: str
    ems_zone: int
    parcel_zone: int
    letter_post_zone: int
    methods: _containers.RepeatedCompositeFieldContainer[MethodAvailability]
    services: _containers.RepeatedCompositeFieldContainer[ServiceAcceptance]
    acceptance_rules: _containers.RepeatedCompositeFieldContainer[AcceptanceRule]
    def __init__(self, region_code: _Optional[str] = ..., country_name: _Optional[str] = ..., ems_zone: _Optional[int] = ..., parcel_zone: _Optional[int] = ..., letter_post_zone: _Optional[int] = ..., methods: _Optional[_Iterable[_Union[MethodAvailability, _Mapping]]] = ..., services: _Optional[_Iterable[_Union[ServiceAcceptance, _Mapping]]] = ..., acceptance_rules: _Optional[_Iterable[_Union[AcceptanceRule, _Mapping]]] = ...) -> None: ...

class AcceptanceRule(_message.Message):
    __slots__ = ("rule_id", "region_code", "services", "product", "status", "effective_from", "effective_to", "contents_types", "value_over", "description", "source", "read_on", "confidence", "notes")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TO_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_TYPES_FIELD_NUMBER: _ClassVar[int]
    VALUE_OVER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    READ_ON_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    region_code: str
    services: _containers.RepeatedScalarFieldContainer[str]
    product: _common_pb2.Product
    status: str
    effective_from: _date_pb2.Date
    effective_to: _date_pb2.Date
    contents_types: _containers.RepeatedScalarFieldContainer[_common_pb2.ContentsType]
    value_over: _money_pb2.Money
    description: str
    source: str
    read_on: _date_pb2.Date
    confidence: str
    notes: str
    def __init__(self, rule_id: _Optional[str] = ..., region_code: _Optional[str] = ..., services: _Optional[_Iterable[str]] = ..., product: _Optional[_Union[_common_pb2.Product, str]] = ..., status: _Optional[str] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., effective_to: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., contents_types: _Optional[_Iterable[_Union[_common_pb2.ContentsType, str]]] = ..., value_over: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., description: _Optional[str] = ..., source: _Optional[str] = ..., read_on: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., confidence: _Optional[str] = ..., notes: _Optional[str] = ...) -> None: ...

class DiffAcceptanceRequest(_message.Message):
    __slots__ = ("from_date", "to_date", "region_codes")
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    REGION_CODES_FIELD_NUMBER: _ClassVar[int]
    from_date: _date_pb2.Date
    to_date: _date_pb2.Date
    region_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, from_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., to_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., region_codes: _Optional[_Iterable[str]] = ...) -> None: ...

class DiffAcceptanceResponse(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[AcceptanceChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[AcceptanceChange, _Mapping]]] = ...) -> None: ...

class AcceptanceChange(_message.Message):
    __slots__ = ("region_code", "product", "product_name", "contents_type", "from_status", "to_status", "from_rule_id", "to_rule_id", "to_message")
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_TYPE_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    FROM_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    region_code: str
    product: _common_pb2.Product
    product_name: str
    contents_type: _common_pb2.ContentsType
    from_status: str
    to_status: str
    from_rule_id: str
    to_rule_id: str
    to_message: str
    def __init__(self, region_code: _Optional[str] = ..., product: _Optional[_Union[_common_pb2.Product, str]] = ..., product_name: _Optional[str] = ..., contents_type: _Optional[_Union[_common_pb2.ContentsType, str]] = ..., from_status: _Optional[str] = ..., to_status: _Optional[str] = ..., from_rule_id: _Optional[str] = ..., to_rule_id: _Optional[str] = ..., to_message: _Optional[str] = ...) -> None: ...

class MethodAvailability(_message.Message):
    __slots__ = ("method", "available", "reason", "message")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    method: _common_pb2.ShippingMethod
    available: bool
    reason: UnavailableReason
    message: str
    def __init__(self, method: _Optional[_Union[_common_pb2.ShippingMethod, str]] = ..., available: _Optional[bool] = ..., reason: _Optional[_Union[UnavailableReason, str]] = ..., message: _Optional[str] = ...) -> None: ...

class ServiceAcceptance(_message.Message):
    __slots__ = ("service", "status", "restriction_note", "as_of")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESTRICTION_NOTE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    service: str
    status: str
    restriction_note: str
    as_of: str
    def __init__(self, service: _Optional[str] = ..., status: _Optional[str] = ..., restriction_note: _Optional[str] = ..., as_of: _Optional[str] = ...) -> None: ...

class CompareRatesRequest(_message.Message):
    __slots__ = ("destination_region_code", "weights_grams", "methods", "ship_date", "contents_type")
    DESTINATION_REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_GRAMS_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_TYPE_FIELD_NUMBER: _ClassVar[int]
    destination_region_code: str
    weights_grams: _containers.RepeatedScalarFieldContainer[int]
    methods: _containers.RepeatedScalarFieldContainer[_common_pb2.ShippingMethod]
    ship_date: _date_pb2.Date
    contents_type: _common_pb2.ContentsType
    def __init__(self, destination_region_code: _Optional[str] = ..., weights_grams: _Optional[_Iterable[int]] = ..., methods: _Optional[_Iterable[_Union[_common_pb2.ShippingMethod, str]]] = ..., ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., contents_type: _Optional[_Union[_common_pb2.ContentsType, str]] = ...) -> None: ...

class CompareRatesResponse(_message.Message):
    __slots__ = ("destination_region_code", "ship_date", "rates")
    DESTINATION_REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    destination_region_code: str
    ship_date: _date_pb2.Date
    rates: _containers.RepeatedCompositeFieldContainer[ComparedRate]
    def __init__(self, destination_region_code: _Optional[str] = ..., ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., rates: _Optional[_Iterable[_Union[ComparedRate, _Mapping]]] = ...) -> None: ...

class ComparedRate(_message.Message):
    __slots__ = ("weight_grams", "method", "available", "price", "product", "product_name", "zone", "bracket_max_weight_grams", "table_id", "reason", "message")
    WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    BRACKET_MAX_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    weight_grams: int
    method: _common_pb2.ShippingMethod
    available: bool
    price: _money_pb2.Money
    product: _common_pb2.Product
    product_name: str
    zone: int
    bracket_max_weight_grams: int
    table_id: str
    reason: UnavailableReason
    message: str
    def __init__(self, weight_grams: _Optional[int] = ..., method: _Optional[_Union[_common_pb2.ShippingMethod, str]] = ..., available: _Optional[bool] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., product: _Optional[_Union[_common_pb2.Product, str]] = ..., product_name: _Optional[str] = ..., zone: _Optional[int] = ..., bracket_max_weight_grams: _Optional[int] = ..., table_id: _Optional[str] = ..., reason: _Optional[_Union[UnavailableReason, str]] = ..., message: _Optional[str] = ...) -> None: ...

class DiffRateTablesRequest(_message.Message):
    __slots__ = ("base_table_id", "target_table_id", "include_unchanged")
    BASE_TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    base_table_id: str
    target_table_id: str
    include_unchanged: bool
    def __init__(self, base_table_id: _Optional[str] = ..., target_table_id: _Optional[str] = ..., include_unchanged: _Optional[bool] = ...) -> None: ...

class RateRowDiff(_message.Message):
    __slots__ = ("change", "zone", "min_weight_grams", "max_weight_grams", "base_price", "target_price", "change_jpy", "change_percent")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    MIN_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    MAX_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    BASE_PRICE_FIELD_NUMBER: _ClassVar[int]
    TARGET_PRICE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_JPY_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    change: RowChange
    zone: int
    min_weight_grams: int
    max_weight_grams: int
    base_price: _money_pb2.Money
    target_price: _money_pb2.Money
    change_jpy: int
    change_percent: float
    def __init__(self, change: _Optional[_Union[RowChange, str]] = ..., zone: _Optional[int] = ..., min_weight_grams: _Optional[int] = ..., max_weight_grams: _Optional[int] = ..., base_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., target_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., change_jpy: _Optional[int] = ..., change_percent: _Optional[float] = ...) -> None: ...

class DiffRateTablesResponse(_message.Message):
    __slots__ = ("base", "target", "rows", "added_count", "removed_count", "changed_count", "unchanged_count")
    BASE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    ADDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    base: RateTableInfo
    target: RateTableInfo
    rows: _containers.RepeatedCompositeFieldContainer[RateRowDiff]
    added_count: int
    removed_count: int
    changed_count: int
    unchanged_count: int
    def __init__(self, base: _Optional[_Union[RateTableInfo, _Mapping]] = ..., target: _Optional[_Union[RateTableInfo, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[RateRowDiff, _Mapping]]] = ..., added_count: _Optional[int] = ..., removed_count: _Optional[int] = ..., changed_count: _Optional[int] = ..., unchanged_count: _Optional[int] = ...) -> None: ...
