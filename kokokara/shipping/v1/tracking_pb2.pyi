import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.type import datetime_pb2 as _datetime_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrackingEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACKING_EVENT_TYPE_UNSPECIFIED: _ClassVar[TrackingEventType]
    TRACKING_EVENT_TYPE_NEW_EVENT: _ClassVar[TrackingEventType]
    TRACKING_EVENT_TYPE_STATUS_CHANGED: _ClassVar[TrackingEventType]
    TRACKING_EVENT_TYPE_QUIET: _ClassVar[TrackingEventType]
    TRACKING_EVENT_TYPE_DELIVERED: _ClassVar[TrackingEventType]
    TRACKING_EVENT_TYPE_RETURNED: _ClassVar[TrackingEventType]

class TrackingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACKING_STATUS_UNSPECIFIED: _ClassVar[TrackingStatus]
    TRACKING_STATUS_INFO_RECEIVED: _ClassVar[TrackingStatus]
    TRACKING_STATUS_IN_TRANSIT: _ClassVar[TrackingStatus]
    TRACKING_STATUS_IN_CUSTOMS: _ClassVar[TrackingStatus]
    TRACKING_STATUS_OUT_FOR_DELIVERY: _ClassVar[TrackingStatus]
    TRACKING_STATUS_ATTEMPT_FAIL: _ClassVar[TrackingStatus]
    TRACKING_STATUS_AVAILABLE_FOR_PICKUP: _ClassVar[TrackingStatus]
    TRACKING_STATUS_DELIVERED: _ClassVar[TrackingStatus]
    TRACKING_STATUS_RETURNED: _ClassVar[TrackingStatus]
    TRACKING_STATUS_EXCEPTION: _ClassVar[TrackingStatus]
    TRACKING_STATUS_NOT_FOUND: _ClassVar[TrackingStatus]
    TRACKING_STATUS_EXPIRED: _ClassVar[TrackingStatus]
    TRACKING_STATUS_UNKNOWN: _ClassVar[TrackingStatus]

