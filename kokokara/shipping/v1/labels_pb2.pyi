import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
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

class DocumentFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_FORMAT_UNSPECIFIED: _ClassVar[DocumentFormat]
    DOCUMENT_FORMAT_PDF_A6: _ClassVar[DocumentFormat]
    DOCUMENT_FORMAT_PDF_4X6: _ClassVar[DocumentFormat]
    DOCUMENT_FORMAT_ZPL_4X6: _ClassVar[DocumentFormat]

class NonDeliveryInstruction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NON_DELIVERY_INSTRUCTION_UNSPECIFIED: _ClassVar[NonDeliveryInstruction]
    NON_DELIVERY_INSTRUCTION_RETURN_TO_SENDER: _ClassVar[NonDeliveryInstruction]
    NON_DELIVERY_INSTRUCTION_TREAT_AS_ABANDONED: _ClassVar[NonDeliveryInstruction]

class CustomsForm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CUSTOMS_FORM_UNSPECIFIED: _ClassVar[CustomsForm]
    CUSTOMS_FORM_CN22: _ClassVar[CustomsForm]
    CUSTOMS_FORM_CN23: _ClassVar[CustomsForm]

class LabelStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LABEL_STATUS_UNSPECIFIED: _ClassVar[LabelStatus]
    LABEL_STATUS_ACTIVE: _ClassVar[LabelStatus]
    LABEL_STATUS_VOIDED: _ClassVar[LabelStatus]

class ManifestFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MANIFEST_FORMAT_UNSPECIFIED: _ClassVar[ManifestFormat]
    MANIFEST_FORMAT_CSV: _ClassVar[ManifestFormat]
    MANIFEST_FORMAT_PDF: _ClassVar[ManifestFormat]
DOCUMENT_FORMAT_UNSPECIFIED: DocumentFormat
DOCUMENT_FORMAT_PDF_A6: DocumentFormat
DOCUMENT_FORMAT_PDF_4X6: DocumentFormat
DOCUMENT_FORMAT_ZPL_4X6: DocumentFormat
NON_DELIVERY_INSTRUCTION_UNSPECIFIED: NonDeliveryInstruction
NON_DELIVERY_INSTRUCTION_RETURN_TO_SENDER: NonDeliveryInstruction
NON_DELIVERY_INSTRUCTION_TREAT_AS_ABANDONED: NonDeliveryInstruction
CUSTOMS_FORM_UNSPECIFIED: CustomsForm
CUSTOMS_FORM_CN22: CustomsForm
CUSTOMS_FORM_CN23: CustomsForm
LABEL_STATUS_UNSPECIFIED: LabelStatus
LABEL_STATUS_ACTIVE: LabelStatus
LABEL_STATUS_VOIDED: LabelStatus
MANIFEST_FORMAT_UNSPECIFIED: ManifestFormat
MANIFEST_FORMAT_CSV: ManifestFormat
MANIFEST_FORMAT_PDF: ManifestFormat

class Address(_message.Message):
    __slots__ = ("name", "company", "address_lines", "city", "administrative_area", "postal_code", "region_code", "phone", "email", "sublocality", "sorting_code", "latin")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMPANY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_LINES_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    ADMINISTRATIVE_AREA_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    SUBLOCALITY_FIELD_NUMBER: _ClassVar[int]
    SORTING_CODE_FIELD_NUMBER: _ClassVar[int]
    LATIN_FIELD_NUMBER: _ClassVar[int]
    name: str
    company: str
    address_lines: _containers.RepeatedScalarFieldContainer[str]
    city: str
    administrative_area: str
    postal_code: str
    region_code: str
    phone: str
    email: str
    sublocality: str
    sorting_code: str
    latin: Address
    def __init__(self, name: _Optional[str] = ..., company: _Optional[str] = ..., address_lines: _Optional[_Iterable[str]] = ..., city: _Optional[str] = ..., administrative_area: _Optional[str] = ..., postal_code: _Optional[str] = ..., region_code: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., sublocality: _Optional[str] = ..., sorting_code: _Optional[str] = ..., latin: _Optional[_Union[Address, _Mapping]] = ...) -> None: ...

class CustomsItem(_message.Message):
    __slots__ = ("description", "hs_code", "quantity", "unit_value", "net_weight_grams", "origin_region_code", "flags")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    HS_CODE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_VALUE_FIELD_NUMBER: _ClassVar[int]
    NET_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    description: str
    hs_code: str
    quantity: int
    unit_value: _money_pb2.Money
    net_weight_grams: int
    origin_region_code: str
    flags: _containers.RepeatedScalarFieldContainer[_common_pb2.ContentsFlag]
    def __init__(self, description: _Optional[str] = ..., hs_code: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., net_weight_grams: _Optional[int] = ..., origin_region_code: _Optional[str] = ..., flags: _Optional[_Iterable[_Union[_common_pb2.ContentsFlag, str]]] = ...) -> None: ...

