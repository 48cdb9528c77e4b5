"""RateService for analysts: rate table versions, their rows, destinations, price grids and diffs.

gRPC registers one servicer class per service, so this class extends the checkout's RateServicer
with the analyst RPCs. Each method checks and translates the request, calls one function of
rates.analysis, and translates the answer; errors are raised for the interceptor to map.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from datetime import date

import grpc
from google.type import money_pb2

from domain.errors import FieldViolation, ViolationCollector
from kokokara.shipping.server.contract import (
    CONTENTS_TYPE_TO_PROTO,
    MAX_WEIGHT_G,
    METHOD_FROM_PROTO,
    METHOD_TO_PROTO,
    PRODUCT_TO_PROTO,
    REASON_TO_PROTO,
    quoted_contents_type,
)
from kokokara.shipping.server.convert import date_from_proto, date_to_proto, today_in_japan, yen
from kokokara.shipping.server.servicers.plans import PlanSettings
from kokokara.shipping.server.servicers.rates import EngineHolder, RateServicer
from kokokara.shipping.v1 import common_pb2, rates_pb2
from rates import analysis
from rates.acceptance import AcceptanceRule
from rates.model import Method, Product
from rates.quote import QuoteEngine
from rates.tables import ISO_REGIONS

PRODUCT_FROM_PROTO = {v: k for k, v in PRODUCT_TO_PROTO.items()}
CHANGE_TO_PROTO = {c: rates_pb2.RowChange.Value(f"ROW_CHANGE_{c.name}") for c in analysis.Change}
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_WEIGHTS = 1000
MAX_REGIONS = 1000
MAX_TABLE_ID = 64
ZONES = range(1, 6)
# Bad entries of one repeated field named one by one; the rest are counted, so the BadRequest stays
# well inside gRPC's 16 KB metadata limit even when every one of 1,000 entries is bad.
MAX_REPORTED = 10


# ---------------------------------------------------------------------------------------------
# Request checks


def _report(errors: ViolationCollector, field: str, bad: list[FieldViolation]) -> None:
    for violation in bad[:MAX_REPORTED]:
        errors.add(violation.field, violation.description)
    if len(bad) > MAX_REPORTED:
        errors.add(field, f"{len(bad) - MAX_REPORTED} more bad entries not listed")


def _product(value: int, field: str, errors: ViolationCollector, *, required: bool) -> Product | None:
    if value == common_pb2.PRODUCT_UNSPECIFIED:
        if required:
            errors.add(field, "is required: a product such as PRODUCT_EMS")
        return None
    product = PRODUCT_FROM_PROTO.get(value)
    if product is None:
        errors.add(field, f"unknown product {value}")
    elif product is Product.CONSOLIDATION:
        errors.add(field, "the consolidation contract is priced per destination, not by a zone table; use CompareRates")
        return None
    return product


def _table_id(value: str, field: str, errors: ViolationCollector, *, required: bool) -> str:
    value = value.strip()
    if not value:
        if required:
            errors.add(field, "is required: a table id from ListRateTables, e.g. ems@2022-06-01")
    elif len(value) > MAX_TABLE_ID:
        errors.add(field, f"must be at most {MAX_TABLE_ID} characters")
    return value


def _region(value: str, field: str, errors: ViolationCollector) -> str:
    region = value.strip().upper()
    if not region:
        errors.add(field, "is required: an ISO 3166-1 alpha-2 code such as US")
    elif region not in ISO_REGIONS:
        errors.add(field, f"{value[:8]!r} is not an ISO 3166-1 alpha-2 region code")
    return region


def _page_size(value: int, errors: ViolationCollector) -> int:
    if value < 0:
        errors.add("page_size", "must not be negative")
        return DEFAULT_PAGE_SIZE
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def encode_page_token(query: str, offset: int) -> str:
    raw = json.dumps({"q": query, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, query: str, total: int, errors: ViolationCollector) -> int:
    """The offset a page token stands for; a token from another query or a forged one is bad input."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["o"])
        same_query = data["q"] == query
    except (ValueError, TypeError, KeyError, binascii.Error):
        errors.add("page_token", "is not a page token from this service")
        return 0
    if not same_query:
        errors.add("page_token", "belongs to another query: keep the other fields as they were for the first page")
        return 0
    if not 0 < offset <= total:
        errors.add("page_token", "points outside the results")
        return 0
    return offset


def _page(total: int, offset: int, size: int, query: str) -> tuple[slice, str]:
    end = min(offset + size, total)
    return slice(offset, end), (encode_page_token(query, end) if end < total else "")


# ---------------------------------------------------------------------------------------------
# Answers


