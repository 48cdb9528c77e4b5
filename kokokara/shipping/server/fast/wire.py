"""Encodes quote responses straight to protobuf wire format.

Building GetQuoteResponse messages field by field cost more than computing the quote itself. The
wire format lets us do better without a second source of truth: the parts of an option that depend
only on its lane (method, product, zone, table, notes) are serialised once by protobuf itself and
cached, and the few per-request fields (prices, weights, dates) are appended with a small varint
encoder. Concatenated encodings of one message merge by the protobuf spec, so the result decodes
exactly as a message built with the protobuf API; tests/domain/test_wire.py checks that over many quotes.
Field numbers are read from the generated descriptors, never typed in.
"""

from __future__ import annotations

from datetime import date

from kokokara.shipping.server.contract import METHOD_TO_PROTO as _METHOD
from kokokara.shipping.server.contract import PRODUCT_TO_PROTO as _PRODUCT
from kokokara.shipping.server.contract import REASON_TO_PROTO as _REASON
from kokokara.shipping.v1 import rates_pb2
from rates import model
from rates.lanes import PricedLane


def _numbers(message: type) -> dict[str, int]:
    return {f.name: f.number for f in message.DESCRIPTOR.fields}  # type: ignore[attr-defined]


_RESP = _numbers(rates_pb2.GetQuoteResponse)
_OPT = _numbers(rates_pb2.QuoteOption)
_BRK = _numbers(rates_pb2.PriceBreakdown)
_PAR = _numbers(rates_pb2.ParcelPrice)
_DEL = _numbers(rates_pb2.DeliveryEstimate)
_UNA = _numbers(rates_pb2.UnavailableMethod)
_BATCH_RESULT = _numbers(rates_pb2.BatchQuoteResult)
_BATCH = _numbers(rates_pb2.BatchGetQuotesResponse)


_ONE_BYTE = [bytes((i,)) for i in range(128)]


def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    if n < 0x80:
        return _ONE_BYTE[n]
    if n < 0x4000:
        return bytes((n & 0x7F | 0x80, n >> 7))
    if n < 0x200000:
        return bytes((n & 0x7F | 0x80, (n >> 7) & 0x7F | 0x80, n >> 14))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Varints of 0-32767 ready-made: per-quote weights (grams, at most 30 kg for Japan Post), option and
# message lengths all fall in it, and indexing a list costs a fraction of a call to varint(). About
# 1 MB per process.
_SMALL = 1 << 15
_VARINTS = [varint(i) for i in range(_SMALL)]


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def field_varint(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value) if value else b""


def field_bytes(number: int, value: bytes) -> bytes:
    return tag(number, 2) + varint(len(value)) + value


_JPY = field_bytes(1, b"JPY")  # google.type.Money.currency_code
_UNITS = tag(2, 0)  # google.type.Money.units


def _money(field_tag: bytes, yen: int) -> bytes:
    body = _JPY + _UNITS + varint(yen) if yen else _JPY
    return field_tag + _ONE_BYTE[len(body)] + body


def _date(number: int, day: date) -> bytes:
    return field_bytes(number, field_varint(1, day.year) + field_varint(2, day.month) + field_varint(3, day.day))


# Caches keyed by the identity of the engine's per-lane objects (notes tuple, table reference,
# delivery estimate). Each entry keeps those objects alive, so an id cannot be reused while cached.
_TEMPLATES: dict[tuple[int, int, int, int], tuple[object, object, bytes]] = {}
_DELIVERIES: dict[int, tuple[model.DeliveryEstimate, bytes]] = {}


def _template(o: model.QuoteOption) -> bytes:
    return _template_of(o.method, o.product, o.product_name, o.zone, o.tracked, o.table, o.notes)


def _template_of(method: model.Method, product: model.Product, name: str, zone: int, tracked: bool, t: model.TableRef, notes: tuple[str, ...]) -> bytes:
    # Ids rather than the enums: a member hashes through a Python-level __hash__. The product stands
    # for the method too (each product belongs to one method, see METHOD_PRODUCTS).
    key = (id(notes), id(t), id(product), zone)
    cached = _TEMPLATES.get(key)
    if cached is not None and cached[0] is notes and cached[1] is t:
        return cached[2]
    option = rates_pb2.QuoteOption(
        method=_METHOD[method],
        product_name=name,
        product=_PRODUCT[product],
        zone=zone,
        tracked=tracked,
        rate_table=rates_pb2.RateTableRef(
            table_id=t.table_id,
            version=t.effective_from.isoformat(),
            effective_date={"year": t.effective_from.year, "month": t.effective_from.month, "day": t.effective_from.day},
            source=t.source,
            effective_date_confirmed=t.effective_from_confirmed,
            confidence=t.confidence,
        ),
        notes=notes,
        low_confidence=zone in t.low_confidence_zones,
    )
    encoded = option.SerializeToString(deterministic=True)
    if len(_TEMPLATES) > 2048:
        _TEMPLATES.clear()
    _TEMPLATES[key] = (notes, t, encoded)
    return encoded


