from google.type import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ShippingMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHIPPING_METHOD_UNSPECIFIED: _ClassVar[ShippingMethod]
    SHIPPING_METHOD_EMS: _ClassVar[ShippingMethod]
    SHIPPING_METHOD_AIRMAIL: _ClassVar[ShippingMethod]
    SHIPPING_METHOD_EPACKET: _ClassVar[ShippingMethod]
    SHIPPING_METHOD_SEA: _ClassVar[ShippingMethod]
    SHIPPING_METHOD_CONSOLIDATION: _ClassVar[ShippingMethod]

class Product(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_UNSPECIFIED: _ClassVar[Product]
    PRODUCT_EMS: _ClassVar[Product]
    PRODUCT_SMALL_PACKET_AIR: _ClassVar[Product]
    PRODUCT_PARCEL_AIR: _ClassVar[Product]
    PRODUCT_AIR_PACKET: _ClassVar[Product]
    PRODUCT_PARCEL_SURFACE: _ClassVar[Product]
    PRODUCT_CONSOLIDATION: _ClassVar[Product]
    PRODUCT_EPACKET_2021: _ClassVar[Product]
    PRODUCT_EMS_2021_SURCHARGE: _ClassVar[Product]

class ContentsFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTENTS_FLAG_UNSPECIFIED: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_LITHIUM_BATTERY_IN_EQUIPMENT: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_LITHIUM_BATTERY_LOOSE: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_FLAMMABLE_LIQUID: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_AEROSOL: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_PERFUME_WITH_ALCOHOL: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_NAIL_POLISH: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_FLAMMABLE_SOLID: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_EXPLOSIVE: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_OXIDIZER: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_TOXIC: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_CORROSIVE: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_RADIOACTIVE: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_NARCOTIC: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_LIVE_ANIMAL: _ClassVar[ContentsFlag]
    CONTENTS_FLAG_OBSCENE: _ClassVar[ContentsFlag]

class ContentsType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTENTS_TYPE_UNSPECIFIED: _ClassVar[ContentsType]
    CONTENTS_TYPE_MERCHANDISE: _ClassVar[ContentsType]
    CONTENTS_TYPE_GIFT: _ClassVar[ContentsType]
    CONTENTS_TYPE_SAMPLE: _ClassVar[ContentsType]
    CONTENTS_TYPE_DOCUMENTS: _ClassVar[ContentsType]
    CONTENTS_TYPE_RETURNED_GOODS: _ClassVar[ContentsType]
SHIPPING_METHOD_UNSPECIFIED: ShippingMethod
SHIPPING_METHOD_EMS: ShippingMethod
SHIPPING_METHOD_AIRMAIL: ShippingMethod
SHIPPING_METHOD_EPACKET: ShippingMethod
SHIPPING_METHOD_SEA: ShippingMethod
SHIPPING_METHOD_CONSOLIDATION: ShippingMethod
PRODUCT_UNSPECIFIED: Product
PRODUCT_EMS: Product
PRODUCT_SMALL_PACKET_AIR: Product
PRODUCT_PARCEL_AIR: Product
PRODUCT_AIR_PACKET: Product
PRODUCT_PARCEL_SURFACE: Product
PRODUCT_CONSOLIDATION: Product
PRODUCT_EPACKET_2021: Product
PRODUCT_EMS_2021_SURCHARGE: Product
CONTENTS_FLAG_UNSPECIFIED: ContentsFlag
CONTENTS_FLAG_LITHIUM_BATTERY_IN_EQUIPMENT: ContentsFlag
CONTENTS_FLAG_LITHIUM_BATTERY_LOOSE: ContentsFlag
CONTENTS_FLAG_FLAMMABLE_LIQUID: ContentsFlag
CONTENTS_FLAG_AEROSOL: ContentsFlag
CONTENTS_FLAG_PERFUME_WITH_ALCOHOL: ContentsFlag
CONTENTS_FLAG_NAIL_POLISH: ContentsFlag
CONTENTS_FLAG_FLAMMABLE_SOLID: ContentsFlag
CONTENTS_FLAG_EXPLOSIVE: ContentsFlag
CONTENTS_FLAG_OXIDIZER: ContentsFlag
CONTENTS_FLAG_TOXIC: ContentsFlag
CONTENTS_FLAG_CORROSIVE: ContentsFlag
CONTENTS_FLAG_RADIOACTIVE: ContentsFlag
CONTENTS_FLAG_NARCOTIC: ContentsFlag
CONTENTS_FLAG_LIVE_ANIMAL: ContentsFlag
CONTENTS_FLAG_OBSCENE: ContentsFlag
CONTENTS_TYPE_UNSPECIFIED: ContentsType
CONTENTS_TYPE_MERCHANDISE: ContentsType
CONTENTS_TYPE_GIFT: ContentsType
CONTENTS_TYPE_SAMPLE: ContentsType
CONTENTS_TYPE_DOCUMENTS: ContentsType
CONTENTS_TYPE_RETURNED_GOODS: ContentsType

class Parcel(_message.Message):
    __slots__ = ("weight_grams", "length_mm", "width_mm", "height_mm")
    WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_MM_FIELD_NUMBER: _ClassVar[int]
    WIDTH_MM_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_MM_FIELD_NUMBER: _ClassVar[int]
    weight_grams: int
    length_mm: int
    width_mm: int
    height_mm: int
    def __init__(self, weight_grams: _Optional[int] = ..., length_mm: _Optional[int] = ..., width_mm: _Optional[int] = ..., height_mm: _Optional[int] = ...) -> None: ...

class ContentsItem(_message.Message):
    __slots__ = ("description", "quantity", "value", "flags")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    description: str
    quantity: int
    value: _money_pb2.Money
    flags: _containers.RepeatedScalarFieldContainer[ContentsFlag]
    def __init__(self, description: _Optional[str] = ..., quantity: _Optional[int] = ..., value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., flags: _Optional[_Iterable[_Union[ContentsFlag, str]]] = ...) -> None: ...
