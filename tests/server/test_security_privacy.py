"""Privacy against real servers: personal data never reaches logs, error details or
metrics; label contents are for warehouse and admin only; and the retention setting erases
labels' personal data on both label stores, keeping numbers, products, dates and manifest totals."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import psycopg
import pytest
import requests

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc
from labels.store import ERASED_NOTE
from tests.conftest import test_settings
from tests.labels_support import SHIP_DATE, fresh_database, proto_request
from tests.security_support import auth, keyed_service
from tests.tracking_helpers import free_port, wait_until

MARKERS = ("Zyxqmarker", "Qwertzmarkstrasse", "Marktown", "+81 90 7777 3141", "zyxq.marker@example.org", "Zyxq Holdings")


def _marked(request_id: str, **overrides: object) -> labels_pb2.CreateLabelRequest:
    msg = proto_request(request_id, name="Zyxqmarker Person", phone="+81 90 7777 3141")
    msg.recipient.address_lines[:] = ["12 Qwertzmarkstrasse"]
    msg.recipient.city = "Marktown"
    msg.recipient.email = "zyxq.marker@example.org"
    msg.recipient.company = "Zyxq Holdings"
    for key, value in overrides.items():
        setattr(msg.recipient, key, value)
    return msg


def _errors_text(error: grpc.RpcError) -> str:
    trailing = "".join(f"{k}={v!r}" for k, v in (error.trailing_metadata() or ()))  # type: ignore[attr-defined]
    return f"{error.details()}{trailing}"  # type: ignore[attr-defined]


def test_personal_data_stays_out_of_logs_errors_and_metrics(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    metrics_port = free_port()
    seen: list[str] = []
    with (
        caplog.at_level(logging.DEBUG),
        keyed_service(tmp_path, metrics_addr=f"127.0.0.1:{metrics_port}") as (service, keys),
        grpc.insecure_channel(service.address) as channel,
    ):
        stub = labels_pb2_grpc.LabelServiceStub(channel)
        warehouse = auth(keys["warehouse"])
        created = stub.CreateLabel(_marked("privacy-1"), metadata=warehouse, timeout=30).label
        assert created.recipient.name == "Zyxqmarker Person"  # the warehouse reads the label
        stub.VoidLabel(labels_pb2.VoidLabelRequest(id=created.id), metadata=warehouse, timeout=30)
        failing = [
            _marked("privacy-1", name="Zyxqmarker Other"),  # request id reused with other content
            _marked("privacy-2", name="Zyxqmarker " + "x" * 200),  # too long
            _marked("privacy-3", email="zyxq.marker@example.org" + "y" * 300),
            _marked("privacy-4", region_code="Zyxqmarker"),
            _marked("privacy-5", city=""),
        ]
        for request in failing:
            with pytest.raises(grpc.RpcError) as refused:
                stub.CreateLabel(request, metadata=warehouse, timeout=30)
            seen.append(_errors_text(refused.value))
        # Support reads the label issued under a number, but nothing it says of people: the answers
        # join `seen`, where no marker may appear.
        support = auth(keys["support"])
        read = [
            stub.GetLabel(labels_pb2.GetLabelRequest(id=created.id), metadata=support, timeout=30).label,
            *stub.ListLabels(labels_pb2.ListLabelsRequest(tracking_number=created.tracking_number), metadata=support, timeout=30).labels,
        ]
        assert [(lb.id, lb.contents_withheld, lb.recipient.region_code, lb.recipient.name, len(lb.documents)) for lb in read] == [
            (created.id, True, created.recipient.region_code, "", 0)
        ] * 2
        assert not read[0].HasField("sender") and not read[0].customs_items and not read[0].HasField("customs")
        seen += [str(lb) for lb in read]
        for role in ("support", "analyst", "checkout"):
            for rpc, request in (
                (stub.GetLabel, labels_pb2.GetLabelRequest(id=created.id)),
                (stub.ListLabels, labels_pb2.ListLabelsRequest()),
                (stub.GetManifest, labels_pb2.GetManifestRequest(ship_date=_date_proto())),
            ):
                if role == "support" and rpc is not stub.GetManifest:
                    continue
                with pytest.raises(grpc.RpcError) as denied:
                    rpc(request, metadata=auth(keys[role]), timeout=30)  # type: ignore[operator]
                assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
                seen.append(_errors_text(denied.value))
        metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert 'shipping_labels_total{event="issued"} 1.0' in metrics
    logged = caplog.text + "".join(str(vars(r)) for r in caplog.records)
    assert "privacy-1" in logged or "CreateLabel" in logged  # the logs did capture the calls
    for marker in MARKERS:
        assert marker not in logged, f"{marker} in logs"
        assert marker not in metrics, f"{marker} in metrics"
        for text in seen:
            assert marker not in text, f"{marker} in an error: {text}"


def _date_proto() -> dict[str, int]:
    return {"year": SHIP_DATE.year, "month": SHIP_DATE.month, "day": SHIP_DATE.day}


# ---------------------------------------------------------------------------------------------
# Retention, on both stores


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, object]]:
    if request.param == "sqlite":
        yield {"database_path": tmp_path / "labels.sqlite3"}
        return
    with fresh_database(request.getfixturevalue("database_url")) as url:
        yield {"database_url": url}


def _age(db: dict[str, object], label_id: str, days: int) -> None:
    """Moves a label's creation back by `days` in the database itself."""
    if "database_url" in db:
        with psycopg.connect(str(db["database_url"]), autocommit=True) as conn:
            conn.execute("UPDATE labels SET created_at = created_at - make_interval(days => %s) WHERE id = %s", (days, label_id))
        return
    with sqlite3.connect(str(db["database_path"])) as conn:
        (created,) = conn.execute("SELECT created_at FROM labels WHERE id = ?", (label_id,)).fetchone()
        older = (datetime.fromisoformat(created) - timedelta(days=days)).isoformat()
        conn.execute("UPDATE labels SET created_at = ? WHERE id = ?", (older, label_id))