def table_info_to_proto(summary: analysis.TableSummary, as_of: date) -> rates_pb2.RateTableInfo:
    table, ref = summary.table, summary.table.ref
    info = rates_pb2.RateTableInfo(
        table_id=ref.table_id,
        product=PRODUCT_TO_PROTO[ref.product],
        product_name=summary.product_name,
        effective_date=date_to_proto(ref.effective_from),
        effective_date_confirmed=ref.effective_from_confirmed,
        quotable=table.quotable,
        in_force=table.in_force(as_of),
        source=ref.source,
        confidence=table.confidence,
        zone_scheme=table.zone_scheme,
        row_count=summary.row_count,
        zones=summary.zones,
        missing_zones=summary.missing_zones,
        max_weight_grams=summary.max_weight_g,
        completeness=rates_pb2.TABLE_COMPLETENESS_PARTIAL if summary.partial else rates_pb2.TABLE_COMPLETENESS_COMPLETE,
        completeness_notes=summary.completeness_notes,
        notes=table.notes,
    )
    if ref.effective_to is not None:
        info.expiry_date.CopyFrom(date_to_proto(ref.effective_to))
    return info


def _row_diff_to_proto(row: analysis.RowDiff) -> rates_pb2.RateRowDiff:
    out = rates_pb2.RateRowDiff(
        change=CHANGE_TO_PROTO[row.change],
        zone=row.zone,
        min_weight_grams=row.min_weight_g,
        max_weight_grams=row.max_weight_g,
        change_jpy=row.change_jpy,
        change_percent=row.change_percent,
    )
    if row.base_price_jpy is not None:
        out.base_price.CopyFrom(yen(row.base_price_jpy))
    if row.target_price_jpy is not None:
        out.target_price.CopyFrom(yen(row.target_price_jpy))
    return out


def _methods(values: Sequence[common_pb2.ShippingMethod], errors: ViolationCollector) -> list[Method]:
    methods, bad = [], []
    for i, value in enumerate(values):
        method = METHOD_FROM_PROTO.get(value)
        if method is None:
            bad.append(FieldViolation(f"methods[{i}]", f"unknown shipping method {value}"))
        else:
            methods.append(method)
    _report(errors, "methods", bad)
    return methods


