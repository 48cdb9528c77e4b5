"""Printable documents of a label: PDF (A6 or 4x6 in, reportlab) and ZPL II (4x6 in, 203 dpi).

Both carry the same content: product and customs form, a Code 128 barcode of the tracking number
with its human-readable form, sender and recipient blocks, weight, and a customs summary; when the
form is CN23, its data follow on a page (PDF) or label (ZPL) of their own.

ZPL safety: every text from a caller goes through `zpl_field`, which writes the field with ^FH
(hexadecimal escapes) and encodes `^`, `~`, the escape character itself, control characters and
every non-ASCII byte as `_XX`. No caller text can therefore start a ZPL command.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A6, inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from labels.model import Address, CustomsForm, DocumentFormat, Label

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
    content = render_zpl(label).encode("ascii") if fmt is DocumentFormat.ZPL_4X6 else render_pdf(label, fmt)
    return Document(fmt, CONTENT_TYPES[fmt], content)


# -- shared content ---------------------------------------------------------------------------------


def address_lines(a: Address) -> list[str]:
    lines = [a.name]
    if a.company:
        lines.append(a.company)
    lines.extend(a.address_lines)
    lines.append(" ".join(p for p in (a.city, a.administrative_area, a.postal_code) if p))
    lines.append(a.region_code)
    if a.phone:
        lines.append(f"Tel {a.phone}")
    return [line for line in lines if line]


def headline(label: Label) -> str:
    return f"{label.pricing.product_name} - {label.customs_form.value}"


def facts(label: Label) -> list[str]:
    r = label.request
    lines = [
        f"Weight: {r.parcel.weight_g} g   Ship date: {r.ship_date.isoformat()}",
        f"Contents: {r.contents_type.value.replace('_', ' ')}   Declared: {r.declared_value_jpy:,} JPY",
    ]
    if label.export_declaration_required:
        lines.append("EXPORT DECLARATION REQUIRED (>= 200,000 JPY)")
    return lines


def item_summary(label: Label, limit: int) -> list[str]:
    items = label.request.items
    lines = [f"{it.quantity} x {it.description} - {it.value_jpy:,} JPY" for it in items[:limit]]
    if len(items) > limit:
        lines.append(f"... and {len(items) - limit} more (see {label.customs_form.value})")
    return lines


def cn23_lines(label: Label) -> list[str]:
    r = label.request
    lines = [f"CN23 CUSTOMS DECLARATION - {label.tracking_number}", f"Category: {r.contents_type.value.replace('_', ' ')}", ""]
    for i, it in enumerate(r.items, 1):
        lines.append(f"{i}. {it.description}")
        lines.append(
            f"   qty {it.quantity}  unit {it.unit_value_jpy:,} JPY  total {it.value_jpy:,} JPY  net {it.net_weight_g} g"
            f"  HS {it.hs_code or '-'}  origin {it.origin_region_code or '-'}"
        )
    lines += ["", f"Total declared value: {r.declared_value_jpy:,} JPY", f"Gross weight: {r.parcel.weight_g} g"]
    if label.export_declaration_required:
        lines.append("Export declaration required (declared total >= 200,000 JPY)")
    return lines


# -- PDF --------------------------------------------------------------------------------------------


def _fit(text: str, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text + "..."


def render_pdf(label: Label, fmt: DocumentFormat) -> bytes:
    width, height = PAGE_SIZES[fmt]
    buffer = io.BytesIO()
    # invariant=1: no creation date or random id, so the same label renders to the same bytes.
    pdf = Canvas(buffer, pagesize=(width, height), invariant=1)
    pdf.setTitle(f"Label {label.tracking_number}")
    margin = 0.06 * width
    usable = width - 2 * margin
    scale = width / A6[0]
    y = height - margin

    def line(text: str, font: str = "Helvetica", size: float = 7.0) -> None:
        nonlocal y
        size *= scale
        y -= size * 1.25
        pdf.setFont(font, size)
        pdf.drawString(margin, y, _fit(text, font, size, usable))

    line(headline(label), "Helvetica-Bold", 10)
    line("JAPAN POST - from Japan", "Helvetica", 6)
    y -= 4 * scale
    bar_height = 0.09 * height
    barcode = Code128(label.tracking_number, barHeight=bar_height, barWidth=max(0.9, 1.05 * scale), humanReadable=False, quiet=True)
    y -= bar_height
    barcode.drawOn(pdf, margin + (usable - barcode.width) / 2, y)
    y -= 2 * scale
    size = 11 * scale
    y -= size
    pdf.setFont("Helvetica-Bold", size)
    pdf.drawCentredString(width / 2, y, label.tracking_number)
    y -= 4 * scale
    line("FROM", "Helvetica-Bold", 6.5)
    for text in address_lines(label.request.sender):
        line(text, "Helvetica", 6.5)
    y -= 3 * scale
    line("TO", "Helvetica-Bold", 8)
    for text in address_lines(label.request.recipient):
        line(text, "Helvetica-Bold", 8)
    y -= 3 * scale
    for text in facts(label):
        line(text, "Helvetica", 6.5)
    line(f"Customs ({label.customs_form.value}):", "Helvetica-Bold", 6.5)
    room = max(1, int((y - margin) / (6.5 * scale * 1.25)) - 1)
    for text in item_summary(label, room):
        line(text, "Helvetica", 6)
    pdf.showPage()
    if label.customs_form is CustomsForm.CN23:
        y = height - margin
        for text in cn23_lines(label):
            if y < margin + 10:
                pdf.showPage()
                y = height - margin
            line(text, "Helvetica-Bold" if text.startswith("CN23") else "Helvetica", 6)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# -- ZPL II -----------------------------------------------------------------------------------------

DOTS_WIDE = 812  # 4 in at 203 dpi
DOTS_HIGH = 1218  # 6 in at 203 dpi
_ESCAPE = "_"


def zpl_escape(text: str) -> str:
    """Field data for use after ^FH_: `^`, `~`, `_`, control characters and non-ASCII (as UTF-8
    bytes, with ^CI28) are written as _XX hexadecimal escapes."""
    out: list[str] = []
    for ch in text:
        if ch in "^~_" or ord(ch) < 0x20 or ord(ch) > 0x7E:
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


def zpl_field(x: int, y: int, text: str, *, height: int = 28, width: int = 0, block_width: int = 0) -> str:
    """One text field at (x, y). Caller text only ever appears escaped, inside ^FH_^FD ... ^FS."""
    font = f"^A0N,{height},{width or height}"
    block = f"^FB{block_width},1,0,L,0" if block_width else ""
    return f"^FO{x},{y}{font}{block}^FH{_ESCAPE}^FD{zpl_escape(text)}^FS"


def render_zpl(label: Label) -> str:
    parts = ["^XA", "^CI28", f"^PW{DOTS_WIDE}", f"^LL{DOTS_HIGH}", "^LH0,0"]
    y = 30

    def text(value: str, height: int = 28, x: int = 30) -> None:
        nonlocal y
        parts.append(zpl_field(x, y, value, height=height, block_width=DOTS_WIDE - x - 30))
        y += int(height * 1.2)

    text(headline(label), 40)
    text("JAPAN POST - from Japan", 22)
    y += 10
    # Code 128 with the interpretation line below it; >: starts subset B (letters and digits).
    parts.append(f"^FO60,{y}^BY3,3,140^BCN,140,Y,N,N^FH{_ESCAPE}^FD>:{zpl_escape(label.tracking_number)}^FS")
    y += 200
    parts.append(f"^FO30,{y}^GB{DOTS_WIDE - 60},2,2^FS")
    y += 12
    text("FROM", 22)
    for value in address_lines(label.request.sender):
        text(value, 22)
    y += 8
    text("TO", 30)
    for value in address_lines(label.request.recipient):
        text(value, 34)
    y += 8
    parts.append(f"^FO30,{y}^GB{DOTS_WIDE - 60},2,2^FS")
    y += 12
    for value in facts(label):
        text(value, 24)
    text(f"Customs ({label.customs_form.value}):", 24)
    room = max(1, (DOTS_HIGH - 30 - y) // 26)
    for value in item_summary(label, room):
        text(value, 22)
    parts.append("^PQ1")
    parts.append("^XZ")
    if label.customs_form is CustomsForm.CN23:
        y = 30
        parts += ["^XA", "^CI28", f"^PW{DOTS_WIDE}", f"^LL{DOTS_HIGH}", "^LH0,0"]
        for value in cn23_lines(label):
            if y > DOTS_HIGH - 60:
                parts += ["^XZ", "^XA", "^CI28", f"^PW{DOTS_WIDE}", f"^LL{DOTS_HIGH}", "^LH0,0"]
                y = 30
            text(value, 22)
        parts.append("^XZ")
    return "\n".join(parts) + "\n"
