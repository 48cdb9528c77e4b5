"""Labels a packing bench can use: every script prints, addresses as each country writes them, the
UPU customs forms, and checks that look at the output.

PDFs are rendered to pixels (pypdfium2) and read back through their text layer; the embedded font
programs are opened (fontTools) to check that no character was drawn with the .notdef glyph. ZPL is
parsed and rendered by zplkit (the Rust zpl renderer), whose raster is checked for ink where the
Unicode fields are and for a barcode that decodes. gRPC tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pypdfium2
import pytest
import zplkit
import zplkit.parse
import zxingcpp
from fontTools.ttLib import TTFont
from PIL import Image
from pypdf import PdfReader

from domain.errors import InvalidArgument
from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.settings import Settings
from kokokara.shipping.v1 import common_pb2, labels_pb2, labels_pb2_grpc
from labels import addresses, customs, documents, fonts, layout, pdf
from labels import page as drawing
from labels import zpl as zpl_documents
from labels.model import Address, ContentsType, CustomsDetails, CustomsForm, CustomsItem, DocumentFormat, Label, NonDelivery
from tests.domain.test_labels_domain import make_label
from tests.labels_support import domain_request, fresh_database, pdf_barcodes, proto_request

TW = Address(
    name="王小明",
    region_code="TW",
    address_lines=("信義路五段7號",),
    city="信義區",
    administrative_area="臺北市",
    postal_code="110",
    phone="+886 912 345 678",
    latin=Address(name="Wang Xiaoming", region_code="TW", address_lines=("No. 7, Sec. 5, Xinyi Rd.",), city="Xinyi Dist.", administrative_area="Taipei City"),
)
KR = Address(
    name="김민준",
    region_code="KR",
    address_lines=("테헤란로 152",),
    city="강남구",
    administrative_area="서울특별시",
    postal_code="06236",
    phone="+82 10 1234 5678",
    latin=Address(name="Kim Minjun", region_code="KR", address_lines=("152 Teheran-ro",), city="Gangnam-gu", administrative_area="Seoul"),
)
RU = Address(
    name="Иван Петров",
    region_code="RU",
    address_lines=("ул. Тверская, д. 7, кв. 5",),
    city="Москва",
    administrative_area="Москва",
    postal_code="125009",
    latin=Address(name="Ivan Petrov", region_code="RU", address_lines=("ul. Tverskaya, d. 7, kv. 5",), city="Moskva", administrative_area="Moskva"),
)
CN = Address(
    name="李华",
    region_code="CN",
    address_lines=("建国路88号",),
    city="北京市",
    sublocality="朝阳区",
    administrative_area="北京市",
    postal_code="100022",
    latin=Address(name="Li Hua", region_code="CN", address_lines=("88 Jianguo Rd",), city="Beijing", sublocality="Chaoyang", administrative_area="Beijing Shi"),
)
TH = Address(
    name="สมชาย ใจดี",
    region_code="TH",
    address_lines=("1 ถนนสุขุมวิท",),
    city="คลองเตย",
    administrative_area="กรุงเทพมหานคร",
    postal_code="10110",
    latin=Address(name="Somchai Jaidee", region_code="TH", address_lines=("1 Sukhumvit Rd",), city="Khlong Toei", administrative_area="Bangkok"),
)
SA = Address(
    name="محمد العلي",
    region_code="SA",
    address_lines=("شارع الملك فهد 12",),
    city="الرياض",
    postal_code="11564",
    latin=Address(name="Mohammed Al-Ali", region_code="SA", address_lines=("12 King Fahd Rd",), city="Riyadh"),
)
GR = Address(
    name="Νίκος Παπαδόπουλος",
    region_code="GR",
    address_lines=("Οδός Ερμού 10",),
    city="Αθήνα",
    postal_code="105 63",
    latin=Address(name="Nikos Papadopoulos", region_code="GR", address_lines=("Ermou 10",), city="Athina"),
)
DE = Address(name="Max Müller", region_code="DE", address_lines=("Friedrichstraße 43",), city="Berlin", administrative_area="Berlin", postal_code="10117")
US = Address(name="Jane Doe", region_code="US", address_lines=("350 5th Ave",), city="New York", administrative_area="NY", postal_code="10118")
PDFS = (DocumentFormat.PDF_A6, DocumentFormat.PDF_4X6)


def to(recipient: Address, form: CustomsForm = CustomsForm.CN22, fmt: DocumentFormat = DocumentFormat.PDF_A6, **changes: object) -> Label:
    request = replace(domain_request(region=recipient.region_code, fmt=fmt), recipient=recipient, **changes)  # type: ignore[arg-type]
    return make_label(request, form=form)


def text_layer(content: bytes) -> list[str]:
    """Each page's text as pdfium extracts it, whitespace (line breaks of wrapped text) as one space."""
    doc = pypdfium2.PdfDocument(content)
    try:
        return [" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))]
    finally:
        doc.close()


def notdef_codes(content: bytes) -> list[tuple[str, int]]:
    """(font, code) of every character code the pages show whose glyph, in the embedded font
    program, is the .notdef glyph (what a font draws for a character it does not have: a box)."""
    from pypdf.generic import ContentStream

    reader = PdfReader(io.BytesIO(content))
    bad: list[tuple[str, int]] = []
    for page in reader.pages:
        resources = page["/Resources"]["/Font"]
        used: dict[str, set[int]] = {}
        current = ""
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = str(operands[0])
            elif operator in (b"Tj", b"'", b'"', b"TJ"):
                strings = operands[0] if operator == b"TJ" else operands[-1:]
                for piece in strings:
                    if isinstance(piece, bytes):
                        raw = bytes(piece)
                    elif isinstance(piece, str):
                        original = getattr(piece, "original_bytes", None)
                        raw = original if isinstance(original, bytes) else piece.encode("latin-1")
                    else:
                        continue  # a TJ kerning number
                    used.setdefault(current, set()).update(raw)
        for name, codes in used.items():
            font = resources[name].get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None or "/FontFile2" not in descriptor.get_object():
                continue  # not an embedded TrueType font
            program = TTFont(io.BytesIO(descriptor.get_object()["/FontFile2"].get_object().get_data()))
            cmap: dict[int, str] = {}
            for table in program["cmap"].tables:  # reportlab's subsets carry a (1, 0) table: code -> glyph
                cmap.update(table.cmap)
            notdef = program.getGlyphOrder()[0]
            glyf = program["glyf"]
            # reportlab's subset copies the font's .notdef as a glyph of its own: compare outlines.
            box = glyf[notdef].compile(glyf)

            def is_notdef(glyph: str, glyf: object = glyf, box: bytes = box, notdef: str = notdef) -> bool:
                return glyph == notdef or glyf[glyph].compile(glyf) == box  # type: ignore[index]

            chars = _to_unicode(font["/ToUnicode"].get_object().get_data().decode("latin-1"))
            for code in sorted(codes):
                glyph = cmap.get(code, notdef)
                char = chars.get(code, 0)
                # reportlab draws a character its font lacks with code 0 (U+0000 in the map), whose
                # glyph is empty or .notdef: either way the character is not printed.
                empty = glyf[glyph].numberOfContours == 0 and not chr(char).isspace()
                if not char or is_notdef(glyph) or empty:
                    bad.append((str(font["/BaseFont"]), code))
    return bad


def _to_unicode(cmap: str) -> dict[int, int]:
    """code -> Unicode scalar from a ToUnicode CMap's bfchar entries (reportlab writes those)."""
    out: dict[int, int] = {}
    for section in re.findall(r"beginbfchar(.*?)endbfchar", cmap, flags=re.S):
        for code, target in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section):
            out[int(code, 16)] = int(target[:4], 16)
    return out


