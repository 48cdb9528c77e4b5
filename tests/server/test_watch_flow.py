"""Watched parcels end to end, against a real server on port 0, the stand-in Japan Post and a real
HTTP receiver on loopback: watch -> poll -> events -> signed deliveries, in order; a receiver
that fails gets everything later; dead letters; the RPCs' bad input, each naming the field."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.conftest import test_settings
from tests.grpc_support import status_details
from tests.watch_support import Receiver
from tracking.watch import SIGNATURE_HEADER, DeliveryPolicy, WatchPolicy, verify
from tracking.watch_service import WatchOptions

FAST = WatchOptions(
    policy=WatchPolicy(
        first_poll_seconds=0.2,
        delivery_day_seconds=0.3,
        transit_seconds=0.3,
        customs_seconds=0.3,
        not_found_seconds=0.3,
        final_seconds=0.3,
        stop_after_final_seconds=1.0,
        jitter=0.0,
        retry_seconds=0.3,
    ),
    delivery=DeliveryPolicy(first_retry_seconds=0.2, longest_retry_seconds=0.5, retry_window_seconds=3600, lease_seconds=5),
    poll_rate_per_second=50,
    idle_seconds=0.05,
    leader_lease_seconds=5,
    quiet_sweep_seconds=0.2,
    allow_private_addresses=True,
)

NUMBER = "LX331479647JP"


def fast_settings(tmp_path: Path, standin: StandInJapanPost, **overrides: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = dict(
        database_path=tmp_path / "labels.sqlite3",
        tracking_base_url=standin.url,
        tracking_rate_per_second=100.0,
        tracking_rate_burst=100,
        tracking_ttl_transit_seconds=1,
        tracking_ttl_final_seconds=1,
        tracking_ttl_delivery_day_seconds=1,
        tracking_ttl_not_found_seconds=1,
        tracking_ttl_jitter=0.0,
        webhook_allow_private_addresses=True,
    )
    values.update(overrides)
    return test_settings(**values)


@pytest.fixture
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost() as s:
        yield s


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def running(tmp_path: Path, standin: StandInJapanPost) -> Iterator[tuple[bootstrap.RunningService, tracking_pb2_grpc.TrackingServiceStub]]:
    service = bootstrap.start(fast_settings(tmp_path, standin), watch_options=FAST)
    with grpc.insecure_channel(service.address) as channel:
        yield service, tracking_pb2_grpc.TrackingServiceStub(channel)
    service.stop(0.5)


def types_of(bodies: list[dict[str, object]], number: str) -> list[str]:
    return [str(b["type"]) for b in bodies if b["tracking_number"] == number]


def test_a_parcel_moving_through_its_states_gives_exactly_the_expected_events_in_order(running, standin, receiver) -> None:  # type: ignore[no-untyped-def]
    _, stub = running
    endpoint = stub.CreateWebhookEndpoint(tracking_pb2.CreateWebhookEndpointRequest(url=receiver.url), timeout=10)
    assert endpoint.secret.startswith("whsec_")
    standin.set_scenario(NUMBER, "in_transit")
    watched = stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number="lx 331 479 647 jp", order_reference="ORDER-42"), timeout=10)
    assert (watched.tracking_number, watched.order_reference) == (NUMBER, "ORDER-42")
    # registering twice is idempotent
    again = stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=NUMBER, order_reference="ORDER-OTHER"), timeout=10)
    assert again.order_reference == "ORDER-42"

    transit = ["new_event"] * 3 + ["status_changed"]
    assert receiver.wait_for(lambda b: types_of(b, NUMBER) == transit)
    standin.set_scenario(NUMBER, "in_customs")
    customs = [*transit, "new_event", "new_event", "status_changed"]
    assert receiver.wait_for(lambda b: types_of(b, NUMBER) == customs)
    standin.set_scenario(NUMBER, "delivered")
    delivered = [*customs, "new_event", "new_event", "new_event", "status_changed", "delivered"]
    assert receiver.wait_for(lambda b: types_of(b, NUMBER) == delivered)

    bodies = receiver.bodies()
    assert [b["status"] for b in bodies if b["type"] == "status_changed"] == ["in_transit", "in_customs", "delivered"]
    assert all(b["order_reference"] == "ORDER-42" for b in bodies)
    assert [b["sequence"] for b in bodies] == sorted(b["sequence"] for b in bodies)
    # every delivery verifies with the receiver's few lines (docs/webhooks.md); a changed body does not
    for headers, body in receiver.requests:
        assert verify(endpoint.secret, headers[SIGNATURE_HEADER.lower()], body, time.time())
        assert headers["webhook-id"].startswith("evt_")
        assert not verify(endpoint.secret, headers[SIGNATURE_HEADER.lower()], body.replace(b"ORDER-42", b"ORDER-43"), time.time())
    # the event log has the same events, from a cursor
    log = stub.ListTrackingEvents(tracking_pb2.ListTrackingEventsRequest(tracking_number=NUMBER), timeout=10)
    assert [e.event_id for e in log.events] == [b["id"] for b in bodies]
    rest = stub.ListTrackingEvents(tracking_pb2.ListTrackingEventsRequest(after_sequence=log.events[5].sequence), timeout=10)
    assert [e.event_id for e in rest.events] == [b["id"] for b in bodies[6:]]
    assert log.events[0].event.carrier_status_text == "Posting/Collection"

    # once final for the hold, never polled again
    def stopped() -> bool:
        parcels = stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(), timeout=10).parcels
        return parcels[0].final and not parcels[0].HasField("next_poll_time")

    assert wait_until(stopped)
    hits = standin.hits(NUMBER)
    time.sleep(1.0)
    assert standin.hits(NUMBER) == hits


def wait_until(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_receiver_that_fails_gets_every_event_later_in_order(running, standin, receiver) -> None:  # type: ignore[no-untyped-def]
    _, stub = running
    receiver.status = 500
    stub.CreateWebhookEndpoint(tracking_pb2.CreateWebhookEndpointRequest(url=receiver.url), timeout=10)
    standin.set_scenario(NUMBER, "in_customs")
    stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=NUMBER, order_reference="O"), timeout=10)
    # while failing, only the parcel's first event is tried, again and again (order per parcel)
    assert receiver.wait_for(lambda b: len(b) >= 3)
    assert {b["sequence"] for b in receiver.bodies()} == {receiver.bodies()[0]["sequence"]}
    receiver.status = 200
    expected = ["new_event"] * 5 + ["status_changed"]
    assert receiver.wait_for(lambda b: [x["type"] for x in b if x is not b[0]][-6:] == expected and len({x["id"] for x in b}) == 6)
    ids = [b["id"] for b in receiver.bodies()]
    unique = list(dict.fromkeys(ids))
    assert len(unique) == 6 and unique == sorted(unique, key=ids.index)


def test_deliveries_past_the_retry_window_are_dead_and_listed(tmp_path, standin, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.status = 503
    options = WatchOptions(
        policy=FAST.policy,
        delivery=DeliveryPolicy(first_retry_seconds=0.1, longest_retry_seconds=0.1, retry_window_seconds=0.5, lease_seconds=5),
        poll_rate_per_second=50,
        idle_seconds=0.05,
        allow_private_addresses=True,
    )
    service = bootstrap.start(fast_settings(tmp_path, standin), watch_options=options)
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = tracking_pb2_grpc.TrackingServiceStub(channel)
            endpoint = stub.CreateWebhookEndpoint(tracking_pb2.CreateWebhookEndpointRequest(url=receiver.url), timeout=10)
            standin.set_scenario(NUMBER, "in_transit")
            stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=NUMBER), timeout=10)
            assert wait_until(lambda: len(stub.ListDeadDeliveries(tracking_pb2.ListDeadDeliveriesRequest(), timeout=10).deliveries) == 4)
            dead = stub.ListDeadDeliveries(tracking_pb2.ListDeadDeliveriesRequest(), timeout=10).deliveries
            assert {(d.endpoint_id, d.tracking_number, d.last_error) for d in dead} == {(endpoint.id, NUMBER, "HTTP 503")}
            assert all(d.attempts >= 1 for d in dead)
    finally:
        service.stop(0.5)


def test_quiet_parcels_are_found_listed_and_raise_one_event(tmp_path, standin, receiver) -> None:  # type: ignore[no-untyped-def]
    quick_quiet = WatchPolicy(
        first_poll_seconds=0.1, transit_seconds=3600, customs_seconds=3600, jitter=0.0, quiet_after={s: 0.5 for s in FAST.policy.quiet_after}
    )
    options = WatchOptions(
        policy=quick_quiet, delivery=FAST.delivery, poll_rate_per_second=50, idle_seconds=0.05, quiet_sweep_seconds=0.1, allow_private_addresses=True
    )
    service = bootstrap.start(fast_settings(tmp_path, standin), watch_options=options)
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = tracking_pb2_grpc.TrackingServiceStub(channel)
            stub.CreateWebhookEndpoint(tracking_pb2.CreateWebhookEndpointRequest(url=receiver.url), timeout=10)
            standin.set_scenario(NUMBER, "in_customs")
            stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=NUMBER, order_reference="Q"), timeout=10)
            # quiet is found by the sweep, not by a poll (the next poll is an hour away)
            assert receiver.wait_for(lambda b: "quiet" in types_of(b, NUMBER))
            listed = stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(quiet_only=True), timeout=10).parcels
            assert [p.tracking_number for p in listed] == [NUMBER] and listed[0].quiet
            time.sleep(0.5)
            assert types_of(receiver.bodies(), NUMBER).count("quiet") == 1
    finally:
        service.stop(0.5)


def test_every_label_issued_is_watched_when_the_setting_says_so(tmp_path, standin) -> None:  # type: ignore[no-untyped-def]
    from kokokara.shipping.v1 import labels_pb2_grpc
    from tests.labels_support import proto_request

    service = bootstrap.start(fast_settings(tmp_path, standin, watch_labels=True), watch_options=FAST)
    try:
        with grpc.insecure_channel(service.address) as channel:
            label = labels_pb2_grpc.LabelServiceStub(channel).CreateLabel(proto_request(request_id="order-7"), timeout=30).label
            parcels = tracking_pb2_grpc.TrackingServiceStub(channel).ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(), timeout=10).parcels
            assert [(p.tracking_number, p.order_reference) for p in parcels] == [(label.tracking_number, "order-7")]
    finally:
        service.stop(0.5)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rpc", "request_", "code", "field"),
    [
        ("WatchParcel", tracking_pb2.WatchParcelRequest(tracking_number="EN123456789JP"), grpc.StatusCode.INVALID_ARGUMENT, "tracking_number"),
        ("WatchParcel", tracking_pb2.WatchParcelRequest(tracking_number="nonsense"), grpc.StatusCode.INVALID_ARGUMENT, "tracking_number"),
        (
            "WatchParcel",
            tracking_pb2.WatchParcelRequest(tracking_number=NUMBER, order_reference="x" * 129),
            grpc.StatusCode.INVALID_ARGUMENT,
            "order_reference",
        ),
        (
            "WatchParcel",
            tracking_pb2.WatchParcelRequest(tracking_number=NUMBER, webhook_endpoint_id="wh_nope"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "webhook_endpoint_id",
        ),
        ("CreateWebhookEndpoint", tracking_pb2.CreateWebhookEndpointRequest(url="ftp://example.com/"), grpc.StatusCode.INVALID_ARGUMENT, "url"),
        ("CreateWebhookEndpoint", tracking_pb2.CreateWebhookEndpointRequest(url="http://example.com/"), grpc.StatusCode.INVALID_ARGUMENT, "url"),
        ("ListWatchedParcels", tracking_pb2.ListWatchedParcelsRequest(page_token="garbage"), grpc.StatusCode.INVALID_ARGUMENT, "page_token"),
        ("ListWatchedParcels", tracking_pb2.ListWatchedParcelsRequest(page_size=5000), grpc.StatusCode.INVALID_ARGUMENT, "page_size"),
        ("ListWatchedParcels", tracking_pb2.ListWatchedParcelsRequest(quiet_for_days=-1), grpc.StatusCode.INVALID_ARGUMENT, "quiet_for_days"),
        ("ListTrackingEvents", tracking_pb2.ListTrackingEventsRequest(after_sequence=-1), grpc.StatusCode.INVALID_ARGUMENT, "after_sequence"),
        ("DeleteWebhookEndpoint", tracking_pb2.DeleteWebhookEndpointRequest(id=""), grpc.StatusCode.INVALID_ARGUMENT, "id"),
        ("DeleteWebhookEndpoint", tracking_pb2.DeleteWebhookEndpointRequest(id="wh_nope"), grpc.StatusCode.NOT_FOUND, ""),
        ("UnwatchParcel", tracking_pb2.UnwatchParcelRequest(tracking_number="EN123456785JP"), grpc.StatusCode.NOT_FOUND, ""),
    ],
)
def test_bad_input_names_the_field(running, rpc: str, request_, code: grpc.StatusCode, field: str) -> None:  # type: ignore[no-untyped-def]
    _, stub = running
    with pytest.raises(grpc.RpcError) as raised:
        getattr(stub, rpc)(request_, timeout=10)
    details = status_details(raised.value)
    assert details.code == code
    assert details.reason
    if field:
        assert field in details.fields


def test_private_and_metadata_addresses_are_refused_unless_allowed(tmp_path, standin) -> None:  # type: ignore[no-untyped-def]
    service = bootstrap.start(fast_settings(tmp_path, standin, webhook_allow_private_addresses=False))
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = tracking_pb2_grpc.TrackingServiceStub(channel)
            for url in ("https://169.254.169.254/latest/meta-data/", "https://10.1.2.3/hook", "http://127.0.0.1:9/hook", "https://[fd00::1]/hook"):
                with pytest.raises(grpc.RpcError) as raised:
                    stub.CreateWebhookEndpoint(tracking_pb2.CreateWebhookEndpointRequest(url=url), timeout=10)
                details = status_details(raised.value)
                assert (details.code, details.reason, list(details.fields)) == (grpc.StatusCode.INVALID_ARGUMENT, "WEBHOOK_ADDRESS_FORBIDDEN", ["url"])
    finally:
        service.stop(0.5)


def test_a_name_resolving_to_a_private_address_is_not_sent_to() -> None:
    from domain.errors import InvalidArgument
    from tracking.webhook_client import WebhookClient

    # `localhost.` as a name (not the literal): passes the URL check, refused once resolved
    client = WebhookClient(allow_private=False)
    with pytest.raises(InvalidArgument) as raised:
        client.resolve("localhost", 443)
    assert raised.value.reason == "WEBHOOK_ADDRESS_FORBIDDEN"


def test_pages_of_watched_parcels(running) -> None:  # type: ignore[no-untyped-def]
    _, stub = running
    numbers = ["EN123456785JP", "CD126430535JP", "RR473124829JP"]
    for n in numbers:
        stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=n, order_reference="P"), timeout=10)
    first = stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(order_reference="P", page_size=2), timeout=10)
    assert [p.tracking_number for p in first.parcels] == numbers[:2] and first.next_page_token
    second = stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(order_reference="P", page_size=2, page_token=first.next_page_token), timeout=10)
    assert [p.tracking_number for p in second.parcels] == numbers[2:] and not second.next_page_token
    with pytest.raises(grpc.RpcError) as raised:  # a token made for other filters
        stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(order_reference="Q", page_token=first.next_page_token), timeout=10)
    assert status_details(raised.value).fields.keys() == {"page_token"}
    stub.UnwatchParcel(tracking_pb2.UnwatchParcelRequest(tracking_number=numbers[0]), timeout=10)
    assert len(stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(), timeout=10).parcels) == 2


def test_one_parcel_by_its_number_in_any_spelling(running) -> None:  # type: ignore[no-untyped-def]
    _, stub = running
    stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number="EN123456785JP", order_reference="ONE"), timeout=10)
    stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number="CD126430535JP", order_reference="ONE"), timeout=10)
    found = stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(tracking_number="en 1234 5678 5 jp"), timeout=10).parcels
    assert [(p.tracking_number, p.order_reference) for p in found] == [("EN123456785JP", "ONE")]
    assert not stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(tracking_number="RR473124829JP"), timeout=10).parcels
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListWatchedParcels(tracking_pb2.ListWatchedParcelsRequest(tracking_number="EN123456784JP"), timeout=10)  # check digit wrong
    details = status_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT and details.fields.keys() == {"tracking_number"}


def test_metrics_count_watched_parcels_quiet_ones_and_deliveries(tmp_path, standin, receiver) -> None:  # type: ignore[no-untyped-def]
    from tests.server.test_security_metrics import scrape, value

    quick_quiet = WatchPolicy(first_poll_seconds=0.1, transit_seconds=3600, customs_seconds=3600, quiet_after={s: 0.5 for s in FAST.policy.quiet_after})
    options = WatchOptions(
        policy=quick_quiet, delivery=FAST.delivery, poll_rate_per_second=50, idle_seconds=0.05, quiet_sweep_seconds=0.1, allow_private_addresses=True
    )
    service = bootstrap.start(fast_settings(tmp_path, standin, metrics_addr="127.0.0.1:0"), watch_options=options)
    try:
        with grpc.insecure_channel(service.address) as channel:
            stub = tracking_pb2_grpc.TrackingServiceStub(channel)
            stub.CreateWebhookEndpoint(tracking_pb2.CreateWebhookEndpointRequest(url=receiver.url), timeout=10)
            standin.set_scenario(NUMBER, "in_customs")
            stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=NUMBER), timeout=10)
            stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number="EN123456785JP"), timeout=10)
            assert receiver.wait_for(lambda b: "quiet" in types_of(b, NUMBER))

            def settled() -> bool:
                m = scrape(service.metrics_port)
                return (
                    value(m, "shipping_watched_parcels", state="in_customs") == 1
                    and value(m, "shipping_watched_parcels_quiet") >= 1
                    and value(m, "shipping_webhook_deliveries_total", outcome="delivered") >= 7
                    and value(m, "shipping_webhook_delivery_backlog", state="delivered") >= 7
                )

            assert wait_until(settled)
    finally:
        service.stop(0.5)


def test_watched_parcels_serve_once_their_database_answers(tmp_path, standin, database_url) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import urlparse, urlunparse

    from tests.labels_support import fresh_database
    from tests.tcp_forwarder import TcpForwarder

    target = urlparse(database_url)
    with fresh_database(database_url) as url, TcpForwarder((target.hostname or "127.0.0.1", target.port or 5432)) as forwarder:
        parsed = urlparse(url)
        user = f"{parsed.username}@" if parsed.username else ""
        through = urlunparse(parsed._replace(netloc=f"{user}127.0.0.1:{forwarder.port}"))
        forwarder.close()  # PostgreSQL unreachable from the start
        service = bootstrap.start(fast_settings(tmp_path, standin, database_url=through, database_retry_max_seconds=0.5), watch_options=FAST)
        try:
            with grpc.insecure_channel(service.address) as channel:
                stub = tracking_pb2_grpc.TrackingServiceStub(channel)
                health = health_pb2_grpc.HealthStub(channel)

                def watch_health() -> int:
                    return health.Check(health_pb2.HealthCheckRequest(service=bootstrap.WATCH_HEALTH), timeout=5).status

                assert watch_health() == health_pb2.HealthCheckResponse.NOT_SERVING
                with pytest.raises(grpc.RpcError) as raised:
                    stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=NUMBER), timeout=10)
                details = status_details(raised.value)
                assert (details.code, details.reason) == (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE")
                forwarder.open()
                assert wait_until(lambda: watch_health() == health_pb2.HealthCheckResponse.SERVING)

                def watched() -> bool:
                    try:
                        stub.WatchParcel(tracking_pb2.WatchParcelRequest(tracking_number=NUMBER), timeout=10)
                    except grpc.RpcError:
                        return False
                    return True

                assert wait_until(watched)
        finally:
            service.stop(0.5)
