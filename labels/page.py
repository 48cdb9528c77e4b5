"""The page a label is drawn on: drawing operations in points from the top-left corner, text measured
with the fonts it prints with (labels.fonts), and the building blocks every part of a label is
written with (a cursor down a column, wrapped lines, an address block).

labels.layout, labels.forms and labels.fitting lay pages out with these; labels.documents (PDF)
and labels.zpl (ZPL) draw them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics

from labels import addresses, fonts
from labels.model import Address

# -- drawing operations -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    baseline: float  # from the top of the page
    text: str  # in drawing order (labels.fonts.visual)
    size: float
    bold: bool = False
    region: str = ""  # the destination: picks the Han face
    white: bool = False  # white on a black rule


@dataclass(frozen=True, slots=True)
class Rule:
    x: float
    y: float
    width: float
    height: float  # a filled rectangle: lines are thin ones


@dataclass(frozen=True, slots=True)
class Frame:
    x: float
    y: float
    width: float
    height: float
    thickness: float = 0.6


@dataclass(frozen=True, slots=True)
class CheckBox:
    x: float
    y: float
    size: float
    checked: bool
    label: str = ""  # which category or instruction, for tests and readers of the layout


@dataclass(frozen=True, slots=True)
class Barcode:
    x: float
    y: float
    width: float
    height: float
    data: str


Op = Text | Rule | Frame | CheckBox | Barcode


@dataclass(slots=True)
class Page:
    width: float
    height: float
    ops: list[Op] = field(default_factory=list)
    items_left_out: int = 0  # item rows that did not fit (listed on a page of their own)
    # The ops that print the tracking number: (first index, how many, what draws them for a
    # number). Nothing else on a page depends on the number (see pages()).
    numbered: list[tuple[int, int, Callable[[str], list[Op]]]] = field(default_factory=list)
    # Set while labels.fitting tries a scale: the building blocks then only move down the page
    # (the same heights, the same wrapped lines) without making the ops that depend on nothing but
    # their own text and place (table cells, tick boxes, lines of a column).
    measuring: bool = False

    def truncate(self, start: int) -> None:
        """Drops the ops from `start` on (a form drawn again at another scale)."""
        del self.ops[start:]
        self.numbered = [n for n in self.numbered if n[0] < start]

    def add_numbered(self, number: str, draw: Callable[[str], list[Op]]) -> None:
        """Adds the ops that print the tracking number, drawn by `draw` from the number alone."""
        if self.measuring:
            return
        ops = draw(number)
        self.numbered.append((len(self.ops), len(ops), draw))
        self.ops.extend(ops)

    def renumbered(self, number: str) -> Page:
        """This page for another tracking number: the number's ops drawn again, the rest as is."""
        ops = list(self.ops)
        for start, count, draw in self.numbered:
            again = draw(number)
            if len(again) != count:
                raise AssertionError("a number's ops changed in count")
            ops[start : start + count] = again
        return Page(self.width, self.height, ops, self.items_left_out, list(self.numbered))


# -- measuring text -----------------------------------------------------------------------------------

_registered = False


def register_fonts() -> None:
    """Registers the faces with reportlab once (reading them is quick: glyphs load on use)."""
    global _registered
    if _registered:
        return
    from labels import pdf_fonts

    for face in fonts.FACES:
        pdf_fonts.register(face.name, str(face.path))
    _registered = True


@lru_cache(maxsize=16384)
def unit_width(text: str, region: str = "") -> float:
    """Width in points at 1000 pt, measured once per text (widths scale with the size)."""
    register_fonts()
    return sum(pdfmetrics.stringWidth(chunk, face.name, 1000.0) for face, chunk in fonts.runs(text, region))


def width(text: str, size: float, region: str = "") -> float:
    """Width in points."""
    return unit_width(text, region) * size / 1000.0


@lru_cache(maxsize=4096)
def wrap(text: str, size: float, room: float, region: str = "") -> tuple[str, ...]:
    """Lines of at most `room` points: broken at spaces, or between characters where a word is too
    long (Chinese, Japanese and Thai are written without spaces). Remembered: the forms' fixed texts
    (the certificate, column titles) are wrapped the same way on every label, at every scale tried."""
    return tuple(_wrap(text, size, room, region))