class CustomsDetails(_message.Message):
    __slots__ = ("non_delivery", "invoice_number", "licence_numbers", "certificate_numbers", "comments", "importer_reference", "ioss_number", "uk_vat_number", "voec_number", "au_gst_number")
    NON_DELIVERY_FIELD_NUMBER: _ClassVar[int]
    INVOICE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LICENCE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    COMMENTS_FIELD_NUMBER: _ClassVar[int]
    IMPORTER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IOSS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    UK_VAT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    VOEC_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AU_GST_NUMBER_FIELD_NUMBER: _ClassVar[int]
    non_delivery: NonDeliveryInstruction
    invoice_number: str
    licence_numbers: _containers.RepeatedScalarFieldContainer[str]
    certificate_numbers: _containers.RepeatedScalarFieldContainer[str]
    comments: str
    importer_reference: str
    ioss_number: str
    uk_vat_number: str
    voec_number: str
    au_gst_number: str
    def __init__(self, non_delivery: _Optional[_Union[NonDeliveryInstruction, str]] = ..., invoice_number: _Optional[str] = ..., licence_numbers: _Optional[_Iterable[str]] = ..., certificate_numbers: _Optional[_Iterable[str]] = ..., comments: _Optional[str] = ..., importer_reference: _Optional[str] = ..., ioss_number: _Optional[str] = ..., uk_vat_number: _Optional[str] = ..., voec_number: _Optional[str] = ..., au_gst_number: _Optional[str] = ...) -> None: ...

class CreateLabelRequest(_message.Message):
    __slots__ = ("request_id", "method", "sender", "recipient", "parcel", "customs_items", "contents_type", "document_format", "ship_date", "insure", "customs")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    PARCEL_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_ITEMS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_TYPE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    INSURE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    method: _common_pb2.ShippingMethod
    sender: Address
    recipient: Address
    parcel: _common_pb2.Parcel
    customs_items: _containers.RepeatedCompositeFieldContainer[CustomsItem]
    contents_type: _common_pb2.ContentsType
    document_format: DocumentFormat
    ship_date: _date_pb2.Date
    insure: bool
    customs: CustomsDetails
    def __init__(self, request_id: _Optional[str] = ..., method: _Optional[_Union[_common_pb2.ShippingMethod, str]] = ..., sender: _Optional[_Union[Address, _Mapping]] = ..., recipient: _Optional[_Union[Address, _Mapping]] = ..., parcel: _Optional[_Union[_common_pb2.Parcel, _Mapping]] = ..., customs_items: _Optional[_Iterable[_Union[CustomsItem, _Mapping]]] = ..., contents_type: _Optional[_Union[_common_pb2.ContentsType, str]] = ..., document_format: _Optional[_Union[DocumentFormat, str]] = ..., ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., insure: _Optional[bool] = ..., customs: _Optional[_Union[CustomsDetails, _Mapping]] = ...) -> None: ...

