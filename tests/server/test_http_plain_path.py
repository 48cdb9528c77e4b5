"""The short path for plain Connect JSON quotes (HttpApp._plain_unary) answers exactly as the Connect
application does: the same status, headers and body for answers and for every kind of error, each
call run once (counted once in the metrics), the same keys, roles and CORS.

Each request is sent twice to one real server: plain (no Accept-Encoding: the short path) and with
a header that the short path leaves to the Connect application (a second, harmless header of one
name), and the two replies compared byte for byte.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from kokokara.shipping.server import bootstrap
from tests.conftest import test_settings
from tests.security_support import make_keys
from tests.tracking_helpers import free_port

QUOTE = "/kokokara.shipping.v1.RateService/GetQuote"
PLAN = "/kokokara.shipping.v1.RateService/PlanShipment"
CART = {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 1200, "lengthMm": 300, "widthMm": 200, "heightMm": 100}]}
ORIGIN = "https://shop.example.com"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("plain")
    keys = make_keys(tmp / "keys.json")
    metrics_port = free_port()
    settings = test_settings(
        api_keys_file=tmp / "keys.json",
        database_path=tmp / "labels.sqlite3",
        http_addr="127.0.0.1:0",
        http_cors_origins=(ORIGIN,),
        metrics_addr=f"127.0.0.1:{metrics_port}",
        max_receive_message_bytes=64 * 1024,
    )
    service = bootstrap.start(settings)
    try:
        yield f"127.0.0.1:{service.http_port}", metrics_port, keys
    finally:
        service.stop(0)


def post(address: str, path: str, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP/1.1 POST with exactly these headers (http.client adds only Host and the length)."""
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in [*headers, ("content-length", str(len(body)))]:
            connection.putheader(name, value)
        connection.endheaders(body)
        reply = connection.getresponse()
        kept = [(k.lower(), v) for k, v in reply.getheaders() if k.lower() not in ("date", "content-length")]
        return reply.status, kept, reply.read()
    finally:
        connection.close()


def both(address: str, path: str, body: bytes, headers: list[tuple[str, str]]) -> tuple[Any, Any]:
    """The reply by the short path, and by the Connect application."""
    return post(address, path, body, headers), post(address, path, body, [*headers, ("x-note", "a"), ("x-note", "b")])


def calls(metrics_port: int, code: str, caller: str) -> float:
    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "shipping_rpc_calls_total" and sample.labels == {"rpc": QUOTE, "caller": caller, "code": code}:
                return float(sample.value)
    return 0.0


def json_headers(key: str | None) -> list[tuple[str, str]]:
    headers = [("content-type", "application/json")]
    return [*headers, ("authorization", f"Bearer {key}")] if key else headers


def test_a_quote_is_the_same_by_either_path(served: Any) -> None:
    address, _, keys = served
    fast, connect = both(address, QUOTE, json.dumps(CART).encode(), json_headers(keys["checkout"]))
    assert fast == connect
    assert fast[0] == 200 and json.loads(fast[2])["options"]
    assert ("content-type", "application/json") in fast[1]


@pytest.mark.parametrize(
    ("body", "key_role"),
    [
        (json.dumps({**CART, "destinationRegionCode": "XX"}).encode(), "checkout"),  # a bad request
        (b'{"destinationRegionCode": "GB", "parcels": [', "checkout"),  # malformed JSON
        (b'{"nope": 1}', "checkout"),  # no such field
        (b"", "checkout"),  # an empty body: an empty request
        (json.dumps(CART).encode(), None),  # no key
        (json.dumps(CART).encode(), "wrong"),  # an unknown key
    ],
)
def test_errors_are_the_same_by_either_path(served: Any, body: bytes, key_role: str | None) -> None:
    address, _, keys = served
    key = keys.get(key_role, "not-a-key") if key_role else None
    fast, connect = both(address, QUOTE, body, json_headers(key))
    assert fast == connect
    assert fast[0] != 200
    assert json.loads(fast[2])["code"]


def test_an_oversized_body_is_refused_the_same_way(served: Any) -> None:
    address, _, keys = served
    body = json.dumps({**CART, "padding": "x" * 70_000}).encode()
    fast, connect = both(address, QUOTE, body, json_headers(keys["checkout"]))
    assert fast == connect
    assert json.loads(fast[2])["code"] == "resource_exhausted"


def test_a_failed_call_runs_once(served: Any) -> None:
    address, metrics_port, keys = served
    denied_before = calls(metrics_port, "PERMISSION_DENIED", "support-test")
    ok_before = calls(metrics_port, "OK", "checkout-test")
    status, _, _ = post(address, QUOTE, json.dumps(CART).encode(), json_headers(keys["support"]))  # support may not quote
    assert status == 403
    post(address, QUOTE, json.dumps(CART).encode(), json_headers(keys["checkout"]))
    assert calls(metrics_port, "PERMISSION_DENIED", "support-test") == denied_before + 1
    assert calls(metrics_port, "OK", "checkout-test") == ok_before + 1


def test_cors_headers_are_the_same_by_either_path(served: Any) -> None:
    address, _, keys = served
    fast, connect = both(address, QUOTE, json.dumps(CART).encode(), [*json_headers(keys["checkout"]), ("origin", ORIGIN)])
    assert fast == connect
    assert ("access-control-allow-origin", ORIGIN) in fast[1]


@pytest.mark.parametrize(
    "header",
    [("accept-encoding", "gzip"), ("connect-timeout-ms", "5000"), ("content-type", "application/json; charset=utf-8"), ("connect-protocol-version", "2")],
)
def test_what_the_short_path_leaves_to_connect_is_answered_as_before(served: Any, header: tuple[str, str]) -> None:
    """Compression, timeouts, other content types and protocol versions: the Connect application's."""
    address, _, keys = served
    headers = [h for h in json_headers(keys["checkout"]) if h[0] != header[0]] + [header]
    plain, connect = both(address, QUOTE, json.dumps(CART).encode(), headers)
    assert plain == connect


def test_methods_run_on_threads_are_left_to_connect(served: Any) -> None:
    address, _, keys = served
    body = json.dumps({"destinationRegionCode": "GB", "items": [{"weightGrams": 300, "lengthMm": 100, "widthMm": 100, "heightMm": 50}]}).encode()
    plain, connect = both(address, PLAN, body, json_headers(keys["checkout"]))
    assert plain == connect
