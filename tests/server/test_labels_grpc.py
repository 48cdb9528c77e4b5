"""LabelService over gRPC against a real server on 127.0.0.1:0 (its own SQLite file): status codes,
error details (ErrorInfo reason, BadRequest fields), idempotent retries and documents."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import common_pb2, labels_pb2, labels_pb2_grpc
from tests.conftest import test_settings as settings_for_test
from tests.grpc_support import status_details
from tests.labels_support import SHIP_DATE, pdf_barcodes, pdf_text, proto_request, yen

PERSONAL = ("Jane Doe", "1 Main St", "Springfield", "+1 555 0100", "0912345678")


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labels_pb2_grpc.LabelServiceStub]:
    path: Path = tmp_path_factory.mktemp("labels") / "labels.sqlite3"
    running = bootstrap.start(settings_for_test(database_path=path))
    with grpc.insecure_channel(running.address) as channel:
        yield labels_pb2_grpc.LabelServiceStub(channel)
    running.stop(0.5)


def details(error: grpc.RpcError) -> tuple[str, list[str]]:
    found = status_details(error)
    for secret in PERSONAL:
        assert secret not in (error.details() or ""), "personal data in an error message"
    return found.reason, list(found.fields)


def fail(call, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return caught.value


def test_create_returns_a_priced_label_with_pdf_and_retry_returns_it(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    response = stub.CreateLabel(proto_request("grpc-1"))
    label = response.label
    assert not response.replayed
    assert label.tracking_number.startswith("EN") and label.tracking_number.endswith("JP")
    assert label.product == common_pb2.PRODUCT_EMS and label.product_name == "EMS"
    assert label.price.currency_code == "JPY" and label.price.units > 0
    assert label.customs_form == labels_pb2.CUSTOMS_FORM_CN23
    assert label.declared_value.units == 6000 and not label.export_declaration_required
    assert label.status == labels_pb2.LABEL_STATUS_ACTIVE
    assert (label.ship_date.year, label.ship_date.month, label.ship_date.day) == (SHIP_DATE.year, SHIP_DATE.month, SHIP_DATE.day)
    doc = label.documents[0]
    assert doc.format == labels_pb2.DOCUMENT_FORMAT_PDF_A6 and doc.content_type == "application/pdf"
    assert label.tracking_number in pdf_text(doc.content)[0]
    assert ("Code 128", label.tracking_number) in pdf_barcodes(doc.content)

    again = stub.CreateLabel(proto_request("grpc-1"))
    assert again.replayed and again.label == label


def test_same_request_id_with_other_content_is_already_exists(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    stub.CreateLabel(proto_request("grpc-2"))
    error = fail(stub.CreateLabel, proto_request("grpc-2", name="John Roe"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    reason, _ = details(error)
    assert reason == "REQUEST_ID_REUSED"
    assert "recipient" in (error.details() or "") and "John Roe" not in (error.details() or "")


def test_bad_requests_name_every_field(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    request = proto_request("", method=0, weight_g=0)
    request.recipient.region_code = "XX"
    request.sender.ClearField("address_lines")
    request.customs_items[0].unit_value.CopyFrom(yen(-1))
    error = fail(stub.CreateLabel, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    reason, fields = details(error)
    assert reason == "INVALID_LABEL_REQUEST"
    assert {"request_id", "method", "recipient.region_code", "sender.address_lines", "parcel.weight_grams", "customs_items[0].unit_value.units"} <= set(fields)


def test_customs_declaration_errors_name_item_and_field(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    items = [
        labels_pb2.CustomsItem(description="Ceramic tea cup", quantity=1, unit_value=yen(1000)),
        labels_pb2.CustomsItem(description="茶碗", quantity=0, unit_value=yen(1000)),
    ]
    error = fail(stub.CreateLabel, proto_request("grpc-customs", items=items))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    reason, fields = details(error)
    assert reason == "INVALID_CUSTOMS_DECLARATION"
    assert set(fields) == {"customs_items[1].description", "customs_items[1].quantity"}


def test_eu_without_hs_code_and_taiwan_without_mobile_are_failed_precondition(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    items = [labels_pb2.CustomsItem(description="Ceramic tea cup", quantity=1, unit_value=yen(1000))]
    error = fail(stub.CreateLabel, proto_request("grpc-eu", region="FR", items=items))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(error) == ("HS_CODE_REQUIRED", ["customs_items[0].hs_code"])

    error = fail(stub.CreateLabel, proto_request("grpc-tw", region="TW", phone="02 2345 6789"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(error) == ("RECIPIENT_MOBILE_REQUIRED", ["recipient.phone"])
    assert stub.CreateLabel(proto_request("grpc-tw-ok", region="TW", phone="0912345678")).label.tracking_number


def test_prohibited_contents_refused_with_the_quotes_reason(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    items = [
        labels_pb2.CustomsItem(
            description="Power bank", quantity=1, unit_value=yen(3000), hs_code="850760", flags=[common_pb2.CONTENTS_FLAG_LITHIUM_BATTERY_LOOSE]
        )
    ]
    error = fail(stub.CreateLabel, proto_request("grpc-lithium", items=items))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    reason, _ = details(error)
    assert reason == "PROHIBITED_CONTENTS"
    # Nothing was issued: the same request_id can be used for a corrected request.
    assert stub.CreateLabel(proto_request("grpc-lithium")).label.tracking_number


def test_letter_post_below_threshold_gets_cn22_and_zpl(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    items = [labels_pb2.CustomsItem(description="Washi paper notebook", quantity=2, unit_value=yen(1500), hs_code="482010", net_weight_grams=300)]
    response = stub.CreateLabel(
        proto_request("grpc-packet", method=common_pb2.SHIPPING_METHOD_EPACKET, items=items, weight_g=400, fmt=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6)
    )
    label = response.label
    assert label.product == common_pb2.PRODUCT_AIR_PACKET and label.customs_form == labels_pb2.CUSTOMS_FORM_CN22
    zpl = label.documents[0].content.decode("ascii")
    assert label.documents[0].content_type == "application/x-zpl"
    assert zpl.startswith("^XA") and zpl.count("^XA") == 1 and f"^FD>:{label.tracking_number}^FS" in zpl


def test_high_value_is_flagged_for_export_declaration(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    items = [labels_pb2.CustomsItem(description="Lacquered writing box", quantity=1, unit_value=yen(250_000), hs_code="442090")]
    request = proto_request("grpc-export", items=items)
    request.insure = False
    label = stub.CreateLabel(request).label
    assert label.export_declaration_required and any("export declaration" in n for n in label.notes)


def test_get_void_list_and_manifest(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    date_msg = {"year": 2027, "month": 1, "day": 15}
    from datetime import date

    made = [stub.CreateLabel(proto_request(f"grpc-day-{i}", ship_date=date(2027, 1, 15))).label for i in range(3)]
    got = stub.GetLabel(labels_pb2.GetLabelRequest(id=made[0].id, document_format=labels_pb2.DOCUMENT_FORMAT_ZPL_4X6)).label
    assert got.tracking_number == made[0].tracking_number and got.documents[0].format == labels_pb2.DOCUMENT_FORMAT_ZPL_4X6
    assert not stub.GetLabel(labels_pb2.GetLabelRequest(id=made[0].id, skip_documents=True)).label.documents

    voided = stub.VoidLabel(labels_pb2.VoidLabelRequest(id=made[1].id)).label
    assert voided.status == labels_pb2.LABEL_STATUS_VOIDED and voided.void_time.seconds > 0

    first = stub.ListLabels(labels_pb2.ListLabelsRequest(ship_date=date_msg, page_size=2))
    second = stub.ListLabels(labels_pb2.ListLabelsRequest(ship_date=date_msg, page_size=2, page_token=first.next_page_token))
    assert [lb.id for lb in first.labels] + [lb.id for lb in second.labels] == [m.id for m in made]
    assert not second.next_page_token
    active = stub.ListLabels(labels_pb2.ListLabelsRequest(ship_date=date_msg, status=labels_pb2.LABEL_STATUS_ACTIVE))
    assert [lb.id for lb in active.labels] == [made[0].id, made[2].id]

    manifest = stub.GetManifest(labels_pb2.GetManifestRequest(ship_date=date_msg, format=labels_pb2.MANIFEST_FORMAT_CSV))
    assert manifest.label_count == 2 and manifest.content_type == "text/csv"
    assert [(p.product, p.label_count, p.total_price.units) for p in manifest.products] == [
        (common_pb2.PRODUCT_EMS, 2, made[0].price.units + made[2].price.units)
    ]
    rows = list(csv.reader(io.StringIO(manifest.content.decode())))
    assert [r[1] for r in rows[1:3]] == [made[0].tracking_number, made[2].tracking_number]
    pdf = stub.GetManifest(labels_pb2.GetManifestRequest(ship_date=date_msg, format=labels_pb2.MANIFEST_FORMAT_PDF))
    text = pdf_text(pdf.content)[0]
    assert pdf.content_type == "application/pdf" and made[0].tracking_number in text and made[1].tracking_number not in text
    assert "EMS: 2 items" in text


def test_unknown_ids_and_bad_tokens(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    error = fail(stub.GetLabel, labels_pb2.GetLabelRequest(id="nope"))
    assert error.code() == grpc.StatusCode.NOT_FOUND and details(error)[0] == "LABEL_NOT_FOUND"
    error = fail(stub.VoidLabel, labels_pb2.VoidLabelRequest(id="nope"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = fail(stub.ListLabels, labels_pb2.ListLabelsRequest(page_token="garbage!"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and details(error)[1] == ["page_token"]
    error = fail(stub.ListLabels, labels_pb2.ListLabelsRequest(page_size=10_000))
    assert details(error)[1] == ["page_size"]


def test_a_tracking_number_lists_its_label_in_any_spelling_get_tracking_reads(stub: labels_pb2_grpc.LabelServiceStub) -> None:
    made = [stub.CreateLabel(proto_request(f"grpc-find-{i}")).label for i in range(2)]
    number = made[1].tracking_number
    spelt = f"{number[:2].lower()} {number[2:5]}-{number[5:8]} {number[8:11]} {number[11:].lower()}"  # lower case, spaces, hyphens
    found = stub.ListLabels(labels_pb2.ListLabelsRequest(tracking_number=spelt))
    assert [lb.id for lb in found.labels] == [made[1].id] and not found.next_page_token
    assert found.labels[0].tracking_number == number and found.labels[0].recipient.name and not found.labels[0].documents
    voided = stub.ListLabels(labels_pb2.ListLabelsRequest(tracking_number=number, status=labels_pb2.LABEL_STATUS_VOIDED))
    assert not voided.labels  # the filters combine
    never_issued = "EN123456785JP"
    assert not stub.ListLabels(labels_pb2.ListLabelsRequest(tracking_number=never_issued)).labels  # a valid number without a label: none, not an error


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("EN123456784JP", "TRACKING_NUMBER_CHECK_DIGIT"),
        ("EN12345678JP", "TRACKING_NUMBER_MALFORMED"),
        ("order-1001", "TRACKING_NUMBER_MALFORMED"),
        ("EN123456785US", "TRACKING_NUMBER_NOT_JAPAN_POST"),
        ("UA123456785JP", "TRACKING_NUMBER_IS_CUSTOMS_LABEL"),
    ],
)
def test_a_malformed_tracking_number_filter_is_invalid_argument_naming_it(stub: labels_pb2_grpc.LabelServiceStub, number: str, reason: str) -> None:
    error = fail(stub.ListLabels, labels_pb2.ListLabelsRequest(tracking_number=number))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(error) == (reason, ["tracking_number"])  # GetTracking's reason for the same number


def test_exhausted_range_is_resource_exhausted_naming_it(tmp_path: Path) -> None:
    ranges = tmp_path / "ranges.csv"
    ranges.write_text("name,product,service_indicator,first_serial,last_serial\ntiny-ems,ems,EN,5,5\n")
    running = bootstrap.start(settings_for_test(database_path=tmp_path / "l.sqlite3", s10_ranges_file=ranges))
    try:
        with grpc.insecure_channel(running.address) as channel:
            stub = labels_pb2_grpc.LabelServiceStub(channel)
            stub.CreateLabel(proto_request("only-one"))
            error = fail(stub.CreateLabel, proto_request("one-too-many"))
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert details(error)[0] == "S10_RANGE_EXHAUSTED" and "tiny-ems" in (error.details() or "")
    finally:
        running.stop(0)


def test_personal_data_stays_out_of_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    running = bootstrap.start(settings_for_test(database_path=tmp_path / "l.sqlite3"))
    try:
        with grpc.insecure_channel(running.address) as channel, caplog.at_level("DEBUG"):
            stub = labels_pb2_grpc.LabelServiceStub(channel)
            stub.CreateLabel(proto_request("logged"))
            fail(stub.CreateLabel, proto_request("logged-tw", region="TW", phone="02 2345 6789"))
            fail(stub.CreateLabel, proto_request("logged", name="John Roe"))
    finally:
        running.stop(0)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "rpc" in text  # the access log did log the calls
    for secret in (*PERSONAL, "John Roe", "02 2345 6789"):
        assert secret not in text


def test_cli_creates_lists_voids_and_prints_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from google.protobuf import json_format

    from kokokara.shipping.cli import main

    running = bootstrap.start(settings_for_test(database_path=tmp_path / "l.sqlite3"))
    try:
        server = ["--server", running.address]
        request_file = tmp_path / "request.json"
        request_file.write_text(json_format.MessageToJson(proto_request("cli-1")))
        assert main([*server, "labels", "--json", "create", str(request_file), "--out", str(tmp_path / "label.pdf")]) == 0
        created = json.loads(capsys.readouterr().out)["label"]
        assert (tmp_path / "label.pdf").read_bytes().startswith(b"%PDF")
        assert main([*server, "labels", "list", "--date", SHIP_DATE.isoformat()]) == 0
        assert created["tracking_number"] in capsys.readouterr().out
        assert main([*server, "labels", "list", "--tracking-number", created["tracking_number"].lower()]) == 0
        assert created["id"] in capsys.readouterr().out
        assert main([*server, "labels", "list", "--tracking-number", "EN123456784JP"]) == 1
        assert "INVALID_ARGUMENT" in capsys.readouterr().err
        assert main([*server, "labels", "void", created["id"]]) == 0
        assert "voided" in capsys.readouterr().out
        assert main([*server, "labels", "manifest", "--date", SHIP_DATE.isoformat()]) == 0
        assert created["tracking_number"] not in capsys.readouterr().out
        assert main([*server, "labels", "get", "missing"]) == 1
        assert "NOT_FOUND" in capsys.readouterr().err
    finally:
        running.stop(0)