def page_pixels(content: bytes, page: int = 0, scale: float = 3) -> Image.Image:
    doc = pypdfium2.PdfDocument(content)
    try:
        return doc[page].render(scale=scale).to_pil().convert("L")
    finally:
        doc.close()


def dark_fraction(image: Image.Image, box: tuple[float, float, float, float]) -> float:
    region = image.crop(tuple(round(v) for v in box))  # type: ignore[arg-type]
    pixels = region.tobytes()
    return sum(1 for p in pixels if p < 128) / max(1, len(pixels))


# -- every script -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", PDFS)
@pytest.mark.parametrize(("recipient", "name"), [(TW, "王小明"), (KR, "김민준"), (RU, "Иван Петров"), (CN, "李华")])
def test_names_come_back_from_the_text_layer_with_no_missing_glyph(recipient: Address, name: str, fmt: DocumentFormat) -> None:
    label = to(recipient, CustomsForm.CN23, fmt)
    content = documents.render(label).content
    pages = text_layer(content)
    assert name in pages[0] and name in pages[1]  # the label and the CN23
    assert recipient.latin is not None and recipient.latin.name in pages[0]
    assert addresses.country_name(recipient.region_code) in pages[0]
    assert notdef_codes(content) == []
    assert ("Code 128", label.tracking_number) in pdf_barcodes(content)


