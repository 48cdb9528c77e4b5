"""The fonts labels print with, which of them draws each character, and the text no font can draw.

Noto fonts from PyPI, installed with the project (pyproject.toml), so `make run` and the container
image have them without a system font:
- Noto Sans (fontpkg-noto-sans): Latin, Greek, Cyrillic, Vietnamese;
- Noto Sans Thai and Noto Sans Arabic (fontpkg-noto-sans-thai, -arabic);
- Noto Sans JP, KR, SC and TC (justmytype-intl-cjk): kana, Hangul, and Han characters drawn the
  way each region writes them (a Taiwanese address in traditional forms, a Chinese one simplified).

They are TrueType (glyf) variable fonts: reportlab embeds their default instance (it reads no CFF
and no variations), Pillow draws any weight. Their default weights differ (the CJK families default
to Thin), so a face carries its default weight and the PDF thickens strokes to the weight asked
for (`stroke_em`), which keeps one file per script and the install reasonable (about 55 MB).

Han characters are shared by the four CJK faces; the one chosen follows the destination (TW, HK,
MO: traditional; CN, SG: simplified; KR; JP), then the text itself (kana: Japanese; Hangul: Korean).

`missing()` is what a label request is checked against before a number is issued: a character no
face covers would print as an empty box, so it is refused, naming the field.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import fontpkg_noto_sans
import fontpkg_noto_sans_arabic
import fontpkg_noto_sans_thai
import justmytype_intl_cjk

_CJK = Path(justmytype_intl_cjk.__file__).resolve().parent / "fonts" / "ofl"

REGULAR = 400
BOLD = 700


@dataclass(frozen=True, slots=True)
class Face:
    name: str  # the name reportlab registers it under
    path: Path
    default_weight: int  # the weight of the variable font's default instance (what reportlab draws)
    complex: bool = False  # needs shaping (Thai marks) or bidi reordering (Arabic)

    def stroke_em(self, weight: int) -> float:
        """How much to thicken strokes (in em) to draw the default instance at `weight`."""
        return max(0.0, (weight - self.default_weight) / 1000 * 0.11)


LATIN = Face("NotoSans", fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf", 400)
THAI = Face("NotoSansThai", fontpkg_noto_sans_thai.ROOT / "files" / "NotoSansThai[wdth,wght].ttf", 400, complex=True)
ARABIC = Face("NotoSansArabic", fontpkg_noto_sans_arabic.ROOT / "files" / "NotoSansArabic[wdth,wght].ttf", 400, complex=True)
JP = Face("NotoSansJP", _CJK / "notosansjp" / "NotoSansJP[wght].ttf", 100)
KR = Face("NotoSansKR", _CJK / "notosanskr" / "NotoSansKR[wght].ttf", 100)
SC = Face("NotoSansSC", _CJK / "notosanssc" / "NotoSansSC[wght].ttf", 100)
TC = Face("NotoSansTC", _CJK / "notosanstc" / "NotoSansTC[wght].ttf", 100)
FACES = (LATIN, THAI, ARABIC, JP, KR, SC, TC)

_HAN_BY_REGION = {"TW": TC, "HK": TC, "MO": TC, "CN": SC, "SG": SC, "KR": KR, "JP": JP}

_lock = threading.Lock()
_cmaps: dict[str, frozenset[int]] = {}


def _cmap(face: Face) -> frozenset[int]:
    """The code points a face maps, read once (the cmap table only: fast even for CJK faces)."""
    cmap = _cmaps.get(face.name)
    if cmap is None:
        with _lock:
            cmap = _cmaps.get(face.name)
            if cmap is None:
                from fontTools.ttLib import TTFont

                font = TTFont(str(face.path), lazy=True)
                try:
                    cmap = frozenset(font.getBestCmap())
                finally:
                    font.close()
                _cmaps[face.name] = cmap
    return cmap


# Characters that are neither printed nor a problem: spaces are drawn as advances, and the
# formatting marks of bidirectional text steer the layout.
_INVISIBLE = frozenset("\u200c\u200d\u200e\u200f")


def _han_order(text: str, region: str) -> tuple[Face, ...]:
    first = _HAN_BY_REGION.get(region)
    if first is None:
        if any("\u3040" <= c <= "\u30ff" for c in text):
            first = JP
        elif any("\uac00" <= c <= "\ud7af" or "\u1100" <= c <= "\u11ff" for c in text):
            first = KR
        else:
            first = SC
    return (first, *(f for f in (JP, KR, SC, TC) if f is not first))


def _is_common(ch: str) -> bool:
    """Spaces, digits and punctuation: they join the run they stand in, where its face has them."""
    return unicodedata.category(ch)[0] in "ZPNS" or unicodedata.category(ch) == "Mn"


def normalize(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def face_for(ch: str, text: str, region: str) -> Face | None:
    code = ord(ch)
    for face in (LATIN, THAI, ARABIC):
        if code in _cmap(face):
            return face
    for face in _han_order(text, region):  # only for what the alphabetic faces lack
        if code in _cmap(face):
            return face
    return None


def missing(text: str) -> list[str]:
    """The characters of `text` that no face can draw (in order, each once)."""
    if text.isascii() and text.isprintable() and _ascii_covered():
        return []  # most of what a label carries: every face set has printable ASCII
    return list(_missing(text))


@lru_cache(maxsize=1)
def _ascii_covered() -> bool:
    return all(any(code in _cmap(f) for f in FACES) for code in range(0x21, 0x7F))


@lru_cache(maxsize=16384)
def _missing(text: str) -> tuple[str, ...]:
    """missing(), remembered per text: a shop's own address and the forms' texts recur on every
    label, and most recipients' names and places recur on more than one."""
    out: list[str] = []
    for ch in normalize(text):
        if ch in _INVISIBLE or ch == " ":
            continue
        unprintable = unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or not any(ord(ch) in _cmap(f) for f in FACES)
        if unprintable and ch not in out:
            out.append(ch)
    return tuple(out)