class CreateLabelResponse(_message.Message):
    __slots__ = ("label", "replayed")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    label: Label
    replayed: bool
    def __init__(self, label: _Optional[_Union[Label, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("format", "content_type", "content")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    format: DocumentFormat
    content_type: str
    content: bytes
    def __init__(self, format: _Optional[_Union[DocumentFormat, str]] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...

class Label(_message.Message):
    __slots__ = ("id", "tracking_number", "method", "product", "product_name", "create_time", "ship_date", "status", "void_time", "customs_form", "price", "declared_value", "export_declaration_required", "request_id", "sender", "recipient", "parcel", "customs_items", "contents_type", "documents", "notes", "customs", "contents_withheld")
    ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VOID_TIME_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_FORM_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    DECLARED_VALUE_FIELD_NUMBER: _ClassVar[int]
    EXPORT_DECLARATION_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    PARCEL_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_ITEMS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_TYPE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_WITHHELD_FIELD_NUMBER: _ClassVar[int]
    id: str
    tracking_number: str
    method: _common_pb2.ShippingMethod
    product: _common_pb2.Product
    product_name: str
    create_time: _timestamp_pb2.Timestamp
    ship_date: _date_pb2.Date
    status: LabelStatus
    void_time: _timestamp_pb2.Timestamp
    customs_form: CustomsForm
    price: _money_pb2.Money
    declared_value: _money_pb2.Money
    export_declaration_required: bool
    request_id: str
    sender: Address
    recipient: Address
    parcel: _common_pb2.Parcel
    customs_items: _containers.RepeatedCompositeFieldContainer[CustomsItem]
    contents_type: _common_pb2.ContentsType
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    notes: _containers.RepeatedScalarFieldContainer[str]
    customs: CustomsDetails
    contents_withheld: bool
    def __init__(self, id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., method: _Optional[_Union[_common_pb2.ShippingMethod, str]] = ..., product: _Optional[_Union[_common_pb2.Product, str]] = ..., product_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., status: _Optional[_Union[LabelStatus, str]] = ..., void_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., customs_form: _Optional[_Union[CustomsForm, str]] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., declared_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., export_declaration_required: _Optional[bool] = ..., request_id: _Optional[str] = ..., sender: _Optional[_Union[Address, _Mapping]] = ..., recipient: _Optional[_Union[Address, _Mapping]] = ..., parcel: _Optional[_Union[_common_pb2.Parcel, _Mapping]] = ..., customs_items: _Optional[_Iterable[_Union[CustomsItem, _Mapping]]] = ..., contents_type: _Optional[_Union[_common_pb2.ContentsType, str]] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., notes: _Optional[_Iterable[str]] = ..., customs: _Optional[_Union[CustomsDetails, _Mapping]] = ..., contents_withheld: _Optional[bool] = ...) -> None: ...

class GetLabelRequest(_message.Message):
    __slots__ = ("id", "document_format", "skip_documents")
    ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SKIP_DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    document_format: DocumentFormat
    skip_documents: bool
    def __init__(self, id: _Optional[str] = ..., document_format: _Optional[_Union[DocumentFormat, str]] = ..., skip_documents: _Optional[bool] = ...) -> None: ...

class GetLabelResponse(_message.Message):
    __slots__ = ("label",)
    LABEL_FIELD_NUMBER: _ClassVar[int]
    label: Label
    def __init__(self, label: _Optional[_Union[Label, _Mapping]] = ...) -> None: ...

class ListLabelsRequest(_message.Message):
    __slots__ = ("ship_date", "status", "page_size", "page_token", "tracking_number")
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ship_date: _date_pb2.Date
    status: LabelStatus
    page_size: int
    page_token: str
    tracking_number: str
    def __init__(self, ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., status: _Optional[_Union[LabelStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., tracking_number: _Optional[str] = ...) -> None: ...

class ListLabelsResponse(_message.Message):
    __slots__ = ("labels", "next_page_token")
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    next_page_token: str
    def __init__(self, labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VoidLabelRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class VoidLabelResponse(_message.Message):
    __slots__ = ("label",)
    LABEL_FIELD_NUMBER: _ClassVar[int]
    label: Label
    def __init__(self, label: _Optional[_Union[Label, _Mapping]] = ...) -> None: ...

class GetManifestRequest(_message.Message):
    __slots__ = ("ship_date", "format")
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ship_date: _date_pb2.Date
    format: ManifestFormat
    def __init__(self, ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., format: _Optional[_Union[ManifestFormat, str]] = ...) -> None: ...

class ManifestProductTotal(_message.Message):
    __slots__ = ("product", "product_name", "label_count", "total_weight_grams", "total_price", "total_declared_value")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DECLARED_VALUE_FIELD_NUMBER: _ClassVar[int]
    product: _common_pb2.Product
    product_name: str
    label_count: int
    total_weight_grams: int
    total_price: _money_pb2.Money
    total_declared_value: _money_pb2.Money
    def __init__(self, product: _Optional[_Union[_common_pb2.Product, str]] = ..., product_name: _Optional[str] = ..., label_count: _Optional[int] = ..., total_weight_grams: _Optional[int] = ..., total_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total_declared_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class GetManifestResponse(_message.Message):
    __slots__ = ("ship_date", "label_count", "products", "format", "content_type", "content")
    SHIP_DATE_FIELD_NUMBER: _ClassVar[int]
    LABEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ship_date: _date_pb2.Date
    label_count: int
    products: _containers.RepeatedCompositeFieldContainer[ManifestProductTotal]
    format: ManifestFormat
    content_type: str
    content: bytes
    def __init__(self, ship_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., label_count: _Optional[int] = ..., products: _Optional[_Iterable[_Union[ManifestProductTotal, _Mapping]]] = ..., format: _Optional[_Union[ManifestFormat, str]] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...
