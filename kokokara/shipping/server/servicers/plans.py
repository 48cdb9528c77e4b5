"""PlanShipment's translation: the request into the packing domain's PlanRequest (every bad field
named at once), the domain's ShipmentPlan into the response. The planning is rates/packing.py's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.errors import ViolationCollector
from kokokara.shipping.server.contract import (
    FLAG_FROM_PROTO,
    MAX_BOXES,
    MAX_ITEM_TEXT,
    MAX_PLAN_BUDGET_MS,
    MAX_PLAN_ITEMS,
    MAX_PLAN_UNITS,
    MAX_SIDE_MM,
    MAX_VALUE_JPY,
    MAX_WEIGHT_G,
    METHOD_FROM_PROTO,
    METHOD_TO_PROTO,
    PRODUCT_TO_PROTO,
    quoted_contents_type,
)
from kokokara.shipping.server.convert import date_from_proto, yen, yen_from_proto
from kokokara.shipping.server.fast import wire
from kokokara.shipping.v1 import common_pb2, rates_pb2
from rates import cart, model, packing
from rates.quote import QuoteEngine


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """The service's defaults for plans: its box catalogue, time budget and fill factor."""

    boxes: tuple[cart.Box, ...]
    budget_ms: int = 50
    fill_factor: float = cart.DEFAULT_FILL_FACTOR


def plan_request_from_proto(
    msg: rates_pb2.PlanShipmentRequest, known_regions: frozenset[str], today: date, defaults: PlanSettings
) -> tuple[cart.PlanRequest, float]:
    """The domain's PlanRequest and the time budget in seconds, or INVALID_ARGUMENT naming each bad field."""
    errors = ViolationCollector()
    raw_region = msg.destination_region_code
    region = raw_region.strip().upper()
    if region not in known_regions:
        if not region:
            errors.add("destination_region_code", "is required: an ISO 3166-1 alpha-2 code such as DE")
        else:
            errors.add("destination_region_code", f"{raw_region[:8]!r} is not an ISO 3166-1 alpha-2 region code")

    items = _items(msg.items, errors)
    boxes = _boxes(msg.boxes, errors) if msg.boxes else defaults.boxes

    methods: list[model.Method] = []
    for i, m in enumerate(msg.methods[:20]):
        method = METHOD_FROM_PROTO.get(m)
        if method is None:
            errors.add(f"methods[{i}]", f"unknown shipping method {m}")
        else:
            methods.append(method)
    if len(msg.methods) > 20:
        errors.add("methods", f"at most 20 methods, got {len(msg.methods)}")
    contents_type = quoted_contents_type(msg.contents_type)
    if contents_type is None:
        errors.add("contents_type", f"unknown contents type {msg.contents_type}")
    ship_date = date_from_proto(msg.ship_date, "ship_date", errors, today) if msg.HasField("ship_date") else today
    order_date = date_from_proto(msg.order_date, "order_date", errors, today) if msg.HasField("order_date") else today
    budget_ms = float(defaults.budget_ms)
    if msg.HasField("time_budget"):
        given = msg.time_budget.seconds * 1000 + msg.time_budget.nanos / 1e6
        if not 1 <= given <= MAX_PLAN_BUDGET_MS:
            errors.add("time_budget", f"must be between 1 ms and {MAX_PLAN_BUDGET_MS // 1000} s, got {given:g} ms")
        else:
            budget_ms = given
    errors.raise_if_any("INVALID_PLAN_REQUEST")
    assert contents_type is not None
    request = cart.PlanRequest(region, items, boxes, ship_date, order_date, tuple(methods), contents_type, msg.insure)
    return request, budget_ms / 1000


def _items(given: Sequence[rates_pb2.CartItem], errors: ViolationCollector) -> tuple[cart.CartItem, ...]:
    if not given:
        errors.add("items", "at least one item is required")
    elif len(given) > MAX_PLAN_ITEMS:
        errors.add("items", f"at most {MAX_PLAN_ITEMS} cart lines, got {len(given)}")
        given = given[:MAX_PLAN_ITEMS]
    items = []
    units = 0
    for i, it in enumerate(given):
        where = f"items[{i}]"
        if not it.sku.strip() and not it.description.strip():
            errors.add(f"{where}.sku", "a SKU or a description is required")
        for name, text in (("sku", it.sku), ("description", it.description)):
            if len(text) > MAX_ITEM_TEXT:
                errors.add(f"{where}.{name}", f"must be at most {MAX_ITEM_TEXT} characters")
        if not 0 < it.weight_grams <= MAX_WEIGHT_G:
            errors.add(f"{where}.weight_grams", "must be positive" if it.weight_grams <= 0 else f"must be at most {MAX_WEIGHT_G} g")
        for name in ("length_mm", "width_mm", "height_mm"):
            v = getattr(it, name)
            if not 0 < v <= MAX_SIDE_MM:
                errors.add(f"{where}.{name}", "must be positive" if v <= 0 else f"must be at most {MAX_SIDE_MM} mm")
        if it.quantity <= 0:
            errors.add(f"{where}.quantity", "must be at least 1")
        else:
            units += it.quantity
        value = yen_from_proto(it.unit_value, f"{where}.unit_value", errors, maximum=MAX_VALUE_JPY) if it.HasField("unit_value") else 0
        flags = set()
        for j, f in enumerate(it.flags):
            flag = FLAG_FROM_PROTO.get(f)
            if flag is None:
                errors.add(f"{where}.flags[{j}]", f"unknown contents flag {f}")
            else:
                flags.add(flag)
        size = (int(it.length_mm), int(it.width_mm), int(it.height_mm))
        items.append(cart.CartItem(it.sku.strip(), it.description.strip(), int(it.weight_grams), size, max(int(it.quantity), 1), value, frozenset(flags)))
    if units > MAX_PLAN_UNITS:
        errors.add("items", f"at most {MAX_PLAN_UNITS} units over all lines, got {units}")
    return tuple(items)