class TrackingProduct(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACKING_PRODUCT_UNSPECIFIED: _ClassVar[TrackingProduct]
    TRACKING_PRODUCT_EMS: _ClassVar[TrackingProduct]
    TRACKING_PRODUCT_PARCEL: _ClassVar[TrackingProduct]
    TRACKING_PRODUCT_TRACKED_LETTER: _ClassVar[TrackingProduct]
    TRACKING_PRODUCT_REGISTERED_LETTER: _ClassVar[TrackingProduct]
    TRACKING_PRODUCT_OTHER: _ClassVar[TrackingProduct]

class TrackingSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACKING_SOURCE_UNSPECIFIED: _ClassVar[TrackingSource]
    TRACKING_SOURCE_CACHE: _ClassVar[TrackingSource]
    TRACKING_SOURCE_CARRIER: _ClassVar[TrackingSource]
    TRACKING_SOURCE_STALE_CACHE: _ClassVar[TrackingSource]
TRACKING_EVENT_TYPE_UNSPECIFIED: TrackingEventType
TRACKING_EVENT_TYPE_NEW_EVENT: TrackingEventType
TRACKING_EVENT_TYPE_STATUS_CHANGED: TrackingEventType
TRACKING_EVENT_TYPE_QUIET: TrackingEventType
TRACKING_EVENT_TYPE_DELIVERED: TrackingEventType
TRACKING_EVENT_TYPE_RETURNED: TrackingEventType
TRACKING_STATUS_UNSPECIFIED: TrackingStatus
TRACKING_STATUS_INFO_RECEIVED: TrackingStatus
TRACKING_STATUS_IN_TRANSIT: TrackingStatus
TRACKING_STATUS_IN_CUSTOMS: TrackingStatus
TRACKING_STATUS_OUT_FOR_DELIVERY: TrackingStatus
TRACKING_STATUS_ATTEMPT_FAIL: TrackingStatus
TRACKING_STATUS_AVAILABLE_FOR_PICKUP: TrackingStatus
TRACKING_STATUS_DELIVERED: TrackingStatus
TRACKING_STATUS_RETURNED: TrackingStatus
TRACKING_STATUS_EXCEPTION: TrackingStatus
TRACKING_STATUS_NOT_FOUND: TrackingStatus
TRACKING_STATUS_EXPIRED: TrackingStatus
TRACKING_STATUS_UNKNOWN: TrackingStatus
TRACKING_PRODUCT_UNSPECIFIED: TrackingProduct
TRACKING_PRODUCT_EMS: TrackingProduct
TRACKING_PRODUCT_PARCEL: TrackingProduct
TRACKING_PRODUCT_TRACKED_LETTER: TrackingProduct
TRACKING_PRODUCT_REGISTERED_LETTER: TrackingProduct
TRACKING_PRODUCT_OTHER: TrackingProduct
TRACKING_SOURCE_UNSPECIFIED: TrackingSource
TRACKING_SOURCE_CACHE: TrackingSource
TRACKING_SOURCE_CARRIER: TrackingSource
TRACKING_SOURCE_STALE_CACHE: TrackingSource

class WatchParcelRequest(_message.Message):
    __slots__ = ("tracking_number", "order_reference", "webhook_endpoint_id")
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    tracking_number: str
    order_reference: str
    webhook_endpoint_id: str
    def __init__(self, tracking_number: _Optional[str] = ..., order_reference: _Optional[str] = ..., webhook_endpoint_id: _Optional[str] = ...) -> None: ...

class UnwatchParcelRequest(_message.Message):
    __slots__ = ("tracking_number",)
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    tracking_number: str
    def __init__(self, tracking_number: _Optional[str] = ...) -> None: ...

class UnwatchParcelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchedParcel(_message.Message):
    __slots__ = ("tracking_number", "order_reference", "webhook_endpoint_id", "status", "final", "event_count", "create_time", "last_change_time", "next_poll_time", "last_poll_time", "quiet")
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_POLL_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_POLL_TIME_FIELD_NUMBER: _ClassVar[int]
    QUIET_FIELD_NUMBER: _ClassVar[int]
    tracking_number: str
    order_reference: str
    webhook_endpoint_id: str
    status: TrackingStatus
    final: bool
    event_count: int
    create_time: _timestamp_pb2.Timestamp
    last_change_time: _timestamp_pb2.Timestamp
    next_poll_time: _timestamp_pb2.Timestamp
    last_poll_time: _timestamp_pb2.Timestamp
    quiet: bool
    def __init__(self, tracking_number: _Optional[str] = ..., order_reference: _Optional[str] = ..., webhook_endpoint_id: _Optional[str] = ..., status: _Optional[_Union[TrackingStatus, str]] = ..., final: _Optional[bool] = ..., event_count: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_poll_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_poll_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quiet: _Optional[bool] = ...) -> None: ...

class ListWatchedParcelsRequest(_message.Message):
    __slots__ = ("status", "quiet_for_days", "order_reference", "page_size", "page_token", "quiet_only", "tracking_number")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    QUIET_FOR_DAYS_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    QUIET_ONLY_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    status: TrackingStatus
    quiet_for_days: int
    order_reference: str
    page_size: int
    page_token: str
    quiet_only: bool
    tracking_number: str
    def __init__(self, status: _Optional[_Union[TrackingStatus, str]] = ..., quiet_for_days: _Optional[int] = ..., order_reference: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., quiet_only: _Optional[bool] = ..., tracking_number: _Optional[str] = ...) -> None: ...

class ListWatchedParcelsResponse(_message.Message):
    __slots__ = ("parcels", "next_page_token")
    PARCELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parcels: _containers.RepeatedCompositeFieldContainer[WatchedParcel]
    next_page_token: str
    def __init__(self, parcels: _Optional[_Iterable[_Union[WatchedParcel, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TrackingEventRecord(_message.Message):
    __slots__ = ("event_id", "sequence", "type", "tracking_number", "order_reference", "status", "create_time", "event")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    sequence: int
    type: TrackingEventType
    tracking_number: str
    order_reference: str
    status: TrackingStatus
    create_time: _timestamp_pb2.Timestamp
    event: TrackingEvent
    def __init__(self, event_id: _Optional[str] = ..., sequence: _Optional[int] = ..., type: _Optional[_Union[TrackingEventType, str]] = ..., tracking_number: _Optional[str] = ..., order_reference: _Optional[str] = ..., status: _Optional[_Union[TrackingStatus, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event: _Optional[_Union[TrackingEvent, _Mapping]] = ...) -> None: ...

class ListTrackingEventsRequest(_message.Message):
    __slots__ = ("after_sequence", "tracking_number", "page_size")
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    tracking_number: str
    page_size: int
    def __init__(self, after_sequence: _Optional[int] = ..., tracking_number: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListTrackingEventsResponse(_message.Message):
    __slots__ = ("events", "last_sequence")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[TrackingEventRecord]
    last_sequence: int
    def __init__(self, events: _Optional[_Iterable[_Union[TrackingEventRecord, _Mapping]]] = ..., last_sequence: _Optional[int] = ...) -> None: ...

class WebhookEndpoint(_message.Message):
    __slots__ = ("id", "url", "secret", "create_time", "from_file")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_FILE_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    secret: str
    create_time: _timestamp_pb2.Timestamp
    from_file: bool
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., secret: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_file: _Optional[bool] = ...) -> None: ...

class CreateWebhookEndpointRequest(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...

class ListWebhookEndpointsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWebhookEndpointsResponse(_message.Message):
    __slots__ = ("endpoints",)
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    endpoints: _containers.RepeatedCompositeFieldContainer[WebhookEndpoint]
    def __init__(self, endpoints: _Optional[_Iterable[_Union[WebhookEndpoint, _Mapping]]] = ...) -> None: ...

class DeleteWebhookEndpointRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteWebhookEndpointResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDeadDeliveriesRequest(_message.Message):
    __slots__ = ("page_size",)
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    def __init__(self, page_size: _Optional[int] = ...) -> None: ...

class DeadDelivery(_message.Message):
    __slots__ = ("event_id", "endpoint_id", "tracking_number", "attempts", "last_error", "dead_time")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    DEAD_TIME_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    endpoint_id: str
    tracking_number: str
    attempts: int
    last_error: str
    dead_time: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., endpoint_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., dead_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDeadDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[DeadDelivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[DeadDelivery, _Mapping]]] = ...) -> None: ...

class GetTrackingRequest(_message.Message):
    __slots__ = ("tracking_number",)
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    tracking_number: str
    def __init__(self, tracking_number: _Optional[str] = ...) -> None: ...

class BatchGetTrackingRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[GetTrackingRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[GetTrackingRequest, _Mapping]]] = ...) -> None: ...

class BatchGetTrackingResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchTrackingResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchTrackingResult, _Mapping]]] = ...) -> None: ...

