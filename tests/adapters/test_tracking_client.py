"""The Japan Post client against the stand-in Japan Post (a real HTTP server on loopback), and the
rate limiter and circuit breaker with a hand-driven clock."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from standin.japan_post import StandInJapanPost
from tests.tracking_helpers import wait_until
from tracking.carrier import CarrierError, CircuitBreaker, RateLimiter
from tracking.japan_post import SEARCH_PATH
from tracking.japan_post_client import ClientOptions, JapanPostClient

FAST = ClientOptions(connect_timeout=1, read_timeout=2, retries=2, backoff=0.01, rate_per_second=1000, burst=100)


@pytest.fixture
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost(slow_seconds=3) as s:
        yield s


def client(standin: StandInJapanPost, **changes: Any) -> JapanPostClient:
    return JapanPostClient(standin.url, dataclasses.replace(FAST, **changes))


def reason_of(call: object) -> str:
    with pytest.raises(CarrierError) as caught:
        call()  # type: ignore[operator]
    return caught.value.reason


def test_standin_serves_pages_of_the_real_shape(standin: StandInJapanPost) -> None:
    r = requests.get(standin.url + SEARCH_PATH, params={"reqCodeNo1": "EN111111115JP", "locale": "en"}, timeout=5)
    assert r.status_code == 200 and "Your item was not found" in r.text and "EN 111 111 115 JP" in r.text
    assert requests.get(standin.url + "/elsewhere", timeout=5).status_code == 404
    standin.set_scenario("EN111111115JP", "delivered")
    r = requests.get(standin.url + SEARCH_PATH, params={"reqCodeNo1": "EN111111115JP"}, timeout=5)
    assert 'summary="履歴情報"' in r.text and "EN 111 111 115 JP" in r.text and "EN 123 456 785 JP" not in r.text
    assert standin.hits("EN111111115JP") == 2


def test_delivered_and_not_found(standin: StandInJapanPost) -> None:
    c = client(standin)
    page = c.fetch("EN123456785JP")
    assert page.found and page.events[-1].carrier_text == "Final delivery"
    assert c.fetch("EN111111115JP").found is False
    assert standin.hits("EN123456785JP") == 1


def test_503_is_retried_with_backoff_then_fails(standin: StandInJapanPost) -> None:
    assert reason_of(lambda: client(standin).fetch("CN134577206JP")) == "CARRIER_SERVER_ERROR"
    assert standin.hits("CN134577206JP") == 3  # one try and two retries


def test_slow_site_times_out(standin: StandInJapanPost) -> None:
    assert reason_of(lambda: client(standin, read_timeout=0.3, retries=0).fetch("EG268774857JP")) == "CARRIER_TIMEOUT"


def test_garbled_page_is_unavailable_and_logged_with_the_number(standin: StandInJapanPost, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="kokokara.shipping.tracking.carrier"):
        assert reason_of(lambda: client(standin).fetch("EJ966331020JP")) == "CARRIER_PAGE_UNREADABLE"
    assert any(getattr(r, "tracking_number", None) == "EJ966331020JP" for r in caplog.records)
    assert standin.hits("EJ966331020JP") == 1  # a page of the wrong shape is not retried


def test_response_size_is_capped(standin: StandInJapanPost) -> None:
    assert reason_of(lambda: client(standin, max_bytes=500).fetch("EN123456785JP")) == "CARRIER_RESPONSE_TOO_LARGE"


def test_moved_endpoint_and_unreachable_site(standin: StandInJapanPost) -> None:
    assert reason_of(lambda: JapanPostClient(standin.url + "/old", FAST).fetch("EN123456785JP")) == "CARRIER_ENDPOINT_MOVED"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    opts = dataclasses.replace(FAST, retries=1)
    assert reason_of(lambda: JapanPostClient(f"http://127.0.0.1:{port}", opts).fetch("EN123456785JP")) == "CARRIER_UNREACHABLE"


def test_circuit_opens_and_stops_hammering(standin: StandInJapanPost) -> None:
    c = client(standin, retries=0, breaker_failures=2, breaker_reset_seconds=600)
    standin.set_override("unavailable")
    assert reason_of(lambda: c.fetch("EN123456785JP")) == "CARRIER_SERVER_ERROR"
    assert reason_of(lambda: c.fetch("EN123456785JP")) == "CARRIER_SERVER_ERROR"
    standin.set_override(None)
    for _ in range(5):
        assert reason_of(lambda: c.fetch("EN123456785JP")) == "CARRIER_CIRCUIT_OPEN"
    assert standin.hits() == 2


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_breaker_half_open_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_after=30, clock=clock)
    for _ in range(3):
        breaker.before_call()
        breaker.failed()
    assert breaker.state == "open"
    with pytest.raises(CarrierError):
        breaker.before_call()
    clock.now += 30
    assert breaker.state == "half-open"
    breaker.before_call()  # the trial
    with pytest.raises(CarrierError):
        breaker.before_call()  # only one trial at a time
    breaker.failed()
    assert breaker.state == "open"
    clock.now += 30
    breaker.before_call()
    breaker.succeeded()
    assert breaker.state == "closed"
    breaker.before_call()


def test_rate_limiter_spaces_requests_and_bounds_the_queue() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, burst=2, max_wait=1.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == []
    limiter.acquire()
    assert clock.slept == [pytest.approx(0.5)]
    # Four callers arriving at once: the first waits 0.5 s, the second 1 s, the third would wait
    # 1.5 s, past max_wait: refused instead of queued.
    limiter2 = RateLimiter(2.0, burst=1, max_wait=1.0, clock=clock, sleep=lambda s: None)
    limiter2.acquire()
    limiter2.acquire()
    limiter2.acquire()
    with pytest.raises(CarrierError) as caught:
        limiter2.acquire()
    assert caught.value.reason == "CARRIER_RATE_LIMITED"


# --- a hostile site: the overall deadline of a request ---------------------------------------------


@pytest.mark.parametrize("scenario", ["trickle", "hang"])
def test_a_trickling_or_hanging_site_is_dropped_at_the_fetch_deadline(standin: StandInJapanPost, scenario: str) -> None:
    # One byte every 0.2 s answers every read long before the 2 s read timeout: only the deadline
    # for the whole request (1 s here) ends it.
    standin.trickle_seconds = 0.2
    standin.set_override(scenario)
    c = client(standin, retries=0, fetch_timeout=1.0)
    assert reason_of(lambda: c.fetch("EN123456785JP")) == "CARRIER_TIMEOUT"
    standin.set_override(None)
    assert c.fetch("EN123456785JP").found  # the same client (and its connection pool) works again


def test_a_reset_connection_is_unreachable_and_retried(standin: StandInJapanPost) -> None:
    standin.set_override("reset")
    assert reason_of(lambda: client(standin, retries=1).fetch("EN123456785JP")) == "CARRIER_UNREACHABLE"
    assert standin.hits("EN123456785JP") == 2


def test_the_lookup_deadline_bounds_tries_and_retries_stop_when_nobody_waits(standin: StandInJapanPost) -> None:
    standin.set_override("hang")
    c = client(standin, retries=5, fetch_timeout=0.5)
    assert reason_of(lambda: c.fetch("EN123456785JP", retry_while=lambda: False)) == "CARRIER_TIMEOUT"
    assert standin.hits("EN123456785JP") == 1  # no retry for an answer nobody waits for
    assert reason_of(lambda: c.fetch("CD126430535JP", deadline=time.monotonic() + 0.3)) == "CARRIER_TIMEOUT"
    assert standin.hits("CD126430535JP") == 1  # the deadline came before a second try could


def test_closing_the_client_drops_a_running_request(standin: StandInJapanPost) -> None:
    standin.set_override("hang")
    c = client(standin, retries=0, fetch_timeout=60)
    failed: list[str] = []

    def fetch() -> None:
        try:
            c.fetch("EN123456785JP")
        except CarrierError as error:
            failed.append(error.reason)

    running = threading.Thread(target=fetch)
    running.start()
    assert wait_until(lambda: standin.hits("EN123456785JP") == 1, 5)
    c.close()
    running.join(timeout=5)
    assert not running.is_alive() and failed == ["CARRIER_LOOKUP_STOPPED"]