def _delivery(d: model.DeliveryEstimate) -> bytes:
    cached = _DELIVERIES.get(id(d))
    if cached is not None and cached[0] is d:
        return cached[1]
    body = (
        field_varint(_DEL["min_days"], d.min_days)
        + field_varint(_DEL["max_days"], d.max_days)
        + _date(_DEL["earliest_arrival_date"], d.earliest_arrival)
        + _date(_DEL["latest_arrival_date"], d.latest_arrival)
        + field_bytes(_DEL["published_text"], d.published_text.encode())
    )
    encoded = field_bytes(_OPT["delivery"], body)
    if len(_DELIVERIES) > 2048:
        _DELIVERIES.clear()
    _DELIVERIES[id(d)] = (d, encoded)
    return encoded


_T_TOTAL, _T_BREAKDOWN, _T_COMP, _T_PARCELS = (tag(_OPT[n], 2) for n in ("total_price", "breakdown", "compensation_limit", "parcels"))
_T_WEIGHT = tag(_OPT["billable_weight_grams"], 0)
_T_POSTAGE, _T_INSURANCE = tag(_BRK["postage"], 2), tag(_BRK["insurance"], 2)
_T_P_WEIGHT, _T_P_POSTAGE = tag(_PAR["billable_weight_grams"], 0), tag(_PAR["postage"], 2)
_T_P_INSURANCE, _T_P_BRACKET = tag(_PAR["insurance"], 2), tag(_PAR["bracket_max_weight_grams"], 0)
_F_OPTIONS, _F_UNAVAILABLE, _F_REGION = _RESP["options"], _RESP["unavailable"], _RESP["destination_region_code"]


# The price fields of an option (total, breakdown, compensation limit) by their values: tables have
# a few hundred price points, shared by every destination of a zone.
_PRICES: dict[tuple[int, int, int], bytes] = {}


def _prices(postage: int, insurance: int, compensation: int) -> bytes:
    breakdown = _money(_T_POSTAGE, postage) + _money(_T_INSURANCE, insurance)
    encoded = b"".join((_money(_T_TOTAL, postage + insurance), _T_BREAKDOWN + _ONE_BYTE[len(breakdown)] + breakdown, _money(_T_COMP, compensation)))
    if len(_PRICES) > 16384:
        _PRICES.clear()
    _PRICES[postage, insurance, compensation] = encoded
    return encoded


# A parcel's price fields after its weight (postage, insurance, bracket), by their values: a table
# has a few hundred price points, so these repeat across carts.
_PARCEL_TAILS: dict[tuple[int, int, int], bytes] = {}


def _parcel(p: model.ParcelPrice) -> bytes:
    return _parcel_of(p.billable_weight_g, p.postage_jpy, p.insurance_jpy, p.bracket_max_g)


def _parcel_of(grams: int, postage: int, insurance: int, bracket_max: int) -> bytes:
    tail = _PARCEL_TAILS.get((postage, insurance, bracket_max)) or _parcel_tail(postage, insurance, bracket_max)
    body = _T_P_WEIGHT + (_VARINTS[grams] if grams < _SMALL else varint(grams)) + tail
    return _T_PARCELS + _ONE_BYTE[len(body)] + body


def _parcel_tail(postage: int, insurance: int, bracket_max: int) -> bytes:
    tail = _money(_T_P_POSTAGE, postage) + _money(_T_P_INSURANCE, insurance) + _T_P_BRACKET + varint(bracket_max)
    if len(_PARCEL_TAILS) > 8192:
        _PARCEL_TAILS.clear()
    _PARCEL_TAILS[postage, insurance, bracket_max] = tail
    return tail


# UnavailableMethod: method and reason encoded once per pair; the message, which often names the
# cart's own weight or size, is appended per quote.
_UNAVAILABLE_HEADS = {  # by the members' ids: enum members hash through a Python-level __hash__
    (id(m), id(r)): field_varint(_UNA["method"], _METHOD[m]) + field_varint(_UNA["reason"], _REASON[r]) + tag(_UNA["message"], 2)
    for m in model.Method
    for r in model.Reason
}
_T_UNAVAILABLE = tag(_F_UNAVAILABLE, 2)


def unavailable(u: model.UnavailableMethod) -> bytes:
    """One encoded GetQuoteResponse.unavailable entry."""
    message = u.message.encode()
    length = len(message)
    body = _UNAVAILABLE_HEADS[id(u.method), id(u.reason)] + (_VARINTS[length] if length < _SMALL else varint(length)) + message
    size = len(body)
    return _T_UNAVAILABLE + (_VARINTS[size] if size < _SMALL else varint(size)) + body


_T_OPTIONS = tag(_F_OPTIONS, 2)
_WEIGHT_TAG_SIZE = len(_T_WEIGHT)
_REGIONS: dict[str, bytes] = {}


def region_field(code: str) -> bytes:
    """GetQuoteResponse.destination_region_code, encoded."""
    encoded = _REGIONS.get(code)
    if encoded is None:
        encoded = field_bytes(_F_REGION, code.encode())
        if len(_REGIONS) < 1024:  # region codes are checked before a quote, so there are a few hundred
            _REGIONS[code] = encoded
    return encoded