class BatchTrackingResult(_message.Message):
    __slots__ = ("tracking", "error")
    TRACKING_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    tracking: Tracking
    error: _status_pb2.Status
    def __init__(self, tracking: _Optional[_Union[Tracking, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class WatchTrackingRequest(_message.Message):
    __slots__ = ("tracking_number",)
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    tracking_number: str
    def __init__(self, tracking_number: _Optional[str] = ...) -> None: ...

class Tracking(_message.Message):
    __slots__ = ("tracking_number", "product", "status", "final", "events", "carrier_product_text", "fetch_time", "source", "next_refresh_time")
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CARRIER_PRODUCT_TEXT_FIELD_NUMBER: _ClassVar[int]
    FETCH_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NEXT_REFRESH_TIME_FIELD_NUMBER: _ClassVar[int]
    tracking_number: str
    product: TrackingProduct
    status: TrackingStatus
    final: bool
    events: _containers.RepeatedCompositeFieldContainer[TrackingEvent]
    carrier_product_text: str
    fetch_time: _timestamp_pb2.Timestamp
    source: TrackingSource
    next_refresh_time: _timestamp_pb2.Timestamp
    def __init__(self, tracking_number: _Optional[str] = ..., product: _Optional[_Union[TrackingProduct, str]] = ..., status: _Optional[_Union[TrackingStatus, str]] = ..., final: _Optional[bool] = ..., events: _Optional[_Iterable[_Union[TrackingEvent, _Mapping]]] = ..., carrier_product_text: _Optional[str] = ..., fetch_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[TrackingSource, str]] = ..., next_refresh_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TrackingEvent(_message.Message):
    __slots__ = ("occurrence_time_text", "occurrence_time", "carrier_status_text", "status", "details", "office", "location", "postal_code")
    OCCURRENCE_TIME_TEXT_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCE_TIME_FIELD_NUMBER: _ClassVar[int]
    CARRIER_STATUS_TEXT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    occurrence_time_text: str
    occurrence_time: _datetime_pb2.DateTime
    carrier_status_text: str
    status: TrackingStatus
    details: str
    office: str
    location: str
    postal_code: str
    def __init__(self, occurrence_time_text: _Optional[str] = ..., occurrence_time: _Optional[_Union[_datetime_pb2.DateTime, _Mapping]] = ..., carrier_status_text: _Optional[str] = ..., status: _Optional[_Union[TrackingStatus, str]] = ..., details: _Optional[str] = ..., office: _Optional[str] = ..., location: _Optional[str] = ..., postal_code: _Optional[str] = ...) -> None: ...