@pytest.mark.parametrize("recipient", [TH, SA, GR, DE])
def test_thai_arabic_greek_and_german_print_without_missing_glyphs(recipient: Address) -> None:
    content = documents.render(to(recipient)).content
    assert notdef_codes(content) == []
    image = page_pixels(content)
    assert image.getextrema()[0] < 64  # ink on the page


def test_the_notdef_check_sees_a_missing_glyph() -> None:
    # A label stored before text was checked: its unprintable name draws .notdef, which the check finds.
    label = to(replace(US, name="Jane \u1200\u1201 Doe"))  # Ethiopic: no face of ours has it
    assert notdef_codes(documents.render(label).content)


def test_cjk_uses_the_destinations_han_forms() -> None:
    runs = fonts.runs("臺北市 王小明", "TW")
    assert {face.name for face, _ in runs} == {"NotoSansTC"}
    assert {face.name for face, _ in fonts.runs("北京市 李华", "CN")} == {"NotoSansSC"}
    assert {face.name for face, _ in fonts.runs("김민준", "KR")} == {"NotoSansKR"}


def test_arabic_is_joined_and_right_to_left() -> None:
    visual = fonts.visual("محمد 12")
    assert visual.startswith("12")  # digits keep their order, at the left of the right-to-left word
    assert all(not "\u0600" <= c <= "\u06ff" for c in visual if c.isalpha())  # contextual forms (U+FExx)


# -- addresses as each country writes them ----------------------------------------------------------


def test_german_postcode_comes_before_the_city_and_the_country_is_named() -> None:
    assert addresses.lines(DE) == ["Max Müller", "Friedrichstraße 43", "10117 BERLIN"]
    text = text_layer(documents.render(to(DE)).content)[0]
    assert "Max Müller Friedrichstraße 43 10117 BERLIN GERMANY" in text  # the country last, in capitals
    assert "Berlin Berlin" not in text


def test_us_taiwan_and_korea_orders() -> None:
    assert addresses.lines(US)[-1] == "NEW YORK, NY 10118"
    assert addresses.lines(TW)[:2] == ["110", "臺北市信義區"]  # largest unit first
    assert addresses.lines(KR)[0] == "서울특별시 강남구"
    assert addresses.country_name("US") == "UNITED STATES" and addresses.country_name("KR") == "SOUTH KOREA"


@pytest.mark.parametrize(
    ("recipient", "field"),
    [
        (replace(US, administrative_area=""), "recipient.administrative_area"),  # a US state is required
        (replace(US, postal_code=""), "recipient.postal_code"),
        (replace(US, postal_code="1011"), "recipient.postal_code"),  # not a ZIP code
        (replace(US, administrative_area="Calfornia"), "recipient.administrative_area"),
        (Address(name="A B", region_code="GB", address_lines=("1 High St",), city="London"), "recipient.postal_code"),
        (Address(name="A B", region_code="GB", address_lines=("1 High St",), city="London", postal_code="12345"), "recipient.postal_code"),
        (replace(CN, administrative_area=""), "recipient.administrative_area"),  # a Chinese province is required
        (replace(DE, postal_code="1011"), "recipient.postal_code"),
    ],
)
def test_missing_or_impossible_address_fields_are_named(recipient: Address, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        documents.check_printable(replace(domain_request(region=recipient.region_code), recipient=recipient))
    assert field in [v.field for v in caught.value.violations]


def test_a_non_latin_address_needs_its_latin_version() -> None:
    with pytest.raises(InvalidArgument) as caught:
        documents.check_printable(replace(domain_request(region="TW"), recipient=replace(TW, latin=None)))
    assert {"recipient.latin.name", "recipient.latin.address_lines", "recipient.latin.city"} <= {v.field for v in caught.value.violations}
    with pytest.raises(InvalidArgument) as caught:
        documents.check_printable(replace(domain_request(region="TW"), recipient=replace(TW, latin=replace(TW.latin, city="信義區"))))  # type: ignore[type-var]
    assert "recipient.latin.city" in [v.field for v in caught.value.violations]
    documents.check_printable(replace(domain_request(region="TW"), recipient=TW))  # complete: fine


def test_text_no_font_has_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidArgument) as caught:
        documents.check_printable(replace(domain_request(region="US"), recipient=replace(US, address_lines=("350 5th Ave", "Apt 🏠 4"))))
    (violation,) = caught.value.violations
    assert violation.field == "recipient.address_lines[1]" and "U+1F3E0" in violation.description