def describe(chars: Iterable[str]) -> str:
    """U+XXXX names for an error message: says which characters, without echoing the text."""
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in chars)


def is_latin(text: str) -> bool:
    """True when every letter of `text` is a Latin letter (digits and punctuation are neutral)."""
    if text.isascii():
        return True  # ASCII letters are Latin ones
    return all(not ch.isalpha() or unicodedata.name(ch, "").startswith("LATIN") for ch in normalize(text))


def _is_rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL")


def visual(text: str) -> str:
    """The text in drawing order: Arabic joined into its contextual forms (arabic-reshaper) and put
    in visual order (the Unicode bidi algorithm, python-bidi); other text as it is."""
    if text.isascii():
        return text  # NFC already, and no right-to-left letter: nothing to remember
    return _visual(text)


@lru_cache(maxsize=4096)
def _visual(text: str) -> str:
    text = normalize(text)
    if not any(_is_rtl(c) for c in text):
        return text
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(text)))


def runs(text: str, region: str) -> tuple[tuple[Face, str], ...]:
    """`text` (already in visual order) cut into runs that one face draws each. Characters no face
    covers go to the Latin face (they were refused at issue; a label stored before prints .notdef)."""
    if text and _latin_chars().issuperset(text):
        return ((LATIN, text),)  # every character the Latin face's, which _runs tries first
    return _runs(text, region)


@lru_cache(maxsize=4096)
def _runs(text: str, region: str) -> tuple[tuple[Face, str], ...]:
    out: list[tuple[Face, str]] = []
    current: Face | None = None
    chunk: list[str] = []
    for ch in text:
        if current is not None and (_is_common(ch) or ch in _INVISIBLE) and ord(ch) in _cmap(current):
            chunk.append(ch)
            continue
        face = face_for(ch, text, region) or LATIN
        if face is not current:
            if chunk and current is not None:
                out.append((current, "".join(chunk)))
            current, chunk = face, []
        chunk.append(ch)
    if chunk and current is not None:
        out.append((current, "".join(chunk)))
    return tuple(out)


@lru_cache(maxsize=1)
def _latin_chars() -> frozenset[str]:
    return frozenset(map(chr, _cmap(LATIN)))


def prepare() -> None:
    """Reads every face's cmap now (at start-up) rather than in the first request."""
    for face in FACES:
        _cmap(face)
