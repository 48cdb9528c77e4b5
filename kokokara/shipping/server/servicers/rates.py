"""RateService: quotes for the checkout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import grpc

from domain.errors import DeadlineExceeded, FieldViolation, InvalidArgument, ShippingError, Unavailable, ViolationCollector
from kokokara.shipping.server.contract import (
    FLAG_FROM_PROTO,
    MAX_BATCH,
    MAX_CONTENTS,
    MAX_METHODS,
    MAX_PARCELS,
    MAX_POSTAL_CODE,
    MAX_QUANTITY,
    MAX_SIDE_MM,
    MAX_VALUE_JPY,
    MAX_WEIGHT_G,
    METHOD_FROM_PROTO,
    quoted_contents_type,
)
from kokokara.shipping.server.convert import date_from_proto, today_in_japan, yen_from_proto
from kokokara.shipping.server.errors import to_status
from kokokara.shipping.server.fast import fastquote, wire
from kokokara.shipping.server.registration import parse_request
from kokokara.shipping.server.servicers.plans import PlanSettings, plan_shipment
from kokokara.shipping.v1 import common_pb2, rates_pb2, rates_pb2_grpc
from rates import model
from rates.quote import QuoteEngine

# What the quote kernel (kokokara/shipping/server/fast/fastquote.py) checks before it takes a request: the
# contract's bounds, as quote_request_from_proto checks them.
KERNEL_LIMITS = fastquote.Limits(MAX_PARCELS, MAX_WEIGHT_G, MAX_SIDE_MM, MAX_VALUE_JPY, MAX_POSTAL_CODE, MAX_BATCH)


def quote_request_from_proto(msg: rates_pb2.GetQuoteRequest, known_regions: frozenset[str], today: date) -> model.QuoteRequest:
    """Turns a GetQuoteRequest into the domain's QuoteRequest, naming every bad field at once.

    This runs for every quote, so it reads each field once and skips what a request leaves empty;
    the checks themselves are those of the contract."""
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
    if len(postal_code) > MAX_POSTAL_CODE:
        errors.add("postal_code", f"must be at most {MAX_POSTAL_CODE} characters")
    contents_type = quoted_contents_type(msg.contents_type)
    if contents_type is None:
        errors.add("contents_type", f"unknown contents type {msg.contents_type}")
    if errors.violations:
        errors.raise_if_any("INVALID_QUOTE_REQUEST")
    assert contents_type is not None
    return model.QuoteRequest(region, tuple(parcels), ship_date, order_date, methods, contents, declared, msg.insure, postal_code, contents_type)


def quote_response(engine: QuoteEngine, known_regions: frozenset[str], msg: rates_pb2.GetQuoteRequest, today: date) -> bytes:
    """The serialised GetQuoteResponse for a request, through the one pricing path."""
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


class EngineHolder:
    """The engine in use. Empty until the tables are loaded; swapped whole on a reload, together
    with the quote kernel bound to it (none when the kernel is off or not built)."""

    def __init__(self, *, use_kernel: bool = True, today: Callable[[], date] = today_in_japan) -> None:
        self._current: tuple[QuoteEngine, frozenset[str], fastquote.FastQuotes | None] | None = None
        self._use_kernel = use_kernel and fastquote.available()
        self._today = today

    def set(self, engine: QuoteEngine, known_regions: frozenset[str]) -> None:
        fast = None
        if self._use_kernel:
            fast = fastquote.FastQuotes(engine, known_regions, KERNEL_LIMITS)
            fast.prepare(self._today())  # before the swap: no caller waits for a plan to compile
        self._current = (engine, known_regions, fast)

    @property
    def kernel_in_use(self) -> bool:
        return self._use_kernel

    def get(self) -> tuple[QuoteEngine, frozenset[str]]:
        engine, regions, _ = self.get_with_kernel()
        return engine, regions

    def get_with_kernel(self) -> tuple[QuoteEngine, frozenset[str], fastquote.FastQuotes | None]:
        current = self._current
        if current is None:
            raise Unavailable("rate tables are still loading; retry shortly", reason="TABLES_NOT_LOADED")
        return current


class RateServicer(rates_pb2_grpc.RateServiceServicer):
    # GetQuote and BatchGetQuotes take their requests as wire bytes (kokokara.shipping.server.registration
    # hands them over undecoded) so the quote kernel can read them; any other caller may pass the
    # messages. Both answer with serialised bytes (kokokara/shipping/server/fast/wire.py), passed through as they are.
    RAW_REQUESTS = frozenset({"GetQuote", "BatchGetQuotes"})

    def __init__(self, engines: EngineHolder, today: Callable[[], date] = today_in_japan, plans: PlanSettings | None = None):
        self._engines = engines
        self._today = today
        self._plans = plans if plans is not None else PlanSettings(boxes=())

    def PlanShipment(self, request: rates_pb2.PlanShipmentRequest, context: grpc.ServicerContext) -> rates_pb2.PlanShipmentResponse:
        engine, regions = self._engines.get()
        return plan_shipment(engine, regions, request, self._today(), self._plans)

    def GetQuote(self, request: rates_pb2.GetQuoteRequest | bytes, context: grpc.ServicerContext) -> bytes:  # type: ignore[override]
        engine, regions, fast = self._engines.get_with_kernel()
        today = self._today()
        if isinstance(request, bytes):
            if fast is not None:
                answer = fast.quote(request, today)
                if answer is not None:
                    return answer
            request = parse_request(rates_pb2.GetQuoteRequest, request)
        return quote_response(engine, regions, request, today)

    def BatchGetQuotes(self, request: rates_pb2.BatchGetQuotesRequest | bytes, context: grpc.ServicerContext) -> bytes:  # type: ignore[override]
        engine, regions, fast = self._engines.get_with_kernel()
        today = self._today()

        def one(item: rates_pb2.GetQuoteRequest) -> tuple[bytes, ...]:
            try:
                return wire.batch_result(response=quote_response(engine, regions, item, today))
            except ShippingError as error:
                return wire.batch_result(error=to_status(error).SerializeToString())

        def check_deadline() -> None:  # stop once the caller's deadline has passed
            if context.time_remaining() <= 0:
                raise DeadlineExceeded("the caller's deadline passed during the batch", reason="DEADLINE_EXCEEDED")

        if isinstance(request, bytes):
            if fast is not None:

                def fallback(item: bytes) -> bytes:
                    # a request the kernel does not take; bytes the batch framed but that are no
                    # GetQuoteRequest fail on their own, as any bad request of a batch does
                    try:
                        message = parse_request(rates_pb2.GetQuoteRequest, item)
                    except ShippingError as error:
                        return b"".join(wire.batch_result(error=to_status(error).SerializeToString()))
                    return b"".join(one(message))

                answer = fast.batch(request, today, fallback, check_deadline)
                if answer is not None:
                    return answer
            request = parse_request(rates_pb2.BatchGetQuotesRequest, request)
        if not request.requests:
            raise InvalidArgument([FieldViolation("requests", "at least one request is required")], reason="INVALID_BATCH")
        if len(request.requests) > MAX_BATCH:
            raise InvalidArgument(
                [FieldViolation("requests", f"at most {MAX_BATCH} requests per batch, got {len(request.requests)}")], reason="BATCH_TOO_LARGE"
            )
        parts: list[bytes] = []
        for i, item in enumerate(request.requests):
            if i % 64 == 63:
                check_deadline()
            parts.extend(one(item))
        return b"".join(parts)
