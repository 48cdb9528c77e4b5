"""The label faces as reportlab fonts, with the embedded subsets built once per process.

reportlab embeds a TrueType font as subsets of up to 256 characters, built for each document when
it is saved: the glyph outlines copied into a new font program, compressed, with the character
widths and a ToUnicode map, each serialised anew. Labels use the same subsets over and over (the
first subset of a face is ASCII in a fixed order, plus the few other characters a label needs, in
the order it first uses them), so `KeptSubsetsFont` keeps what a subset gives, keyed by the subset
itself (its characters in order): the serialised widths, ToUnicode stream and font-program
stream. A document gets exactly the objects, and bytes, reportlab would have written; the PDF
objects that refer to other objects by number are still written per document.

Kept per process, bounded (least recently used out); only for unencrypted, compressed documents
(the labels'), the others are written as reportlab writes them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from reportlab import rl_config
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, TTFont, makeToUnicodeCMap

_MAX_KEPT = 512  # subsets; a Latin one is about 20 KB of font program, CJK ones a few KB each


class _Kept:
    """A small LRU map shared by the fonts of the process (set and get under one lock)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return value
        value = make()  # outside the lock: the same value whoever makes it
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.limit:
                self._items.popitem(last=False)
        return value


_kept = _Kept(_MAX_KEPT)


def _plain(document: Any) -> bool:
    return isinstance(document.encrypt, pdfdoc.NoEncryption) and bool(document.compression)


class _Formatted(pdfdoc.PDFObject):
    """An object whose serialisation does not depend on the document (no references): written once."""

    def __init__(self, key: tuple[Any, ...], make: Callable[[], pdfdoc.PDFObject]):
        self.key, self.make = key, make

    def format(self, document: Any) -> bytes:
        if not _plain(document):
            return pdfdoc.format(self.make(), document)
        return _kept.get(self.key, lambda: pdfdoc.format(self.make(), document))  # type: ignore[no-any-return]


class _KeptStream(pdfdoc.PDFStream):
    """A compressed stream whose content is fixed by its key: compressed and serialised once."""

    def __init__(self, key: tuple[Any, ...], content: Callable[[], bytes], dictionary: dict[str, Any] | None = None):
        super().__init__(filters=[pdfdoc.PDFZCompress])
        self.key, self._content = key, content
        self._extra = dictionary or {}

    def _written(self, document: Any) -> bytes:
        stream = pdfdoc.PDFStream(filters=self.filters)
        stream.content = self._content()
        for name, value in self._extra.items():
            stream.dictionary[name] = value(stream.content) if callable(value) else value
        return stream.format(document)  # type: ignore[no-any-return]

    def format(self, document: Any) -> bytes:
        if not _plain(document):
            return self._written(document)
        return _kept.get(self.key, lambda: self._written(document))  # type: ignore[no-any-return]


def _widths(face: Any, subset: tuple[int, ...]) -> pdfdoc.PDFArray:
    return pdfdoc.PDFArray(list(map(face.getCharWidth, subset)))


def _to_unicode(base_font_name: str, subset: tuple[int, ...]) -> bytes:
    return makeToUnicodeCMap(base_font_name, list(subset))  # type: ignore[no-any-return]