def _boxes(given: Sequence[rates_pb2.Box], errors: ViolationCollector) -> tuple[cart.Box, ...]:
    if len(given) > MAX_BOXES:
        errors.add("boxes", f"at most {MAX_BOXES} boxes, got {len(given)}")
        given = given[:MAX_BOXES]
    boxes = []
    names: set[str] = set()
    for i, b in enumerate(given):
        where = f"boxes[{i}]"
        name = b.name.strip()
        if not name:
            errors.add(f"{where}.name", "is required")
        elif name in names:
            errors.add(f"{where}.name", f"{name[:40]!r} names another box too")
        elif len(name) > MAX_ITEM_TEXT:
            errors.add(f"{where}.name", f"must be at most {MAX_ITEM_TEXT} characters")
        names.add(name)
        sides = {}
        for part in ("inner", "outer"):
            for side in ("length_mm", "width_mm", "height_mm"):
                field = f"{part}_{side}"
                v = getattr(b, field)
                if not 0 < v <= MAX_SIDE_MM:
                    errors.add(f"{where}.{field}", "must be positive" if v <= 0 else f"must be at most {MAX_SIDE_MM} mm")
                sides[field] = int(v)
        inner = (sides["inner_length_mm"], sides["inner_width_mm"], sides["inner_height_mm"])
        outer = (sides["outer_length_mm"], sides["outer_width_mm"], sides["outer_height_mm"])
        if all(inner) and all(outer) and any(o < n for o, n in zip(sorted(outer), sorted(inner), strict=True)):
            errors.add(f"{where}.outer_length_mm", "the outer size must be at least the inner size")
        if not 0 <= b.tare_weight_grams <= MAX_WEIGHT_G:
            errors.add(f"{where}.tare_weight_grams", f"must be between 0 and {MAX_WEIGHT_G} g")
        boxes.append(cart.Box(name, inner, outer, int(b.tare_weight_grams)))
    return tuple(boxes)


def plan_to_proto(plan: cart.ShipmentPlan, items: Sequence[cart.CartItem]) -> rates_pb2.PlanShipmentResponse:
    out = rates_pb2.PlanShipmentResponse(destination_region_code=plan.region_code)
    for method_plan in plan.plans:
        shipment = out.plans.add(method=METHOD_TO_PROTO[method_plan.method], total_price=yen(method_plan.total_jpy), optimal=method_plan.optimal)
        for parcel in method_plan.parcels:
            length, width, height = parcel.box.outer_mm
            option = parcel.option
            shipment.parcels.add(
                box_name=parcel.box.name,
                parcel=common_pb2.Parcel(weight_grams=parcel.gross_weight_g, length_mm=length, width_mm=width, height_mm=height),
                items=[rates_pb2.PlannedItem(item_index=i, sku=items[i].sku, description=items[i].description, quantity=n) for i, n in parcel.items],
                product=PRODUCT_TO_PROTO[option.product],
                product_name=option.product_name,
                price=yen(option.total_jpy),
                quote=_option_to_proto(option, plan.region_code),
            )
    for refused in plan.unavailable:
        out.unavailable.add(
            method=METHOD_TO_PROTO[refused.method],
            reason=rates_pb2.UnavailableReason.Value(f"UNAVAILABLE_REASON_{refused.reason}"),
            message=refused.message,
        )
    return out


def _option_to_proto(option: model.QuoteOption, region: str) -> rates_pb2.QuoteOption:
    """The option as GetQuote encodes it (one encoder: kokokara/shipping/server/fast/wire.py)."""
    response = rates_pb2.GetQuoteResponse.FromString(wire.encode_quote(model.Quote(region, (option,), ())))
    return response.options[0]


def plan_shipment(
    engine: QuoteEngine, known_regions: frozenset[str], msg: rates_pb2.PlanShipmentRequest, today: date, defaults: PlanSettings
) -> rates_pb2.PlanShipmentResponse:
    request, budget = plan_request_from_proto(msg, known_regions, today, defaults)
    planner = packing.Planner(engine, fill_factor=defaults.fill_factor)
    return plan_to_proto(planner.plan(request, budget_seconds=budget), request.items)
