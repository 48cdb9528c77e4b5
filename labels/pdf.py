"""A label's pages as PDF (A6 for office printers, 4x6 in for thermal ones), drawn with reportlab from
what labels.layout lays out.

Every script: text is drawn with the Noto faces of labels.fonts, chosen per character, embedded as
subsets of their TrueType outlines. Bold is the face's regular drawn with a thicker stroke (the
variable fonts' default instance is what reportlab embeds). Thai is shaped with HarfBuzz (marks
placed over and under their consonants), Arabic joined and put in visual order. reportlab runs with
invariant=1, so the same label gives the same bytes.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from reportlab import rl_config
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A6, inch
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen.canvas import PATH_OPS, Canvas

from labels import fonts, layout
from labels.model import DocumentFormat, Label
from labels.page import Barcode, CheckBox, Frame, Page, Rule, Text, register_fonts, width

PAGE_SIZES = {DocumentFormat.PDF_A6: A6, DocumentFormat.PDF_4X6: (4 * inch, 6 * inch)}


@dataclass(frozen=True, slots=True)
class _Piece:
    """A run of a text in one face, with what writing it needs that does not depend on the page."""

    face: fonts.Face
    chunk: str
    stroke: float  # line width that thickens the strokes to the weight (0: none)
    key: tuple[str, float, float]  # face, size and stroke: the text state it is drawn in
    select: str  # the Tf and TL operators of its size (after the subset's name)
    advance: float  # its width: where the next run starts
    fixed: str | None  # the Tj operator, where the run is encoded the same in every document
    states: tuple[tuple[tuple[str, float, float], int], ...]  # (key, gray) in black and in white
    font: Any  # the face's reportlab font


@lru_cache(maxsize=4096)
def _pieces(text: str, region: str, size: float, bold: bool) -> tuple[_Piece, ...]:
    out = []
    for face, chunk in fonts.runs(text, region):
        stroke = face.stroke_em(fonts.BOLD if bold else fonts.REGULAR) * size
        font = pdfmetrics.getFont(face.name)
        encoded_alike = getattr(font, "fixed", None)  # labels.pdf_fonts' fonts have it
        fixed = f"({escapePDF(chunk.encode('ascii'))}) Tj" if face is not fonts.THAI and encoded_alike and encoded_alike(chunk) else None
        select = f"{fp_str(size)} Tf {fp_str(size * 1.2)} TL"
        key = (face.name, size, round(stroke, 3))
        out.append(_Piece(face, chunk, stroke, key, select, width(chunk, size, region), fixed, ((key, 0), (key, 1)), font))
    return tuple(out)


class _TextWriter:
    """Writes a page's text in one PDF text object: one BT ... ET for the page rather than one per
    string, the font and stroke set only when they change (most of a label's strings share them).

    The operators are written here directly, as reportlab's text object writes them (same
    operators, same number formatting, characters encoded into the font's subsets by the font
    itself, in the same order), without its per-call bookkeeping; the operators of a run that
    every document encodes alike (ASCII) are kept with the run. Thai, shaped by HarfBuzz, goes
    through the canvas as before."""

    def __init__(self, pdf: Canvas, page_height: float):
        self.pdf, self.h = pdf, page_height
        self.doc = pdf._doc
        self.code: list[str] = ["BT", "1 0 0 1 0 0 Tm"]  # what canvas.beginText() starts with
        self.state: tuple[tuple[str, float, float], int] | None = None
        self.mode = 0  # text render mode
        self.subset = -1  # the font subset selected last (a new font selects none)
        self.font: Any = None
        self.ready = False  # whether the font has this document's subsets (its state) yet
        self.select = ""  # the Tf/TL operators of the current font and size, less the subset's name
        self.first_subset: dict[str, str] = {}  # each font's first subset's name in the document
        self.ready_fonts: set[str] = set()  # the fonts known to have the document's subsets

    def draw(self, op: Text) -> None:
        pieces = _pieces(op.text, op.region, op.size, op.bold)
        gray = 1 if op.white else 0
        if len(pieces) == 1:
            piece = pieces[0]
            if piece.fixed is not None and self.ready and self.subset == 0 and piece.states[gray] == self.state:
                # Most strings: one ASCII run in the font and state of the one before.
                self.code.append(f"1 0 0 1 {fp_str(op.x, self.h - op.baseline)} Tm {piece.fixed}")
                return
        x = op.x
        y = self.h - op.baseline
        code = self.code
        for piece in pieces:
            stroke = piece.stroke
            if piece.face is fonts.THAI:  # HarfBuzz shaping goes through the canvas
                self.pdf.setFillGray(gray)
                self.pdf.setStrokeGray(gray)
                self.pdf.setFont(piece.face.name, op.size)
                self.pdf.setLineWidth(stroke)
                self.pdf.drawString(x, y, piece.chunk, mode=2 if stroke > 0 else 0, shaping=True)
            else:
                state = piece.states[gray]
                if state != self.state:
                    self.font = piece.font
                    self.ready = piece.face.name in self.ready_fonts or self._has_subsets(piece)
                    self.subset = -1
                    self.select = piece.select
                    mode = 2 if stroke > 0 else 0
                    if mode != self.mode:
                        self.mode = mode
                        code.append(f"{mode} Tr")
                    if stroke > 0:
                        code.append(f"{stroke:.3f} w")
                    code.append(f"{gray} g {gray} G")  # the code is joined by spaces: as two appends
                    self.state = state
                if piece.fixed is not None and self.ready and self.subset == 0:
                    code.append(f"1 0 0 1 {fp_str(x, y)} Tm {piece.fixed}")  # ASCII in the font's first subset, selected
                else:
                    code.append(f"1 0 0 1 {fp_str(x, y)} Tm {self._shown(piece)}")
            x += piece.advance

    def _has_subsets(self, piece: _Piece) -> bool:
        if self.doc in piece.font.state:
            self.ready_fonts.add(piece.face.name)
            return True
        return False

    def _shown(self, piece: _Piece) -> str:
        """The operators that show the run: its bytes in each subset, the subset selected first
        where it changes."""
        font, doc = self.font, self.doc
        if piece.fixed is not None and self.ready:
            self.subset = 0
            first = self.first_subset.get(piece.face.name)
            if first is None:
                first = self.first_subset[piece.face.name] = font.getSubsetInternalName(0, doc)
            return f"{first} {self.select} {piece.fixed}"
        out = []
        for subset, data in font.splitString(piece.chunk, doc):
            if subset != self.subset:
                out.append(f"{font.getSubsetInternalName(subset, doc)} {self.select}")
                self.subset = subset
            out.append(f"({escapePDF(data)}) Tj")
        self.ready = True  # the font has the document's subsets now
        self.ready_fonts.add(piece.face.name)
        return " ".join(out)

    def close(self) -> None:
        self.code.append("ET")
        self.pdf._code.append(" ".join(self.code))
        self.pdf.setFillGray(0)
        self.pdf.setStrokeGray(0)


# MultiWidthBarcode's decomposition: "a".."z" a space of 1..26 modules (negative here), "A".."Z" a
# bar of 1..26 modules; other characters are skipped.
_MODULES = {**{chr(ord("a") + i): -(i + 1) for i in range(26)}, **{chr(ord("A") + i): i + 1 for i in range(26)}}


class _Code128(Code128):
    """reportlab's Code 128, encoding its value once: reportlab encodes it again each time the
    width is read and when it is drawn. The encoding depends on the value only; sizes are still
    computed as reportlab computes them, from the bar width and quiet zones."""

    _encoded_for: str | None = None
    _sized_for: tuple[Any, ...] | None = None

    def _calculate(self) -> None:
        if self._encoded_for != self.value:
            self.validate()
            self.encode()
            self.decompose()
            self._encoded_for = self.value
            self._sized_for = None
        sized_for = (self.barWidth, self.barHeight, self.quiet, self.lquiet, self.rquiet)
        if self._sized_for != sized_for:
            self.computeSize()
            self._sized_for = sized_for

    def rect(self, x: float, y: float, w: float, h: float) -> None:
        """A bar: what canvas.rect(x, y, w, h, stroke=0, fill=1) writes, without the two calls."""
        self.canv._code.append(f"n {fp_str(x, y, w, h)} re {PATH_OPS[0, 1, self.canv._fillMode]}")

    def draw(self) -> None:
        """MultiWidthBarcode.draw (bars at the same places, by the same additions), each bar written
        as rect() writes it: the numbers after its left edge (0, width, height) take the few values
        of the bar widths, so they are formatted once per width and the left edges in one call."""
        self._calculate()
        bar_width = self.barWidth
        height = self.barHeight
        left = (self.quiet and self.lquiet) or 0
        lefts: list[float] = []
        widths: list[float] = []
        for c in self.decomposed:
            units = _MODULES.get(c)
            if units is None:
                continue
            if units < 0:
                left = left + -units * bar_width
            else:
                w = units * bar_width
                lefts.append(left)
                widths.append(w)
                left += w
        if not lefts:
            return
        fill = PATH_OPS[0, 1, self.canv._fillMode]
        rest = {w: f"{fp_str(0, w, height)} re {fill}" for w in set(widths)}
        self.canv._code.extend(f"n {x} {rest[w]}" for x, w in zip(fp_str(*lefts).split(" "), widths, strict=True))
        self.drawHumanReadable()

    def take_encoding(self, other: _Code128) -> None:
        """Uses another barcode's encoding of the same value (encoded when its width was read)."""
        if other._encoded_for == self.value:
            for name in ("valid", "validated", "encoded", "decomposed"):
                setattr(self, name, getattr(other, name))
            self._encoded_for = self.value
            self._sized_for = None


