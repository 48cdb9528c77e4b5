"""The UPU customs forms as labels print them: the CN22 in the address label's lower part, the CN23's
summary there and the CN23 itself on a page of its own, and the item list for rows no form could
hold. Laid out as the UPU forms are: category boxes, item lines with net weight, value, HS tariff
number and origin, totals, the non-delivery instruction, the importer's references, the date and
the sender's signature."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from labels import customs, fonts
from labels.fitting import draw_largest, layout_key
from labels.model import ContentsType, Label, NonDelivery
from labels.page import Barcode, CheckBox, Cursor, Frame, Page, Rule, Text, address_block, fitted, unit_width, width, wrap

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
    rows = (len(options) + per_row - 1) // per_row
    if page.measuring:
        return y + rows * box * 1.45
    col = room / per_row
    for i, (checked, label) in enumerate(options):
        cx = x + (i % per_row) * col
        cy = y + (i // per_row) * box * 1.45
        page.ops.append(CheckBox(cx, cy, box, checked, label))
        page.ops.append(Text(cx + box + size * 0.35, cy + box * 0.82, label, fitted(label, size, col - box - size * 0.8)))
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
    shown, fit, shown_width = _cell_text(text, size, w - 2 * pad)
    tx = x + w - pad - shown_width if right else x + pad
    page.ops.append(Text(tx, y, shown, fit, bold))


@lru_cache(maxsize=4096)
def _cell_text(text: str, size: float, room: float) -> tuple[str, float, float]:
    """What a cell prints of `text` in `room` points, at what size, and its width: remembered, as
    a shop's descriptions, tariff numbers and origins recur from label to label."""
    shown = fonts.visual(text)
    fit = size
    unit = unit_width(shown, "")  # width() is unit * size / 1000: the same arithmetic, one look-up
    while unit * fit / 1000.0 > room and fit > size * 0.6:
        fit -= 0.25
    while unit * fit / 1000.0 > room and len(shown) > 4:
        shown = shown[: -4 if shown.endswith("...") else -1].rstrip() + "..."
        unit = unit_width(shown, "")
    return shown, fit, unit * fit / 1000.0


def _table(page: Page, x: float, y: float, room: float, columns: Sequence[Column], rows: Sequence[Sequence[str]], size: float, header_size: float) -> float:
    """A ruled table; returns the y below it."""
    widths = [c.share * room for c in columns]
    header_lines = [wrap(c.title, header_size, w - header_size * 0.6) for c, w in zip(columns, widths, strict=True)]
    header_h = max(len(h) for h in header_lines) * header_size * 1.15 + header_size * 0.4
    row_h = size * 1.45
    height = header_h + row_h * len(rows)
    if page.measuring:
        return y + height
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


def item_rows(label: Label, with_quantity_column: bool) -> list[list[str]]:
    rows = []
    for it in label.request.items:
        description = it.description if with_quantity_column else f"{it.quantity} x {it.description}"
        values = [kg(it.net_weight_g) if it.net_weight_g else "", f"{it.value_jpy:,}", it.hs_code, it.origin_region_code]
        rows.append([description, str(it.quantity), *values] if with_quantity_column else [description, *values])
    return rows


def _form_header(page: Page, x: float, y: float, room: float, form: str, size: float) -> float:
    if page.measuring:
        return y + size * 2.4
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
    if page.measuring:
        return y + size * 1.55
    title = "In case of non-delivery:"
    page.ops.append(Text(x, y + size, title, size, True))
    _checks(page, x + width(title, size) + size, y + size * 0.15, room - width(title, size) - size, size, _non_delivery_options(label), 2)
    return y + size * 1.55


def _certificate(page: Page, text: str, x: float, y: float, room: float, size: float) -> float:
    c = Cursor(page, x, y, room)
    for piece in wrap(text, size, room):
        c.line(piece, size, leading=1.2, wrap_lines=False)
    return c.y


def cn22(page: Page, label: Label, x: float, y: float, room: float, bottom: float, k: float, rows: list[list[str]]) -> float:
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


def signature(page: Page, label: Label, x: float, room: float, bottom: float, k: float = 1.0) -> None:
    r = label.request
    y = bottom - 2
    page.ops.append(Text(x, y, f"Date: {r.ship_date.isoformat()}", 6.0 * k, True))
    sx = x + room * 0.36
    page.ops.append(Text(sx, y, "Sender's signature:", 5.2 * k))
    lx = sx + width("Sender's signature:", 5.2 * k) + 3
    page.ops.append(Rule(lx, y + 1, x + room - lx, 0.5))
    page.ops.append(Text(lx + 2, y - 0.5, r.sender.name, 6.0 * k, True))


def cn23_summary(page: Page, label: Label, x: float, y: float, room: float, bottom: float, k: float, rows: list[list[str]]) -> float:
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
    top = y
    page.add_numbered(
        label.tracking_number,
        lambda number: [Text(m, top + 6.5 * k, f"No. of item: {number}", 6.5 * k, True), Barcode(m + room * 0.55, top - 1, room * 0.45, 16, number)],
    )
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
    for i, (name, value) in enumerate(totals if not page.measuring else ()):
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
    rows = item_rows(label, True)
    shown = rows
    alike = ("cn23", layout_key(label, page_width, page_height))
    while not draw_largest(lambda k, rows: _cn23_body(page, label, m, room, k, rows), page, 0, m, bottom, shown, alike) and len(shown) > 1:
        kept = [row for row in shown if not row[0].startswith("(")][:-1]
        shown = [*kept, ["(continued on the next page)", "", "", "", "", ""]]
    signature(page, label, m, room, page_height - m)
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
        page.add_numbered(label.tracking_number, lambda number: [Text(m, m + 8, f"{title} - {number}", 8.0, True)])
        per_page = max(1, int((page_height - 2 * m - 30) // (size * 1.45)))
        chunk, rows = rows[:per_page], rows[per_page:]
        _table(page, m, m + 14, room, CN23_COLUMNS, chunk, size, 4.6)
        out.append(page)
    return out
