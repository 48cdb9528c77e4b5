"""The one HTTP call to Japan Post's tracking page, with the guards a scraper owes the site.

A `requests.Session` against SHIPPING_TRACKING_BASE_URL: connect and read timeouts, a response size
cap, a few retries with exponential backoff and jitter on connection errors, timeouts and 5xx, a
self-imposed rate limit, and a circuit breaker. The page is then read by the pure parser; a page it
cannot read is logged with the number and raised as CARRIER_PAGE_UNREADABLE.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from tracking.carrier import CarrierError, CircuitBreaker, RateLimiter
from tracking.japan_post import SEARCH_PATH, Page, PageUnreadable, parse_page, search_params

log = logging.getLogger("kokokara.shipping.tracking.carrier")

USER_AGENT = "kokokara-shipping/0.1 (+tracking lookups for our own shipments)"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_bytes: int = 1_000_000
    retries: int = 2
    backoff: float = 0.5
    rate_per_second: float = 1.0
    burst: int = 3
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0


class JapanPostClient:
    def __init__(
        self,
        base_url: str,
        options: ClientOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_lookup: Callable[[str], None] | None = None,
    ):
        self.options = options or ClientOptions()
        # Told each lookup's outcome: "ok" or the CarrierError reason (metrics, issue 7).
        self._on_lookup = on_lookup or (lambda _outcome: None)
        self._url = base_url.rstrip("/") + SEARCH_PATH
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept-Language": "en", "Accept": "text/html"})
        o = self.options
        self.limiter = RateLimiter(o.rate_per_second, o.burst, max_wait=max(o.read_timeout, 1.0))
        self.breaker = CircuitBreaker(o.breaker_failures, o.breaker_reset_seconds)
        self._sleep = sleep

    def close(self) -> None:
        self._session.close()

    def fetch(self, number: str) -> Page:
        """The parsed result page for a normalised number, or CarrierError."""
        try:
            self.breaker.before_call()
        except CarrierError as error:
            self._on_lookup(error.reason)
            raise
        try:
            html = self._get_with_retries(number)
        except CarrierError as error:
            if error.counts_as_failure:
                self.breaker.failed()
            else:
                self.breaker.released()
            log.warning("japan post lookup failed", extra={"tracking_number": number, "reason": error.reason, "problem": error.message})
            self._on_lookup(error.reason)
            raise
        self.breaker.succeeded()
        try:
            page = parse_page(html, number)
        except PageUnreadable as error:
            self._on_lookup("CARRIER_PAGE_UNREADABLE")
            log.error("japan post page unreadable", extra={"tracking_number": number, "problem": error.why, "bytes": len(html)})
            raise CarrierError("CARRIER_PAGE_UNREADABLE", f"Japan Post's page could not be read ({error.why})", counts_as_failure=False) from None
        self._on_lookup("ok")
        return page

    def _get_with_retries(self, number: str) -> str:
        attempts = self.options.retries + 1
        for attempt in range(attempts):
            try:
                return self._get_once(number)
            except CarrierError as error:
                if not error.counts_as_failure or error.reason not in _RETRYABLE or attempt == attempts - 1:
                    raise
                delay = self.options.backoff * (2**attempt) * (0.5 + random.random())
                log.info("retrying japan post", extra={"tracking_number": number, "reason": error.reason, "delay_s": round(delay, 3)})
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _get_once(self, number: str) -> str:
        o = self.options
        self.limiter.acquire()
        try:
            with self._session.get(
                self._url, params=search_params(number), timeout=(o.connect_timeout, o.read_timeout), stream=True, allow_redirects=True
            ) as response:
                status = response.status_code
                if status >= 500:
                    raise CarrierError("CARRIER_SERVER_ERROR", f"Japan Post answered HTTP {status}")
                if status == 429:
                    raise CarrierError("CARRIER_RATE_LIMITED", "Japan Post asked us to slow down (HTTP 429)")
                if status == 403:
                    raise CarrierError("CARRIER_BLOCKED", "Japan Post refused the lookup (HTTP 403)")
                if status in (404, 410):
                    raise CarrierError("CARRIER_ENDPOINT_MOVED", f"Japan Post's tracking page moved (HTTP {status})")
                if status != 200:
                    raise CarrierError("CARRIER_BAD_RESPONSE", f"Japan Post answered HTTP {status}")
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > o.max_bytes:
                        raise CarrierError("CARRIER_RESPONSE_TOO_LARGE", f"Japan Post's page is over {o.max_bytes} bytes")
                return _decode(bytes(body), response.headers.get("Content-Type", ""), response.encoding)
        except requests.Timeout:
            raise CarrierError("CARRIER_TIMEOUT", "Japan Post did not answer in time") from None
        except requests.ConnectionError:
            raise CarrierError("CARRIER_UNREACHABLE", "Japan Post could not be reached") from None
        except requests.RequestException as error:
            raise CarrierError("CARRIER_BAD_RESPONSE", f"Japan Post's answer could not be read ({type(error).__name__})") from None


_RETRYABLE = {"CARRIER_SERVER_ERROR", "CARRIER_TIMEOUT", "CARRIER_UNREACHABLE"}


def _decode(body: bytes, content_type: str, encoding: str | None) -> str:
    # requests assumes ISO-8859-1 for text/* without a charset; Japan Post's pages are UTF-8.
    name = encoding if encoding and "charset" in content_type.lower() else "utf-8"
    try:
        return body.decode(name, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
