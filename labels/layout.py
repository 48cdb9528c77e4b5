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

from labels import forms
from labels.fitting import fit, laid_out, layout_key
from labels.model import CustomsForm, Label
from labels.page import Barcode, Cursor, Frame, Page, Rule, Text, address_block, block_height, width

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
    bar_y = y
    y += bar_h + 12
    number_y = y
    page.add_numbered(
        label.tracking_number,
        lambda number: [
            Barcode(m + room * 0.06, bar_y, room * 0.88, bar_h, number),
            Text(page_width / 2 - width(number, 11.5) / 2, number_y, number, 11.5, True),
        ],
    )
    y += 5
    if label.export_declaration_required:
        note = "EXPORT DECLARATION REQUIRED (>= 200,000 JPY)"
        ops.append(Text(m, y + 6, note, 6.5, True))
        y += 8
    ops.append(Rule(m, y, room, 0.8))
    y += 3

    rows = forms.item_rows(label, False)
    if label.customs_form is CustomsForm.CN22:
        draw = lambda k, shown: forms.cn22(page, label, m, y, room, page_height - m, k, shown)  # noqa: E731
        alike = ("cn22", layout_key(label, page_width, page_height))
        page.items_left_out = fit(draw, page, y, page_height - m - 12, rows, "listed on the next page", alike)
        forms.signature(page, label, m, room, page_height - m)
    else:
        draw = lambda k, shown: forms.cn23_summary(page, label, m, y, room, page_height - m, k, shown)  # noqa: E731
        fit(draw, page, y, page_height - m, rows, "see the CN 23", ("cn23 summary", layout_key(label, page_width, page_height)))
    return page


def pages(label: Label, page_width: float, page_height: float) -> list[Page]:
    """The label's pages. A label laid out like one before (`layout_key`: the same but for its
    number, id and times) gets that one's pages with its own number's ops drawn in: the number
    is printed on lines of its own (Page.add_numbered), so it moves nothing else."""
    key = layout_key(label, page_width, page_height)
    kept = laid_out.get(key)
    if kept is not None:
        return [page.renumbered(label.tracking_number) for page in kept]
    out = _pages(label, page_width, page_height)
    laid_out.put(key, tuple(page.renumbered(label.tracking_number) for page in out))
    return out


def _pages(label: Label, page_width: float, page_height: float) -> list[Page]:
    first = label_page(label, page_width, page_height)
    out = [first]
    if label.customs_form is CustomsForm.CN23:
        out += forms.cn23_pages(label, page_width, page_height)
    elif first.items_left_out:
        out += forms.item_list(label, page_width, page_height, "CN 22 items", forms.item_rows(label, True))
    return out