class KeptSubsetsFont(TTFont):
    """reportlab's TTFont, writing each subset's objects as TTFont.addObjects does, in the same
    order and under the same names, from what the process has kept for that subset."""

    def __init__(self, name: str, filename: str):
        super().__init__(name, filename)
        # ASCII characters the face has: with reportlab's ASCII-readable subsets (the default) each
        # is code n of subset 0 in every document, whatever else the document uses.
        glyphs = self.face.charToGlyph
        self._fixed = "".join(chr(n) for n in range(32, 127) if n in glyphs) if self._asciiReadable else ""

    def splitString(self, text: Any, doc: Any, encoding: str = "utf-8") -> list[tuple[int, bytes]]:
        """As TTFont.splitString; text of ASCII characters only (most of a label) is subset 0 as
        it is, with no lookup character by character, once the document has its subsets."""
        if type(text) is str and self.fixed(text) and doc in self.state:
            return [(0, text.encode("ascii"))]
        return super().splitString(text, doc, encoding)  # type: ignore[no-any-return]

    def fixed(self, text: str) -> bool:
        """True when `text` is encoded the same in every document: subset 0, its ASCII bytes."""
        return bool(text) and bool(self._fixed) and not text.strip(self._fixed)

    def addObjects(self, doc: Any) -> None:
        if not _plain(doc):
            super().addObjects(doc)
            return
        try:
            state = self.state[doc]
        except KeyError:
            state = self.state[doc] = TTFont.State(self._asciiReadable)
        state.frozen = 1
        face = self.face
        for n, subset_list in enumerate(state.subsets):
            subset = tuple(subset_list)
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_font_name = (b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX))).decode("pdfdoc")
            key = (self.fontName, base_font_name, subset)

            font = pdfdoc.PDFTrueTypeFont()
            font.__Comment__ = f"Font {self.fontName} subset {n}"
            font.Name = internal_name
            font.BaseFont = base_font_name
            font.FirstChar = 0
            font.LastChar = len(subset) - 1
            font.Widths = _Formatted(("widths", *key), partial(_widths, face, subset))
            cmap = _KeptStream(("cmap", *key), partial(_to_unicode, base_font_name, subset))
            font.ToUnicode = doc.Reference(cmap, "toUnicodeCMap:" + base_font_name)
            font.FontDescriptor = self._descriptor(doc, base_font_name, subset)
            doc.Reference(font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = font
        del self.state[doc]

    def _descriptor(self, doc: Any, base_font_name: str, subset: tuple[int, ...]) -> Any:
        """As TTFontFace.addSubsetObjects: the font program's stream and its FontDescriptor."""
        face = self.face
        program = _KeptStream(
            ("program-stream", self.fontName, subset),
            lambda: self.face.makeSubset(list(subset)),
            {"Length1": len},
        )
        program_ref = doc.Reference(program, f"fontFile:{face.filename}({base_font_name})")
        flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC  # as reportlab writes it
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "Ascent": face.ascent,
                "CapHeight": face.capHeight,
                "Descent": face.descent,
                "Flags": flags,
                "FontBBox": pdfdoc.PDFArray(face.bbox),
                "FontName": pdfdoc.PDFName(base_font_name),
                "ItalicAngle": face.italicAngle,
                "StemV": face.stemV,
                "FontFile2": program_ref,
                "MissingWidth": face.defaultWidth,
            }
        )
        return doc.Reference(descriptor, "fontDescriptor:" + base_font_name)


def _remember_names() -> None:
    """reportlab writes every key of every PDF dictionary through pdfdoc.PDFName, which escapes
    the name character by character, and every short piece through pdfdoc.pdfdocEnc: a document
    writes the same few dozen names ("/Type", "/Font", ...) and numbers each time. Both are pure
    functions of a string; they are remembered (short strings only), which changes no byte."""
    if hasattr(pdfdoc.PDFName, "cache_info"):
        return
    name = pdfdoc.PDFName
    encode = pdfdoc.pdfdocEnc
    names = lru_cache(maxsize=4096)(name)
    encoded = lru_cache(maxsize=4096)(encode)

    def pdf_name(data: Any, *args: Any) -> Any:
        return names(data) if not args and type(data) is str else name(data, *args)

    def pdfdoc_enc(x: Any) -> Any:
        return encoded(x) if type(x) is str and len(x) <= 32 else encode(x)

    pdf_name.cache_info = names.cache_info  # type: ignore[attr-defined]
    pdfdoc.PDFName = pdf_name
    pdfdoc.pdfdocEnc = pdfdoc_enc
    _quicker_formatting()


def _quicker_formatting() -> None:
    """pdfdoc.format, reportlab's one entry for writing any value, tries four isinstance checks
    before it writes a string or a number; a dictionary writes each key through PDFName and
    pdfdocEnc again. Strings, bytes and numbers are written here first, by the same functions,
    and a key's bytes kept once written: the same bytes, in fewer steps."""
    general = pdfdoc.format
    encode = pdfdoc.pdfdocEnc

    def quick_format(element: Any, document: Any, toplevel: int = 0) -> Any:
        kind = type(element)
        if kind is str:
            return encode(element)
        if kind is bytes:
            return element
        if kind is int or kind is float:
            return encode(fp_str(element))
        return general(element, document, toplevel)

    keys_written: dict[str, bytes] = {}

    def dictionary_format(self: Any, document: Any, IND: bytes = b"\n ") -> bytes:
        d = self.dict
        keys = list(d.keys())
        if not isinstance(d, OrderedDict):
            keys.sort()
        out = []
        for k in keys:
            key = keys_written.get(k) if type(k) is str else None
            if key is None:
                key = quick_format(pdfdoc.PDFName(k), document) + b" "
                if type(k) is str and len(keys_written) < 4096:
                    keys_written[k] = key
            out.append(key + quick_format(d[k], document))
        if (self.multiline and rl_config.pdfMultiLine) or self.multiline == "forced":
            joined = IND.join(out)
        else:
            for i in reversed(range(6, len(out), 6)):  # broken up every 6 elements, as reportlab does
                out.insert(i, b"\n ")
            joined = b" ".join(out)
        return b"<<\n" + joined + b"\n>>"

    pdfdoc.format = quick_format
    pdfdoc.PDFDictionary.format = dictionary_format


def register(name: str, path: str) -> None:
    """Registers a face with reportlab under `name` (once)."""
    _remember_names()
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(KeptSubsetsFont(name, path))
