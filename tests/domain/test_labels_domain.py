"""Label domain with plain values: customs checks and the CN22/CN23 choice, S10 ranges, and the
documents read back (PDF text and barcode, ZPL structure and escaping)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import FailedPrecondition, InvalidArgument
from domain.s10 import validate
from labels import customs, documents, layout
from labels import page as drawing
from labels import zpl as zpl_documents
from labels.model import ContentsType, CustomsForm, CustomsItem, DocumentFormat, Label, Pricing
from labels.ranges import RangeError, load_ranges
from labels.service import price
from rates.model import Method, Product
from rates.quote import QuoteEngine
from tests.labels_support import LITHIUM, domain_request, pdf_barcodes, pdf_text

REPO = Path(__file__).resolve().parents[2]


def make_label(request=None, *, form: CustomsForm = CustomsForm.CN23, number: str = "EN100000003JP", export: bool = False) -> Label:
    request = request or domain_request()
    return Label(
        id="abc",
        seq=1,
        tracking_number=number,
        range_name="r",
        request=request,
        request_hash=request.content_hash(),
        pricing=Pricing(Product.EMS, "EMS", 3900),
        customs_form=form,
        export_declaration_required=export,
        created_at=datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC),
    )


# -- customs ----------------------------------------------------------------------------------------


def fields(error: InvalidArgument | FailedPrecondition) -> set[str]:
    return {v.field for v in error.violations}


def test_customs_items_name_each_bad_item_and_field() -> None:
    items = (
        CustomsItem("Ceramic tea cup", 1, 1000),
        CustomsItem("湯呑み", 1, 1000),
        CustomsItem("", 0, 0),
        CustomsItem("goods", 1, 500, hs_code="12ab"),
    )
    with pytest.raises(InvalidArgument) as caught:
        customs.check_items(domain_request(items=items))
    assert fields(caught.value) == {
        "customs_items[1].description",
        "customs_items[2].description",
        "customs_items[2].quantity",
        "customs_items[2].unit_value",
        "customs_items[3].description",
        "customs_items[3].hs_code",
    }


def test_documents_may_declare_no_value_but_need_an_item() -> None:
    customs.check_items(domain_request(contents=ContentsType.DOCUMENTS, items=(CustomsItem("Printed contract papers", 1, 0),)))
    with pytest.raises(InvalidArgument) as caught:
        customs.check_items(domain_request(items=()))
    assert fields(caught.value) == {"customs_items"}


def test_net_weights_cannot_exceed_the_parcel() -> None:
    with pytest.raises(InvalidArgument):
        customs.check_items(domain_request(weight_g=500, items=(CustomsItem("Ceramic tea cup", 1, 1000, net_weight_g=900),)))


def test_eu_needs_hs_codes_naming_the_item() -> None:
    items = (CustomsItem("Ceramic tea cup", 1, 1000, "691200"), CustomsItem("Cotton scarf", 1, 2000))
    with pytest.raises(FailedPrecondition) as caught:
        customs.check_destination_rules(domain_request(region="DE", items=items))
    assert caught.value.reason == "HS_CODE_REQUIRED"
    assert fields(caught.value) == {"customs_items[1].hs_code"}
    customs.check_destination_rules(domain_request(region="US", items=items))  # not the EU: fine


@pytest.mark.parametrize("phone", ["0912345678", "0912-345-678", "+886 912 345 678", "+886-9-1234-5678", "00886912345678"])
def test_taiwan_accepts_mobile_numbers(phone: str) -> None:
    customs.check_destination_rules(domain_request(region="TW", phone=phone))


@pytest.mark.parametrize("phone", ["", "02 2345 6789", "+886 2 2345 6789", "+1 555 0100"])
def test_taiwan_refuses_missing_or_landline_numbers_without_echoing_them(phone: str) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        customs.check_destination_rules(domain_request(region="TW", phone=phone))
    assert caught.value.reason == "RECIPIENT_MOBILE_REQUIRED"
    assert fields(caught.value) == {"recipient.phone"}
    if phone:
        assert phone not in caught.value.message and phone not in str(caught.value.violations)


def test_cn22_for_letter_post_below_the_threshold_cn23_from_it_and_always_for_parcels() -> None:
    rules = customs.CustomsRules(cn23_threshold_jpy=45_387)
    cheap = domain_request(items=(CustomsItem("Ceramic tea cup", 1, 45_386),))
    at_limit = domain_request(items=(CustomsItem("Ceramic tea cup", 1, 45_387),))
    assert customs.decide(cheap, Product.AIR_PACKET, rules).form is CustomsForm.CN22
    assert customs.decide(cheap, Product.SMALL_PACKET_AIR, rules).form is CustomsForm.CN22
    assert customs.decide(at_limit, Product.AIR_PACKET, rules).form is CustomsForm.CN23
    for product in (Product.EMS, Product.PARCEL_AIR, Product.PARCEL_SURFACE):
        assert customs.decide(cheap, product, rules).form is CustomsForm.CN23
    # The threshold is a setting: a higher SDR rate moves it.
    assert customs.decide(at_limit, Product.AIR_PACKET, customs.CustomsRules(cn23_threshold_jpy=61_000)).form is CustomsForm.CN22


def test_export_declaration_flag_from_200000_jpy() -> None:
    rules = customs.CustomsRules()
    below = customs.decide(domain_request(items=(CustomsItem("Lacquer box", 1, 199_999),)), Product.EMS, rules)
    at = customs.decide(domain_request(items=(CustomsItem("Lacquer box", 2, 100_000),)), Product.EMS, rules)
    assert not below.export_declaration_required and not below.notes
    assert at.export_declaration_required and "export declaration" in at.notes[0]


# -- price as quoted --------------------------------------------------------------------------------


def test_price_is_the_quote_engines_and_refusals_carry_its_reason(engine: QuoteEngine) -> None:
    pricing = price(domain_request(), engine)
    quote = engine.quote(__import__("labels.service", fromlist=["quote_request"]).quote_request(domain_request()))
    assert pricing.product is Product.EMS
    assert pricing.price_jpy == quote.options[0].total_jpy > 0
    with pytest.raises(FailedPrecondition) as caught:
        price(domain_request(items=(CustomsItem("Power bank", 1, 3000, flags=frozenset({LITHIUM})),)), engine)
    assert caught.value.reason == "PROHIBITED_CONTENTS"
    assert "contents[0]" in caught.value.message
    with pytest.raises(FailedPrecondition) as heavy:
        price(domain_request(method=Method.EPACKET, weight_g=5000, items=(CustomsItem("Ceramic tea cup", 1, 1000),)), engine)
    assert heavy.value.reason == "OVER_WEIGHT_LIMIT"


# -- idempotency content ------------------------------------------------------------------------------


def test_content_hash_ignores_request_id_and_sees_every_field() -> None:
    a = domain_request("one")
    assert a.content_hash() == domain_request("two").content_hash()
    b = dataclasses.replace(a, parcel=dataclasses.replace(a.parcel, weight_g=1300))
    assert a.content_hash() != b.content_hash()
    from labels.model import differing_fields, request_from_canonical

    assert differing_fields(a.canonical(), b.canonical()) == ["parcel"]
    assert request_from_canonical("one", a.canonical()) == a


# -- ranges -----------------------------------------------------------------------------------------


def test_example_ranges_file_loads_with_a_range_per_product() -> None:
    ranges = load_ranges(REPO / "data" / "labels" / "EXAMPLE_s10_ranges.csv")
    products = {r.product for r in ranges}
    assert {Product.EMS, Product.PARCEL_AIR, Product.PARCEL_SURFACE, Product.SMALL_PACKET_AIR, Product.AIR_PACKET, Product.CONSOLIDATION} <= products


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("a,ems,EN,5,4", "first_serial <= last_serial"),
        ("a,nope,EN,1,4", "unknown product"),
        ("a,ems,E1,1,4", "service_indicator"),
        ("a,ems,EN,1,100000000", "99999999"),
    ],
)
def test_broken_ranges_are_refused_naming_the_line(tmp_path: Path, row: str, expected: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"# comment\nname,product,service_indicator,first_serial,last_serial\n{row}\n")
    with pytest.raises(RangeError, match=re.escape(expected)) as caught:
        load_ranges(path)
    assert ":3:" in str(caught.value)


def test_overlapping_ranges_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("name,product,service_indicator,first_serial,last_serial\na,ems,EN,1,10\nb,ems,EN,10,20\n")
    with pytest.raises(RangeError, match="overlap"):
        load_ranges(path)


# -- documents --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [DocumentFormat.PDF_A6, DocumentFormat.PDF_4X6])
def test_pdf_reads_back_with_barcode_blocks_and_cn23_page(fmt: DocumentFormat) -> None:
    label = make_label(domain_request(fmt=fmt), form=CustomsForm.CN23)
    doc = documents.render(label)
    assert doc.content_type == "application/pdf" and doc.content.startswith(b"%PDF")
    pages = pdf_text(doc.content)
    assert len(pages) == 2
    first = pages[0]
    for expected in (
        "EMS",
        "CN 23",
        "EN100000003JP",
        "FROM",
        "Kokokara Shop",
        "TO",
        "JANE DOE",  # Canada Post writes the whole address in capitals
        "SPRINGFIELD ON K1A 0B1",
        "CANADA",
        "1,200 g",
        "2 x Ceramic tea cup",
        "CUSTOMS: CN 23 attached",
    ):
        assert expected in first, expected
    assert "CUSTOMS DECLARATION CN 23" in " ".join(pages[1].split()) and "691200" in pages[1] and "of origin" in pages[1]
    assert ("Code 128", "EN100000003JP") in pdf_barcodes(doc.content)
    assert documents.render(label).content == doc.content
    assert documents.render_content(label, fmt) == doc.content  # drawn again: the same bytes


@pytest.mark.parametrize("form", [CustomsForm.CN22, CustomsForm.CN23])
@pytest.mark.parametrize("items", [1, 30])
def test_a_label_alike_to_one_laid_out_before_gets_the_pages_a_fresh_layout_gives(form: CustomsForm, items: int) -> None:
    """Pages are kept by what they are laid out from, all but the tracking number, which is drawn
    in anew: the kept pages must be, op for op, what laying the label out afresh gives."""
    goods = tuple(CustomsItem(f"Ceramic tea cup {i}", 1, 1000, "691200", 100, "JP") for i in range(items))
    first = make_label(dataclasses.replace(domain_request("first"), items=goods), form=form, number="EN100000003JP")
    second = dataclasses.replace(first, tracking_number="RR123456785JP", request=dataclasses.replace(first.request, request_id="second"))
    for width, height in ((297.6, 419.5), (288.0, 432.0)):
        layout.pages(first, width, height)
        kept = layout.pages(second, width, height)
        fresh = layout._pages(second, width, height)
        assert [(p.ops, p.items_left_out) for p in kept] == [(p.ops, p.items_left_out) for p in fresh]
        assert any(isinstance(op, drawing.Barcode) and op.data == "RR123456785JP" for op in kept[0].ops)
        assert not any("EN100000003JP" in getattr(op, "text", getattr(op, "data", "")) for p in kept for op in p.ops)


def test_pdf_sizes_and_cn22_has_one_page() -> None:
    import io

    from pypdf import PdfReader

    a6 = documents.render(make_label(domain_request(fmt=DocumentFormat.PDF_A6), form=CustomsForm.CN22))
    four = documents.render(make_label(domain_request(fmt=DocumentFormat.PDF_4X6), form=CustomsForm.CN22))
    box_a6 = PdfReader(io.BytesIO(a6.content)).pages[0].mediabox
    box_46 = PdfReader(io.BytesIO(four.content)).pages[0].mediabox
    assert (round(float(box_a6.width)), round(float(box_a6.height))) == (298, 420)  # 105 x 148 mm
    assert (round(float(box_46.width)), round(float(box_46.height))) == (288, 432)  # 4 x 6 in
    assert len(PdfReader(io.BytesIO(a6.content)).pages) == 1


def test_export_declaration_is_printed() -> None:
    label = make_label(export=True)
    assert "EXPORT DECLARATION REQUIRED" in pdf_text(documents.render(label).content)[0]
    assert "EXPORT DECLARATION REQUIRED" in zpl_documents.render_zpl(label)


def test_zpl_structure_for_4x6_at_203_dpi() -> None:
    zpl = zpl_documents.render_zpl(make_label(domain_request(fmt=DocumentFormat.ZPL_4X6)))
    blocks = re.findall(r"\^XA(.*?)\^XZ", zpl, flags=re.S)
    assert len(blocks) == 2  # the label and its CN23 page
    assert zpl.count("^XA") == zpl.count("^XZ") == 2
    first = blocks[0]
    assert "^PW812" in first and "^LL1218" in first and "^CI28" in first
    assert re.search(r"\^BCN,\d+,N,N,N\^FH_\^FD>:EN100000003JP\^FS", first)
    assert "^FDJANE DOE^FS" in first and "^FDKokokara Shop^FS" in first
    assert "^FDCUSTOMS DECLARATION  CN 23^FS" in blocks[1]
    cn22 = zpl_documents.render_zpl(make_label(form=CustomsForm.CN22))
    assert cn22.count("^XA") == 1


def test_zpl_caller_text_cannot_inject_commands() -> None:
    evil = "Eve^XZ^XA^FO0,0^GB812,1218,800^FS~JR_x"
    label = make_label(domain_request(recipient_name=evil, items=(CustomsItem("Tea^FS~DG cup", 1, 1000, "691200"),)))
    zpl = zpl_documents.render_zpl(label)
    assert zpl.count("^XA") == zpl.count("^XZ") == 2  # only our own label boundaries
    assert "~" not in zpl and "~JR" not in zpl
    assert "^FDEVE_5EXZ_5EXA_5EFO0,0_5EGB" in zpl  # in capitals, as Canada writes; wrapped, each piece escaped
    assert "^FDTea_5EFS_7EDG cup^FS" in zpl


@given(st.text(max_size=80))
def test_zpl_escape_leaves_no_command_characters_and_round_trips(text: str) -> None:
    escaped = zpl_documents.zpl_escape(text)
    assert "^" not in escaped and "~" not in escaped
    assert all(0x20 <= ord(c) <= 0x7E for c in escaped)
    decoded = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), escaped.encode("ascii"))
    assert decoded.decode("utf-8") == text


def test_allocated_numbers_are_valid_s10() -> None:
    from domain.s10 import make

    for serial in (0, 10000000, 12345678, 99999999):
        assert validate(make("EN", serial)) == make("EN", serial)


def test_an_unset_ship_date_stays_unset_in_what_a_retry_must_repeat() -> None:
    from labels.model import request_from_canonical

    monday = dataclasses.replace(domain_request("u"), ship_date_given=False)
    tuesday = dataclasses.replace(monday, ship_date=monday.ship_date.replace(day=monday.ship_date.day - 1))
    assert monday.canonical()["ship_date"] is None and monday.content_hash() == tuesday.content_hash()
    assert monday.content_hash() != domain_request("u").content_hash()  # given and unset differ
    assert request_from_canonical("u", monday.canonical(), monday.ship_date) == monday
    with pytest.raises(ValueError, match="no ship date"):
        request_from_canonical("u", monday.canonical())