# -- UPU customs forms ----------------------------------------------------------------------------


def _boxes(page: drawing.Page) -> dict[str, bool]:
    return {op.label: op.checked for op in page.ops if isinstance(op, drawing.CheckBox)}


@pytest.mark.parametrize("fmt", PDFS)
def test_cn22_ticks_the_category_and_instruction_and_prints_its_fields(fmt: DocumentFormat) -> None:
    label = to(US, CustomsForm.CN22, fmt, contents_type=ContentsType.GIFT, customs=CustomsDetails(non_delivery=NonDelivery.ABANDON))
    width, height = pdf.PAGE_SIZES[fmt]
    page = layout.label_page(label, width, height)
    boxes = _boxes(page)
    assert boxes["Gift"] and not boxes["Sale of goods"] and not boxes["Documents"] and not boxes["Commercial sample"]
    assert boxes["Treat as abandoned"] and not boxes["Return to sender"]
    content = documents.render(label, fmt).content
    text = text_layer(content)[0]
    for expected in ("CUSTOMS DECLARATION", "CN 22", "HS tariff number", "691200", "JP", "0.800", "6,000", "Date: 2026-11-30", "Sender's signature", "certify"):
        assert expected in text, expected
    # The ticked box is inked where the cross is drawn; an unticked one is empty inside.
    image = page_pixels(content)
    scale = image.width / width
    for op in page.ops:
        if isinstance(op, drawing.CheckBox):
            inner = (op.x + op.size * 0.3, op.y + op.size * 0.3, op.x + op.size * 0.7, op.y + op.size * 0.7)
            ink = dark_fraction(image, tuple(v * scale for v in inner))  # type: ignore[arg-type]
            assert (ink > 0.2) if op.checked else (ink < 0.05), op.label


def test_cn23_has_its_own_page_with_references_and_instruction() -> None:
    details = CustomsDetails(invoice_number="INV-2026-001", licence_numbers=("LIC-7",), certificate_numbers=("CERT-9",), comments="Keep dry")
    label = to(US, CustomsForm.CN23, DocumentFormat.PDF_4X6, customs=details)
    pages = text_layer(documents.render(label).content)
    assert len(pages) == 2 and "CN 23" in pages[1]
    for expected in ("INV-2026-001", "LIC-7", "CERT-9", "Keep dry", "Return to sender", "Treat as abandoned", "Date: 2026-11-30", "Postal charges"):
        assert expected in pages[1], expected


@pytest.mark.parametrize(
    ("region", "details", "printed"),
    [
        ("DE", CustomsDetails(ioss_number="IM2760000001"), "IOSS IM2760000001"),
        ("GB", CustomsDetails(uk_vat_number="GB 123 4567 89"), "VAT GB123456789"),
        ("NO", CustomsDetails(voec_number="2024001"), "VOEC 2024001"),
        ("AU", CustomsDetails(au_gst_number="51 824 753 556"), "ABN 51824753556"),
    ],
)
def test_importer_tax_numbers_print_for_their_destination_only(region: str, details: CustomsDetails, printed: str) -> None:
    request = replace(domain_request(region=region), customs=details)
    customs.check_details(request)
    assert customs.importer_references(request) == [printed]
    assert customs.importer_references(replace(domain_request(region="US"), customs=details)) == []  # not the destination's
    text = text_layer(documents.render(make_label(request, form=CustomsForm.CN23)).content)[1]
    assert printed in text