def _raw_rows(db: dict[str, object]) -> str:
    if "database_url" in db:
        with psycopg.connect(str(db["database_url"])) as conn:
            return str(conn.execute("SELECT id, data::text FROM labels").fetchall())
    with sqlite3.connect(str(db["database_path"])) as conn:
        return str(conn.execute("SELECT id, data FROM labels").fetchall())


def _manifest(stub: labels_pb2_grpc.LabelServiceStub) -> list[tuple[int, int, int, int]]:
    m = stub.GetManifest(labels_pb2.GetManifestRequest(ship_date=_date_proto()), timeout=30)
    return [(p.product, p.label_count, p.total_weight_grams, p.total_price.units) for p in m.products]


def test_retention_erases_personal_data_and_keeps_the_rest(backend: dict[str, object]) -> None:
    first = bootstrap.start(test_settings(**backend))
    try:
        with grpc.insecure_channel(first.address) as channel:
            stub = labels_pb2_grpc.LabelServiceStub(channel)
            old = [stub.CreateLabel(_marked(f"old-{i}"), timeout=30).label for i in range(2)]
            later = stub.CreateLabel(_marked("later"), timeout=30).label
            kept = stub.CreateLabel(_marked("kept"), timeout=30).label
            manifest_before = _manifest(stub)
    finally:
        first.stop(0)
    for label in old:
        _age(backend, label.id, 40)

    second = bootstrap.start(test_settings(label_retention_days=30, label_purge_interval_seconds=1, **backend))
    try:
        with grpc.insecure_channel(second.address) as channel:
            stub = labels_pb2_grpc.LabelServiceStub(channel)
            for before in old:  # erased at start-up
                after = stub.GetLabel(labels_pb2.GetLabelRequest(id=before.id), timeout=30).label
                assert (after.recipient.name, after.recipient.phone, after.recipient.email, after.recipient.city) == ("", "", "", "")
                assert list(after.recipient.address_lines) == [] and after.recipient.company == "" and after.sender.name == ""
                assert after.recipient.region_code == before.recipient.region_code
                for field in ("tracking_number", "product", "ship_date", "price", "declared_value", "parcel", "customs_items", "status"):
                    assert getattr(after, field) == getattr(before, field), field
                assert ERASED_NOTE in after.notes
                assert after.documents[0].content  # still printable (reprints carry no personal data)
            untouched = stub.GetLabel(labels_pb2.GetLabelRequest(id=kept.id, skip_documents=True), timeout=30).label
            assert untouched.recipient.name == "Zyxqmarker Person" and untouched.recipient.phone == "+81 90 7777 3141"
            assert _manifest(stub) == manifest_before

            # The periodic purge: a label that becomes old while the server runs is erased too.
            _age(backend, later.id, 31)

            def erased() -> bool:
                label = stub.GetLabel(labels_pb2.GetLabelRequest(id=later.id, skip_documents=True), timeout=30).label
                return label.recipient.name == ""

            assert wait_until(erased, 15)
            assert stub.GetLabel(labels_pb2.GetLabelRequest(id=kept.id, skip_documents=True), timeout=30).label.recipient.name == "Zyxqmarker Person"
    finally:
        second.stop(0)
    raw = _raw_rows(backend)
    assert raw.count("Zyxqmarker") == 1  # only the label within the retention period still has it
    assert raw.count("zyxq.marker@example.org") == 1


def test_retention_is_off_by_default(tmp_path: Path) -> None:
    db = {"database_path": tmp_path / "labels.sqlite3"}
    service = bootstrap.start(test_settings(**db))
    try:
        with grpc.insecure_channel(service.address) as channel:
            label = labels_pb2_grpc.LabelServiceStub(channel).CreateLabel(_marked("ancient"), timeout=30).label
    finally:
        service.stop(0)
    _age(db, label.id, 3650)
    service = bootstrap.start(test_settings(**db))
    try:
        with grpc.insecure_channel(service.address) as channel:
            again = labels_pb2_grpc.LabelServiceStub(channel).GetLabel(labels_pb2.GetLabelRequest(id=label.id, skip_documents=True), timeout=30).label
        assert again.recipient.name == "Zyxqmarker Person"
    finally:
        service.stop(0)


def test_erased_at_is_recorded_once(tmp_path: Path) -> None:
    db = {"database_path": tmp_path / "labels.sqlite3"}
    service = bootstrap.start(test_settings(**db))
    try:
        assert service.labels is not None
        with grpc.insecure_channel(service.address) as channel:
            label = labels_pb2_grpc.LabelServiceStub(channel).CreateLabel(_marked("once"), timeout=30).label
        _age(db, label.id, 10)
        assert service.labels.erase_personal_data(5) == 1
        assert service.labels.erase_personal_data(5) == 0  # already erased: not counted again
        with sqlite3.connect(str(db["database_path"])) as conn:
            (erased_at,) = conn.execute("SELECT erased_at FROM labels WHERE id = ?", (label.id,)).fetchone()
        assert datetime.fromisoformat(erased_at) <= datetime.now(UTC)
    finally:
        service.stop(0)
