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