def _wrap(text: str, size: float, room: float, region: str) -> list[str]:
    text = " ".join(text.split())
    if not text or width(text, size, region) <= room:
        return [text] if text else []
    space = width(" ", size, region)
    lines: list[str] = []
    current = ""
    used = 0.0
    for word in text.split(" "):
        w = width(word, size, region)
        if current and used + space + w <= room:
            current, used = f"{current} {word}", used + space + w
            continue
        if current:
            lines.append(current)
        if w <= room:
            current, used = word, w
            continue
        current, used = "", 0.0
        for ch in word:
            cw = width(ch, size, region)
            if current and used + cw > room:
                lines.append(current)
                current, used = "", 0.0
            current, used = current + ch, used + cw
    if current:
        lines.append(current)
    return lines


# -- building blocks ----------------------------------------------------------------------------------


class Cursor:
    """Writes lines down a column of a page."""

    def __init__(self, page: Page, x: float, y: float, room: float, region: str = ""):
        self.page, self.x, self.y, self.room, self.region = page, x, y, room, region

    def line(self, text: str, size: float, *, bold: bool = False, x: float | None = None, leading: float = 1.18, wrap_lines: bool = True) -> None:
        left = self.x if x is None else x
        room = self.room - (left - self.x)
        visual = fonts.visual(text)
        pieces = wrap(visual, size, room, self.region) if wrap_lines else (visual,)
        if self.page.measuring:
            for _ in pieces:  # the same additions as below: the same y to the last bit
                self.y += size * leading * 0.82
                self.y += size * leading * 0.18
            return
        for piece in pieces:
            self.y += size * leading * 0.82
            self.page.ops.append(Text(left, self.y, piece, size, bold, self.region))
            self.y += size * leading * 0.18


def fitted(text: str, size: float, room: float) -> float:
    """The size at which a one-line text fits `room` (at most `size`)."""
    w = width(text, size)
    return size if w <= room else size * room / w


def block_height(lines: Sequence[tuple[str, float]], room: float, region: str, leading: float = 1.18) -> float:
    return sum(size * leading * max(1, len(wrap(fonts.visual(text), size, room, region))) for text, size in lines)


def address_block(a: Address, size: float, *, sender: bool = False) -> list[tuple[str, float, bool]]:
    """(text, size, bold) lines of an address: as given in its country's order; then its Latin
    version where it has one; then the country in capitals; then the phone."""
    return [(text, size if factor is None else size * factor, bold) for text, factor, bold in _address_lines(a, sender)]


@lru_cache(maxsize=1024)
def _address_lines(a: Address, sender: bool) -> tuple[tuple[str, float | None, bool], ...]:
    """address_block's lines with each size as a factor of the block's (None: the size itself),
    once per address: a label sizes and draws its addresses at several sizes and scales."""
    if sender:
        # The sender is in Japan and writes in Latin letters, in the Western order Japan Post shows.
        place = ", ".join(p for p in (a.city, " ".join(q for q in (a.administrative_area, a.postal_code) if q)) if p)
        out: list[tuple[str, float | None, bool]] = [(t, None, i == 0) for i, t in enumerate(v for v in (a.name, a.company, *a.address_lines, place) if v)]
        out.append(("JAPAN", None, True))
        if a.phone:
            out.append((f"Tel {a.phone}", 0.9, False))
        return tuple(out)
    out = [(t, None, True) for t in addresses.lines(a)]
    if a.latin is not None:
        latin = Address(**{**{f: getattr(a.latin, f) for f in Address.__slots__}, "region_code": a.region_code, "postal_code": a.postal_code, "latin": None})
        out += [(t, 0.78, False) for t in addresses.lines(latin, latin=True)]
    out.append((addresses.country_name(a.region_code), 1.25, True))
    if a.phone:
        out.append((f"Tel {a.phone}", 0.78, False))
    return tuple(out)
