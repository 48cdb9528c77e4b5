"""The hand-assembled wire encoding of quote responses decodes exactly as a response built field by
field with the protobuf API, over many quotes."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from kokokara.shipping.server.fast import wire
from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from kokokara.shipping.v1 import common_pb2, rates_pb2
from rates import model
from rates.quote import QuoteEngine
from rates.tables import load_rate_book

ENGINE = QuoteEngine(load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE))
REGIONS = [*sorted(ENGINE.book.served_regions()), "AQ"]


def _date(d: date) -> dict[str, int]:
    return {"year": d.year, "month": d.month, "day": d.day}


def _yen(n: int) -> dict[str, object]:
    return {"currency_code": "JPY", "units": n}


def built_with_protobuf(quote: model.Quote) -> rates_pb2.GetQuoteResponse:
    response = rates_pb2.GetQuoteResponse(destination_region_code=quote.region_code)
    for o in quote.options:
        option = response.options.add(
            method=common_pb2.ShippingMethod.Value(f"SHIPPING_METHOD_{o.method.name}"),
            product_name=o.product_name,
            product=common_pb2.Product.Value(f"PRODUCT_{o.product.name}"),
            total_price=_yen(o.total_jpy),
            breakdown={"postage": _yen(o.postage_jpy), "insurance": _yen(o.insurance_jpy)},
            zone=o.zone,
            billable_weight_grams=o.billable_weight_g,
            tracked=o.tracked,
            compensation_limit=_yen(o.compensation_jpy),
            rate_table={
                "table_id": o.table.table_id,
                "version": o.table.effective_from.isoformat(),
                "effective_date": _date(o.table.effective_from),
                "source": o.table.source,
                "effective_date_confirmed": o.table.effective_from_confirmed,
                "confidence": o.table.confidence,
            },
            notes=o.notes,
            low_confidence=o.low_confidence,
        )
        if o.delivery:
            d = o.delivery
            option.delivery.CopyFrom(
                rates_pb2.DeliveryEstimate(
                    min_days=d.min_days,
                    max_days=d.max_days,
                    earliest_arrival_date=_date(d.earliest_arrival),
                    latest_arrival_date=_date(d.latest_arrival),
                    published_text=d.published_text,
                )
            )
        for p in o.parcels:
            option.parcels.add(
                billable_weight_grams=p.billable_weight_g,
                postage=_yen(p.postage_jpy),
                insurance=_yen(p.insurance_jpy),
                bracket_max_weight_grams=p.bracket_max_g,
            )
    for u in quote.unavailable:
        response.unavailable.add(
            method=common_pb2.ShippingMethod.Value(f"SHIPPING_METHOD_{u.method.name}"),
            reason=rates_pb2.UnavailableReason.Value(f"UNAVAILABLE_REASON_{u.reason.name}"),
            message=u.message,
        )
    return response


parcels = st.builds(
    model.Parcel,
    st.integers(1, 35_000),
    st.sampled_from([0, 50, 300, 700, 1600]),
    st.sampled_from([0, 100, 200]),
    st.sampled_from([0, 10, 100]),
).filter(lambda p: (p.length_mm == 0) == (p.width_mm == 0) == (p.height_mm == 0))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(REGIONS),
    st.lists(parcels, min_size=1, max_size=3),
    st.booleans(),
    st.integers(0, 3_000_000),
    st.dates(date(2021, 1, 1), date(2027, 12, 31)),
)
def test_wire_encoding_equals_protobuf_api(region: str, boxes: list[model.Parcel], insure: bool, value: int, day: date) -> None:
    quote = ENGINE.quote(model.QuoteRequest(region, tuple(boxes), day, day, declared_value_jpy=value, insure=insure))
    decoded = rates_pb2.GetQuoteResponse.FromString(wire.encode_quote(quote))
    assert decoded == built_with_protobuf(quote)


def test_varint_matches_protobuf() -> None:
    for n in (0, 1, 127, 128, 300, 2**31, 2**63 - 1):
        assert rates_pb2.ParcelPrice(billable_weight_grams=n).SerializeToString() == (wire.field_varint(1, n) if n else b"")