def _draw_pdf_page(pdf: Canvas, page: Page) -> None:
    h = page.height
    text = _TextWriter(pdf, h)
    for op in page.ops:
        if isinstance(op, Text):
            if op.white:
                continue  # drawn after the shapes, over its black rule
            text.draw(op)
        elif isinstance(op, Rule):
            pdf.rect(op.x, h - op.y - op.height, op.width, op.height, stroke=0, fill=1)
        elif isinstance(op, Frame):
            pdf.setLineWidth(op.thickness)
            if op.height:
                pdf.rect(op.x, h - op.y - op.height, op.width, op.height, stroke=1, fill=0)
            else:
                pdf.line(op.x, h - op.y, op.x + op.width, h - op.y)
        elif isinstance(op, CheckBox):
            pdf.setLineWidth(0.6)
            pdf.rect(op.x, h - op.y - op.size, op.size, op.size, stroke=1, fill=0)
            if op.checked:
                pdf.setLineWidth(max(0.9, op.size * 0.16))
                inset = op.size * 0.2
                pdf.line(op.x + inset, h - op.y - inset, op.x + op.size - inset, h - op.y - op.size + inset)
                pdf.line(op.x + inset, h - op.y - op.size + inset, op.x + op.size - inset, h - op.y - inset)
        elif isinstance(op, Barcode):
            probe = _Code128(op.data, barHeight=op.height, barWidth=1.0, humanReadable=False, quiet=False)
            bar_width = min(op.width / probe.width, 2.2)
            barcode = _Code128(op.data, barHeight=op.height, barWidth=bar_width, humanReadable=False, quiet=True)
            barcode.take_encoding(probe)
            barcode.drawOn(pdf, op.x + (op.width - barcode.width) / 2, h - op.y - op.height)
    for op in page.ops:
        if isinstance(op, Text) and op.white:
            text.draw(op)
    text.close()


