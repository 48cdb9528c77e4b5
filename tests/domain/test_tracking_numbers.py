"""S10 tracking numbers as the tracking service accepts them, with property tests of the check digit."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import s10
from domain.errors import InvalidArgument
from tracking.model import Product, parse_number, product_for

serials = st.integers(min_value=0, max_value=99_999_999)
indicators = st.sampled_from(["EN", "EJ", "EG", "CD", "CN", "LX", "LP", "RR", "RB", "HA"])


@given(indicators, serials)
def test_made_numbers_are_accepted_in_every_spelling(indicator: str, serial: int) -> None:
    number = s10.make(indicator, serial)
    assert parse_number(number) == number
    spaced = f"{number[:2]} {number[2:5]} {number[5:8]}-{number[8:11]} {number[11:]}".lower()
    assert parse_number(spaced) == number


@given(indicators, serials, st.integers(min_value=1, max_value=9))
def test_any_other_check_digit_is_refused(indicator: str, serial: int, shift: int) -> None:
    number = s10.make(indicator, serial)
    wrong = f"{number[:10]}{(int(number[10]) + shift) % 10}{number[11:]}"
    with pytest.raises(InvalidArgument) as caught:
        parse_number(wrong)
    assert caught.value.reason == "TRACKING_NUMBER_CHECK_DIGIT"
    assert caught.value.violations[0].field == "tracking_number"


@given(serials, st.integers(min_value=0, max_value=7), st.integers(min_value=1, max_value=9))
def test_a_single_changed_serial_digit_is_caught(serial: int, position: int, delta: int) -> None:
    # Weights 8,6,4,2,3,5,9,7 are all prime to 11, so one changed digit always changes S mod 11;
    # the check digit then differs, except that the 11->5 folding makes S mod 11 = 0 and 6 both 5.
    digits = f"{serial:08d}"
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1 :]
    a, b = s10.check_digit(digits), s10.check_digit(changed)
    total = lambda s: sum(int(d) * w for d, w in zip(s, s10.WEIGHTS, strict=True)) % 11  # noqa: E731
    assert total(digits) != total(changed)
    assert a != b or {total(digits), total(changed)} == {0, 6}


@pytest.mark.parametrize(
    ("serial", "digit"),
    [("47312482", 9), ("12345678", 5), ("47110815", 1), ("00071759", 5), ("96633102", 0), ("11111111", 5)],
)
def test_reference_check_digits(serial: str, digit: int) -> None:
    assert s10.check_digit(serial) == digit


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "TRACKING_NUMBER_EMPTY"),
        ("  - ", "TRACKING_NUMBER_EMPTY"),
        ("EN12345678JP", "TRACKING_NUMBER_MALFORMED"),
        ("EN123456785JPX", "TRACKING_NUMBER_MALFORMED"),
        ("RB123456785GB", "TRACKING_NUMBER_NOT_JAPAN_POST"),
        ("UA111111115JP", "TRACKING_NUMBER_IS_CUSTOMS_LABEL"),
        ("EN123456784JP", "TRACKING_NUMBER_CHECK_DIGIT"),
        ("x" * 10_000, "TRACKING_NUMBER_MALFORMED"),
    ],
)
def test_refusals_have_their_own_reasons(text: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_number(text)
    assert caught.value.reason == reason
    assert [v.field for v in caught.value.violations] == ["tracking_number"]


def test_product_from_prefix() -> None:
    assert product_for("EN123456785JP") is Product.EMS
    assert product_for("CD126430535JP") is Product.PARCEL
    assert product_for("LX331479647JP") is Product.TRACKED_LETTER
    assert product_for("RR473124829JP") is Product.REGISTERED_LETTER
    assert product_for("HA000000005JP") is Product.OTHER


# --- one spelling per number: full-width forms are read as ASCII, other scripts are refused ---------

FULL_WIDTH_OFFSET = 0xFEE0  # 'Ａ' - 'A': the full-width forms of ASCII '!'..'~'


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + FULL_WIDTH_OFFSET) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


@pytest.mark.parametrize(
    "text",
    [
        "ＥＮ１２３４５６７８５ＪＰ",
        "ｅｎ１２３４５６７８５ｊｐ",
        "ＥＮ\u3000１２３－４５６－７８５\u3000ＪＰ",
        "EN１２３456７８５jp",
    ],
)
def test_full_width_spellings_are_the_ascii_number(text: str) -> None:
    assert parse_number(text) == "EN123456785JP"


@pytest.mark.parametrize(
    "text",
    [
        "EN١٢٣٤٥٦٧٨٥JP",  # Arabic-Indic digits
        "EN۱۲۳۴۵۶۷۸۵JP",  # Extended Arabic-Indic (Persian) digits
        "EN१२३४५६७८५JP",  # Devanagari digits
        "EN𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟓JP",  # mathematical bold digits (NFKC would make these ASCII)
        "EN①②③④⑤⑥⑦⑧⑤JP",  # circled digits (NFKC too)
    ],
)
def test_digits_of_other_scripts_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_number(text)
    assert caught.value.reason == "TRACKING_NUMBER_MALFORMED"
    assert [v.field for v in caught.value.violations] == ["tracking_number"]
    assert "0-9" in caught.value.violations[0].description


@pytest.mark.parametrize("text", ["ıN123456785JP", "EN123456785ȷP", "ſN123456785JP", "EN123456785JP\u212a"])
def test_letters_that_only_upper_case_to_ascii_are_refused(text: str) -> None:
    # 'ı'.upper() == 'I' and 'ſ'.upper() == 'S': upper-casing before checking would let them through.
    with pytest.raises(InvalidArgument) as caught:
        parse_number(text)
    assert caught.value.reason == "TRACKING_NUMBER_MALFORMED"


def _spellings(number: str) -> st.SearchStrategy[str]:
    """Any spelling of `number` a person might type: each character upper or lower case, ASCII or
    full-width, with spaces, hyphens, ideographic spaces or full-width hyphens between characters."""
    char = lambda c: st.sampled_from(sorted({c, c.lower(), full_width(c), full_width(c.lower())}))  # noqa: E731
    gap = st.sampled_from(["", "", "", " ", "-", "\u3000", "－", " - "])
    return st.tuples(*[st.tuples(gap, char(c)) for c in number], gap).map(lambda parts: "".join(g + c for g, c in parts[:-1]) + parts[-1])


@given(st.tuples(indicators, serials).map(lambda t: s10.make(*t)).flatmap(lambda n: st.tuples(st.just(n), _spellings(n))))
def test_every_spelling_of_a_number_is_one_ascii_number(case: tuple[str, str]) -> None:
    number, spelling = case
    assert parse_number(spelling) == number


NON_ASCII_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii() and not "０" <= c <= "９")


@given(indicators, serials, st.integers(min_value=0, max_value=8), NON_ASCII_DIGITS)
def test_a_digit_of_another_script_anywhere_is_refused(indicator: str, serial: int, position: int, digit: str) -> None:
    number = s10.make(indicator, serial)
    at = 2 + position
    with pytest.raises(InvalidArgument) as caught:
        parse_number(number[:at] + digit + number[at + 1 :])
    assert caught.value.reason == "TRACKING_NUMBER_MALFORMED"


@given(st.text(max_size=40))
def test_whatever_is_accepted_is_one_ascii_s10_number(text: str) -> None:
    try:
        number = parse_number(text)
    except InvalidArgument as error:
        assert [v.field for v in error.violations] == ["tracking_number"]
        return
    assert number.isascii() and re.fullmatch(r"[A-Z]{2}[0-9]{9}JP", number)
    assert parse_number(number) == number
