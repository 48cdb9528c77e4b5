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

- Importer tax numbers (the shop's registrations for import VAT collected at the sale): an EU IOSS
  number is "IM" and 10 digits; a UK VAT number "GB" and 9 digits (12 for a branch, GD/HA and 3 for
  government bodies); Norway's VOEC number 7 digits; Australia's ABN 11 digits (with its check
  digits) or ARN 12 digits. Each is printed only on parcels to its destination, as the customs
  data's importer reference: a shop may send all of them with every label.

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


_IOSS = re.compile(r"^IM\d{10}$")
_UK_VAT = re.compile(r"^GB(?:\d{9}|\d{12}|GD\d{3}|HA\d{3})$")
_VOEC = re.compile(r"^(?:VOEC)?(\d{7})$")
_DIGITS = re.compile(r"^\d+$")
_ABN_WEIGHTS = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value).upper()


def _abn_valid(digits: str) -> bool:
    """The ABN check: subtract 1 from the first digit, weigh, and the sum divides by 89."""
    values = [int(d) for d in digits]
    values[0] -= 1
    return sum(w * v for w, v in zip(_ABN_WEIGHTS, values, strict=True)) % 89 == 0


def check_details(request: LabelRequest) -> None:
    """The importer tax numbers' formats (INVALID_ARGUMENT naming the field)."""
    c = request.customs
    bad: list[FieldViolation] = []
    if c.ioss_number and not _IOSS.match(_compact(c.ioss_number)):
        bad.append(FieldViolation("customs.ioss_number", "must be an IOSS number: IM and 10 digits"))
    if c.uk_vat_number and not _UK_VAT.match(_compact(c.uk_vat_number)):
        bad.append(FieldViolation("customs.uk_vat_number", "must be a UK VAT number: GB and 9 digits"))
    if c.voec_number and not _VOEC.match(_compact(c.voec_number)):
        bad.append(FieldViolation("customs.voec_number", "must be a VOEC number: 7 digits"))
    if c.au_gst_number:
        au = _compact(c.au_gst_number)
        if not _DIGITS.match(au) or not (len(au) == 12 or (len(au) == 11 and _abn_valid(au))):
            bad.append(FieldViolation("customs.au_gst_number", "must be an ABN (11 digits, with valid check digits) or an ARN (12 digits)"))
    if bad:
        raise InvalidArgument(bad, reason="INVALID_CUSTOMS_DECLARATION")


def importer_references(request: LabelRequest) -> list[str]:
    """What the forms print as the importer's reference: the shop's tax registration for the
    destination, then the recipient's own reference."""
    c = request.customs
    region = request.recipient.region_code
    out = []
    if region in EU_REGIONS and c.ioss_number:
        out.append(f"IOSS {_compact(c.ioss_number)}")
    if region == "GB" and c.uk_vat_number:
        out.append(f"VAT {_compact(c.uk_vat_number)}")
    if region == "NO" and c.voec_number:
        match = _VOEC.match(_compact(c.voec_number))
        out.append(f"VOEC {match.group(1) if match else c.voec_number}")
    if region == "AU" and c.au_gst_number:
        au = _compact(c.au_gst_number)
        out.append(f"{'ABN' if len(au) == 11 else 'ARN'} {au}")
    if c.importer_reference:
        out.append(c.importer_reference)
    return out


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