class _QuickFlate(pdfdoc.PDFStreamFilterZCompress):
    """Flate at zlib's fastest level: a page's content stream (operators and numbers, 5-9 KB a
    page) takes a third less time to compress than at the default level 6 and about 8% more bytes
    (each PDF about 3% larger). Inflated, the stream is the same, so the page draws the same."""

    def encode(self, text: str | bytes) -> bytes:
        return zlib.compress(text.encode("utf8") if isinstance(text, str) else text, 1)


_QUICK_FLATE = _QuickFlate()


def _compress_pages_quickly(pdf: Canvas) -> None:
    """Gives each page the content stream PDFPage.check_format would give it at saving, but
    compressed by _QuickFlate (the fonts' streams are compressed once per process: they keep
    the default level)."""
    for page in pdf._doc.Pages.pages:
        if not page.Contents and page.stream and page.compression:
            stream = pdfdoc.PDFStream()
            stream.filters = [pdfdoc.PDFBase85Encode, _QUICK_FLATE] if rl_config.useA85 else [_QUICK_FLATE]
            stream.content = page.stream
            stream.__Comment__ = "page stream"
            page.Contents = stream


class _LabelInfo(pdfdoc.PDFInfo):
    """The document's information dictionary as PDFInfo writes it, from the bytes written for the
    same fields but the title (author, dates, producer...: the same in every label's document),
    kept per process, with the title's own written in."""

    _written: ClassVar[dict[tuple[Any, ...], tuple[bytes, bytes]]] = {}
    _MARK = "kokokara-title-mark"

    def format(self, document: Any) -> bytes:
        ts = document._timeStamp
        if not isinstance(document.encrypt, pdfdoc.NoEncryption) or type(self.title) is not str:  # type: ignore[has-type]
            return super().format(document)  # type: ignore[no-any-return]
        key = (self.author, self.producer, self.creator, self.subject, self.keywords, self.trapped, self._dateFormatter, ts.YMDhms, ts.dhh, ts.dmm)
        around = self._written.get(key)
        if around is None:
            title, self.title = self.title, self._MARK  # type: ignore[has-type]
            try:
                before, after = super().format(document).split(pdfdoc.PDFString(self._MARK).format(document))
            finally:
                self.title = title
            around = (before, after)
            if len(self._written) < 64:
                self._written[key] = around
        return around[0] + pdfdoc.PDFString(self.title).format(document) + around[1]  # type: ignore[no-any-return]


def render_pdf(label: Label, fmt: DocumentFormat) -> bytes:
    register_fonts()
    width, height = PAGE_SIZES[fmt]
    buffer = io.BytesIO()
    # invariant=1: no creation date or random id, so the same label renders to the same bytes.
    pdf = Canvas(buffer, pagesize=(width, height), invariant=1)
    info = _LabelInfo()
    info.__dict__.update(pdf._doc.info.__dict__)
    pdf._doc.info = info
    pdf.setTitle(f"Label {label.tracking_number}")
    for page in layout.pages(label, width, height):
        _draw_pdf_page(pdf, page)
        pdf.showPage()
    _compress_pages_quickly(pdf)
    pdf.save()
    return buffer.getvalue()
