"""JSON over HTTP (Connect) against a real server: the same answers, errors, keys and roles as gRPC.

One server with a key per role, its HTTP side on a free port, tracking pointed at the stand-in
Japan Post. Every bad-input case is sent over both and must give the same code, message, ErrorInfo
reason and BadRequest fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.protobuf import json_format

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import common_pb2, labels_pb2, rates_pb2, tracking_pb2
from standin.japan_post import StandInJapanPost
from tests.conftest import test_settings
from tests.grpc_support import status_details
from tests.http_support import connect_call, outcome
from tests.labels_support import proto_request
from tests.security_support import call, every_rpc, make_keys

RATES = "/kokokara.shipping.v1.RateService/"
TRACKING = "/kokokara.shipping.v1.TrackingService/"
LABELS = "/kokokara.shipping.v1.LabelService/"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[bootstrap.RunningService, dict[str, str], str]]:
    tmp = tmp_path_factory.mktemp("http")
    keys = make_keys(tmp / "keys.json")
    with StandInJapanPost() as standin:
        settings = test_settings(
            api_keys_file=tmp / "keys.json",
            database_path=tmp / "labels.sqlite3",
            http_addr="127.0.0.1:0",
            http_cors_origins=("https://shop.example.com",),
            tracking_base_url=standin.url,
            tracking_rate_per_second=100.0,
            max_receive_message_bytes=64 * 1024,
        )
        service = bootstrap.start(settings)
        try:
            yield service, keys, f"http://127.0.0.1:{service.http_port}"
        finally:
            service.stop(0)


@pytest.fixture(scope="module")
def channel(served: tuple[bootstrap.RunningService, dict[str, str], str]) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(served[0].address) as ch:
        yield ch


def grpc_outcome(channel: grpc.Channel, rpc: str, request: Any, response_type: Any, key: str) -> tuple[str, str, str, dict[str, str], Any]:
    try:
        response = call(channel, rpc, request, response_type, False, key)
    except grpc.RpcError as error:
        details = status_details(error)
        return details.code.name, error.details() or "", details.reason, details.fields, None  # type: ignore[attr-defined]
    return "OK", "", "", {}, response


def test_a_quote_over_http_is_the_quote_over_grpc(served: Any, channel: grpc.Channel) -> None:
    _service, keys, base = served
    request = rates_pb2.GetQuoteRequest(
        destination_region_code="GB", parcels=[common_pb2.Parcel(weight_grams=1200, length_mm=300, width_mm=200, height_mm=100)]
    )
    code, _, _, _, grpc_answer = grpc_outcome(channel, RATES + "GetQuote", request, rates_pb2.GetQuoteResponse, keys["checkout"])
    assert code == "OK"
    http = connect_call(base, RATES + "GetQuote", json_format.MessageToJson(request), keys["checkout"])
    assert http.http_status == 200
    assert http.body == json_format.MessageToDict(grpc_answer)
    assert http.body["options"][0]["totalPrice"]["currencyCode"] == "JPY"
    assert isinstance(http.body["options"][0]["totalPrice"]["units"], str)  # int64 as a string


BAD_QUOTES: list[dict[str, Any]] = [
    {},
    {"destinationRegionCode": "XX", "parcels": [{"weightGrams": 100}]},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": -5}]},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100, "lengthMm": 10}]},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 999999999}]},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}] * 51},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}], "methods": [99]},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}], "declaredValue": {"currencyCode": "USD", "units": "10"}},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}], "shipDate": {"year": 2026, "month": 2, "day": 30}},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}], "contentsType": 77},
    {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}], "contents": [{"description": "tea", "quantity": 0, "flags": [123]}]},
]


@pytest.mark.parametrize("body", BAD_QUOTES, ids=range(len(BAD_QUOTES)))
def test_bad_quotes_get_the_same_error_as_over_grpc(served: Any, channel: grpc.Channel, body: dict[str, Any]) -> None:
    _, keys, base = served
    request = json_format.ParseDict(body, rates_pb2.GetQuoteRequest())
    code, message, reason, fields, _ = grpc_outcome(channel, RATES + "GetQuote", request, rates_pb2.GetQuoteResponse, keys["checkout"])
    http = connect_call(base, RATES + "GetQuote", body, keys["checkout"])
    assert code == "INVALID_ARGUMENT"
    assert (http.code, http.message, http.reason, http.fields) == (code, message, reason, fields)
    assert http.http_status == 400
    # the details are readable as JSON too, not only as base64
    assert http.debug[0]["reason"] == reason


@pytest.mark.parametrize(
    ("rpc", "request_type", "response_type", "streaming"), [r for r in every_rpc() if not r[3]], ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_unary_rpc_answers_an_empty_request_as_grpc_does(
    served: Any, channel: grpc.Channel, rpc: str, request_type: Any, response_type: Any, streaming: bool
) -> None:
    _, keys, base = served
    code, message, reason, fields, _answer = grpc_outcome(channel, rpc, request_type(), response_type, keys["admin"])
    http = connect_call(base, rpc, {}, keys["admin"])
    assert (http.code, http.reason, http.fields) == (code, reason, fields), rpc
    if code != "OK":
        assert http.message == message
    else:
        assert set(http.body) <= {f.json_name for f in response_type.DESCRIPTOR.fields}


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b"{not json", "Failed to load JSON"),
        (b'{"destinationRegionCode": "GB", "bogus": 1}', 'no field named "bogus"'),
        (b'{"destinationRegionCode": 12}', "destinationRegionCode"),
        (b'{"parcels": [{"weightGrams": "heavy"}]}', "weightGrams"),
        (b'{"parcels": {"weightGrams": 1}}', "parcels"),
        (b"[1, 2]", "JSON"),
        (b"\xff\xfe", "JSON"),
        (b"[" * 5000 + b"]" * 5000, "JSON"),
    ],
    ids=["malformed", "unknown-field", "wrong-type-string", "wrong-type-int", "wrong-shape", "array", "not-utf8", "deep"],
)
def test_json_that_is_no_request_is_invalid_argument_naming_request(served: Any, body: bytes, mentions: str) -> None:
    _, keys, base = served
    http = connect_call(base, RATES + "GetQuote", body, keys["checkout"])
    assert http.http_status == 400
    assert (http.code, http.reason, list(http.fields)) == ("INVALID_ARGUMENT", "MALFORMED_REQUEST", ["request"])
    assert mentions in http.fields["request"]
    # the server stays up and answers the next call
    assert connect_call(base, RATES + "GetQuote", {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}]}, keys["checkout"]).http_status == 200


def test_a_malformed_request_from_a_caller_without_a_key_is_unauthenticated_first(served: Any) -> None:
    _, _, base = served
    http = connect_call(base, RATES + "GetQuote", b"{not json")
    assert (http.http_status, http.code, http.reason) == (401, "UNAUTHENTICATED", "API_KEY_MISSING")


def test_an_oversized_body_is_refused_and_the_server_stays_up(served: Any) -> None:
    _, keys, base = served
    huge = json.dumps({"destinationRegionCode": "GB", "postalCode": "x" * 200_000}).encode()
    http = connect_call(base, RATES + "GetQuote", huge, keys["checkout"])
    assert http.code == "RESOURCE_EXHAUSTED"
    assert connect_call(base, RATES + "ListRateTables", {}, keys["analyst"]).http_status == 200


def test_keys_and_roles_apply_as_over_grpc(served: Any) -> None:
    _, keys, base = served
    quote = {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}]}
    assert connect_call(base, RATES + "GetQuote", quote).reason == "API_KEY_MISSING"
    wrong = connect_call(base, RATES + "GetQuote", quote, "kks_000000000000_" + "a" * 40)
    assert (wrong.http_status, wrong.reason) == (401, "API_KEY_INVALID")
    denied = connect_call(base, RATES + "GetQuote", quote, keys["support"])
    assert (denied.http_status, denied.code, denied.reason) == (403, "PERMISSION_DENIED", "ROLE_NOT_ALLOWED")
    assert connect_call(base, RATES + "GetQuote", quote, keys["checkout"]).http_status == 200
    assert connect_call(base, TRACKING + "GetTracking", {"trackingNumber": "EN123456785JP"}, keys["support"]).http_status == 200


def test_tracking_over_http(served: Any) -> None:
    _, keys, base = served
    http = connect_call(base, TRACKING + "GetTracking", {"trackingNumber": "EN123456785JP"}, keys["support"])
    assert http.http_status == 200
    assert http.body["trackingNumber"] == "EN123456785JP"
    bad = connect_call(base, TRACKING + "GetTracking", {"trackingNumber": "nope"}, keys["support"])
    assert (bad.code, list(bad.fields)) == ("INVALID_ARGUMENT", ["tracking_number"])


def test_a_parcel_label_found_by_tracking_number_over_http_as_over_grpc(served: Any, channel: grpc.Channel) -> None:
    _, keys, base = served
    created = connect_call(base, LABELS + "CreateLabel", json_format.MessageToDict(proto_request("http-find-1")), keys["warehouse"])
    assert created.http_status == 200, created.body
    number = created.body["label"]["trackingNumber"]
    http = connect_call(base, LABELS + "ListLabels", {"trackingNumber": number.lower()}, keys["warehouse"])
    assert http.http_status == 200 and [lb["id"] for lb in http.body["labels"]] == [created.body["label"]["id"]]
    request = labels_pb2.ListLabelsRequest(tracking_number=number.lower())
    _, _, _, _, answer = grpc_outcome(channel, LABELS + "ListLabels", request, labels_pb2.ListLabelsResponse, keys["warehouse"])
    assert http.body == json_format.MessageToDict(answer)
    bad = {"trackingNumber": number[:-3] + "0JP" if number[-3] != "0" else number[:-3] + "1JP"}  # the check digit off by one
    code, message, reason, fields, _ = grpc_outcome(
        channel, LABELS + "ListLabels", json_format.ParseDict(bad, labels_pb2.ListLabelsRequest()), labels_pb2.ListLabelsResponse, keys["warehouse"]
    )
    refused = connect_call(base, LABELS + "ListLabels", bad, keys["warehouse"])
    assert (refused.code, refused.reason, list(refused.fields)) == ("INVALID_ARGUMENT", "TRACKING_NUMBER_CHECK_DIGIT", ["tracking_number"])
    assert (refused.code, refused.message, refused.reason, refused.fields) == (code, message, reason, fields)
    # support looks parcels up and reads the label, but not what it says of people
    withheld = connect_call(base, LABELS + "ListLabels", {"trackingNumber": number}, keys["support"])
    assert withheld.http_status == 200, withheld.body
    [seen] = withheld.body["labels"]
    assert seen["id"] == created.body["label"]["id"] and seen["contentsWithheld"] is True
    assert seen["recipient"] == {"regionCode": created.body["label"]["recipient"]["regionCode"]} and "sender" not in seen and "customsItems" not in seen
    assert connect_call(base, LABELS + "ListLabels", {"trackingNumber": number}, keys["analyst"]).reason == "ROLE_NOT_ALLOWED"


def test_watch_tracking_streams_over_http(served: Any) -> None:
    _, keys, base = served
    body = json.dumps({"trackingNumber": "EN123456785JP"}).encode()
    frame = b"\x00" + len(body).to_bytes(4, "big") + body
    reply = requests.post(
        base + TRACKING + "WatchTracking",
        data=frame,
        headers={"content-type": "application/connect+json", "authorization": f"Bearer {keys['support']}", "connect-timeout-ms": "3000"},
        timeout=20,
    )
    assert reply.status_code == 200
    data, messages = reply.content, []
    while data:
        flags, size = data[0], int.from_bytes(data[1:5], "big")
        messages.append((flags, json.loads(data[5 : 5 + size])))
        data = data[5 + size :]
    assert messages[0][1]["trackingNumber"] == "EN123456785JP"
    assert messages[-1][0] & 0x02  # the end-of-stream message closes it


def test_binary_protobuf_over_http_too(served: Any) -> None:
    _, keys, base = served
    request = rates_pb2.GetQuoteRequest(destination_region_code="GB", parcels=[common_pb2.Parcel(weight_grams=500)])
    reply = requests.post(
        base + RATES + "GetQuote",
        data=request.SerializeToString(),
        headers={"content-type": "application/proto", "authorization": f"Bearer {keys['checkout']}"},
        timeout=20,
    )
    assert reply.status_code == 200
    assert rates_pb2.GetQuoteResponse.FromString(reply.content).options


def test_cors_allows_only_the_configured_origins(served: Any) -> None:
    _, keys, base = served
    preflight = requests.options(
        base + RATES + "GetQuote",
        headers={
            "origin": "https://shop.example.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    other = requests.options(base + RATES + "GetQuote", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}, timeout=10)
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    quote = {"destinationRegionCode": "GB", "parcels": [{"weightGrams": 100}]}
    allowed = requests.post(
        base + RATES + "GetQuote",
        json=quote,
        headers={"origin": "https://shop.example.com", "authorization": f"Bearer {keys['checkout']}"},
        timeout=10,
    )
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.com"
    refused = requests.post(
        base + RATES + "GetQuote", json=quote, headers={"origin": "https://evil.example", "authorization": f"Bearer {keys['checkout']}"}, timeout=10
    )
    assert "access-control-allow-origin" not in refused.headers


def test_cors_is_off_by_default(tmp_path: Path) -> None:
    service = bootstrap.start(test_settings(database_path=tmp_path / "labels.sqlite3", http_addr="127.0.0.1:0"))
    try:
        base = f"http://127.0.0.1:{service.http_port}"
        preflight = requests.options(
            base + RATES + "GetQuote", headers={"origin": "https://shop.example.com", "access-control-request-method": "POST"}, timeout=10
        )
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
        reply = requests.post(base + RATES + "ListRateTables", json={}, headers={"origin": "https://shop.example.com"}, timeout=10)
        assert reply.status_code == 200 and "access-control-allow-origin" not in reply.headers
    finally:
        service.stop(0)


def test_http_1_1_and_h2c_both_serve(served: Any) -> None:
    import http.client

    _, keys, base = served
    port = int(base.rpartition(":")[2])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", RATES + "ListRateTables", body=b"{}", headers={"content-type": "application/json", "authorization": f"Bearer {keys['analyst']}"})
    reply = connection.getresponse()
    assert reply.status == 200 and reply.version == 11
    connection.close()


def test_unknown_paths_and_methods(served: Any) -> None:
    _, keys, base = served
    assert requests.post(base + RATES + "NoSuchMethod", json={}, headers={"authorization": f"Bearer {keys['admin']}"}, timeout=10).status_code == 404
    assert requests.get(base + "/no-such-page.html", timeout=10).status_code == 404
    assert requests.get(base + "/../../etc/passwd", timeout=10).status_code == 404
    unsupported = requests.post(base + RATES + "GetQuote", data=b"x", headers={"content-type": "text/plain"}, timeout=10)
    assert unsupported.status_code == 415
    assert (
        outcome(
            requests.post(
                base + LABELS + "GetLabel", json={"trackingNumber": "EN000000000JP"}, headers={"authorization": f"Bearer {keys['checkout']}"}, timeout=10
            )
        ).code
        == "PERMISSION_DENIED"
    )
    assert labels_pb2 and tracking_pb2  # both services are served (every_rpc covers their methods)
