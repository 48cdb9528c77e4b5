"""The quote engine: prices every requested method for one cart, or says why it cannot be offered.

Japan Post prices each parcel by its actual weight rounded up into the published bracket; the
consolidation contract uses the larger of actual and volumetric weight. Several parcels are priced
one by one and summed per method. What depends only on the destination (zone, the crawl's
acceptance, limits, notes) is worked out once per destination when the engine is built (rates/lanes.py);
what depends on the ship date, the order date and the contents type (the table in force, the
acceptance rules in force, arrivals) is resolved on first use and kept, so a quote is a handful of
look-ups and bisections per lane.

There is one pricing path: `quote`. The gRPC edge's compiled quote kernel prices the common
request from the same resolved lanes (`resolved`) and is checked against `quote` byte for byte.
"""

from __future__ import annotations

from bisect import bisect_left

from rates.acceptance import value_refusal
from rates.book import Brackets, ConsolidationLane, InsuranceRule, Limit, RateBook
from rates.lanes import Lanes, PricedLane
from rates.model import (
    ALL_METHODS,
    ContentsFlag,
    Parcel,
    ParcelPrice,
    Quote,
    QuoteOption,
    QuoteRequest,
    Reason,
    UnavailableMethod,
)
from rates.wording import Refusal, check_limit, combine, over_contract, past_table

__all__ = ["PricedLane", "QuoteEngine"]


