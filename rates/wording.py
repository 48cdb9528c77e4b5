"""How the quote engine words what it cannot offer: one template or function per kind of refusal.

The compiled quote kernel at the gRPC edge (kokokara/shipping/server/fast/_quotekernel.pyx) renders the same
templates with markers where a parcel's numbers go, so every sentence has one source.
"""

from __future__ import annotations

from dataclasses import dataclass

from rates.book import Limit
from rates.model import Method, Parcel, Reason, UnavailableMethod


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one product cannot carry a cart: a stable reason and a sentence."""

    reason: Reason
    message: str


# How a refusal that names the cart's own parcels is worded: one template each, filled in by
# str.format here and, with the same templates, by the gRPC edge's compiled quote kernel
# (kokokara/shipping/server/fast/_quotekernel.pyx), so the sentences have one source.
OVER_WEIGHT = "parcels[{index}] weighs {weight}; {name} takes at most {limit}"
TOO_LONG = "parcels[{index}] is {length} long; {name} takes at most {limit}"
OVER_GIRTH = "parcels[{index}] measures {girth} in length plus girth; {name} takes at most {limit}"
OVER_SIDES = "parcels[{index}] measures {sides} in length + width + height; {name} takes at most {limit}"
UNDER_SIZE = "parcels[{index}] is {length} x {width}; {name} needs at least {min_length} x {min_width}"
PAST_TABLE = "parcels[{index}]: no published {name} rate for {weight} to zone {zone}"
OVER_CONTRACT = "parcels[{index}]: billable weight {weight} (actual or volumetric, divisor {divisor}) is over the contract's {limit}"
# A method whose every product refused: each product's reason, named and joined.
COMBINED = "{name}: {message}"
COMBINED_SEPARATOR = "; "


def grams_text(weight_g: int) -> str:
    """A weight as refusals word it: 850 g, 1.2 kg."""
    return f"{weight_g / 1000:g} kg" if weight_g >= 1000 else f"{weight_g} g"


def cm_text(mm: int) -> str:
    """A length as refusals word it: 15.5 cm."""
    return f"{mm / 10:g} cm"


def check_limit(name: str, limit: Limit, bounds: tuple[int, int, int, int, int, int], index: int, parcel: Parcel) -> Refusal | None:
    """Which bound a parcel breaks first, worded with the limit Japan Post publishes; `bounds` are
    the limit's six bounds with the permissible deviation applied (rates.lanes._bounds)."""
    max_weight, max_length, max_girth, max_sides, min_length, min_width = bounds
    if parcel.weight_g > max_weight:
        return Refusal(
            Reason.OVER_WEIGHT_LIMIT, OVER_WEIGHT.format(index=index, weight=grams_text(parcel.weight_g), name=name, limit=grams_text(limit.max_weight_g))
        )
    if not parcel.length_mm:
        return None
    a, b, c = parcel.sides
    if a > max_length:
        return Refusal(Reason.OVER_SIZE_LIMIT, TOO_LONG.format(index=index, length=cm_text(a), name=name, limit=cm_text(limit.max_length_mm or 0)))
    if a + 2 * (b + c) > max_girth:
        return Refusal(
            Reason.OVER_SIZE_LIMIT,
            OVER_GIRTH.format(index=index, girth=cm_text(a + 2 * (b + c)), name=name, limit=cm_text(limit.max_length_plus_girth_mm or 0)),
        )
    if a + b + c > max_sides:
        return Refusal(
            Reason.OVER_SIZE_LIMIT, OVER_SIDES.format(index=index, sides=cm_text(a + b + c), name=name, limit=cm_text(limit.max_sum_of_sides_mm or 0))
        )
    if a < min_length or b < min_width:
        return Refusal(
            Reason.UNDER_SIZE_LIMIT,
            UNDER_SIZE.format(
                index=index,
                length=cm_text(a),
                width=cm_text(b),
                name=name,
                min_length=cm_text(limit.min_length_mm or 0),
                min_width=cm_text(limit.min_width_mm or 0),
            ),
        )
    return None


def past_table(name: str, index: int, grams: int, zone: int) -> Refusal:
    return Refusal(Reason.NO_PUBLISHED_RATE, PAST_TABLE.format(index=index, name=name, weight=grams_text(grams), zone=zone))


def over_contract(index: int, billable: int, divisor: int, top_weight: int) -> Refusal:
    return Refusal(Reason.OVER_WEIGHT_LIMIT, OVER_CONTRACT.format(index=index, weight=grams_text(billable), divisor=divisor, limit=grams_text(top_weight)))


def combine(method: Method, refusals: list[tuple[str, Refusal]]) -> UnavailableMethod:
    """One reason for a method whose every product refused: the last product's (the widest, e.g.
    parcel post for airmail) decides; the message names each product's reason."""
    reason = refusals[-1][1].reason
    if len(refusals) == 1:
        return UnavailableMethod(method, reason, refusals[0][1].message)
    return UnavailableMethod(method, reason, COMBINED_SEPARATOR.join(COMBINED.format(name=name, message=r.message) for name, r in refusals))


def notes_for(note: str, service: str) -> list[str]:
    """The parts of a destination's restriction note that concern one service: Japan Post writes one
    note per country ("EMS items to some regions are not acceptable. | Parcels to ...")."""
    keep = []
    for part in (p.strip() for p in note.replace(" | ", "|").split("|")):
        lowered = part.lower()
        if not part:
            continue
        if lowered.startswith("ems"):
            wanted = service == "ems"
        elif lowered.startswith("parcel"):
            wanted = service.startswith("parcel")
        elif lowered.startswith("registered") or lowered.startswith("letter"):
            wanted = service.startswith("letter")
        else:
            wanted = True
        if wanted:
            keep.append(part)
    return keep
