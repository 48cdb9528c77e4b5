"""TrackingService over gRPC: a real server on 127.0.0.1:0 pointed at the stand-in Japan Post."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest
import redis
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from domain import s10
from kokokara.shipping.server import bootstrap
from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.grpc_support import status_details
from tests.tracking_helpers import OwnRedis, wait_until

pb = tracking_pb2
FAST = {"tracking_rate_per_second": 1000.0, "tracking_rate_burst": 100, "tracking_retries": 1, "tracking_read_timeout_seconds": 3.0}


def _settings(**overrides: object):  # type: ignore[no-untyped-def]
    from tests.conftest import test_settings

    return test_settings(**{**FAST, **overrides})


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost(slow_seconds=3) as s:
        yield s


@pytest.fixture(scope="module")
def server(standin: StandInJapanPost) -> Iterator[bootstrap.RunningService]:
    running = bootstrap.start(_settings(tracking_base_url=standin.url, tracking_ttl_transit_seconds=1, tracking_ttl_jitter=0.0))
    yield running
    running.stop(0.5)


@pytest.fixture(scope="module")
def stub(server: bootstrap.RunningService) -> Iterator[tracking_pb2_grpc.TrackingServiceStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield tracking_pb2_grpc.TrackingServiceStub(channel)


def details(error: grpc.RpcError) -> tuple[grpc.StatusCode, str, list[str]]:
    found = status_details(error)
    return found.code, found.reason, list(found.fields)


def test_get_tracking_delivered_then_cached(stub: tracking_pb2_grpc.TrackingServiceStub, standin: StandInJapanPost) -> None:
    number = s10.make("EN", 70000001)
    standin.set_scenario(number, "delivered")
    t = stub.GetTracking(pb.GetTrackingRequest(tracking_number=f"{number[:2].lower()} {number[2:5]}-{number[5:8]} {number[8:]}"))
    assert t.tracking_number == number
    assert (t.product, t.status, t.final, t.source) == (pb.TRACKING_PRODUCT_EMS, pb.TRACKING_STATUS_DELIVERED, True, pb.TRACKING_SOURCE_CARRIER)
    assert t.carrier_product_text == "EMS" and len(t.events) == 8
    first, last = t.events[0], t.events[-1]
    assert (first.carrier_status_text, first.status, first.office, first.location, first.postal_code) == (
        "Posting/Collection",
        pb.TRACKING_STATUS_IN_TRANSIT,
        "SHIBUYA",
        "TOKYO",
        "150-8799",
    )
    assert first.occurrence_time_text == "03/02/2026 15:40"
    assert (first.occurrence_time.year, first.occurrence_time.hours, first.occurrence_time.time_zone.id) == (2026, 15, "Asia/Tokyo")
    assert not last.occurrence_time.HasField("time_zone") and last.status == pb.TRACKING_STATUS_DELIVERED
    assert t.next_refresh_time.ToDatetime() > t.fetch_time.ToDatetime()
    again = stub.GetTracking(pb.GetTrackingRequest(tracking_number=number))
    assert again.source == pb.TRACKING_SOURCE_CACHE and again.fetch_time == t.fetch_time
    assert standin.hits(number) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "TRACKING_NUMBER_EMPTY"),
        ("EN12345JP", "TRACKING_NUMBER_MALFORMED"),
        ("EN123456784JP", "TRACKING_NUMBER_CHECK_DIGIT"),
        ("RB123456785GB", "TRACKING_NUMBER_NOT_JAPAN_POST"),
        ("UA111111115JP", "TRACKING_NUMBER_IS_CUSTOMS_LABEL"),
    ],
)
def test_bad_numbers_are_invalid_argument_naming_the_field(stub: tracking_pb2_grpc.TrackingServiceStub, text: str, reason: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetTracking(pb.GetTrackingRequest(tracking_number=text))
    assert details(caught.value) == (grpc.StatusCode.INVALID_ARGUMENT, reason, ["tracking_number"])


def test_not_found_is_an_answer(stub: tracking_pb2_grpc.TrackingServiceStub) -> None:
    t = stub.GetTracking(pb.GetTrackingRequest(tracking_number=s10.make("CP", 70000002)))
    assert (t.status, t.final, len(t.events), t.product) == (pb.TRACKING_STATUS_NOT_FOUND, False, 0, pb.TRACKING_PRODUCT_PARCEL)


@pytest.mark.parametrize(("scenario", "reason"), [("garbled", "CARRIER_PAGE_UNREADABLE"), ("unavailable", "CARRIER_SERVER_ERROR")])
def test_carrier_failure_with_nothing_cached_is_unavailable(
    stub: tracking_pb2_grpc.TrackingServiceStub, standin: StandInJapanPost, scenario: str, reason: str
) -> None:
    number = s10.make("LX", 70000003 if scenario == "garbled" else 70000004)
    standin.set_scenario(number, scenario)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetTracking(pb.GetTrackingRequest(tracking_number=number))
    assert details(caught.value)[:2] == (grpc.StatusCode.UNAVAILABLE, reason)


def test_batch_answers_or_fails_each_on_its_own(stub: tracking_pb2_grpc.TrackingServiceStub, standin: StandInJapanPost) -> None:
    bad_upstream = s10.make("EN", 70000005)
    standin.set_scenario(bad_upstream, "unavailable")
    texts = ["RR473124829JP", "UA111111115JP", bad_upstream, "cd126430535jp", "EN123456784JP"]
    response = stub.BatchGetTracking(pb.BatchGetTrackingRequest(requests=[pb.GetTrackingRequest(tracking_number=t) for t in texts]))
    kinds = [r.WhichOneof("result") for r in response.results]
    assert kinds == ["tracking", "error", "error", "tracking", "error"]
    assert response.results[0].tracking.status == pb.TRACKING_STATUS_RETURNED
    assert response.results[3].tracking.status == pb.TRACKING_STATUS_IN_CUSTOMS
    assert response.results[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert response.results[2].error.code == grpc.StatusCode.UNAVAILABLE.value[0]
    info = error_details_pb2.ErrorInfo()
    response.results[1].error.details[0].Unpack(info)
    assert info.reason == "TRACKING_NUMBER_IS_CUSTOMS_LABEL"


def test_batch_of_a_hundred_and_its_limits(stub: tracking_pb2_grpc.TrackingServiceStub) -> None:
    numbers = [s10.make("EN", 71000000 + i) for i in range(100)]
    response = stub.BatchGetTracking(pb.BatchGetTrackingRequest(requests=[pb.GetTrackingRequest(tracking_number=n) for n in numbers]))
    assert [r.tracking.tracking_number for r in response.results] == numbers
    assert all(r.tracking.status == pb.TRACKING_STATUS_NOT_FOUND for r in response.results)
    for count, reason in [(101, "BATCH_TOO_LARGE"), (0, "INVALID_BATCH")]:
        with pytest.raises(grpc.RpcError) as caught:
            stub.BatchGetTracking(pb.BatchGetTrackingRequest(requests=[pb.GetTrackingRequest(tracking_number=numbers[0])] * count))
        assert details(caught.value) == (grpc.StatusCode.INVALID_ARGUMENT, reason, ["requests"])


def test_watch_sends_changes_until_final(stub: tracking_pb2_grpc.TrackingServiceStub, standin: StandInJapanPost) -> None:
    # Five watchers of one number: each sees in transit, then delivered, and the stream ends; Japan
    # Post is asked once per refresh interval (1 s here), not once per watcher.
    number = s10.make("EG", 70000006)
    standin.set_scenario(number, "in_transit")
    streams = [stub.WatchTracking(pb.WatchTrackingRequest(tracking_number=number), timeout=30) for _ in range(5)]
    firsts = [next(s) for s in streams]
    assert all(f.status == pb.TRACKING_STATUS_IN_TRANSIT for f in firsts)
    standin.set_scenario(number, "delivered")
    with ThreadPoolExecutor(5) as pool:
        rests = list(pool.map(list, streams))
    assert [[m.status for m in rest] for rest in rests] == [[pb.TRACKING_STATUS_DELIVERED]] * 5
    assert standin.hits(number) == 2


def test_watch_ends_at_the_callers_deadline(server: bootstrap.RunningService, standin: StandInJapanPost) -> None:
    number = s10.make("EG", 70000007)
    standin.set_scenario(number, "in_customs")
    received = []
    with grpc.insecure_channel(server.address) as channel:
        stream = tracking_pb2_grpc.TrackingServiceStub(channel).WatchTracking(pb.WatchTrackingRequest(tracking_number=number), timeout=2.5)
        with pytest.raises(grpc.RpcError) as caught:
            for message in stream:
                received.append(message.status)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    assert received == [pb.TRACKING_STATUS_IN_CUSTOMS]  # unchanged pages are not sent again


def test_watch_refuses_bad_numbers(stub: tracking_pb2_grpc.TrackingServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.WatchTracking(pb.WatchTrackingRequest(tracking_number="UA111111115JP"), timeout=5))
    assert details(caught.value) == (grpc.StatusCode.INVALID_ARGUMENT, "TRACKING_NUMBER_IS_CUSTOMS_LABEL", ["tracking_number"])


def health_of(channel: grpc.Channel, name: str) -> int:
    return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status)


def test_redis_trouble_shows_in_health_while_the_server_keeps_answering(standin: StandInJapanPost, tmp_path: Path) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    running = bootstrap.start(_settings(tracking_base_url=standin.url, redis_url=own.url, redis_probe_seconds=0.05, redis_timeout_seconds=0.2))
    try:
        with grpc.insecure_channel(running.address) as channel:
            stub = tracking_pb2_grpc.TrackingServiceStub(channel)
            serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
            assert health_of(channel, bootstrap.TRACKING_CACHE_HEALTH) == serving
            number = s10.make("EN", 70000008)
            standin.set_scenario(number, "delivered")
            assert stub.GetTracking(pb.GetTrackingRequest(tracking_number=number)).source == pb.TRACKING_SOURCE_CARRIER
            assert stub.GetTracking(pb.GetTrackingRequest(tracking_number=number)).source == pb.TRACKING_SOURCE_CACHE
            own.stop()
            assert wait_until(lambda: health_of(channel, bootstrap.TRACKING_CACHE_HEALTH) == not_serving)
            assert health_of(channel, "") == serving
            # Answered from the process's own copy (tests/processes/test_tracking_hostile.py has more of it).
            answer = stub.GetTracking(pb.GetTrackingRequest(tracking_number=number))
            assert (answer.status, answer.source) == (pb.TRACKING_STATUS_DELIVERED, pb.TRACKING_SOURCE_CACHE)
            own.start()
            assert wait_until(lambda: health_of(channel, bootstrap.TRACKING_CACHE_HEALTH) == serving)
            other = s10.make("EN", 70000011)
            standin.set_scenario(other, "delivered")
            assert stub.GetTracking(pb.GetTrackingRequest(tracking_number=other)).source == pb.TRACKING_SOURCE_CARRIER
            assert stub.GetTracking(pb.GetTrackingRequest(tracking_number=other)).source == pb.TRACKING_SOURCE_CACHE
            assert standin.hits(number) == 1 and standin.hits(other) == 1
            shared = redis.Redis.from_url(own.url)
            assert shared.exists(f"{running.settings.redis_key_prefix}jp:{{{other}}}")  # Redis is in use again
            shared.close()
    finally:
        running.stop(0.5)
        own.stop()


def test_default_server_has_a_serving_in_process_cache(channel: grpc.Channel) -> None:
    assert health_of(channel, bootstrap.TRACKING_CACHE_HEALTH) == health_pb2.HealthCheckResponse.SERVING


def test_upstream_503_gives_the_stale_answer_over_grpc(stub: tracking_pb2_grpc.TrackingServiceStub, standin: StandInJapanPost) -> None:
    # The module's server keeps in-transit answers fresh for 1 s.
    number = s10.make("EN", 70000009)
    standin.set_scenario(number, "in_transit")
    fresh = stub.GetTracking(pb.GetTrackingRequest(tracking_number=number))
    assert fresh.source == pb.TRACKING_SOURCE_CARRIER
    standin.set_scenario(number, "unavailable")
    refresh_at = fresh.next_refresh_time.ToDatetime()
    assert wait_until(lambda: datetime.utcnow() > refresh_at + timedelta(milliseconds=50), seconds=5)
    stale = stub.GetTracking(pb.GetTrackingRequest(tracking_number=number))
    assert stale.source == pb.TRACKING_SOURCE_STALE_CACHE
    assert stale.fetch_time == fresh.fetch_time and list(stale.events) == list(fresh.events)
    assert stale.next_refresh_time.ToDatetime() > refresh_at
    assert standin.hits(number) >= 2  # it did ask Japan Post again before answering stale


def test_full_width_spelling_is_the_same_number_one_lookup(stub: tracking_pb2_grpc.TrackingServiceStub, standin: StandInJapanPost) -> None:
    number = s10.make("EN", 70000010)
    standin.set_scenario(number, "in_customs")
    wide = "".join(chr(ord(c) + 0xFEE0) for c in number.lower())  # ｅｎ７００…ｊｐ
    first = stub.GetTracking(pb.GetTrackingRequest(tracking_number=wide))
    second = stub.GetTracking(pb.GetTrackingRequest(tracking_number=number))
    assert first.tracking_number == second.tracking_number == number
    assert (first.source, second.source) == (pb.TRACKING_SOURCE_CARRIER, pb.TRACKING_SOURCE_CACHE)
    assert standin.hits(number) == 1


@pytest.mark.parametrize("digits", ["١٢٣٤٥٦٧٨٥", "१२३४५६७८५", "𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟓"])
def test_digits_of_other_scripts_never_reach_japan_post(stub: tracking_pb2_grpc.TrackingServiceStub, standin: StandInJapanPost, digits: str) -> None:
    before = standin.hits()
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetTracking(pb.GetTrackingRequest(tracking_number=f"EN{digits}JP"))
    assert details(caught.value) == (grpc.StatusCode.INVALID_ARGUMENT, "TRACKING_NUMBER_MALFORMED", ["tracking_number"])
    assert standin.hits() == before


def test_servers_sharing_redis_send_japan_post_one_budget(standin: StandInJapanPost, redis_url: str, tmp_path: Path) -> None:
    # Two servers on one Redis, each allowed a burst of 2 lookups and then one every 5 s. Twelve new
    # numbers at once, six to each: Japan Post sees 2 lookups in all (each alone would have sent 2);
    # the others find the next slot further away than they may wait and are refused, retryable.
    prefix = f"budget-{uuid.uuid4().hex[:8]}:"
    common = {"tracking_rate_per_second": 0.2, "tracking_rate_burst": 2, "tracking_read_timeout_seconds": 1.0, "tracking_retries": 0}
    common |= {"tracking_base_url": standin.url, "redis_url": redis_url, "redis_key_prefix": prefix}
    servers = [bootstrap.start(_settings(database_path=tmp_path / f"{i}.sqlite3", **common)) for i in range(2)]
    numbers = [s10.make("EN", 74_100_000 + i) for i in range(12)]
    before = standin.hits()
    try:
        channels = [grpc.insecure_channel(s.address) for s in servers]
        stubs = [tracking_pb2_grpc.TrackingServiceStub(c) for c in channels]

        def ask(i: int) -> str:
            try:
                stubs[i % 2].GetTracking(pb.GetTrackingRequest(tracking_number=numbers[i]), timeout=20)
                return "OK"
            except grpc.RpcError as error:
                return f"{error.code().name} {status_details(error).reason}"

        with ThreadPoolExecutor(12) as pool:
            outcomes = list(pool.map(ask, range(12)))
        for c in channels:
            c.close()
    finally:
        for s in servers:
            s.stop(0.5)
    assert standin.hits() - before == 2, outcomes
    assert sorted(outcomes).count("OK") == 2 and set(outcomes) - {"OK"} == {"UNAVAILABLE CARRIER_RATE_LIMITED"}, outcomes