class QuoteEngine(Lanes):
    def __init__(self, book: RateBook, *, handling_days: int = 3):
        super().__init__(book, handling_days=handling_days)

    def quote(self, request: QuoteRequest) -> Quote:
        region = request.region_code
        resolved = self.resolved(region, request.ship_date, request.order_date, request.contents_type)
        wanted = frozenset(request.methods) if request.methods else None
        if resolved is None:
            message = f"neither Japan Post nor the consolidation contract lists {region} as a destination"
            refused = tuple(UnavailableMethod(m, Reason.DESTINATION_NOT_SERVED, message) for m in ALL_METHODS if wanted is None or m in wanted)
            return Quote(region, (), refused)
        flags = [(i, flag) for i, line in enumerate(request.contents) for flag in line.flags] if request.contents else []
        options: list[QuoteOption] = []
        unavailable: list[UnavailableMethod] = []
        price = self._price
        boxes = _boxes(request.parcels)
        for method, fixed, lanes in resolved:
            if wanted is not None and method not in wanted:
                continue
            if fixed is not None:  # refused whatever the cart
                unavailable.append(fixed)
                continue
            if len(lanes) == 1:  # one product behind the method: its answer is the method's
                result = price(lanes[0], request, flags, boxes)
                if type(result) is Refusal:
                    unavailable.append(UnavailableMethod(method, result.reason, result.message))  # type: ignore[union-attr]
                else:
                    options.append(result)  # type: ignore[arg-type]
                continue
            best: QuoteOption | None = None
            refusals: list[tuple[str, Refusal]] = []
            for lane in lanes:
                result = price(lane, request, flags, boxes)
                if type(result) is Refusal:
                    refusals.append((lane.name, result))  # type: ignore[arg-type]
                elif best is None or (result.total_jpy, not result.tracked) < (best.total_jpy, not best.tracked):  # type: ignore[union-attr]
                    best = result  # type: ignore[assignment]
            if best is not None:
                options.append(best)
            else:
                unavailable.append(combine(method, refusals))
        options.sort(key=_cheapest_first)
        return Quote(region, tuple(options), tuple(unavailable))

    def _price(
        self, lane: PricedLane, request: QuoteRequest, flags: list[tuple[int, ContentsFlag]], boxes: list[tuple[int, int, int, int]]
    ) -> QuoteOption | Refusal:
        """One product's option for the request, or why it cannot be offered, checked in this
        order: acceptance, prohibited contents, limits, the table in force, insurance, the table's
        brackets. `boxes` are the request's parcels as _boxes gives them, made once per quote."""
        if lane.closed is not None:
            return lane.closed
        notes = lane.notes
        if lane.pending is not None:  # a rule whose suspension depends on the declared value
            message = value_refusal(lane.pending, lane.name, request.declared_jpy, request.ship_date, self.book.fx)
            if message is not None:
                return Refusal(Reason.SERVICE_SUSPENDED, message)
            notes = lane.pending_notes
        if flags:
            barred = lane.barred
            for index, flag in flags:
                if flag in barred:
                    return Refusal(Reason.PROHIBITED_CONTENTS, f"contents[{index}] ({flag.value}): {barred[flag]}")

        if lane.consolidation is not None:
            return _price_consolidation(lane, lane.consolidation, request, boxes, notes)

        parcels = request.parcels
        if lane.limit is not None and lane.bounds is not None:
            refusal = _over_limit(lane.name, lane.limit, lane.bounds, boxes)
            if refusal is not None:
                return refusal
        if lane.refusal is not None:
            return lane.refusal
        assert lane.table is not None  # an open lane has its table, or a refusal saying why not

        # Insurance and the compensation limit are the same for every parcel of a cart (the cover is
        # split evenly), except the uninsured limit of products that pay by weight.
        insurance = lane.insurance
        fee = 0
        each = lane.each
        if request.insure:
            refusal = _check_insurance(lane.name, insurance, request)
            if refusal is not None:
                return refusal
            assert insurance is not None  # _check_insurance refuses products without insurance
            cover_each = -(-request.value_to_insure // len(parcels))
            fee = insurance.fee(cover_each)
            each = max(cover_each, insurance.included_cover_jpy) if cover_each else (insurance.included_cover_jpy or None)
        found = _in_brackets(lane.name, lane.zone, lane.max_weights, lane.prices, each, lane.uninsured, [b[0] for b in boxes])
        if type(found) is Refusal:
            return found
        priced, postage, weight, compensation = found  # type: ignore[misc]
        return QuoteOption(
            lane.method,
            lane.product,
            lane.name,
            postage,
            fee * len(parcels),
            lane.zone,
            weight,
            lane.tracked,
            compensation,
            lane.arrival,
            lane.table,
            tuple(ParcelPrice(grams, price, fee, top) for grams, price, top in priced),
            notes,
        )


def _price_consolidation(
    lane: PricedLane, contract: ConsolidationLane, request: QuoteRequest, boxes: list[tuple[int, int, int, int]], notes: tuple[str, ...]
) -> QuoteOption | Refusal:
    if request.insure:
        return Refusal(Reason.INSURANCE_NOT_AVAILABLE, "the consolidation contract offers no insurance")
    found = _in_contract(contract, boxes)
    if type(found) is Refusal:
        return found
    priced, postage, weight = found  # type: ignore[misc]
    assert lane.table is not None
    return QuoteOption(
        lane.method,
        lane.product,
        lane.name,
        postage,
        0,
        0,
        weight,
        lane.tracked,
        0,
        lane.arrival,
        lane.table,
        tuple(ParcelPrice(billable, price, 0, top) for billable, price, top in priced),
        notes,
    )


def _boxes(parcels: tuple[Parcel, ...]) -> list[tuple[int, int, int, int]]:
    """Parcels as the helpers below take them: (grams, sides longest first), sides 0 when no size is given."""
    return [(p.weight_g, *p.sides) if p.length_mm else (p.weight_g, 0, 0, 0) for p in parcels]


def _over_limit(name: str, limit: Limit, bounds: tuple[int, int, int, int, int, int], parcels: list[tuple[int, int, int, int]]) -> Refusal | None:
    """Why the first parcel that breaks the lane's limit cannot go, or None. `parcels` are (grams,
    sides longest first), sides 0 when not given. One comparison chain per parcel; _check_limit,
    which words the refusal, runs only for a parcel that breaks a limit."""
    max_weight, max_length, max_girth, max_sides, min_length, min_width = bounds
    for index, (grams, a, b, c) in enumerate(parcels):
        if grams <= max_weight:
            if not a:
                continue
            if a <= max_length and a + 2 * (b + c) <= max_girth and a + b + c <= max_sides and a >= min_length and b >= min_width:
                continue
        refusal = check_limit(name, limit, bounds, index, Parcel(grams, a, b, c))
        if refusal is not None:
            return refusal
    return None


def _in_contract(contract: ConsolidationLane, parcels: list[tuple[int, int, int, int]]) -> tuple[list[tuple[int, int, int]], int, int] | Refusal:
    """Each parcel priced by the consolidation contract on the larger of its actual and volumetric
    weight, as (billable grams, price, bracket upper weight), with postage and weight summed; or
    OVER_WEIGHT_LIMIT for the first parcel past the contract's table."""
    brackets, divisor = contract.brackets, contract.volumetric_divisor
    priced = []
    postage = weight = 0
    for index, (grams, a, b, c) in enumerate(parcels):
        billable = max(grams, -(-(a * b * c) // divisor)) if a else grams
        found = brackets.price_for(billable)
        if found is None:
            return over_contract(index, billable, divisor, brackets.max_weights[-1])
        price, top = found
        priced.append((billable, price, top))
        postage += price
        weight += billable
    return priced, postage, weight


def _in_brackets(
    name: str, zone: int, max_weights: tuple[int, ...], prices: tuple[int, ...], each: int | None, uninsured: Brackets | None, weights: list[int]
) -> tuple[list[tuple[int, int, int]], int, int, int] | Refusal:
    """Each parcel priced by its weight rounded up into its bracket, as (grams, price, bracket upper
    weight), with the postage, weight and compensation summed; NO_PUBLISHED_RATE for the first
    parcel past the table. `each` is the compensation per parcel, or None to look it up by weight in
    `uninsured` (products that pay by weight when uninsured)."""
    end = len(max_weights)
    priced = []
    postage = weight = compensation = 0
    for index, grams in enumerate(weights):
        i = bisect_left(max_weights, grams)
        if i == end:
            return past_table(name, index, grams, zone)
        price = prices[i]
        priced.append((grams, price, max_weights[i]))
        postage += price
        weight += grams
        if each is not None:
            compensation += each
        elif uninsured is not None:
            found = uninsured.price_for(grams)
            compensation += found[0] if found else 0
    return priced, postage, weight, compensation


def _cheapest_first(option: QuoteOption) -> tuple[int, str]:
    # _value_ rather than .value: the enum property costs more than the rest of the key.
    return option.postage_jpy + option.insurance_jpy, option.method._value_


def _check_insurance(name: str, insurance: InsuranceRule | None, request: QuoteRequest) -> Refusal | None:
    if insurance is None or not insurance.insurable:
        return Refusal(Reason.INSURANCE_NOT_AVAILABLE, f"{name} cannot be insured")
    cover_each = -(-request.value_to_insure // len(request.parcels))
    if cover_each > insurance.max_cover_jpy:
        return Refusal(
            Reason.INSURANCE_NOT_AVAILABLE,
            f"{name} insures at most {insurance.max_cover_jpy:,} JPY per parcel; {cover_each:,} JPY was asked",
        )
    return None