@pytest.mark.parametrize(
    ("details", "field"),
    [
        (CustomsDetails(ioss_number="IM12"), "customs.ioss_number"),
        (CustomsDetails(uk_vat_number="DE123456789"), "customs.uk_vat_number"),
        (CustomsDetails(voec_number="12"), "customs.voec_number"),
        (CustomsDetails(au_gst_number="51 824 753 557"), "customs.au_gst_number"),  # check digits wrong
    ],
)
def test_malformed_tax_numbers_are_named(details: CustomsDetails, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        customs.check_details(replace(domain_request(), customs=details))
    assert [v.field for v in caught.value.violations] == [field]


def test_many_items_continue_on_a_page_of_their_own() -> None:
    items = tuple(CustomsItem(f"Ceramic tea cup model {i}", 1, 500, "691200", 50, "JP") for i in range(30))
    cn22 = documents.render(to(US, CustomsForm.CN22, items=items)).content
    pages = text_layer(cn22)
    assert len(pages) == 2 and "more items" in pages[0] and "model 29" in pages[1]
    cn23 = text_layer(documents.render(to(US, CustomsForm.CN23, items=items)).content)
    assert "model 29" in " ".join(cn23[1:])


def test_the_customs_part_fills_the_page() -> None:
    """The complaint was a page 40% empty: the lowest ink is near the bottom edge on every layout."""
    for fmt in PDFS:
        for form in CustomsForm:
            content = documents.render(to(US, form, fmt)).content
            for index in range(len(text_layer(content))):
                image = page_pixels(content, index, 1)
                rows = [y for y in range(image.height) if image.crop((0, y, image.width, y + 1)).getextrema()[0] < 128]
                assert rows and rows[-1] > image.height * 0.9, (fmt, form, index)


# -- ZPL --------------------------------------------------------------------------------------------


def render_zpl_pages(zpl: str) -> tuple[list[Image.Image], list[str]]:
    document = zplkit.render(zpl.encode("ascii"), zplkit.Options(profile="zd621"))
    images = []
    for scene in document.labels:
        raster = scene.rasterize()
        images.append(Image.frombytes("L", (raster.width, raster.height), raster.pixels))
    return images, list(document.warnings)


def test_zpl_parses_renders_and_its_unicode_fields_print() -> None:
    label = to(TW, CustomsForm.CN23, DocumentFormat.ZPL_4X6)
    zpl = zpl_documents.render_zpl(label)
    parsed = zplkit.parse.parse(zpl.encode("ascii"))
    commands = [bytes(e.data)[:3] for e in parsed.elements if e.kind == "format_command"]
    assert commands.count(b"^XA") == commands.count(b"^XZ") == 2 and b"^CI" in commands
    images, warnings = render_zpl_pages(zpl)
    # The renderer warns that it samples the printer's resident font; nothing else.
    assert all("Resident fonts" in w for w in warnings), warnings
    assert len(images) == 2 and images[0].size == (812, 1218)
    found = zxingcpp.read_barcodes(images[0])
    assert (str(found[0].format), found[0].text) == ("Code 128", label.tracking_number)
    # Each line of Chinese is a graphic field whose ink the renderer prints where it was placed.
    fields = re.findall(r"\^FO(\d+),(\d+)\^GFA,(\d+),\d+,(\d+),", zpl.split("^XZ")[0])
    assert len(fields) >= 3  # the postcode is text; province and district, street and name are graphics
    for x, y, total, row in fields:
        w, h = int(row) * 8, int(total) // int(row)
        assert dark_fraction(images[0], (int(x), int(y), int(x) + w, int(y) + h)) > 0.03


def test_zpl_latin_text_is_text_and_other_scripts_are_graphics() -> None:
    zpl = zpl_documents.render_zpl(to(RU, CustomsForm.CN22, DocumentFormat.ZPL_4X6))
    assert "^FDIvan Petrov^FS" in zpl and "^FDRUSSIAN FEDERATION^FS" in zpl
    assert "Иван" not in zpl and "_D0_98" not in zpl  # Cyrillic is drawn, not sent to font 0
    assert zpl.isascii()
    images, _ = render_zpl_pages(zpl)
    assert len(images) == 1


# -- through the server, on both stores ---------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def stub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[labels_pb2_grpc.LabelServiceStub]:
    if request.param == "sqlite":
        settings = Settings(listen_addr="127.0.0.1:0", database_path=tmp_path / "labels.sqlite3", log_requests=False)
        service = bootstrap.start(settings)
        try:
            with grpc.insecure_channel(service.address) as channel:
                yield labels_pb2_grpc.LabelServiceStub(channel)
        finally:
            service.stop(0)
        return
    import os

    base = os.environ.get("SHIPPING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        psycopg.connect(base, connect_timeout=3).close()
    except Exception:
        if os.environ.get("CI"):
            raise
        pytest.skip("PostgreSQL is not reachable")
    with fresh_database(base) as url:
        service = bootstrap.start(Settings(listen_addr="127.0.0.1:0", database_url=url, log_requests=False))
        try:
            with grpc.insecure_channel(service.address) as channel:
                yield labels_pb2_grpc.LabelServiceStub(channel)
        finally:
            service.stop(0)


def tw_request(request_id: str) -> labels_pb2.CreateLabelRequest:
    msg = proto_request(request_id, region="TW", phone="0912345678", fmt=labels_pb2.DOCUMENT_FORMAT_PDF_4X6)
    msg.recipient.CopyFrom(
        labels_pb2.Address(
            name="王小明",
            address_lines=["信義路五段7號"],
            city="信義區",
            administrative_area="臺北市",
            postal_code="110",
            region_code="TW",
            phone="0912345678",
            latin=labels_pb2.Address(name="Wang Xiaoming", address_lines=["No. 7, Sec. 5, Xinyi Rd."], city="Xinyi Dist.", administrative_area="Taipei City"),
        )
    )
    msg.customs.non_delivery = labels_pb2.NON_DELIVERY_INSTRUCTION_TREAT_AS_ABANDONED
    msg.customs.invoice_number = "INV-1"
    return msg


def _bad_fields(error: grpc.RpcError) -> list[str]:
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status.FromString(dict(error.trailing_metadata())["grpc-status-details-bin"])  # type: ignore[attr-defined]
    out = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            out += [v.field for v in bad.field_violations]
    return out


def test_a_taiwanese_label_through_the_server(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    made = stub.CreateLabel(tw_request("tw-print")).label
    assert made.recipient.latin.name == "Wang Xiaoming" and made.recipient.latin.region_code == "TW"
    assert made.customs.non_delivery == labels_pb2.NON_DELIVERY_INSTRUCTION_TREAT_AS_ABANDONED
    content = made.documents[0].content
    assert "王小明" in text_layer(content)[0] and notdef_codes(content) == []
    again = stub.CreateLabel(tw_request("tw-print"))
    assert again.replayed and again.label.documents[0].content == content  # a retry: the same bytes
    fetched = stub.GetLabel(labels_pb2.GetLabelRequest(id=made.id, document_format=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6)).label
    assert fetched.documents[0].content.startswith(b"^XA")


def test_refusals_come_before_a_number_is_issued(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    no_latin = tw_request("tw-no-latin")
    no_latin.recipient.ClearField("latin")
    unprintable = proto_request("us-emoji", region="US", name="Jane 🏠 Doe")
    no_state = proto_request("us-no-state", region="US")
    no_state.recipient.administrative_area = ""
    for msg, field in ((no_latin, "recipient.latin.name"), (unprintable, "recipient.name"), (no_state, "recipient.administrative_area")):
        with pytest.raises(grpc.RpcError) as caught:
            stub.CreateLabel(msg)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in _bad_fields(caught.value)
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateLabel(proto_request("bad-ioss", region="DE", items=None).__class__(**{}))  # empty: shape errors, not INTERNAL
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # None of the refused requests used a number: the next label gets the first one of its range.
    first = stub.CreateLabel(proto_request("after-refusals", region="CA", method=common_pb2.SHIPPING_METHOD_EMS)).label
    assert first.tracking_number[2:10] == "10000000"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "labels"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_the_sample_requests_are_issued(path: Path, tmp_path: Path) -> None:
    """The samples in examples/labels/ (for `kokokara-shipping labels create`) are accepted as they are."""
    from google.protobuf import json_format

    request = json_format.Parse(path.read_text(encoding="utf-8"), labels_pb2.CreateLabelRequest())
    service = bootstrap.start(Settings(listen_addr="127.0.0.1:0", database_path=tmp_path / "labels.sqlite3", log_requests=False))
    try:
        with grpc.insecure_channel(service.address) as channel:
            label = labels_pb2_grpc.LabelServiceStub(channel).CreateLabel(request, timeout=60).label
    finally:
        service.stop(0)
    doc = label.documents[0]
    if doc.content_type == "application/pdf":
        assert notdef_codes(doc.content) == [] and label.recipient.name in text_layer(doc.content)[0]
    else:
        images, warnings = render_zpl_pages(doc.content.decode("ascii"))
        assert images and all("Resident fonts" in w for w in warnings)
