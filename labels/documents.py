"""Printable documents: a label's PDF (A6 or 4x6 in, reportlab) or ZPL II (4x6 in, 203 dpi, labels/zpl.py), and the
day's manifest (CSV and A4 PDF).

Both draw the pages that labels.layout lays out: the address label with its customs data (the
CN22 form, or a CN23 summary), then the CN23 on a page of its own when the parcel needs one.

Every script: text is drawn with the Noto faces of labels.fonts, chosen per character, embedded in
the PDF (subsets of TrueType outlines). Bold is the face's regular drawn with a thicker stroke (the
variable fonts' default instance is what reportlab embeds). Thai is shaped with HarfBuzz (marks
placed over and under their consonants), Arabic joined and put in visual order.

ZPL is labels/zpl.py's.

Stored labels render deterministically: the same label gives the same bytes (reportlab runs with
invariant=1; the graphic fields come from the same fonts at the same sizes).
"""

from __future__ import annotations

import csv
import io
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reportlab import rl_config
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4, A6, inch
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen.canvas import PATH_OPS, Canvas

from domain.errors import FieldViolation, InvalidArgument
from labels import addresses, fonts, layout
from labels.model import Address, DocumentFormat, Label, LabelRequest, Manifest
from labels.page import Barcode, CheckBox, Frame, Page, Rule, Text, register_fonts, width
from labels.zpl import render_zpl

CONTENT_TYPES = {
    DocumentFormat.PDF_A6: "application/pdf",
    DocumentFormat.PDF_4X6: "application/pdf",
    DocumentFormat.ZPL_4X6: "application/x-zpl",
}
PAGE_SIZES = {DocumentFormat.PDF_A6: A6, DocumentFormat.PDF_4X6: (4 * inch, 6 * inch)}


@dataclass(frozen=True, slots=True)
class Document:
    format: DocumentFormat
    content_type: str
    content: bytes


def render(label: Label, fmt: DocumentFormat | None = None) -> Document:
    fmt = fmt or label.request.document_format
    return Document(fmt, CONTENT_TYPES[fmt], _rendered.get(label, fmt))


def render_content(label: Label, fmt: DocumentFormat) -> bytes:
    """The document drawn anew (render() returns it from the recent documents where it can)."""
    return render_zpl(label).encode("ascii") if fmt is DocumentFormat.ZPL_4X6 else render_pdf(label, fmt)


