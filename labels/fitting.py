"""Fitting a form into the room a page leaves it: the largest scale at which it fits, found in a few
draws and remembered for labels laid out alike, and the item rows that give way when even the
smallest scale does not hold them all."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace
from typing import Any, Generic, TypeVar

from labels.model import Label
from labels.page import Page

T = TypeVar("T")

SCALES = (2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8)


class LayoutKey:
    """What a label's forms are laid out from: everything but the label's identity (request_id,
    id, times) and its tracking number, which is printed on lines of their own whatever its
    width, so it moves no other line. Labels alike in this lay their forms out alike.

    Hashed once: a request hashes field by field, its addresses and items too, and a label looks
    its key up several times (its pages, each form's scale)."""

    __slots__ = ("_hash", "value")

    def __init__(self, value: tuple[Any, ...]):
        self.value = value
        self._hash = hash(value)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LayoutKey) and self._hash == other._hash and self.value == other.value


_last_key: tuple[Label, float, float, LayoutKey] | None = None


def layout_key(label: Label, page_width: float, page_height: float) -> LayoutKey:
    """The LayoutKey of a label on pages of this size (the last one made is kept: a label's
    pages and forms ask for it in turn)."""
    global _last_key
    last = _last_key  # read once: other threads replace it whole
    if last is not None and last[0] is label and last[1] == page_width and last[2] == page_height:
        return last[3]
    key = LayoutKey((replace(label.request, request_id=""), label.pricing, label.customs_form, label.export_declaration_required, page_width, page_height))
    _last_key = (label, page_width, page_height, key)
    return key


class Decided(Generic[T]):
    """The scale each form was drawn at, by what it was laid out from (bounded, least recently
    used out): a label like one laid out before (a shop's repeated parcels; a retry with a new
    request_id) draws its form once, at that scale, instead of searching for it again."""

    def __init__(self, limit: int):
        self.limit = limit
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, decided: T) -> None:
        with self._lock:
            self._items[key] = decided
            while len(self._items) > self.limit:
                self._items.popitem(last=False)


# What is kept between labels is kept small: every object kept is one more that each full pass of
# the garbage collector walks (its passes took 10-12% of the CPU of labels to distinct recipients
# when these held 4096 decisions and 256 labels' pages, the text caches 16384 entries and more).
decided: Decided[tuple[float, bool]] = Decided(1024)
# Pages laid out (about 40 KB and 180 objects each): the last few dozen labels'.
laid_out: Decided[tuple[Page, ...]] = Decided(64)


def draw_largest(draw: Any, page: Page, start: int, top: float, bottom: float, shown: list[list[str]], alike: tuple[Any, ...] | None = None) -> bool:
    """search_largest, or, for a form laid out from the same (`alike`, what the form is drawn
    from) as one before, the scale that search found, drawn once: drawing is a function of those."""
    key = None if alike is None else (alike, start, top, bottom, tuple(map(tuple, shown)))
    if key is not None:
        found = decided.get(key)
        if found is not None:
            page.truncate(start)
            draw(found[0], shown)
            return found[1]
    k, fits = search_largest(draw, page, start, top, bottom, shown)
    if key is not None:
        decided.put(key, (k, fits))
    return fits


def search_largest(draw: Any, page: Page, start: int, top: float, bottom: float, shown: list[list[str]]) -> tuple[float, bool]:
    """Draws `shown` (the page's ops from `start` on) at the largest of SCALES at which it ends
    above `bottom` and returns that scale and True; or at the smallest tried, and False. The content's height
    grows about linearly with the scale: drawn at 1.0, then at the first scale that proportion
    suggests, the line through the two heights says where the fitting scale lies, so the scales
    far above it are not drawn (a form is drawn three or four times rather than six)."""
    k, fits = _search(draw, page, start, top, bottom, shown)
    page.truncate(start)
    draw(k, shown)
    return k, fits


def _search(draw: Any, page: Page, start: int, top: float, bottom: float, shown: list[list[str]]) -> tuple[float, bool]:
    """The scale search_largest draws at, found by drawing in measuring mode (the same heights
    without most ops: a try costs a fraction of a drawing)."""
    page.measuring = True
    try:
        page.truncate(start)
        end_1 = draw(1.0, shown)
        height = end_1 - top
        guess = (bottom - top) / height if height > 0 else SCALES[0]
        candidates = [k for k in SCALES if k <= guess + 0.05] or [SCALES[-1]]
        i = 0
        k = candidates[0]
        while i < len(candidates):
            k = candidates[i]
            page.truncate(start)
            end = draw(k, shown)
            if end <= bottom:
                return k, True
            i += 1
            if i == 1 and k != 1.0 and end > end_1:
                reach = 1.0 + (bottom - end_1) * (k - 1.0) / (end - end_1)  # where the line meets `bottom`
                while i < len(candidates) - 1 and candidates[i] > reach + 0.05:
                    i += 1
        return k, False
    finally:
        page.measuring = False


def fit(draw: Any, page: Page, top: float, bottom: float, rows: list[list[str]], more: str, alike: tuple[Any, ...] | None = None) -> int:
    """Draws with the largest scale at which the content ends above `bottom`; where even the
    smallest does not hold every item row, the last rows shown give way to a line saying how many
    more follow (listed in full on a page of their own). Returns how many rows were left out."""
    start = len(page.ops)
    shown = rows
    while True:
        if draw_largest(draw, page, start, top, bottom, shown, alike):
            return len(rows) - len([row for row in shown if not row[0].startswith("... and ")])
        if len(shown) <= 1:
            return len(rows) - 1
        kept = [row for row in shown if not row[0].startswith("... and ")][:-1]
        shown = [*kept, [f"... and {len(rows) - len(kept)} more items ({more})", "", "", "", ""]]
