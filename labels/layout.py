"""Where everything goes on a label page: one layout for the PDF and the ZPL renderers.

A page is a list of drawing operations in points, measured from the top-left corner; the PDF
renderer draws them with reportlab, the ZPL renderer turns them into printer commands at 203 dpi.
Text is measured with the fonts it prints with (labels.fonts), so a line that fits here fits there.

The address label (first page), top to bottom:
- the product and the customs form, large, with JAPAN POST;
- the sender, small, beside the ship date, weight and postage;
- the recipient, as large as the space allows: the address as given, in its country's order, then
  the Latin version where it was written in another script, then the country in capitals;
- the Code 128 barcode of the tracking number, with the number in print;
- the customs data in the rest of the page: the CN22 form itself (category boxes, items with their
  net weight, value, HS code and origin, totals, non-delivery instruction, date and signature), or,
  when the parcel carries a CN23, its summary and a pointer to the CN23 that follows on its own
  page (laid out as the UPU form is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from reportlab.pdfbase import pdfmetrics

from labels import addresses, customs, fonts
from labels.model import Address, ContentsType, CustomsForm, Label, NonDelivery

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


@lru_cache(maxsize=65536)
def _unit_width(text: str, region: str) -> float:
    register_fonts()
    return sum(pdfmetrics.stringWidth(chunk, face.name, 1000.0) for face, chunk in fonts.runs(text, region))


def width(text: str, size: float, region: str = "") -> float:
    """Width in points: measured once per text at 1000 pt (widths scale with the size)."""
    return _unit_width(text, region) * size / 1000.0


@lru_cache(maxsize=16384)
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
    if sender:
        # The sender is in Japan and writes in Latin letters, in the Western order Japan Post shows.
        place = ", ".join(p for p in (a.city, " ".join(q for q in (a.administrative_area, a.postal_code) if q)) if p)
        out = [(t, size, i == 0) for i, t in enumerate(v for v in (a.name, a.company, *a.address_lines, place) if v)]
        out.append(("JAPAN", size, True))
        if a.phone:
            out.append((f"Tel {a.phone}", size * 0.9, False))
        return out
    out = [(t, size, True) for t in addresses.lines(a)]
    if a.latin is not None:
        latin = Address(**{**{f: getattr(a.latin, f) for f in Address.__slots__}, "region_code": a.region_code, "postal_code": a.postal_code, "latin": None})
        out += [(t, size * 0.78, False) for t in addresses.lines(latin, latin=True)]
    out.append((addresses.country_name(a.region_code), size * 1.25, True))
    if a.phone:
        out.append((f"Tel {a.phone}", size * 0.78, False))
    return out


# -- customs content ----------------------------------------------------------------------------------

CATEGORIES = (
    (ContentsType.GIFT, "Gift"),
    (ContentsType.DOCUMENTS, "Documents"),
    (ContentsType.SAMPLE, "Commercial sample"),
    (ContentsType.RETURNED_GOODS, "Returned goods"),
    (ContentsType.MERCHANDISE, "Sale of goods"),
    (None, "Other"),
)
CERTIFICATE = (
    "I, the undersigned, whose name and address are given on the item, certify that the particulars given in this declaration"
    " are correct and that this item does not contain any dangerous article or articles prohibited by legislation or by postal"
    " or customs regulations."
)
CERTIFICATE_CN23 = (
    "I certify that the particulars given in this customs declaration are correct and that this item does not contain any"
    " dangerous article or articles prohibited by legislation or by postal or customs regulations. I have met all applicable"
    " export filing requirements under the applicable laws and regulations."
)


def kg(grams: int) -> str:
    return f"{grams / 1000:.3f}"


def _checks(page: Page, x: float, y: float, room: float, size: float, options: Sequence[tuple[bool, str]], per_row: int) -> float:
    """Tick boxes in rows; returns the y below them."""
    box = size * 1.05
    col = room / per_row
    for i, (checked, label) in enumerate(options):
        cx = x + (i % per_row) * col
        cy = y + (i // per_row) * box * 1.45
        page.ops.append(CheckBox(cx, cy, box, checked, label))
        page.ops.append(Text(cx + box + size * 0.35, cy + box * 0.82, label, fitted(label, size, col - box - size * 0.8)))
    rows = (len(options) + per_row - 1) // per_row
    return y + rows * box * 1.45


def _category_options(label: Label) -> list[tuple[bool, str]]:
    return [(label.request.contents_type is ct, text) for ct, text in CATEGORIES]


def _non_delivery_options(label: Label) -> list[tuple[bool, str]]:
    chosen = label.request.customs.non_delivery
    return [(chosen is NonDelivery.RETURN_TO_SENDER, "Return to sender"), (chosen is NonDelivery.ABANDON, "Treat as abandoned")]


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    share: float  # of the table's width
    align_right: bool = False


CN22_COLUMNS = (
    Column("Quantity and detailed description of contents", 0.44),
    Column("Net weight (kg)", 0.13, True),
    Column("Value (JPY)", 0.15, True),
    Column("HS tariff number", 0.16),
    Column("Origin", 0.12),
)
CN23_COLUMNS = (
    Column("Detailed description of contents", 0.36),
    Column("Qty", 0.08, True),
    Column("Net weight (kg)", 0.13, True),
    Column("Value (JPY)", 0.15, True),
    Column("HS tariff number", 0.15),
    Column("Country of origin", 0.13),
)


def _cell(page: Page, text: str, x: float, y: float, w: float, size: float, right: bool, bold: bool = False) -> None:
    """One cell's text: smaller where it would not fit (codes and numbers must print whole), cut
    with "..." only below 60% of the size."""
    pad = size * 0.3
    room = w - 2 * pad
    shown = fonts.visual(text)
    fit = size
    while width(shown, fit) > room and fit > size * 0.6:
        fit -= 0.25
    while width(shown, fit) > room and len(shown) > 4:
        shown = shown[: -4 if shown.endswith("...") else -1].rstrip() + "..."
    tx = x + w - pad - width(shown, fit) if right else x + pad
    page.ops.append(Text(tx, y, shown, fit, bold))


def _table(page: Page, x: float, y: float, room: float, columns: Sequence[Column], rows: Sequence[Sequence[str]], size: float, header_size: float) -> float:
    """A ruled table; returns the y below it."""
    widths = [c.share * room for c in columns]
    header_lines = [wrap(c.title, header_size, w - header_size * 0.6) for c, w in zip(columns, widths, strict=True)]
    header_h = max(len(h) for h in header_lines) * header_size * 1.15 + header_size * 0.4
    row_h = size * 1.45
    height = header_h + row_h * len(rows)
    page.ops.append(Frame(x, y, room, height))
    page.ops.append(Rule(x, y + header_h, room, 0.5))
    cx = x
    for i, (w, title) in enumerate(zip(widths, header_lines, strict=True)):
        if i:
            page.ops.append(Rule(cx, y, 0.4, height))
        for j, piece in enumerate(title):
            page.ops.append(Text(cx + header_size * 0.3, y + header_size * (1.0 + 1.15 * j), piece, header_size))
        cx += w
    for r, row in enumerate(rows):
        base = y + header_h + row_h * r + size * 1.08
        cx = x
        for col, w, value in zip(columns, widths, row, strict=True):
            _cell(page, value, cx, base, w, size, col.align_right)
            cx += w
        if r:
            page.ops.append(Rule(x, y + header_h + row_h * r, room, 0.25))
    return y + height


def _item_rows(label: Label, with_quantity_column: bool) -> list[list[str]]:
    rows = []
    for it in label.request.items:
        description = it.description if with_quantity_column else f"{it.quantity} x {it.description}"
        values = [kg(it.net_weight_g) if it.net_weight_g else "", f"{it.value_jpy:,}", it.hs_code, it.origin_region_code]
        rows.append([description, str(it.quantity), *values] if with_quantity_column else [description, *values])
    return rows


# -- the address label --------------------------------------------------------------------------------


def label_page(label: Label, page_width: float, page_height: float) -> Page:
    page = Page(page_width, page_height)
    r = label.request
    region = r.recipient.region_code
    m = max(7.0, page_width * 0.028)
    room = page_width - 2 * m
    ops = page.ops
    y = m

    # Header: product, form, JAPAN POST.
    head_h = page_height * 0.075
    ops.append(Frame(m, y, room, head_h, 1.2))
    product = label.pricing.product_name
    size = min(head_h * 0.55, 17.0)
    while width(product, size) > room * 0.62 and size > 8:
        size -= 0.5
    ops.append(Text(m + 5, y + head_h * 0.5 + size * 0.35, product, size, True))
    form = label.customs_form.value.replace("CN", "CN ")
    form_w = width(form, head_h * 0.45) + 10
    ops.append(Rule(m + room - form_w, y, form_w, head_h))  # the form name, white on black
    ops.append(Text(m + room - form_w + 5, y + head_h * 0.5 + head_h * 0.16, form, head_h * 0.45, True, white=True))
    ops.append(Text(m + room - form_w - width("JAPAN POST", 6.5) - 6, y + head_h * 0.42, "JAPAN POST", 6.5, True))
    ops.append(Text(m + room - form_w - width("from JAPAN", 5.5) - 6, y + head_h * 0.78, "from JAPAN", 5.5))
    y += head_h + 4

    # Sender and the parcel's facts.
    left = room * 0.6
    sender = address_block(r.sender, 6.2, sender=True)
    c = Cursor(page, m, y, left - 6)
    c.line("FROM", 5.2, bold=True)
    for text, sz, bold in sender:
        c.line(text, sz, bold=bold)
    facts = [
        ("Ship date", r.ship_date.isoformat()),
        ("Weight", f"{r.parcel.weight_g:,} g"),
        ("Postage", f"{label.pricing.price_jpy:,} JPY"),
        ("Declared", f"{r.declared_value_jpy:,} JPY"),
    ]
    fy = y
    for name, value in facts:
        fy += 7.6
        ops.append(Text(m + left, fy, name, 5.5))
        ops.append(Text(m + room - width(value, 6.8), fy, value, 6.8, True))
    y = max(c.y, fy) + 4
    ops.append(Rule(m, y, room, 0.8))
    y += 3

    # The barcode band and the customs part take what they need; the recipient takes the rest.
    bar_h = page_height * 0.085
    barcode_band = bar_h + 22
    customs_min = page_height * (0.30 if label.customs_form is CustomsForm.CN22 else 0.22)
    to_room = page_height - m - y - barcode_band - customs_min
    recipient = r.recipient
    size = 13.0
    while size > 7:
        lines = address_block(recipient, size)
        if block_height([(t, s) for t, s, _ in lines], room - 16, region) + 8 <= to_room:
            break
        size -= 0.5
    lines = address_block(recipient, size)
    ops.append(Text(m, y + 7, "TO", 6.5, True))
    c = Cursor(page, m + 16, y, room - 16, region)
    for text, sz, bold in lines:
        c.line(text, sz, bold=bold)
    y = max(c.y + 4, y + to_room * 0.55)
    ops.append(Rule(m, y, room, 0.8))

    # Barcode.
    y += 5
    ops.append(Barcode(m + room * 0.06, y, room * 0.88, bar_h, label.tracking_number))
    y += bar_h + 12
    ops.append(Text(page_width / 2 - width(label.tracking_number, 11.5) / 2, y, label.tracking_number, 11.5, True))
    y += 5
    if label.export_declaration_required:
        note = "EXPORT DECLARATION REQUIRED (>= 200,000 JPY)"
        ops.append(Text(m, y + 6, note, 6.5, True))
        y += 8
    ops.append(Rule(m, y, room, 0.8))
    y += 3

    rows = _item_rows(label, False)
    if label.customs_form is CustomsForm.CN22:
        draw = lambda k, shown: _cn22(page, label, m, y, room, page_height - m, k, shown)  # noqa: E731
        page.items_left_out = _fit(draw, page, y, page_height - m - 12, rows, "listed on the next page")
        _signature(page, label, m, room, page_height - m)
    else:
        _fit(lambda k, shown: _cn23_summary(page, label, m, y, room, page_height - m, k, shown), page, y, page_height - m, rows, "see the CN 23")
    return page


def _form_header(page: Page, x: float, y: float, room: float, form: str, size: float) -> float:
    page.ops.append(Text(x, y + size, f"CUSTOMS DECLARATION  {form}", size, True))
    note = "May be opened officially"
    small = fitted("Designated operator: JAPAN POST   " + note, size * 0.7, room)
    page.ops.append(Text(x + room - width(note, small), y + size * 2.05, note, small))
    page.ops.append(Text(x, y + size * 2.05, "Designated operator: JAPAN POST", small))
    return y + size * 2.4


def _totals_row(label: Label) -> list[str]:
    r = label.request
    return ["Total (gross weight)", kg(r.parcel.weight_g), f"{r.declared_value_jpy:,}", "", ""]


def _non_delivery(page: Page, label: Label, x: float, y: float, room: float, size: float) -> float:
    title = "In case of non-delivery:"
    page.ops.append(Text(x, y + size, title, size, True))
    _checks(page, x + width(title, size) + size, y + size * 0.15, room - width(title, size) - size, size, _non_delivery_options(label), 2)
    return y + size * 1.55


def _certificate(page: Page, text: str, x: float, y: float, room: float, size: float) -> float:
    c = Cursor(page, x, y, room)
    for piece in wrap(text, size, room):
        c.line(piece, size, leading=1.2, wrap_lines=False)
    return c.y


def _cn22(page: Page, label: Label, x: float, y: float, room: float, bottom: float, k: float, rows: list[list[str]]) -> float:
    """The CN22 at scale k with the given item rows; returns where its content ends (before the
    signature line, which sits at the bottom)."""
    r = label.request
    y = _form_header(page, x, y, room, "CN 22", 7.2 * k)
    y = _checks(page, x, y, room, 5.6 * k, _category_options(label), 3) + 1
    y = _table(page, x, y, room, CN22_COLUMNS, [*rows, _totals_row(label)], 6.2 * k, 4.6 * k) + 2
    refs = customs.importer_references(r)
    if refs:
        page.ops.append(Text(x, y + 5.4 * k, "Importer's reference: " + "; ".join(refs), 5.4 * k))
        y += 6.6 * k
    y = _non_delivery(page, label, x, y, room, 5.4 * k)
    return _certificate(page, CERTIFICATE, x, y, room, 4.4 * k)


def _signature(page: Page, label: Label, x: float, room: float, bottom: float, k: float = 1.0) -> None:
    r = label.request
    y = bottom - 2
    page.ops.append(Text(x, y, f"Date: {r.ship_date.isoformat()}", 6.0 * k, True))
    sx = x + room * 0.36
    page.ops.append(Text(sx, y, "Sender's signature:", 5.2 * k))
    lx = sx + width("Sender's signature:", 5.2 * k) + 3
    page.ops.append(Rule(lx, y + 1, x + room - lx, 0.5))
    page.ops.append(Text(lx + 2, y - 0.5, r.sender.name, 6.0 * k, True))


SCALES = (2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8)


def _draw_largest(draw: Any, page: Page, start: int, top: float, bottom: float, shown: list[list[str]]) -> bool:
    """Draws `shown` (the page's ops from `start` on) at the largest of SCALES at which it ends
    above `bottom` and returns True; or at the smallest tried, returning False. The content's height
    grows about linearly with the scale: drawn at 1.0, then at the first scale that proportion
    suggests, the line through the two heights says where the fitting scale lies, so the scales
    far above it are not drawn (a form is drawn three or four times rather than six)."""
    del page.ops[start:]
    end_1 = draw(1.0, shown)
    height = end_1 - top
    guess = (bottom - top) / height if height > 0 else SCALES[0]
    candidates = [k for k in SCALES if k <= guess + 0.05] or [SCALES[-1]]
    i = 0
    while i < len(candidates):
        k = candidates[i]
        del page.ops[start:]
        end = draw(k, shown)
        if end <= bottom:
            return True
        i += 1
        if i == 1 and k != 1.0 and end > end_1:
            reach = 1.0 + (bottom - end_1) * (k - 1.0) / (end - end_1)  # where the line meets `bottom`
            while i < len(candidates) - 1 and candidates[i] > reach + 0.05:
                i += 1
    return False


def _fit(draw: Any, page: Page, top: float, bottom: float, rows: list[list[str]], more: str) -> int:
    """Draws with the largest scale at which the content ends above `bottom`; where even the
    smallest does not hold every item row, the last rows shown give way to a line saying how many
    more follow (listed in full on a page of their own). Returns how many rows were left out."""
    start = len(page.ops)
    shown = rows
    while True:
        if _draw_largest(draw, page, start, top, bottom, shown):
            return len(rows) - len([row for row in shown if not row[0].startswith("... and ")])
        if len(shown) <= 1:
            return len(rows) - 1
        kept = [row for row in shown if not row[0].startswith("... and ")][:-1]
        shown = [*kept, [f"... and {len(rows) - len(kept)} more items ({more})", "", "", "", ""]]


def _cn23_summary(page: Page, label: Label, x: float, y: float, room: float, bottom: float, k: float, rows: list[list[str]]) -> float:
    page.ops.append(Text(x, y + 7.5 * k, "CUSTOMS: CN 23 attached (next page)", 7.5 * k, True))
    y += 9.5 * k
    y = _checks(page, x, y, room, 5.6 * k, _category_options(label), 3) + 1
    y = _table(page, x, y, room, CN22_COLUMNS, [*rows, _totals_row(label)], 6.2 * k, 4.6 * k) + 2
    return _non_delivery(page, label, x, y, room, 5.4 * k)


# -- the CN23 page ------------------------------------------------------------------------------------


def _cn23_body(page: Page, label: Label, m: float, room: float, k: float, rows: list[list[str]]) -> float:
    r = label.request
    d = r.customs
    region = r.recipient.region_code
    ops = page.ops
    y = _form_header(page, m, m, room, "CN 23", 8.0 * k)
    ops.append(Text(m, y + 6.5 * k, f"No. of item: {label.tracking_number}", 6.5 * k, True))
    ops.append(Barcode(m + room * 0.55, y - 1, room * 0.45, 16, label.tracking_number))
    y += 18
    half = room / 2 - 3
    ops.append(Rule(m, y, room, 0.6))
    c = Cursor(page, m, y, half)
    c.line("From", 5.0 * k, bold=True)
    for text, sz, bold in address_block(r.sender, 5.8 * k, sender=True):
        c.line(text, sz, bold=bold)
    t = Cursor(page, m + half + 6, y, half, region)
    t.line("To", 5.0 * k, bold=True)
    for text, sz, bold in address_block(r.recipient, 5.8 * k):
        t.line(text, sz, bold=bold)
    y = max(c.y, t.y) + 2
    ops.append(Rule(m, y, room, 0.6))
    refs = customs.importer_references(r)
    contact = ", ".join(v for v in (r.recipient.phone, r.recipient.email) if v)
    c = Cursor(page, m, y, room)
    c.line("Importer's reference (tax code/VAT no./importer code): " + ("; ".join(refs) or "-"), 5.4 * k)
    c.line("Importer's telephone/e-mail: " + (contact or "-"), 5.4 * k)
    y = c.y + 3
    y = _table(page, m, y, room, CN23_COLUMNS, rows, 6.2 * k, 4.6 * k) + 2
    totals = [
        ("Total gross weight (kg)", kg(r.parcel.weight_g)),
        ("Total value (JPY)", f"{r.declared_value_jpy:,}"),
        ("Postal charges/Fees (JPY)", f"{label.pricing.price_jpy:,}"),
    ]
    tw = room / 3
    box_h = 17 * k
    for i, (name, value) in enumerate(totals):
        ops.append(Frame(m + i * tw, y, tw, box_h))
        ops.append(Text(m + i * tw + 2, y + 5.5 * k, name, fitted(name, 4.6 * k, tw - 4)))
        ops.append(Text(m + (i + 1) * tw - 2 - width(value, 7.0 * k), y + box_h - 3 * k, value, 7.0 * k, True))
    y += box_h + 3
    ops.append(Text(m, y + 5.2 * k, "Category of item", 5.2 * k, True))
    y = _checks(page, m, y + 7 * k, room, 5.4 * k, _category_options(label), 3) + 1
    c = Cursor(page, m, y, room)
    for name, value in (
        ("Comments", d.comments or "-"),
        ("Licence No(s).", ", ".join(d.licence_numbers) or "-"),
        ("Certificate No(s).", ", ".join(d.certificate_numbers) or "-"),
        ("Invoice No.", d.invoice_number or "-"),
    ):
        c.line(f"{name}: {value}", 5.4 * k)
    y = _non_delivery(page, label, m, c.y + 2, room, 5.4 * k)
    ops.append(Text(m, y + 5.4 * k, f"Office of origin / Date of posting: JAPAN / {r.ship_date.isoformat()}", 5.4 * k))
    y += 7 * k
    if label.export_declaration_required:
        ops.append(Text(m, y + 6 * k, "Export declaration required (declared total >= 200,000 JPY)", 6.0 * k, True))
        y += 8 * k
    return _certificate(page, CERTIFICATE_CN23, m, y + 1, room, 4.4 * k)


def cn23_pages(label: Label, page_width: float, page_height: float) -> list[Page]:
    m = max(7.0, page_width * 0.028)
    room = page_width - 2 * m
    page = Page(page_width, page_height)
    bottom = page_height - m - 12
    rows = _item_rows(label, True)
    shown = rows
    while not _draw_largest(lambda k, rows: _cn23_body(page, label, m, room, k, rows), page, 0, m, bottom, shown) and len(shown) > 1:
        kept = [row for row in shown if not row[0].startswith("(")][:-1]
        shown = [*kept, ["(continued on the next page)", "", "", "", "", ""]]
    _signature(page, label, m, room, page_height - m)
    out = [page]
    rest = rows[len([row for row in shown if not row[0].startswith("(")]) :]
    if rest:
        out += item_list(label, page_width, page_height, "CN 23 (continued)", rest)
    return out


def item_list(label: Label, page_width: float, page_height: float, title: str, rows: list[list[str]]) -> list[Page]:
    """Items that did not fit on their form: listed in full on pages of their own."""
    m = max(7.0, page_width * 0.028)
    room = page_width - 2 * m
    out = []
    size = 6.2
    while rows:
        page = Page(page_width, page_height)
        page.ops.append(Text(m, m + 8, f"{title} - {label.tracking_number}", 8.0, True))
        per_page = max(1, int((page_height - 2 * m - 30) // (size * 1.45)))
        chunk, rows = rows[:per_page], rows[per_page:]
        _table(page, m, m + 14, room, CN23_COLUMNS, chunk, size, 4.6)
        out.append(page)
    return out


def pages(label: Label, page_width: float, page_height: float) -> list[Page]:
    first = label_page(label, page_width, page_height)
    out = [first]
    if label.customs_form is CustomsForm.CN23:
        out += cn23_pages(label, page_width, page_height)
    elif first.items_left_out:
        out += item_list(label, page_width, page_height, "CN 22 items", _item_rows(label, True))
    return out
