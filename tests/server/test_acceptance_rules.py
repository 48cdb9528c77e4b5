"""Acceptance as dated, conditional, sourced rules: the US suspension of goods since 2025-08-27,
the notice of 2025-05-16, value thresholds in US dollars converted at the rate in force, the loader
refusing bad rule files (naming file and line), a bad reload leaving the old rules serving, and
CreateLabel refusing what acceptance refuses. Over gRPC against a real server where the issue is
what a caller sees."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import grpc
import pytest

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from kokokara.shipping.v1 import common_pb2, labels_pb2_grpc, rates_pb2, rates_pb2_grpc
from rates.model import Method, Parcel, QuoteRequest, Reason
from rates.quote import QuoteEngine
from rates.tables import TableError, load_rate_book
from tests.conftest import REPO, test_settings
from tests.grpc_support import status_details
from tests.labels_support import proto_request, yen

TODAY = date(2026, 12, 5)
POSTAL = {common_pb2.SHIPPING_METHOD_EMS, common_pb2.SHIPPING_METHOD_AIRMAIL, common_pb2.SHIPPING_METHOD_EPACKET, common_pb2.SHIPPING_METHOD_SEA}
SUSPENDED = rates_pb2.UNAVAILABLE_REASON_SERVICE_SUSPENDED


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    running = bootstrap.start(test_settings(database_path=tmp_path_factory.mktemp("acceptance") / "labels.sqlite3"))
    yield running
    running.stop(0.5)


@pytest.fixture(scope="module")
def rates(server) -> rates_pb2_grpc.RateServiceStub:  # type: ignore[no-untyped-def]
    channel = grpc.insecure_channel(server.address)
    return rates_pb2_grpc.RateServiceStub(channel)


def us_quote(stub: rates_pb2_grpc.RateServiceStub, day: date = TODAY, **fields: object) -> rates_pb2.GetQuoteResponse:
    msg = rates_pb2.GetQuoteRequest(destination_region_code="US", ship_date={"year": day.year, "month": day.month, "day": day.day}, **fields)  # type: ignore[arg-type]
    msg.parcels.add(weight_grams=1200, length_mm=300, width_mm=200, height_mm=100)
    return stub.GetQuote(msg, timeout=10)


def test_us_merchandise_is_refused_naming_the_rule_its_date_and_source(rates: rates_pb2_grpc.RateServiceStub) -> None:
    for fields in ({}, {"contents_type": common_pb2.CONTENTS_TYPE_MERCHANDISE}):
        answer = us_quote(rates, **fields)
        refused = {u.method: u for u in answer.unavailable}
        assert set(refused) == POSTAL
        for u in refused.values():
            assert u.reason == SUSPENDED
            assert "rule us-2026-04-14-goods" in u.message and "from 2026-04-14" in u.message
            assert "post.japanpost.jp" in u.message  # the source
        # The consolidation contract is a private one: it stays offered.
        assert [o.method for o in answer.options] == [common_pb2.SHIPPING_METHOD_CONSOLIDATION]


def test_the_same_cart_before_the_suspension_is_offered_as_it_was(rates: rates_pb2_grpc.RateServiceStub) -> None:
    answer = us_quote(rates, date(2025, 8, 1))
    offered = {o.method for o in answer.options}
    assert {common_pb2.SHIPPING_METHOD_EMS, common_pb2.SHIPPING_METHOD_AIRMAIL, common_pb2.SHIPPING_METHOD_SEA} <= offered
    assert all(u.reason != SUSPENDED for u in answer.unavailable)
    # No International Air Packet (ePacket Light) table is known for 2025-08 (see the tables' README).
    assert {u.method: u.reason for u in answer.unavailable} == {common_pb2.SHIPPING_METHOD_EPACKET: rates_pb2.UNAVAILABLE_REASON_NO_PUBLISHED_RATE}
    # From the first day of the suspension, the notice of 2025-08-25 is the rule that refuses.
    first_day = us_quote(rates, date(2025, 8, 27))
    assert {u.method for u in first_day.unavailable if "rule us-2025-08-27-goods" in u.message} >= {common_pb2.SHIPPING_METHOD_EMS}


def test_a_gift_is_offered_up_to_us_100_and_refused_above_at_the_rate_in_force(rates: rates_pb2_grpc.RateServiceStub) -> None:
    small = us_quote(rates, contents_type=common_pb2.CONTENTS_TYPE_GIFT, declared_value=yen(10_000))
    assert {o.method for o in small.options} >= POSTAL
    ems = next(o for o in small.options if o.method == common_pb2.SHIPPING_METHOD_EMS)
    assert any("up to US$100" in note for note in ems.notes)

    large = us_quote(rates, contents_type=common_pb2.CONTENTS_TYPE_GIFT, declared_value=yen(20_000))
    refused = {u.method: u for u in large.unavailable}
    assert set(refused) == POSTAL
    for u in refused.values():
        assert u.reason == SUSPENDED
        # The rate used, its date and source are in the sentence: 100 x 157.9837 = 15,798 JPY.
        assert "20,000 JPY is more than US$100 = 15,798 JPY at 157.9837 JPY/USD (rate of 2026-09-25" in u.message

    # The value may come from the contents' values when no declared value is given.
    by_contents = us_quote(rates, contents_type=common_pb2.CONTENTS_TYPE_GIFT, contents=[{"description": "Tea set", "quantity": 1, "value": yen(21_000)}])
    assert {u.method for u in by_contents.unavailable} == POSTAL
    # No value at all cannot be shown to be within US$100: refused, saying what to declare.
    unknown = us_quote(rates, contents_type=common_pb2.CONTENTS_TYPE_GIFT)
    assert all("declare the value" in u.message for u in unknown.unavailable)


def test_documents_go_by_ems(rates: rates_pb2_grpc.RateServiceStub) -> None:
    answer = us_quote(rates, contents_type=common_pb2.CONTENTS_TYPE_DOCUMENTS, methods=[common_pb2.SHIPPING_METHOD_EMS])
    assert [o.method for o in answer.options] == [common_pb2.SHIPPING_METHOD_EMS]
    assert answer.options[0].total_price.units == 5990  # EMS zone 4, 1.25 kg bracket


def test_an_unknown_contents_type_is_invalid_argument_naming_the_field(rates: rates_pb2_grpc.RateServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        us_quote(rates, contents_type=99)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "contents_type" in status_details(raised.value).fields


def test_kernel_answers_merchandise_and_leaves_gifts_to_the_python_path(server) -> None:  # type: ignore[no-untyped-def]
    from kokokara.shipping.server.fast import fastquote

    if not fastquote.available():
        pytest.skip("the quote kernel is not built here")
    _, _, fast = server.engines.get_with_kernel()
    assert fast is not None
    merchandise = rates_pb2.GetQuoteRequest(destination_region_code="US", parcels=[{"weight_grams": 800}])
    answered = fast.quote(merchandise.SerializeToString(), TODAY)
    assert answered is not None and b"us-2026-04-14-goods" in answered
    gift = rates_pb2.GetQuoteRequest(destination_region_code="US", parcels=[{"weight_grams": 800}], contents_type=common_pb2.CONTENTS_TYPE_GIFT)
    assert fast.quote(gift.SerializeToString(), TODAY) is None


def quote(engine: QuoteEngine, region: str, day: date, *parcels: Parcel) -> dict[Method, tuple[Reason | None, str]]:
    answer = engine.quote(QuoteRequest(region, parcels or (Parcel(1000),), day, day))
    found: dict[Method, tuple[Reason | None, str]] = {o.method: (None, "; ".join(o.notes)) for o in answer.options}
    found.update({u.method: (u.reason, u.message) for u in answer.unavailable})
    return found


def test_the_notice_of_2025_05_16(engine: QuoteEngine) -> None:
    before, after = date(2025, 5, 15), date(2025, 5, 16)
    # Israel: air and EMS accepted (as the crawl had them), sea kept suspended by the notice.
    assert quote(engine, "IL", before)[Method.SEA][0] is None
    israel = quote(engine, "IL", after)
    assert israel[Method.SEA][0] is Reason.SERVICE_SUSPENDED and "rule il-2025-05-16-surface" in israel[Method.SEA][1]
    assert israel[Method.EMS][0] is None
    # Afghanistan: letter-post and parcels by air resumed; the crawl had them suspended.
    assert quote(engine, "AF", before)[Method.AIRMAIL][0] is Reason.SERVICE_SUSPENDED
    afghanistan = quote(engine, "AF", after)
    assert afghanistan[Method.AIRMAIL][0] is None and "rule af-2025-05-16-air" in afghanistan[Method.AIRMAIL][1]
    # Paraguay: letter-post by air only (Air Packet, once its table is in force); parcels and EMS not.
    paraguay = quote(engine, "PY", date(2026, 7, 1), Parcel(500, 200, 150, 50))
    assert paraguay[Method.EPACKET][0] is None
    assert paraguay[Method.EMS][0] is Reason.SERVICE_SUSPENDED and "rule py-2025-05-16-other" in paraguay[Method.EMS][1]
    airmail = paraguay[Method.AIRMAIL][1]  # small packets: no zone 5 rate is known; parcels: suspended
    assert "Small packet airmail: Japan Post publishes no" in airmail and "rule py-2025-05-16-other" in airmail


def test_small_packets_have_japan_posts_2_mm_tolerance(engine: QuoteEngine) -> None:
    def small_packet(*sides: int) -> bool:
        request = QuoteRequest("GB", (Parcel(500, *sides),), TODAY, TODAY, methods=(Method.AIRMAIL,))
        return any(o.product.value == "small_packet_air" for o in engine.quote(request).options)

    assert small_packet(602, 150, 100)  # 60 cm + 2 mm
    assert not small_packet(603, 150, 100)
    assert small_packet(500, 301, 101)  # 90.2 cm in all
    assert not small_packet(500, 302, 101)


def test_parcel_air_zone_5_is_marked_low_confidence(engine: QuoteEngine) -> None:
    answer = engine.quote(QuoteRequest("BR", (Parcel(5000),), TODAY, TODAY, methods=(Method.AIRMAIL,)))
    [option] = answer.options
    assert option.product.value == "parcel_air" and option.zone == 5 and option.low_confidence
    assert option.table.confidence == "medium"
    europe = engine.quote(QuoteRequest("GB", (Parcel(5000),), TODAY, TODAY, methods=(Method.AIRMAIL,)))
    assert not europe.options[0].low_confidence


def test_low_confidence_reaches_the_checkout_over_grpc(rates: rates_pb2_grpc.RateServiceStub) -> None:
    msg = rates_pb2.GetQuoteRequest(destination_region_code="BR", methods=[common_pb2.SHIPPING_METHOD_AIRMAIL], parcels=[{"weight_grams": 5000}])
    [option] = rates.GetQuote(msg, timeout=10).options
    assert option.low_confidence and option.rate_table.confidence == "medium"


# -- the loader --------------------------------------------------------------------------------


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    copy = tmp_path / "tables"
    shutil.copytree(DEFAULT_TABLES_DIR, copy)
    return copy


def add_rule(tables: Path, line: str) -> int:
    path = tables / "acceptance_rules.csv"
    text = path.read_text()
    path.write_text(text + line + "\n")
    return text.count("\n") + 1  # the new line's number


OK_RULE = "x-1,GB,parcel,surface,,suspended,2026-01-01,,*,,,by sea,JP250515,2026-12-05,high,"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("x-1,GB,parcel,air,,suspended,2026-01-01,,*,,,by air,,2026-12-05,high,", "source_id"),
        ("x-1,QQ,parcel,air,,suspended,2026-01-01,,*,,,by air,JP250515,2026-12-05,high,", "region code 'QQ'"),
        ("x-1,GB,parcel,air,hovercraft,suspended,2026-01-01,,*,,,by air,JP250515,2026-12-05,high,", "unknown product"),
        ("x-1,GB,parcel,air,ems,suspended,2026-01-01,,*,,,by air,JP250515,2026-12-05,high,", "not carried by"),
        ("x-1,GB,ems,surface,,suspended,2026-01-01,,*,,,by sea,JP250515,2026-12-05,high,", "no Japan Post service"),
        ("x-1,GB,parcel,air,,closed,2026-01-01,,*,,,by air,JP250515,2026-12-05,high,", "status"),
        ("x-1,GB,parcel,air,,suspended,2026-01-01,2025-01-01,*,,,by air,JP250515,2026-12-05,high,", "effective_to is before"),
        ("x-1,GB,parcel,air,,suspended,2026-01-01,,gift,100,EUR,by air,JP250515,2026-12-05,high,", "no rates in fx_rates.csv"),
        ("x-1,GB,parcel,air,,accepted,2026-01-01,,gift,100,USD,by air,JP250515,2026-12-05,high,", "for suspensions"),
        ("us-2025-08-27-goods,GB,parcel,air,,suspended,2026-01-01,,*,,,by air,JP250515,2026-12-05,high,", "is used on line 2"),
        # Overlaps the US goods rule of 2026-04-14: same service, days and contents type.
        ("x-1,US,parcel,air,,suspended,2026-06-01,2026-06-30,sample,,,by air,JP250515,2026-12-05,high,", "overlaps rule us-2026-04-14-goods"),
    ],
)
def test_bad_rules_are_refused_naming_file_and_line(tables: Path, line: str, problem: str) -> None:
    number = add_rule(tables, line)
    with pytest.raises(TableError) as raised:
        load_rate_book(tables, DEFAULT_CONSOLIDATION_FILE)
    assert raised.value.path.endswith("acceptance_rules.csv") and raised.value.line == number, str(raised.value)
    assert problem in raised.value.problem


def test_rules_that_do_not_overlap_load(tables: Path) -> None:
    add_rule(tables, OK_RULE)
    # The same destination and service, other contents: no overlap.
    add_rule(tables, "x-2,US,parcel,air,,suspended,2026-06-01,2026-06-30,documents,,,by air,JP250515,2026-12-05,high,")
    book = load_rate_book(tables, DEFAULT_CONSOLIDATION_FILE)
    assert {r.rule_id for r in book.rules_for("GB")} == {"x-1"}


def test_every_data_file_needs_a_last_checked_date(tables: Path) -> None:
    (tables / "extra.csv").write_text("a\n1\n")
    with pytest.raises(TableError) as raised:
        load_rate_book(tables, DEFAULT_CONSOLIDATION_FILE)
    assert "manifest.csv" in str(raised.value) and "extra.csv" in str(raised.value)


def test_a_bad_rule_file_stops_start_up_naming_file_and_line(tables: Path, tmp_path: Path) -> None:
    number = add_rule(tables, "x-1,ZZ,parcel,air,,suspended,2026-01-01,,*,,,by air,JP250515,2026-12-05,high,")
    env = {"SHIPPING_TABLES_DIR": str(tables), "SHIPPING_LISTEN_ADDR": "127.0.0.1:0", "SHIPPING_WORKERS": "1", "SHIPPING_DATABASE_PATH": str(tmp_path / "l.db")}
    import os

    done = subprocess.run([sys.executable, str(REPO / "server.py")], env={**os.environ, **env}, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode != 0
    assert f"acceptance_rules.csv, line {number}" in done.stderr


def test_a_bad_reload_keeps_the_old_rules_and_a_good_one_applies_without_restart(tables: Path, tmp_path: Path) -> None:
    service = bootstrap.start(test_settings(tables_dir=tables, tables_poll_seconds=0.1, database_path=tmp_path / "l.sqlite3"))
    try:
        stub = rates_pb2_grpc.RateServiceStub(grpc.insecure_channel(service.address))

        def gb_sea() -> int:
            msg = rates_pb2.GetQuoteRequest(destination_region_code="GB", methods=[common_pb2.SHIPPING_METHOD_SEA], parcels=[{"weight_grams": 3000}])
            answer = stub.GetQuote(msg, timeout=10)
            return answer.unavailable[0].reason if answer.unavailable else 0

        assert gb_sea() == 0
        add_rule(tables, "x-bad,GB,parcel,surface,,suspended,2026-01-01,,*,,,by sea,NOSUCHSOURCE,2026-12-05,high,")
        time.sleep(1.0)  # not a timing assertion: the poller has had time to see and refuse the file
        assert gb_sea() == 0  # the old rules serve
        text = (tables / "acceptance_rules.csv").read_text().replace("NOSUCHSOURCE", "JP250515")
        (tables / "acceptance_rules.csv").write_text(text)
        deadline = time.monotonic() + 20
        while gb_sea() != SUSPENDED and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gb_sea() == SUSPENDED
    finally:
        service.stop(0)


# -- labels ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def labels(server) -> labels_pb2_grpc.LabelServiceStub:  # type: ignore[no-untyped-def]
    return labels_pb2_grpc.LabelServiceStub(grpc.insecure_channel(server.address))


def test_create_label_refuses_what_acceptance_refuses_naming_the_rule(labels: labels_pb2_grpc.LabelServiceStub) -> None:
    request = proto_request("acceptance-merchandise", ship_date=TODAY, region="US")
    with pytest.raises(grpc.RpcError) as raised:
        labels.CreateLabel(request, timeout=10)
    assert raised.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert status_details(raised.value).reason == "SERVICE_SUSPENDED"
    assert "us-2026-04-14-goods" in (raised.value.details() or "")

    # A gift within US$100 (two cups at 3,000 JPY) is accepted; the same gift worth more is not.
    gift = proto_request("acceptance-gift", ship_date=TODAY, region="US")
    gift.contents_type = common_pb2.CONTENTS_TYPE_GIFT
    assert labels.CreateLabel(gift, timeout=10).label.tracking_number
    dear = proto_request("acceptance-dear-gift", ship_date=TODAY, region="US")
    dear.contents_type = common_pb2.CONTENTS_TYPE_GIFT
    dear.customs_items[0].unit_value.CopyFrom(yen(9_000))
    with pytest.raises(grpc.RpcError) as raised:
        labels.CreateLabel(dear, timeout=10)
    assert raised.value.code() is grpc.StatusCode.FAILED_PRECONDITION and "us-2026-04-14-gifts" in (raised.value.details() or "")


# -- what analysts and operators see -------------------------------------------------------------


def test_list_destinations_shows_the_rules_in_force_with_dates_and_sources(rates: rates_pb2_grpc.RateServiceStub) -> None:
    answer = rates.ListDestinations(rates_pb2.ListDestinationsRequest(region_codes=["US", "IL"], ship_date={"year": 2026, "month": 12, "day": 5}))
    us, il = sorted(answer.destinations, key=lambda d: d.region_code != "US")
    assert {r.rule_id for r in us.acceptance_rules} == {"us-2026-04-14-goods", "us-2026-04-14-gifts"}
    gifts = next(r for r in us.acceptance_rules if r.rule_id == "us-2026-04-14-gifts")
    assert (gifts.value_over.currency_code, gifts.value_over.units) == ("USD", 100)
    assert gifts.status == "suspended" and not gifts.HasField("effective_to") and (gifts.effective_from.year, gifts.effective_from.month) == (2026, 4)
    assert list(gifts.contents_types) == [common_pb2.CONTENTS_TYPE_GIFT] and "post.japanpost.jp" in gifts.source and gifts.confidence == "medium"
    assert {r.rule_id for r in il.acceptance_rules} == {"il-2025-05-16-air", "il-2025-05-16-surface"}
    # Before the suspension, no rule for the US was in force.
    before = rates.ListDestinations(rates_pb2.ListDestinationsRequest(region_codes=["US"], ship_date={"year": 2025, "month": 8, "day": 1}))
    assert not before.destinations[0].acceptance_rules


def test_diff_acceptance_names_what_a_notice_changed(rates: rates_pb2_grpc.RateServiceStub) -> None:
    request = rates_pb2.DiffAcceptanceRequest(from_date={"year": 2025, "month": 8, "day": 26}, to_date={"year": 2025, "month": 8, "day": 27})
    changes = rates.DiffAcceptance(request).changes
    assert {c.region_code for c in changes} == {"US"}
    ems_goods = next(c for c in changes if c.product == common_pb2.PRODUCT_EMS and c.contents_type == common_pb2.CONTENTS_TYPE_MERCHANDISE)
    assert (ems_goods.from_status, ems_goods.to_status, ems_goods.from_rule_id, ems_goods.to_rule_id) == ("accepted", "suspended", "", "us-2025-08-27-goods")
    ems_gift = next(c for c in changes if c.product == common_pb2.PRODUCT_EMS and c.contents_type == common_pb2.CONTENTS_TYPE_GIFT)
    assert ems_gift.to_status == "accepted_up_to_value"
    assert not any(c.contents_type == common_pb2.CONTENTS_TYPE_DOCUMENTS for c in changes)
    # The notice of 2025-05-16, for the destinations it named.
    may = rates.DiffAcceptance(
        rates_pb2.DiffAcceptanceRequest(
            from_date={"year": 2025, "month": 5, "day": 15}, to_date={"year": 2025, "month": 5, "day": 16}, region_codes=["IL", "AF"]
        )
    ).changes
    assert {(c.region_code, c.product_name, c.to_status) for c in may if c.contents_type == common_pb2.CONTENTS_TYPE_MERCHANDISE} >= {
        ("IL", "Parcel post by sea", "suspended"),
        ("AF", "Parcel post airmail", "accepted"),
    }
    with pytest.raises(grpc.RpcError) as raised:
        rates.DiffAcceptance(rates_pb2.DiffAcceptanceRequest(from_date={"year": 2025, "month": 5, "day": 15}))
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "to_date" in status_details(raised.value).fields


def test_analysts_see_the_diff_from_the_command_line_and_python(server, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from kokokara.shipping.cli import main
    from kokokara.shipping.client import ShippingClient

    assert main(["--server", server.address, "tables", "acceptance-diff", "2025-08-26", "2025-08-27", "US"]) == 0
    out = capsys.readouterr().out
    assert "acceptance 2025-08-26 -> 2025-08-27: 20 change(s)" in out and "us-2025-08-27-goods" in out
    with ShippingClient(server.address) as client:
        frame = client.acceptance_diff("2025-08-26", "2025-08-27", ["US"])
        assert len(frame) == 20 and set(frame["to_status"]) == {"suspended", "accepted_up_to_value"}
        destinations = client.destinations(["US"], ship_date="2026-12-05")
        assert "us-2026-04-14-goods (suspended 2026-04-14 to further notice)" in destinations["acceptance_rules"][0]
    assert main(["--server", server.address, "tables", "destinations", "US", "--ship-date", "2026-12-05"]) == 0
    assert "us-2026-04-14-gifts" in capsys.readouterr().out


def test_tables_check_validates_a_directory_without_a_server(tables: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kokokara.shipping.cli import main

    assert main(["tables", "check", str(tables)]) == 0
    assert "acceptance rules" in capsys.readouterr().out
    number = add_rule(tables, "x-1,GB,parcel,air,,suspended,2026-01-01,,*,,,by air,NOSUCHSOURCE,2026-12-05,high,")
    assert main(["tables", "check", str(tables)]) == 1
    assert f"acceptance_rules.csv, line {number}: source_id" in capsys.readouterr().err