def encode_quote(quote: model.Quote) -> bytes:
    """The serialised GetQuoteResponse for a quote."""
    parts = [region_field(quote.region_code)]
    append, extend = parts.append, parts.extend
    for o in quote.options:
        # An option is its lane's template, its delivery estimate, its price fields, then its
        # weights: each part cached apart (few lanes, few price points, few estimates), so no
        # cache multiplies their counts. Fields may come in any order on the wire.
        notes, table = o.notes, o.table
        cached = _TEMPLATES.get((id(notes), id(table), id(o.product), o.zone))
        template = cached[2] if cached is not None and cached[0] is notes and cached[1] is table else _template(o)
        postage, insurance, compensation = o.postage_jpy, o.insurance_jpy, o.compensation_jpy
        prices = _PRICES.get((postage, insurance, compensation)) or _prices(postage, insurance, compensation)
        estimate = o.delivery
        if estimate is None:
            delivery = b""
        else:
            known = _DELIVERIES.get(id(estimate))
            delivery = known[1] if known is not None and known[0] is estimate else _delivery(estimate)
        head_size = len(template) + len(prices) + len(delivery)
        grams = o.billable_weight_g
        weight = _VARINTS[grams] if grams < _SMALL else varint(grams)
        parcels = o.parcels
        # The option's pieces go into one list joined once at the end: concatenating them here
        # would copy the head (hundreds of bytes) several times per option.
        if len(parcels) == 1:
            parcel = _parcel(parcels[0])
            size = head_size + _WEIGHT_TAG_SIZE + len(weight) + len(parcel)
            extend((_T_OPTIONS, _VARINTS[size] if size < _SMALL else varint(size), template, delivery, prices, _T_WEIGHT, weight, parcel))
        else:
            priced = list(map(_parcel, parcels))
            size = head_size + _WEIGHT_TAG_SIZE + len(weight) + sum(map(len, priced))
            extend((_T_OPTIONS, _VARINTS[size] if size < _SMALL else varint(size), template, delivery, prices, _T_WEIGHT, weight, *priced))
    for u in quote.unavailable:
        append(unavailable(u))
    return b"".join(parts)


def lane_head(lane: PricedLane) -> bytes:
    """A priced lane's option template and delivery estimate, as encode_quote writes them for an
    option of that lane: the head the compiled quote kernel starts each option with."""
    assert lane.table is not None  # a lane that priced has its table
    head = _template_of(lane.method, lane.product, lane.name, lane.zone, lane.tracked, lane.table, lane.notes)
    if lane.arrival is not None:
        head += _delivery(lane.arrival)
    return head


_T_RESULTS = tag(_BATCH["results"], 2)
_T_RESULT_RESPONSE = tag(_BATCH_RESULT["response"], 2)
_T_RESULT_ERROR = tag(_BATCH_RESULT["error"], 2)


def batch_result(response: bytes | None = None, error: bytes | None = None) -> tuple[bytes, ...]:
    """One serialised BatchGetQuotesResponse.results entry, a GetQuoteResponse or a google.rpc.Status,
    as pieces to join with the others: the response (1-3 KB) is not copied into each enclosing
    message in turn."""
    if response is not None:
        size = len(response)
        head = _T_RESULT_RESPONSE + (_VARINTS[size] if size < _SMALL else varint(size))
    else:
        assert error is not None
        response, size = error, len(error)
        head = _T_RESULT_ERROR + varint(size)
    inner = len(head) + size
    return _T_RESULTS + (_VARINTS[inner] if inner < _SMALL else varint(inner)) + head, response


# --- what the compiled quote kernel (kokokara/shipping/server/fast/_quotekernel.pyx) writes ----------------
# It writes the same pieces as encode_quote: these constants, the lane heads and the encoded
# refusals below, so the bytes come from one place.

METHODS: tuple[model.Method, ...] = tuple(model.Method)  # a method's index in the kernel's tables
REASONS: tuple[model.Reason, ...] = tuple(model.Reason)


def kernel_tags() -> dict[str, bytes]:
    return {
        "options": _T_OPTIONS,
        "weight": _T_WEIGHT,
        "total": _T_TOTAL,
        "breakdown": _T_BREAKDOWN,
        "compensation": _T_COMP,
        "postage": _T_POSTAGE,
        "insurance": _T_INSURANCE,
        "parcels": _T_PARCELS,
        "parcel_weight": _T_P_WEIGHT,
        "parcel_postage": _T_P_POSTAGE,
        "parcel_insurance": _T_P_INSURANCE,
        "parcel_bracket": _T_P_BRACKET,
        "unavailable": _T_UNAVAILABLE,
        "jpy": _JPY,
        "units": _UNITS,
        "results": _T_RESULTS,
        "result_response": _T_RESULT_RESPONSE,
    }


def kernel_unavailable_heads() -> tuple[bytes, ...]:
    """UnavailableMethod's method, reason and message tag, indexed method * len(REASONS) + reason."""
    return tuple(_UNAVAILABLE_HEADS[id(m), id(r)] for m in METHODS for r in REASONS)