class _RecentDocuments:
    """The documents rendered last, kept up to a total size: a retried CreateLabel, or a GetLabel
    soon after, gets the bytes rendered for the label a moment ago instead of drawing them again.

    Keyed by the whole label (frozen, compared field by field) and the format: rendering is a pure
    function of the two, so a kept document is the one a new rendering would give, byte for byte,
    and a label that changed (voided, its personal data erased) is another key. Bounded in bytes,
    least recently used first out; each worker process keeps its own."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._docs: OrderedDict[tuple[Label, DocumentFormat], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, label: Label, fmt: DocumentFormat) -> bytes:
        key = (label, fmt)
        with self._lock:
            content = self._docs.get(key)
            if content is not None:
                self._docs.move_to_end(key)
                return content
        content = render_content(label, fmt)  # outside the lock: renderings run side by side
        if len(content) <= self.max_bytes // 4:
            with self._lock:
                if key not in self._docs:
                    self._docs[key] = content
                    self._size += len(content)
                    while self._size > self.max_bytes:
                        _, dropped = self._docs.popitem(last=False)
                        self._size -= len(dropped)
        return content


# 16 MB: about a thousand PDF labels (13-20 KB each), a few hundred ZPL ones with graphic fields.
_rendered = _RecentDocuments(16 * 1024 * 1024)


# -- before a number is issued: the address and the text must be printable ----------------------------


def _address_texts(a: Address, field: str) -> list[tuple[str, str]]:
    out = [(f"{field}.{name}", getattr(a, name)) for name in ("name", "company", "city", "administrative_area", "sublocality", "postal_code", "sorting_code")]
    out += [(f"{field}.address_lines[{i}]", line) for i, line in enumerate(a.address_lines)]
    out += [(f"{field}.{name}", getattr(a, name)) for name in ("phone", "email")]
    return [(f, v) for f, v in out if v]


def check_printable(request: LabelRequest) -> None:
    """INVALID_ARGUMENT naming each field: an address its country would not deliver (a required
    field missing, a postcode that cannot be right), a recipient written in another script without
    its Latin version, or text no font of ours can draw (it would print as empty boxes)."""
    bad: list[FieldViolation] = addresses.check(request.recipient, "recipient")
    recipient = request.recipient
    if recipient.latin is None:
        if not all(fonts.is_latin(v) for _, v in _address_texts(recipient, "recipient")):
            missing = [("name", recipient.name), ("address_lines", recipient.address_lines), ("city", recipient.city)]
            bad += [
                FieldViolation(
                    f"recipient.latin.{name}",
                    "is required: the address is written in another script than Latin, and Japan Post sorts by a Latin line (send both)",
                )
                for name, given in missing
                if given
            ]
    else:
        latin = recipient.latin
        for name in ("name", "address_lines", "city"):
            if getattr(recipient, name) and not getattr(latin, name):
                bad.append(FieldViolation(f"recipient.latin.{name}", "is required: the Latin version of the address"))
        for f, value in _address_texts(latin, "recipient.latin"):
            if not fonts.is_latin(value):
                bad.append(FieldViolation(f, "must be written in Latin letters"))
    texts = _address_texts(request.sender, "sender") + _address_texts(recipient, "recipient")
    if recipient.latin is not None:
        texts += _address_texts(recipient.latin, "recipient.latin")
    d = request.customs
    texts += [("customs.comments", d.comments), ("customs.invoice_number", d.invoice_number), ("customs.importer_reference", d.importer_reference)]
    texts += [(f"customs.licence_numbers[{i}]", v) for i, v in enumerate(d.licence_numbers)]
    texts += [(f"customs.certificate_numbers[{i}]", v) for i, v in enumerate(d.certificate_numbers)]
    for f, value in texts:
        chars = fonts.missing(value)
        if chars:
            bad.append(FieldViolation(f, f"has characters no label font can print ({fonts.describe(chars[:5])})"))
    if bad:
        raise InvalidArgument(bad, reason="INVALID_ADDRESS")


# -- PDF --------------------------------------------------------------------------------------------


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


def render_pdf(label: Label, fmt: DocumentFormat) -> bytes:
    register_fonts()
    width, height = PAGE_SIZES[fmt]
    buffer = io.BytesIO()
    # invariant=1: no creation date or random id, so the same label renders to the same bytes.
    pdf = Canvas(buffer, pagesize=(width, height), invariant=1)
    pdf.setTitle(f"Label {label.tracking_number}")
    for page in layout.pages(label, width, height):
        _draw_pdf_page(pdf, page)
        pdf.showPage()
    _compress_pages_quickly(pdf)
    pdf.save()
    return buffer.getvalue()


# -- ZPL II -----------------------------------------------------------------------------------------

# --- the day's manifest -----------------------------------------------------------------------


def manifest_csv(manifest: Manifest) -> bytes:
    """The manifest as CSV: one row per label, then the totals per product and over all."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        ["ship_date", "tracking_number", "product", "destination", "weight_grams", "price_jpy", "declared_value_jpy", "customs_form", "export_declaration"]
    )
    for lb in manifest.labels:
        w.writerow(
            [
                manifest.ship_date.isoformat(),
                lb.tracking_number,
                lb.product.value,
                lb.request.recipient.region_code,
                lb.request.parcel.weight_g,
                lb.pricing.price_jpy,
                lb.declared_value_jpy,
                lb.customs_form.value,
                "yes" if lb.export_declaration_required else "no",
            ]
        )
    w.writerow([])
    w.writerow(["product", "label_count", "total_weight_grams", "total_price_jpy", "total_declared_value_jpy"])
    for t in manifest.totals:
        w.writerow([t.product.value, t.count, t.weight_g, t.price_jpy, t.declared_jpy])
    w.writerow(
        [
            "all",
            len(manifest.labels),
            sum(t.weight_g for t in manifest.totals),
            sum(t.price_jpy for t in manifest.totals),
            sum(t.declared_jpy for t in manifest.totals),
        ]
    )
    return out.getvalue().encode("utf-8")


def manifest_pdf(manifest: Manifest) -> bytes:
    """The manifest as an A4 PDF to hand over with the parcels: totals per product, then every item."""
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle(f"Manifest {manifest.ship_date.isoformat()}")
    _, height = A4
    y = height - 50

    def row(text: str, font: str = "Helvetica", size: float = 9) -> None:
        nonlocal y
        if y < 50:
            pdf.showPage()
            y = height - 50
        pdf.setFont(font, size)
        pdf.drawString(40, y, text)
        y -= size * 1.4

    row(f"Hand-over manifest - Japan Post - ship date {manifest.ship_date.isoformat()}", "Helvetica-Bold", 13)
    row(f"{len(manifest.labels)} items", "Helvetica", 10)
    row("")
    row("Totals per product", "Helvetica-Bold", 10)
    for t in manifest.totals:
        row(f"{t.product_name}: {t.count} items, {t.weight_g:,} g, postage {t.price_jpy:,} JPY, declared {t.declared_jpy:,} JPY")
    row("")
    row("Items", "Helvetica-Bold", 10)
    for i, lb in enumerate(manifest.labels, 1):
        row(
            f"{i:4d}  {lb.tracking_number}  {lb.product.value:<17} {lb.request.recipient.region_code}  {lb.request.parcel.weight_g:>6} g"
            f"  {lb.pricing.price_jpy:>7,} JPY  {lb.customs_form.value}{'  EXPORT DECL.' if lb.export_declaration_required else ''}",
            "Courier",
            8,
        )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
