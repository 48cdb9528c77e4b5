"""RateService: quotes for the checkout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import grpc

from domain.errors import DeadlineExceeded, FieldViolation, InvalidArgument, ShippingError, Unavailable, ViolationCollector
from kokokara.shipping import wire
from kokokara.shipping.convert import date_from_proto, today_in_japan, yen_from_proto
from kokokara.shipping.errors import to_status
from kokokara.shipping.v1 import common_pb2, rates_pb2, rates_pb2_grpc
from rates import model
from rates.quote import QuoteEngine

MAX_PARCELS = 50
MAX_CONTENTS = 200
MAX_BATCH = 1000
# Past these a request is absurd rather than merely too big for a product.
MAX_WEIGHT_G = 100_000
MAX_SIDE_MM = 5_000
MAX_VALUE_JPY = 1_000_000_000
MAX_QUANTITY = 1_000_000
MAX_METHODS = 20

METHOD_FROM_PROTO = {
    common_pb2.SHIPPING_METHOD_EMS: model.Method.EMS,
    common_pb2.SHIPPING_METHOD_AIRMAIL: model.Method.AIRMAIL,
    common_pb2.SHIPPING_METHOD_EPACKET: model.Method.EPACKET,
    common_pb2.SHIPPING_METHOD_SEA: model.Method.SEA,
    common_pb2.SHIPPING_METHOD_CONSOLIDATION: model.Method.CONSOLIDATION,
}
METHOD_TO_PROTO = {v: k for k, v in METHOD_FROM_PROTO.items()}
PRODUCT_TO_PROTO = {p: common_pb2.Product.Value(f"PRODUCT_{p.name}") for p in model.Product}
REASON_TO_PROTO = {r: rates_pb2.UnavailableReason.Value(f"UNAVAILABLE_REASON_{r.name}") for r in model.Reason}
FLAG_FROM_PROTO = {common_pb2.ContentsFlag.Value(f"CONTENTS_FLAG_{f.name}"): f for f in model.ContentsFlag}


def quote_request_from_proto(msg: rates_pb2.GetQuoteRequest, known_regions: frozenset[str], today: date) -> model.QuoteRequest:
    """Turns a GetQuoteRequest into the domain's QuoteRequest, naming every bad field at once.

    This runs for every quote, so it reads each field once and skips what a request leaves empty;
    the checks themselves are those of the contract (issue 2, section 5)."""
    errors = ViolationCollector()
    raw_region = msg.destination_region_code
    region = raw_region.strip().upper()
    if region not in known_regions:
        if not region:
            errors.add("destination_region_code", "is required: an ISO 3166-1 alpha-2 code such as US")
        else:
            errors.add("destination_region_code", f"{raw_region[:8]!r} is not an ISO 3166-1 alpha-2 region code")

    given = msg.parcels
    count = len(given)
    if not count:
        errors.add("parcels", "at least one parcel is required")
    elif count > MAX_PARCELS:
        errors.add("parcels", f"at most {MAX_PARCELS} parcels per quote, got {count}")
        given = given[:MAX_PARCELS]
    parcels = []
    for i, p in enumerate(given):
        weight, length, width, height = p.weight_grams, p.length_mm, p.width_mm, p.height_mm
        if not 0 < weight <= MAX_WEIGHT_G:
            errors.add(f"parcels[{i}].weight_grams", "must be positive" if weight <= 0 else f"must be at most {MAX_WEIGHT_G} g")
        if (length or width or height) and not (0 < length <= MAX_SIDE_MM and 0 < width <= MAX_SIDE_MM and 0 < height <= MAX_SIDE_MM):
            for name, v in (("length_mm", length), ("width_mm", width), ("height_mm", height)):
                if v <= 0:
                    errors.add(f"parcels[{i}].{name}", "must be positive when a size is given (or all three 0 for no size)")
                elif v > MAX_SIDE_MM:
                    errors.add(f"parcels[{i}].{name}", f"must be at most {MAX_SIDE_MM} mm")
        parcels.append(model.Parcel(weight, length, width, height))

    methods: tuple[model.Method, ...] = ()
    if msg.methods:
        methods = _methods(msg.methods, errors)
    contents: tuple[model.ContentsLine, ...] = ()
    if msg.contents:
        contents = _contents(msg.contents, errors)

    declared = None
    if msg.HasField("declared_value"):
        declared = yen_from_proto(msg.declared_value, "declared_value", errors, maximum=MAX_VALUE_JPY)
    ship_date = date_from_proto(msg.ship_date, "ship_date", errors, today) if msg.HasField("ship_date") else today
    order_date = date_from_proto(msg.order_date, "order_date", errors, today) if msg.HasField("order_date") else today
    postal_code = msg.postal_code
    if len(postal_code) > 32:
        errors.add("postal_code", "must be at most 32 characters")
    if errors.violations:
        errors.raise_if_any("INVALID_QUOTE_REQUEST")
    return model.QuoteRequest(region, tuple(parcels), ship_date, order_date, methods, contents, declared, msg.insure, postal_code)


def plain_request(msg: rates_pb2.GetQuoteRequest, known_regions: frozenset[str], today: date) -> tuple[str, list[tuple[int, int, int, int]], date, date] | None:
    """What QuoteEngine.quote_plain needs from a request that asks for every method, with no
    contents and no insurance: (region, [(grams, sides longest first)], ship date, order date).
    None for any other request, and for one with anything wrong: quote_request_from_proto then
    takes it and names every bad field."""
    if msg.methods or msg.contents or msg.insure:
        return None
    region = msg.destination_region_code
    given = msg.parcels
    if region not in known_regions or not 0 < len(given) <= MAX_PARCELS or len(msg.postal_code) > 32:
        return None
    parcels = []
    for p in given:
        weight, length, width, height = p.weight_grams, p.length_mm, p.width_mm, p.height_mm
        if not 0 < weight <= MAX_WEIGHT_G:
            return None
        if length or width or height:
            if not (0 < length <= MAX_SIDE_MM and 0 < width <= MAX_SIDE_MM and 0 < height <= MAX_SIDE_MM):
                return None
            a, b, c = sorted((length, width, height), reverse=True)
            parcels.append((weight, a, b, c))
        else:
            parcels.append((weight, 0, 0, 0))
    ship_date = order_date = today
    if msg.HasField("declared_value") or msg.HasField("ship_date") or msg.HasField("order_date"):
        errors = ViolationCollector()  # checked as quote_request_from_proto checks them; used only if valid
        if msg.HasField("declared_value"):
            yen_from_proto(msg.declared_value, "declared_value", errors, maximum=MAX_VALUE_JPY)
        if msg.HasField("ship_date"):
            ship_date = date_from_proto(msg.ship_date, "ship_date", errors, today)
        if msg.HasField("order_date"):
            order_date = date_from_proto(msg.order_date, "order_date", errors, today)
        if errors.violations:
            return None
    return region, parcels, ship_date, order_date


def quote_response(engine: QuoteEngine, known_regions: frozenset[str], msg: rates_pb2.GetQuoteRequest, today: date) -> bytes:
    """The serialised GetQuoteResponse for a request: through QuoteEngine.quote_plain when the
    request is plain (most checkout requests), else through QuoteEngine.quote. Both give the same
    bytes for a plain request."""
    plain = plain_request(msg, known_regions, today)
    if plain is not None:
        answer = engine.quote_plain(*plain)
        if answer is not None:
            return wire.encode_plain(plain[0], *answer)
    return wire.encode_quote(engine.quote(quote_request_from_proto(msg, known_regions, today)))


def _methods(given: Sequence[common_pb2.ShippingMethod], errors: ViolationCollector) -> tuple[model.Method, ...]:
    if len(given) > MAX_METHODS:
        errors.add("methods", f"at most {MAX_METHODS} methods, got {len(given)}")
    methods = []
    for i, m in enumerate(given[:MAX_METHODS]):
        method = METHOD_FROM_PROTO.get(m)
        if method is None:
            errors.add(f"methods[{i}]", f"unknown shipping method {m}")
        else:
            methods.append(method)
    return tuple(methods)


def _contents(given: Sequence[common_pb2.ContentsItem], errors: ViolationCollector) -> tuple[model.ContentsLine, ...]:
    if len(given) > MAX_CONTENTS:
        errors.add("contents", f"at most {MAX_CONTENTS} contents lines, got {len(given)}")
    contents = []
    for i, c in enumerate(given[:MAX_CONTENTS]):
        if c.quantity <= 0 or c.quantity > MAX_QUANTITY:
            errors.add(f"contents[{i}].quantity", f"must be between 1 and {MAX_QUANTITY}")
        value = yen_from_proto(c.value, f"contents[{i}].value", errors, maximum=MAX_VALUE_JPY) if c.HasField("value") else 0
        flags = set()
        for j, f in enumerate(c.flags):
            flag = FLAG_FROM_PROTO.get(f)
            if flag is None:
                errors.add(f"contents[{i}].flags[{j}]", f"unknown contents flag {f}")
            else:
                flags.add(flag)
        contents.append(model.ContentsLine(c.description, int(c.quantity), value, frozenset(flags)))
    return tuple(contents)


def quote_to_proto(quote: model.Quote) -> rates_pb2.GetQuoteResponse:
    return rates_pb2.GetQuoteResponse.FromString(wire.encode_quote(quote))


class EngineHolder:
    """The engine in use. Empty until the tables are loaded; swapped whole on a reload."""

    def __init__(self) -> None:
        self._engine: QuoteEngine | None = None
        self._regions: frozenset[str] = frozenset()

    def set(self, engine: QuoteEngine, known_regions: frozenset[str]) -> None:
        self._engine, self._regions = engine, known_regions

    def get(self) -> tuple[QuoteEngine, frozenset[str]]:
        engine = self._engine
        if engine is None:
            raise Unavailable("rate tables are still loading; retry shortly", reason="TABLES_NOT_LOADED")
        return engine, self._regions


class RateServicer(rates_pb2_grpc.RateServiceServicer):
    def __init__(self, engines: EngineHolder, today: Callable[[], date] = today_in_japan):
        self._engines = engines
        self._today = today

    # GetQuote and BatchGetQuotes answer with serialised bytes (see kokokara/shipping/wire.py);
    # kokokara.shipping.registration passes bytes through untouched.

    def GetQuote(self, request: rates_pb2.GetQuoteRequest, context: grpc.ServicerContext) -> bytes:  # type: ignore[override]
        engine, regions = self._engines.get()
        return quote_response(engine, regions, request, self._today())

    def BatchGetQuotes(self, request: rates_pb2.BatchGetQuotesRequest, context: grpc.ServicerContext) -> bytes:  # type: ignore[override]
        if not request.requests:
            raise InvalidArgument([FieldViolation("requests", "at least one request is required")], reason="INVALID_BATCH")
        if len(request.requests) > MAX_BATCH:
            raise InvalidArgument(
                [FieldViolation("requests", f"at most {MAX_BATCH} requests per batch, got {len(request.requests)}")], reason="BATCH_TOO_LARGE"
            )
        engine, regions = self._engines.get()
        today = self._today()
        parts: list[bytes] = []
        for i, item in enumerate(request.requests):
            if i % 64 == 63 and context.time_remaining() <= 0:  # issue 7: stop once the caller's deadline has passed
                raise DeadlineExceeded("the caller's deadline passed during the batch", reason="DEADLINE_EXCEEDED")
            try:
                parts.extend(wire.batch_result(response=quote_response(engine, regions, item, today)))
            except ShippingError as error:
                parts.extend(wire.batch_result(error=to_status(error).SerializeToString()))
        return b"".join(parts)
