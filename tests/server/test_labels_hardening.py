"""LabelService under hostile input, over gRPC against a real server on each store (an SQLite file
and a fresh PostgreSQL database):

- a byte-identical CreateLabel retry without `ship_date` replays on the next day in Japan (the
  request is compared as sent: an unset ship_date stays unset), also for labels stored before;
- forged ListLabels page tokens are INVALID_ARGUMENT naming page_token, never INTERNAL;
- a customs item's origin must be a real ISO 3166-1 alpha-2 code; a request_id with leading or
  trailing whitespace is refused; the declared total has GetQuote's bound.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import grpc
import psycopg
import pytest

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.contract import MAX_VALUE_JPY
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc
from labels.model import content_hash
from tests.conftest import test_settings as settings_for_test
from tests.grpc_support import status_details
from tests.labels_support import fresh_database, proto_request, yen


@dataclass
class Calendar:
    """The server's "today in Japan", moved by the tests."""

    day: date = date(2026, 11, 30)

    def __call__(self) -> date:
        return self.day


@dataclass
class Server:
    stub: labels_pb2_grpc.LabelServiceStub
    calendar: Calendar
    kind: str
    location: str  # the SQLite file or the PostgreSQL URL

    def execute(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        """Runs one statement on the server's database (SQLite placeholders; translated for PostgreSQL)."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.location) as conn:
                return conn.execute(sql, args).fetchall()
        with psycopg.connect(self.location, autocommit=True) as pg:
            cur = pg.execute(sql.replace("?", "%s").encode(), args)
            return cur.fetchall() if cur.description else []


@contextmanager
def _database(kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, object]]]:
    """(where, settings) of an empty label database of that kind."""
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("hardening") / "labels.sqlite3"
        yield str(path), {"database_path": path}
    else:
        with fresh_database(request.getfixturevalue("database_url")) as url:
            yield url, {"database_url": url}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    calendar = Calendar()
    with _database(request.param, request, tmp_path_factory) as (location, overrides):
        running = bootstrap.start(settings_for_test(**overrides), today=calendar)
        try:
            with grpc.insecure_channel(running.address) as channel:
                yield Server(labels_pb2_grpc.LabelServiceStub(channel), calendar, request.param, location)
        finally:
            running.stop(0.5)


def fail(call, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=30)
    return caught.value


def undated(request_id: str) -> labels_pb2.CreateLabelRequest:
    request = proto_request(request_id)
    request.ClearField("ship_date")
    return request


def day_of(label: labels_pb2.Label) -> date:
    return date(label.ship_date.year, label.ship_date.month, label.ship_date.day)


# -- the ship date of a retry -----------------------------------------------------------------------


def test_a_retry_without_ship_date_replays_on_the_next_day_in_japan(server: Server) -> None:
    server.calendar.day = date(2026, 11, 30)
    first = server.stub.CreateLabel(undated(f"{server.kind}-midnight"), timeout=30)
    assert not first.replayed and day_of(first.label) == date(2026, 11, 30)  # the default: today in Japan

    server.calendar.day = date(2026, 12, 1)  # past midnight in Japan
    again = server.stub.CreateLabel(undated(f"{server.kind}-midnight"), timeout=30)
    assert again.replayed and again.label.id == first.label.id and day_of(again.label) == date(2026, 11, 30)

    # As sent: a ship_date given where the first call gave none is other content.
    dated = proto_request(f"{server.kind}-midnight", ship_date=date(2026, 11, 30))
    error = fail(server.stub.CreateLabel, dated)
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS and "ship_date" in (error.details() or "")
    # And a dated request retried the next day still replays (it always did).
    made = server.stub.CreateLabel(proto_request(f"{server.kind}-dated", ship_date=date(2026, 12, 1)), timeout=30)
    server.calendar.day = date(2026, 12, 2)
    assert server.stub.CreateLabel(proto_request(f"{server.kind}-dated", ship_date=date(2026, 12, 1)), timeout=30).label.id == made.label.id


def _store_as_before(server: Server, label_id: str) -> None:
    """Rewrites a stored label into the form labels had before the request was kept as sent: the
    request's ship_date always filled in, and the hash taken over that. It is dated as issued at
    noon in Japan on its ship date (the server's clock is real, its calendar moved)."""
    [(data, ship_date)] = server.execute("SELECT data, ship_date FROM labels WHERE id = ?", (label_id,))
    day = date.fromisoformat(ship_date) if isinstance(ship_date, str) else ship_date
    assert isinstance(day, date)
    body = json.loads(data) if isinstance(data, str) else dict(data)  # type: ignore[arg-type]
    body["request"]["ship_date"] = day.isoformat()
    legacy = {k: body[k] for k in ("request", "pricing", "customs_form", "export_declaration_required", "notes")}
    issued = datetime.combine(day, time(3), UTC)  # 12:00 in Japan
    server.execute(
        "UPDATE labels SET data = ?, request_hash = ?, created_at = ? WHERE id = ?",
        (
            json.dumps(legacy, sort_keys=True, ensure_ascii=False),
            content_hash(legacy["request"]),
            issued.isoformat() if server.kind == "sqlite" else issued,
            label_id,
        ),
    )


def test_labels_stored_before_still_replay_an_undated_retry_the_next_day(server: Server) -> None:
    server.calendar.day = date(2026, 11, 30)
    first = server.stub.CreateLabel(undated(f"{server.kind}-legacy"), timeout=30)
    _store_as_before(server, first.label.id)
    server.calendar.day = date(2026, 12, 1)
    again = server.stub.CreateLabel(undated(f"{server.kind}-legacy"), timeout=30)
    assert again.replayed and again.label.id == first.label.id and day_of(again.label) == date(2026, 11, 30)
    # Other content is still refused, naming what differs.
    other = undated(f"{server.kind}-legacy")
    other.parcel.weight_grams = 1300
    error = fail(server.stub.CreateLabel, other)
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS and status_details(error).error_info.metadata["differing_fields"] == "parcel"  # type: ignore[union-attr]
    # A legacy label made with an explicit date: a dated retry replays on any day.
    made = server.stub.CreateLabel(proto_request(f"{server.kind}-legacy-dated", ship_date=date(2026, 12, 5)), timeout=30)
    _store_as_before(server, made.label.id)
    server.calendar.day = date(2026, 12, 9)
    assert server.stub.CreateLabel(proto_request(f"{server.kind}-legacy-dated", ship_date=date(2026, 12, 5)), timeout=30).replayed
    # A legacy label whose ship date is not the day it was issued was dated by its caller: an
    # undated retry is other content, as it always was.
    server.execute(
        "UPDATE labels SET created_at = ? WHERE id = ?",
        ("2026-12-01T03:00:00+00:00" if server.kind == "sqlite" else datetime(2026, 12, 1, 3, tzinfo=UTC), made.label.id),
    )
    error = fail(server.stub.CreateLabel, undated(f"{server.kind}-legacy-dated"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS and "ship_date" in (error.details() or "")


# -- page tokens ------------------------------------------------------------------------------------


def _token(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


FORGED = [
    _token('{"a": 1e999, "d": "", "s": ""}'),  # infinity
    _token('{"a": ' + str(10**30) + ', "d": "", "s": ""}'),  # past any integer column
    _token('{"a": -1, "d": "", "s": ""}'),
    _token('{"a": 1.5, "d": "", "s": ""}'),
    _token('{"a": true, "d": "", "s": ""}'),
    _token('{"a": "7", "d": "", "s": ""}'),
    _token('{"a": NaN, "d": "", "s": ""}'),
    _token('{"a": 1, "d": 5, "s": ""}'),
    _token('{"a": 1, "d": "", "s": "", "x": 1}'),
    _token('{"a": 1, "d": "", "s": "", "t": 5}'),
    _token('{"a": 1, "d": "", "s": "", "t": ""}'),  # an unset filter is left out, never sent empty
    _token('[1, "", ""]'),
    _token("null"),
    _token(b"\xff\xfe"),
    _token('{"a": 1, "d": "", "s": ""}') + "%",
    "A" * 5000,
    "Ω",
]


@pytest.mark.parametrize("token", FORGED)
def test_forged_page_tokens_are_invalid_argument_naming_page_token(server: Server, token: str) -> None:
    error = fail(server.stub.ListLabels, labels_pb2.ListLabelsRequest(page_token=token))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    found = status_details(error)
    assert found.reason == "INVALID_PAGE_TOKEN" and list(found.fields) == ["page_token"]


def test_real_page_tokens_still_page_through(server: Server) -> None:
    server.calendar.day = date(2026, 11, 30)
    made = [server.stub.CreateLabel(proto_request(f"{server.kind}-page-{i}", ship_date=date(2027, 3, 3)), timeout=30).label.id for i in range(3)]
    when = {"year": 2027, "month": 3, "day": 3}
    seen, token = [], ""
    for _ in range(5):
        page = server.stub.ListLabels(labels_pb2.ListLabelsRequest(ship_date=when, page_size=1, page_token=token), timeout=30)
        seen += [lb.id for lb in page.labels]
        token = page.next_page_token
        if not token:
            break
    assert seen == made


# -- smaller checks ---------------------------------------------------------------------------------


def test_an_unknown_origin_region_is_refused_naming_the_item(server: Server) -> None:
    request = proto_request(f"{server.kind}-origin")
    request.customs_items[0].origin_region_code = "QQ"
    error = fail(server.stub.CreateLabel, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(status_details(error).fields) == ["customs_items[0].origin_region_code"]
    request.customs_items[0].origin_region_code = "jp"  # case is not the caller's problem
    assert server.stub.CreateLabel(request, timeout=30).label.customs_items[0].origin_region_code == "JP"


@pytest.mark.parametrize("request_id", [" padded ", "padded ", " padded", "padded\n", "\tpadded"])
def test_request_ids_with_surrounding_whitespace_are_refused(server: Server, request_id: str) -> None:
    plain = server.stub.CreateLabel(proto_request(f"{server.kind}-padded"), timeout=30)
    error = fail(server.stub.CreateLabel, proto_request(request_id.replace("padded", f"{server.kind}-padded")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and list(status_details(error).fields) == ["request_id"]
    assert server.stub.CreateLabel(proto_request(f"{server.kind}-padded"), timeout=30).label.id == plain.label.id


def test_the_declared_total_has_the_bound_of_a_quote(server: Server) -> None:
    def line(quantity: int, unit: int) -> labels_pb2.CustomsItem:
        return labels_pb2.CustomsItem(description="Lacquered writing box", quantity=quantity, unit_value=yen(unit), hs_code="442090")

    top = 100_000_000  # the largest unit value
    over = [[line(100_000, top)], [line(11, top)], [line(1, top)] * 10 + [line(1, 1)]]  # 10^13, 1.1 x 10^9, 10^9 + 1 JPY
    for n, items in enumerate(over):
        error = fail(server.stub.CreateLabel, proto_request(f"{server.kind}-total-{n}", items=items))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert list(status_details(error).fields) == ["customs_items"]
    at_bound = server.stub.CreateLabel(proto_request(f"{server.kind}-total-ok", items=[line(10, MAX_VALUE_JPY // 10)]), timeout=30)
    assert at_bound.label.declared_value.units == MAX_VALUE_JPY
