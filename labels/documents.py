"""Printable documents: a label's PDF (A6 or 4x6 in, labels/pdf.py) or ZPL II (4x6 in, 203 dpi,
labels/zpl.py), the checks that its text can be printed before a number is issued, the recent
documents kept, and the day's manifest (CSV and A4 PDF).

Both draw the pages that labels.layout lays out: the address label with its customs data (the
CN22 form, or a CN23 summary), then the CN23 on a page of its own when the parcel needs one.

Every script: text is drawn with the Noto faces of labels.fonts, chosen per character (PDF:
labels/pdf.py; ZPL: labels/zpl.py).

Stored labels render deterministically: the same label gives the same bytes (reportlab runs with
invariant=1; the graphic fields come from the same fonts at the same sizes).
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from domain.errors import FieldViolation, InvalidArgument
from labels import addresses, fonts
from labels.model import Address, DocumentFormat, Label, LabelRequest, Manifest
from labels.pdf import render_pdf
from labels.zpl import render_zpl

CONTENT_TYPES = {
    DocumentFormat.PDF_A6: "application/pdf",
    DocumentFormat.PDF_4X6: "application/pdf",
    DocumentFormat.ZPL_4X6: "application/x-zpl",
}


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
