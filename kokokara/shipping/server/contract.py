"""The API contract's bounds on a request and its enums as the domain's: one module, read by the
servicers, the wire encoder and the compiled quote kernel's configuration, so a bound or an enum
value is written once.

The bounds are where a request stops being merely too big for a product (OVER_WEIGHT_LIMIT, an
answer) and becomes absurd (INVALID_ARGUMENT naming the field)."""

from __future__ import annotations

from kokokara.shipping.v1 import common_pb2, rates_pb2
from rates import model

MAX_PARCELS = 50
MAX_CONTENTS = 200
MAX_BATCH = 1000
MAX_WEIGHT_G = 100_000
MAX_SIDE_MM = 5_000
MAX_VALUE_JPY = 1_000_000_000
MAX_QUANTITY = 1_000_000
MAX_METHODS = 20
MAX_POSTAL_CODE = 32
# PlanShipment: cart lines, units over all lines, boxes in a request's catalogue, the time budget,
# and the length of an item's SKU or description.
MAX_PLAN_ITEMS = 200
MAX_PLAN_UNITS = 500
MAX_BOXES = 100
MAX_PLAN_BUDGET_MS = 10_000
MAX_ITEM_TEXT = 200

METHOD_TO_PROTO = {m: common_pb2.ShippingMethod.Value(f"SHIPPING_METHOD_{m.name}") for m in model.Method}
METHOD_FROM_PROTO = {v: k for k, v in METHOD_TO_PROTO.items()}
PRODUCT_TO_PROTO = {p: common_pb2.Product.Value(f"PRODUCT_{p.name}") for p in model.Product}
REASON_TO_PROTO = {r: rates_pb2.UnavailableReason.Value(f"UNAVAILABLE_REASON_{r.name}") for r in model.Reason}
FLAG_FROM_PROTO = {common_pb2.ContentsFlag.Value(f"CONTENTS_FLAG_{f.name}"): f for f in model.ContentsFlag}
CONTENTS_TYPE_TO_PROTO = {c: common_pb2.ContentsType.Value(f"CONTENTS_TYPE_{c.name}") for c in model.ContentsType}
# Declared contents types; CONTENTS_TYPE_UNSPECIFIED is not among them: a quote reads it as
# merchandise, a label must say what it holds.
CONTENTS_TYPE_FROM_PROTO = {v: k for k, v in CONTENTS_TYPE_TO_PROTO.items()}


def quoted_contents_type(value: int) -> model.ContentsType | None:
    """A quote's contents type: unspecified means merchandise (the shop's case); None if unknown."""
    return model.ContentsType.MERCHANDISE if value == common_pb2.CONTENTS_TYPE_UNSPECIFIED else CONTENTS_TYPE_FROM_PROTO.get(value)
