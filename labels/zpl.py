"""A label's pages as ZPL II for Zebra thermal printers (4x6 in, 203 dpi), drawn from what labels.layout
lays out (labels/documents.py dispatches here for DocumentFormat.ZPL_4X6).

ZPL: ^CI28 (UTF-8). Text the printer's own font 0 prints (ASCII and Latin-1) is sent as text;
other text (CJK, Cyrillic, Greek, Thai, Arabic...) is drawn with the same Noto faces into a
graphic field (^GF), since no font resident on a Zebra printer is sure to have those scripts and a
CJK font is far too large to download with each label.

ZPL safety: every text from a caller goes through `zpl_field`, which writes the field with ^FH
(hexadecimal escapes) and encodes `^`, `~`, the escape character itself, control characters and
every non-ASCII byte as `_XX`. No caller text can therefore start a ZPL command. Graphic fields
carry only hexadecimal digits that we computed.

The same label gives the same bytes: the graphic fields come from the same fonts at the same sizes.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from labels import fonts, layout
from labels.model import Label
from labels.page import Barcode, CheckBox, Frame, Page, Rule, Text

DOTS_WIDE = 812  # 4 in at 203 dpi
DOTS_HIGH = 1218  # 6 in at 203 dpi
DPI = 203
_ESCAPE = "_"
_PT = DPI / 72  # dots per point


def zpl_escape(text: str) -> str:
    """Field data for use after ^FH_: `^`, `~`, `_`, control characters and non-ASCII (as UTF-8
    bytes, with ^CI28) are written as _XX hexadecimal escapes."""
    if text.isascii() and text.isprintable() and "^" not in text and "~" not in text and _ESCAPE not in text:
        return text  # most fields: printable ASCII with nothing to escape (0x20-0x7E are printable)
    out: list[str] = []
    for ch in text:
        if ch in "^~_" or ord(ch) < 0x20 or ord(ch) > 0x7E:
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


def zpl_field(x: int, y: int, text: str, *, height: int = 28, width: int = 0, block_width: int = 0, reverse: bool = False) -> str:
    """One text field with its baseline at (x, y) (^FT), in the printer's font 0. Caller text only
    ever appears escaped, inside ^FH_^FD ... ^FS."""
    font = f"^A0N,{height},{width or height}"
    block = f"^FB{block_width},1,0,L,0" if block_width else ""
    return f"^FT{x},{y}{font}{block}{'^FR' if reverse else ''}^FH{_ESCAPE}^FD{zpl_escape(text)}^FS"


def _font0_prints(text: str) -> bool:
    """Font 0 of a Zebra printer (CG Triumvirate) has ASCII and Latin-1."""
    if text.isascii() and text.isprintable():
        return True  # 0x20-0x7E
    return all(0x20 <= ord(c) <= 0x7E or 0xA0 <= ord(c) <= 0xFF for c in text)


_pil_lock = threading.Lock()


@lru_cache(maxsize=256)
def _pil_font(face: fonts.Face, px: int, bold: bool) -> Any:
    from PIL import ImageFont

    font = ImageFont.truetype(str(face.path), px, layout_engine=ImageFont.Layout.RAQM if face is fonts.THAI else ImageFont.Layout.BASIC)
    axes = font.get_variation_axes()
    weight = fonts.BOLD if bold else fonts.REGULAR
    font.set_variation_by_axes([float(weight) if bytes(a.get("name", b"")) == b"Weight" else float(a.get("default") or 0) for a in axes])
    return font


def _graphic_field(op: Text) -> str:
    """The text drawn with our fonts into a ^GF graphic field (1 bit per dot, hexadecimal)."""
    from PIL import Image, ImageDraw

    px = max(8, round(op.size * _PT))
    with _pil_lock:
        runs = [(_pil_font(face, px, op.bold), chunk) for face, chunk in fonts.runs(op.text, op.region)]
        ascent = max(f.getmetrics()[0] for f, _ in runs)
        descent = max(f.getmetrics()[1] for f, _ in runs)
        total = sum(int(f.getlength(chunk)) + 1 for f, chunk in runs)
        image = Image.new("1", (max(8, total + 2), ascent + descent), 0)
        draw = ImageDraw.Draw(image)
        x = 0
        for font, chunk in runs:
            draw.text((x, ascent), chunk, font=font, fill=1, anchor="ls")
            x += int(font.getlength(chunk)) + 1
    row_bytes = (image.width + 7) // 8
    data = image.tobytes()  # mode "1": rows packed MSB first, 1 = ink
    hexdata = data.hex().upper()
    top = max(0, round(op.baseline * _PT) - ascent)
    return f"^FO{round(op.x * _PT)},{top}^GFA,{len(data)},{len(data)},{row_bytes},{hexdata}^FS"


def _zpl_page(page: Page) -> list[str]:
    parts = ["^XA", "^CI28", f"^PW{DOTS_WIDE}", f"^LL{DOTS_HIGH}", "^LH0,0"]
    sx = DOTS_WIDE / page.width
    sy = DOTS_HIGH / page.height

    def d(v: float, s: float = _PT) -> int:
        return round(v * s)

    for op in page.ops:
        if isinstance(op, Text):
            if not op.text.strip():
                continue
            if _font0_prints(op.text):
                h = max(10, d(op.size * 1.0, sy))
                parts.append(zpl_field(d(op.x, sx), d(op.baseline, sy), op.text, height=h, width=max(8, round(h * 0.92)), reverse=op.white))
            else:
                parts.append(_graphic_field(op))
        elif isinstance(op, Rule):
            w, h = max(1, d(op.width, sx)), max(1, d(op.height, sy))
            parts.append(f"^FO{d(op.x, sx)},{d(op.y, sy)}^GB{w},{h},{min(w, h)}^FS")
        elif isinstance(op, Frame):
            w, h = max(1, d(op.width, sx)), max(1, d(op.height, sy))
            t = max(1, d(op.thickness, sy))
            parts.append(f"^FO{d(op.x, sx)},{d(op.y, sy)}^GB{w},{max(h, t)},{t}^FS")
        elif isinstance(op, CheckBox):
            s = max(10, d(op.size, sy))
            parts.append(f"^FO{d(op.x, sx)},{d(op.y, sy)}^GB{s},{s},2^FS")
            if op.checked:
                inset = max(2, s // 5)
                inner = s - 2 * inset
                parts.append(f"^FO{d(op.x, sx) + inset},{d(op.y, sy) + inset}^GD{inner},{inner},3,B,L^FS")
                parts.append(f"^FO{d(op.x, sx) + inset},{d(op.y, sy) + inset}^GD{inner},{inner},3,B,R^FS")
        elif isinstance(op, Barcode):
            # Code 128: 11 modules a character, start, check and stop; module width 2 to 4 dots.
            modules = 11 * (len(op.data) + 3) + 2
            module = max(2, min(4, d(op.width, sx) // modules))
            left = d(op.x, sx) + (d(op.width, sx) - module * modules) // 2
            parts.append(f"^FO{left},{d(op.y, sy)}^BY{module},3,{d(op.height, sy)}^BCN,{d(op.height, sy)},N,N,N^FH{_ESCAPE}^FD>:{zpl_escape(op.data)}^FS")
    parts.append("^XZ")
    return parts


def render_zpl(label: Label) -> str:
    pages = layout.pages(label, 4 * 72, 6 * 72)
    parts: list[str] = []
    for page in pages:
        parts += _zpl_page(page)
    return "\n".join(parts) + "\n"
