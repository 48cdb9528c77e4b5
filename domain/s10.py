"""UPU S10 item identifiers (e.g. EN123456785JP): normalising, check digits and validation.

Format: two service-indicator letters, an eight-digit serial, a check digit and the issuing
post's ISO country code. Check digit: weights 8,6,4,2,3,5,9,7 over the serial, C = 11 - (S mod 11),
with 10 -> 0 and 11 -> 5 (UPU S10; see shared/reference/tracking.md section 1.2).
"""

from __future__ import annotations

import re

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_S10 = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_SEPARATORS = re.compile(r"[\s\-]+")


def check_digit(serial: str) -> int:
    """The S10 check digit of an eight-digit serial."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("serial must be eight digits")
    total = sum(int(d) * w for d, w in zip(serial, WEIGHTS, strict=True))
    c = 11 - total % 11
    return 0 if c == 10 else 5 if c == 11 else c


def normalise(text: str) -> str:
    """Upper-cases and drops spaces and hyphens: 'en 123-456-785 jp' -> 'EN123456785JP'."""
    return _SEPARATORS.sub("", text).upper()


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
    m = _S10.match(number)
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
