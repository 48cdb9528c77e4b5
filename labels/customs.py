"""Customs checks before a label is issued, and the choice of customs form.

Rules and their sources (see README "Labels" for the full notes):
- CN22 or CN23: Japan Post's parcel and EMS labels carry CN23 forms, so EMS, parcel post (air and
  surface) and - our choice - the consolidation forwarder always use CN23. Letter-post items
  (small packet, International Air Packet) use CN22 when the contents are worth less than 300 SDR
  and CN23 from 300 SDR (Japan Post, "Customs Declaration Form",
  post.japanpost.jp/int/use/writing/customs_en.html). Japan Post states the limit in SDR, whose yen
  value moves; the yen threshold is therefore a setting (SHIPPING_CN23_THRESHOLD_JPY). Its default,
  45,387 JPY, is 300 SDR at 151.29 JPY/SDR, the latest rate we found cited (2019-12-25): the SDR has
  risen since, so the default errs towards CN23, which carries more detail, never less.
- Export declaration: contents worth 200,000 JPY or more need an export declaration to Japanese
  customs (Tokyo Customs, postal Q&A) - the label is flagged, not refused.
- HS codes: Japan Post asks for HS codes on items to the EU (since 2023-09-22); we require them.
- Taiwan: customs asks the recipient to confirm through the EZ Way app, which identifies them by
  their mobile number; a Taiwanese mobile number (09xx xxx xxx, +886 9xx xxx xxx) is required.
- Descriptions must be specific and in English (Japan Post: no vague terms such as "daily
  necessities"); quantities and values must be given.

Errors name the item and field (`customs_items[2].hs_code`), never the values a person entered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from labels.model import ContentsType, CustomsForm, LabelRequest
from rates.model import Product
from rates.tables import ISO_REGIONS

# Japan Post's EU list for HS codes: the 27 member states.
EU_REGIONS = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ],
)
CN23_ALWAYS = frozenset({Product.EMS, Product.EMS_2021_SURCHARGE, Product.PARCEL_AIR, Product.PARCEL_SURFACE, Product.CONSOLIDATION})
DEFAULT_CN23_THRESHOLD_JPY = 45_387
EXPORT_DECLARATION_THRESHOLD_JPY = 200_000
MAX_ITEMS = 50
MAX_DESCRIPTION = 60

_ENGLISH = re.compile(r"^[A-Za-z0-9 ,.'()&/+%#:;\-]+$")
_HS = re.compile(r"^\d{6,10}$")
_TW_MOBILE = re.compile(r"^(?:\+886|00886|886)?0?9\d{8}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
# Japan Post asks for specific descriptions; these say nothing about what is inside.
VAGUE = frozenset(
    {
        "gift",
        "gifts",
        "goods",
        "item",
        "items",
        "merchandise",
        "stuff",
        "things",
        "various",
        "misc",
        "miscellaneous",
        "daily necessities",
        "sample",
        "products",
        "product",
        "other",
    }
)


@dataclass(frozen=True, slots=True)
class CustomsRules:
    cn23_threshold_jpy: int = DEFAULT_CN23_THRESHOLD_JPY


@dataclass(frozen=True, slots=True)
class CustomsDecision:
    form: CustomsForm
    export_declaration_required: bool
    notes: tuple[str, ...]


def check_items(request: LabelRequest) -> None:
    """The declaration's own content: English descriptions, quantities, values, codes (INVALID_ARGUMENT)."""
    bad: list[FieldViolation] = []
    if not request.items:
        bad.append(FieldViolation("customs_items", "at least one customs item is required"))
    if len(request.items) > MAX_ITEMS:
        bad.append(FieldViolation("customs_items", f"at most {MAX_ITEMS} customs items"))
    documents = request.contents_type is ContentsType.DOCUMENTS
    net_total = 0
    for i, item in enumerate(request.items[:MAX_ITEMS]):
        at = f"customs_items[{i}]"
        text = item.description.strip()
        if not text:
            bad.append(FieldViolation(f"{at}.description", "is required: a specific description in English"))
        elif len(text) > MAX_DESCRIPTION:
            bad.append(FieldViolation(f"{at}.description", f"must be at most {MAX_DESCRIPTION} characters"))
        elif not _ENGLISH.match(text) or not re.search(r"[A-Za-z]{2}", text):
            bad.append(FieldViolation(f"{at}.description", "must be in English (Latin letters, digits and basic punctuation)"))
        elif text.lower() in VAGUE:
            bad.append(FieldViolation(f"{at}.description", "is too vague for customs; say what the item is (e.g. 'Ceramic tea cup')"))
        if item.quantity <= 0:
            bad.append(FieldViolation(f"{at}.quantity", "is required: 1 or more"))
        if item.unit_value_jpy <= 0 and not documents:
            bad.append(FieldViolation(f"{at}.unit_value", "is required: the value of one unit in JPY, more than 0"))
        if item.hs_code and not _HS.match(item.hs_code):
            bad.append(FieldViolation(f"{at}.hs_code", "must be 6 to 10 digits (Harmonized System code)"))
        if item.net_weight_g < 0:
            bad.append(FieldViolation(f"{at}.net_weight_grams", "must not be negative"))
        net_total += max(item.net_weight_g, 0)
        if item.origin_region_code and item.origin_region_code not in ISO_REGIONS:
            bad.append(FieldViolation(f"{at}.origin_region_code", "must be an ISO 3166-1 alpha-2 region code such as JP"))
    if net_total > request.parcel.weight_g > 0:
        bad.append(FieldViolation("customs_items", "the items' net weights add up to more than the parcel's weight"))
    if bad:
        raise InvalidArgument(bad, reason="INVALID_CUSTOMS_DECLARATION")


def check_destination_rules(request: LabelRequest) -> None:
    """Rules the destination imposes (FAILED_PRECONDITION): HS codes for the EU, EZ Way for Taiwan."""
    region = request.recipient.region_code
    if region in EU_REGIONS and request.contents_type is not ContentsType.DOCUMENTS:
        missing = [
            FieldViolation(f"customs_items[{i}].hs_code", f"is required for items to the EU ({region})") for i, it in enumerate(request.items) if not it.hs_code
        ]
        if missing:
            raise FailedPrecondition(
                f"HS codes are required for items to the EU ({region}): {', '.join(v.field for v in missing)}", reason="HS_CODE_REQUIRED", violations=missing
            )
    if region == "TW":
        phone = _PHONE_SEPARATORS.sub("", request.recipient.phone)
        if not _TW_MOBILE.match(phone):
            what = "is required" if not phone else "must be a Taiwanese mobile number (09xx xxx xxx or +886 9xx xxx xxx)"
            raise FailedPrecondition(
                "recipients in Taiwan confirm customs declarations through EZ Way by SMS: recipient.phone must be their mobile number",
                reason="RECIPIENT_MOBILE_REQUIRED",
                violations=[FieldViolation("recipient.phone", what)],
            )


def decide(request: LabelRequest, product: Product, rules: CustomsRules) -> CustomsDecision:
    """The customs form for the product and value, and whether an export declaration is needed."""
    total = request.declared_value_jpy
    form = CustomsForm.CN23 if product in CN23_ALWAYS or total >= rules.cn23_threshold_jpy else CustomsForm.CN22
    notes: list[str] = []
    export = total >= EXPORT_DECLARATION_THRESHOLD_JPY
    if export:
        notes.append(
            f"declared total {total:,} JPY reaches {EXPORT_DECLARATION_THRESHOLD_JPY:,} JPY: an export declaration to customs is needed before hand-over"
        )
    return CustomsDecision(form, export, tuple(notes))