class RateTablesServicer(RateServicer):
    """The checkout's RateServicer plus the analyst RPCs."""

    def __init__(self, engines: EngineHolder, today: Callable[[], date] = today_in_japan, plans: PlanSettings | None = None):
        super().__init__(engines, today, plans)
        self._analyst_engines = engines
        self._clock = today
        self._catalog_lock = threading.Lock()
        self._catalog: tuple[QuoteEngine, analysis.Catalog] | None = None

    def _current(self) -> tuple[QuoteEngine, analysis.Catalog]:
        """The engine in use and its Catalog, rebuilt once when the tables are reloaded."""
        engine, _ = self._analyst_engines.get()
        with self._catalog_lock:
            if self._catalog is None or self._catalog[0] is not engine:
                self._catalog = (engine, analysis.Catalog(engine.book))
            return self._catalog

    def ListRateTables(self, request: rates_pb2.ListRateTablesRequest, context: grpc.ServicerContext) -> rates_pb2.ListRateTablesResponse:
        errors = ViolationCollector()
        product = _product(request.product, "product", errors, required=False)
        as_of = date_from_proto(request.as_of_date, "as_of_date", errors, self._clock())
        errors.raise_if_any("INVALID_RATE_TABLE_REQUEST")
        _, catalog = self._current()
        return rates_pb2.ListRateTablesResponse(rate_tables=[table_info_to_proto(s, as_of) for s in catalog.list_tables(product)])

    def GetRateTable(self, request: rates_pb2.GetRateTableRequest, context: grpc.ServicerContext) -> rates_pb2.GetRateTableResponse:
        errors = ViolationCollector()
        table_id = _table_id(request.table_id, "table_id", errors, required=False)
        product = _product(request.product, "product", errors, required=not table_id)
        day = date_from_proto(request.date, "date", errors, self._clock())
        bad_zones = [
            FieldViolation(f"zones[{i}]", f"must be a zone from {ZONES.start} to {ZONES.stop - 1}, got {z}")
            for i, z in enumerate(request.zones)
            if z not in ZONES
        ]
        _report(errors, "zones", bad_zones)
        size = _page_size(request.page_size, errors)
        errors.raise_if_any("INVALID_RATE_TABLE_REQUEST")

        _, catalog = self._current()
        if table_id:
            summary = catalog.summary(table_id)
            if product is not None and summary.table.ref.product is not product:
                errors.add("product", f"{table_id} is a {summary.table.ref.product.value} table; leave product unset or make it match")
        else:
            assert product is not None  # required without a table_id
            summary = catalog.in_force(product, day)
        zones = sorted(set(request.zones))
        rows = catalog.rows(summary.table_id, zones)
        query = _fingerprint(summary.table_id, zones)
        offset = decode_page_token(request.page_token, query, len(rows), errors)
        errors.raise_if_any("INVALID_RATE_TABLE_REQUEST")
        window, next_token = _page(len(rows), offset, size, query)
        response = rates_pb2.GetRateTableResponse(
            rate_table=table_info_to_proto(summary, day),
            next_page_token=next_token,
            total_size=len(rows),
        )
        for row in rows[window]:
            response.rows.add(
                zone=row.zone, min_weight_grams=row.min_weight_g, max_weight_grams=row.max_weight_g, price=yen(row.price_jpy), source_id=row.source_id
            )
        return response

    def ListDestinations(self, request: rates_pb2.ListDestinationsRequest, context: grpc.ServicerContext) -> rates_pb2.ListDestinationsResponse:
        errors = ViolationCollector()
        if len(request.region_codes) > MAX_REGIONS:
            errors.add("region_codes", f"at most {MAX_REGIONS} codes, got {len(request.region_codes)}")
        region_errors = ViolationCollector()
        wanted = [_region(code, f"region_codes[{i}]", region_errors) for i, code in enumerate(request.region_codes[:MAX_REGIONS])]
        _report(errors, "region_codes", region_errors.violations)
        ship_date = date_from_proto(request.ship_date, "ship_date", errors, self._clock())
        size = _page_size(request.page_size, errors)
        errors.raise_if_any("INVALID_DESTINATIONS_REQUEST")

        engine, _ = self._current()
        regions = sorted(set(wanted)) if wanted else list(analysis.destination_regions(engine.book))
        query = _fingerprint(regions, ship_date.isoformat())
        offset = decode_page_token(request.page_token, query, len(regions), errors)
        errors.raise_if_any("INVALID_PAGE_TOKEN")
        window, next_token = _page(len(regions), offset, size, query)
        response = rates_pb2.ListDestinationsResponse(next_page_token=next_token, total_size=len(regions), data_as_of=engine.book.data_as_of)
        for d in analysis.describe_destinations(engine, regions[window], ship_date=ship_date):
            destination = response.destinations.add(
                region_code=d.region_code,
                country_name=d.country_name,
                ems_zone=d.zones.get("ems", 0),
                parcel_zone=d.zones.get("parcel", 0),
                letter_post_zone=d.zones.get("letter_post", 0),
            )
            for m in d.methods:
                destination.methods.add(
                    method=METHOD_TO_PROTO[m.method],
                    available=m.available,
                    reason=REASON_TO_PROTO[m.reason] if m.reason else rates_pb2.UNAVAILABLE_REASON_UNSPECIFIED,
                    message=m.message,
                )
            for s in d.services:
                destination.services.add(service=s.service, status=s.status, restriction_note=s.restriction_note, as_of=s.as_of)
            destination.acceptance_rules.extend(rule_to_proto(r) for r in d.rules)
        return response

    def DiffAcceptance(self, request: rates_pb2.DiffAcceptanceRequest, context: grpc.ServicerContext) -> rates_pb2.DiffAcceptanceResponse:
        errors = ViolationCollector()
        for name in ("from_date", "to_date"):
            if not request.HasField(name):
                errors.add(name, "is required")
        from_date = date_from_proto(request.from_date, "from_date", errors, date.min)
        to_date = date_from_proto(request.to_date, "to_date", errors, date.min)
        if len(request.region_codes) > MAX_REGIONS:
            errors.add("region_codes", f"at most {MAX_REGIONS} codes, got {len(request.region_codes)}")
        region_errors = ViolationCollector()
        wanted = [_region(code, f"region_codes[{i}]", region_errors) for i, code in enumerate(request.region_codes[:MAX_REGIONS])]
        _report(errors, "region_codes", region_errors.violations)
        errors.raise_if_any("INVALID_ACCEPTANCE_DIFF_REQUEST")

        engine, _ = self._current()
        regions = sorted(set(wanted)) if wanted else list(analysis.destination_regions(engine.book))
        response = rates_pb2.DiffAcceptanceResponse()
        for c in analysis.acceptance_changes(engine, regions, from_date, to_date):
            response.changes.add(
                region_code=c.region_code,
                product=PRODUCT_TO_PROTO[c.product],
                product_name=c.product_name,
                contents_type=CONTENTS_TYPE_TO_PROTO[c.contents_type],
                from_status=c.from_status,
                to_status=c.to_status,
                from_rule_id=c.from_rule_id,
                to_rule_id=c.to_rule_id,
                to_message=c.to_message,
            )
        return response

    def CompareRates(self, request: rates_pb2.CompareRatesRequest, context: grpc.ServicerContext) -> rates_pb2.CompareRatesResponse:
        errors = ViolationCollector()
        region = _region(request.destination_region_code, "destination_region_code", errors)
        if not request.weights_grams:
            errors.add("weights_grams", "at least one weight is required")
        elif len(request.weights_grams) > MAX_WEIGHTS:
            errors.add("weights_grams", f"at most {MAX_WEIGHTS} weights, got {len(request.weights_grams)}")
        bad_weights = [
            FieldViolation(f"weights_grams[{i}]", f"must be from 1 to {MAX_WEIGHT_G} g, got {w}")
            for i, w in enumerate(request.weights_grams[:MAX_WEIGHTS])
            if not 0 < w <= MAX_WEIGHT_G
        ]
        _report(errors, "weights_grams", bad_weights)
        methods = _methods(request.methods, errors)
        ship_date = date_from_proto(request.ship_date, "ship_date", errors, self._clock())
        contents_type = quoted_contents_type(request.contents_type)
        if contents_type is None:
            errors.add("contents_type", f"unknown contents type {request.contents_type}")
        errors.raise_if_any("INVALID_COMPARE_REQUEST")
        assert contents_type is not None

        engine, _ = self._current()
        grid = analysis.compare_rates(engine, region, list(request.weights_grams), ship_date=ship_date, methods=methods, contents_type=contents_type)
        response = rates_pb2.CompareRatesResponse(destination_region_code=region, ship_date=date_to_proto(ship_date))
        for item in grid:
            rate = response.rates.add(weight_grams=item.weight_g, method=METHOD_TO_PROTO[item.method], available=item.available)
            if item.price_jpy is not None and item.product is not None:
                rate.price.CopyFrom(yen(item.price_jpy))
                rate.product = PRODUCT_TO_PROTO[item.product]
                rate.product_name = item.product_name
                rate.zone = item.zone
                rate.bracket_max_weight_grams = item.bracket_max_g
                rate.table_id = item.table_id
            elif item.reason is not None:
                rate.reason = REASON_TO_PROTO[item.reason]
                rate.message = item.message
        return response

    def DiffRateTables(self, request: rates_pb2.DiffRateTablesRequest, context: grpc.ServicerContext) -> rates_pb2.DiffRateTablesResponse:
        errors = ViolationCollector()
        base_id = _table_id(request.base_table_id, "base_table_id", errors, required=True)
        target_id = _table_id(request.target_table_id, "target_table_id", errors, required=True)
        errors.raise_if_any("INVALID_DIFF_REQUEST")

        _, catalog = self._current()
        diff = analysis.diff_tables(catalog, base_id, target_id, include_unchanged=request.include_unchanged)
        today = self._clock()
        return rates_pb2.DiffRateTablesResponse(
            base=table_info_to_proto(diff.base, today),
            target=table_info_to_proto(diff.target, today),
            rows=[_row_diff_to_proto(r) for r in diff.rows],
            added_count=diff.counts[analysis.Change.ADDED],
            removed_count=diff.counts[analysis.Change.REMOVED],
            changed_count=diff.counts[analysis.Change.CHANGED],
            unchanged_count=diff.counts[analysis.Change.UNCHANGED],
        )


def rule_to_proto(rule: AcceptanceRule) -> rates_pb2.AcceptanceRule:
    message = rates_pb2.AcceptanceRule(
        rule_id=rule.rule_id,
        region_code=rule.region_code,
        services=sorted(rule.services),
        status=rule.status.value,
        effective_from=date_to_proto(rule.effective_from),
        contents_types=[CONTENTS_TYPE_TO_PROTO[c] for c in sorted(rule.contents_types or (), key=lambda c: c.value)],
        description=rule.description,
        source=rule.source,
        read_on=date_to_proto(rule.read_on),
        confidence=rule.confidence,
        notes=rule.notes,
    )
    if rule.product is not None:
        message.product = PRODUCT_TO_PROTO[rule.product]
    if rule.effective_to is not None:
        message.effective_to.CopyFrom(date_to_proto(rule.effective_to))
    if rule.value_over is not None:
        units = int(rule.value_over)
        message.value_over.CopyFrom(money_pb2.Money(currency_code=rule.value_currency, units=units, nanos=int((rule.value_over - units) * 1_000_000_000)))
    return message
