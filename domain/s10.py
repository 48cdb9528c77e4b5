"""UPU S10 item identifiers (e.g. EN123456785JP): normalising, check digits and validation.

Format: two service-indicator letters, an eight-digit serial, a check digit and the issuing
post's ISO country code. Check digit: weights 8,6,4,2,3,5,9,7 over the serial, C = 11 - (S mod 11),
with 10 -> 0 and 11 -> 5 (UPU S10; see shared/reference/tracking.md section 1.2).

A number is ASCII. Typed on a Japanese keyboard it often comes in full-width forms (ＥＮ１２３…):
those are read as their ASCII letters and digits. Digits of other scripts (Arabic-Indic,
Devanagari, mathematical, circled, ...) and letters that only upper-case to ASCII (dotless ı,
long ſ) are refused, so every number has one spelling: one cache entry, one Japan Post lookup.
"""

from __future__ import annotations

import re
import unicodedata

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# ASCII only: `\d` and `[A-Z]` with IGNORECASE would take other scripts' digits and letters.
_S10 = re.compile(r"([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})")
_SEPARATORS = re.compile(r"[\s\-]+")


def check_digit(serial: str) -> int:
    """The S10 check digit of an eight-digit serial."""
    if len(serial) != 8 or not (serial.isascii() and serial.isdigit()):
        raise ValueError("serial must be eight digits")
    total = sum(int(d) * w for d, w in zip(serial, WEIGHTS, strict=True))
    c = 11 - total % 11
    return 0 if c == 10 else 5 if c == 11 else c


def _narrow(ch: str) -> str:
    """A full-width form as its ASCII counterpart (NFKC of an East Asian width F character:
    'Ｅ' -> 'E', '１' -> '1', '－' -> '-', the ideographic space -> ' '); any other character as it is."""
    return unicodedata.normalize("NFKC", ch) if unicodedata.east_asian_width(ch) == "F" else ch


def normalise(text: str) -> str:
    """Reads full-width forms as ASCII, drops spaces and hyphens and upper-cases:
    'en 123-456-785 jp' and 'ＥＮ１２３４５６７８５ＪＰ' -> 'EN123456785JP'. Other non-ASCII characters
    are kept as they are (not upper-cased, which maps 'ı' to 'I'), for validate() to refuse."""
    if not text.isascii():
        text = "".join(_narrow(ch) for ch in text)
    text = _SEPARATORS.sub("", text)
    return text.upper() if text.isascii() else text


def make(service_indicator: str, serial: int, country: str = "JP") -> str:
    """Builds a valid S10 number from its parts."""
    s = f"{serial:08d}"
    if len(s) != 8:
        raise ValueError("serial must be below 100,000,000")
    return f"{service_indicator}{s}{check_digit(s)}{country}"


class S10Error(ValueError):
    """Why a text is not a usable Japan Post S10 number; `reason` is stable UPPER_SNAKE."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def validate(text: str, *, country: str = "JP") -> str:
    """Returns the normalised number or raises S10Error with a stable reason."""
    number = normalise(text)
    if not number:
        raise S10Error("TRACKING_NUMBER_EMPTY", "tracking number is empty")
    if not number.isascii():
        raise S10Error(
            "TRACKING_NUMBER_MALFORMED",
            "tracking number must be written with the letters A-Z and the digits 0-9 (full-width forms are read as these; other scripts are not)",
        )
    m = _S10.fullmatch(number)
    if not m:
        raise S10Error(
            "TRACKING_NUMBER_MALFORMED",
            "tracking number must be two letters, nine digits and two letters (S10), e.g. EN123456785JP",
        )
    indicator, serial, digit, issuer = m.groups()
    if issuer != country:
        raise S10Error("TRACKING_NUMBER_NOT_JAPAN_POST", f"tracking number must end in {country}, not {issuer}")
    if indicator.startswith("U"):
        raise S10Error(
            "TRACKING_NUMBER_IS_CUSTOMS_LABEL",
            "U... numbers are customs (CN22) labels, not tracking numbers; Japan Post cannot track them",
        )
    if int(digit) != check_digit(serial):
        raise S10Error("TRACKING_NUMBER_CHECK_DIGIT", "tracking number check digit does not match its serial")
    return number
