"""The one HTTP call to Japan Post's tracking page, with the guards a scraper owes the site.

A `requests.Session` against SHIPPING_TRACKING_BASE_URL: connect and read timeouts, an overall
deadline per request, a response size cap, a few retries with exponential backoff and jitter on
connection errors, timeouts and 5xx, a self-imposed rate limit, and a circuit breaker. The page is
then read by the pure parser; a page it cannot read is logged with the number and raised as
CARRIER_PAGE_UNREADABLE.

The overall deadline: a site that sends one byte a second never trips a per-read timeout, so each
request also has a deadline for the whole exchange (connect, status line, headers and the whole
page). A timer shuts the request's socket down when it passes, which ends any read blocked on it at
once, whatever the site does; the request fails as CARRIER_TIMEOUT. The sockets are found through
urllib3's connection classes (`_WatchedAdapter`), which tell the request running on their thread.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tracking.carrier import CarrierError, CircuitBreaker, Limiter, RateLimiter
from tracking.japan_post import SEARCH_PATH, Page, PageUnreadable, parse_page, search_params

log = logging.getLogger("kokokara.shipping.tracking.carrier")

USER_AGENT = "kokokara-shipping/0.1 (+tracking lookups for our own shipments)"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    # One request as a whole: connect, headers and the whole page, however slowly they come.
    fetch_timeout: float = 10.0
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
        limiter: Limiter | None = None,
    ):
        """`limiter` paces the lookups sent (default: this process's own bucket at the options' rate)."""
        self.options = options or ClientOptions()
        # Told each lookup's outcome: "ok" or the CarrierError reason (metrics).
        self._on_lookup = on_lookup or (lambda _outcome: None)
        self._url = base_url.rstrip("/") + SEARCH_PATH
        self._session = requests.Session()
        adapter = _WatchedAdapter()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._exchanges: set[_Exchange] = set()
        self._exchanges_lock = threading.Lock()
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept-Language": "en", "Accept": "text/html"})
        o = self.options
        self.limiter = limiter or RateLimiter(o.rate_per_second, o.burst, max_wait=max(o.read_timeout, 1.0))
        self.breaker = CircuitBreaker(o.breaker_failures, o.breaker_reset_seconds)
        self._sleep = sleep

    def close(self) -> None:
        """Drops the requests still running (their sockets are shut down) and the idle connections."""
        with self._exchanges_lock:
            running = list(self._exchanges)
        for exchange in running:
            exchange.abort(stopping=True)
        self._session.close()

    def fetch(self, number: str, *, deadline: float | None = None, retry_while: Callable[[], bool] | None = None) -> Page:
        """The parsed result page for a normalised number, or CarrierError.

        `deadline` (time.monotonic()) bounds the whole lookup, tries, backoff and waits for the rate
        limit included; each try is bounded by `fetch_timeout` as well. A retry is made only while
        `retry_while()` says the answer is still wanted."""
        try:
            self.breaker.before_call()
        except CarrierError as error:
            self._on_lookup(error.reason)
            raise
        try:
            html = self._get_with_retries(number, deadline, retry_while)
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

    def _get_with_retries(self, number: str, deadline: float | None, retry_while: Callable[[], bool] | None) -> str:
        attempts = self.options.retries + 1
        for attempt in range(attempts):
            try:
                return self._get_once(number, deadline)
            except CarrierError as error:
                if not error.counts_as_failure or error.reason not in _RETRYABLE or attempt == attempts - 1:
                    raise
                if retry_while is not None and not retry_while():
                    raise  # nobody waits for the answer any more: one try is enough for the cache
                delay = self.options.backoff * (2**attempt) * (0.5 + random.random())
                if deadline is not None and time.monotonic() + delay >= deadline:
                    raise
                log.info("retrying japan post", extra={"tracking_number": number, "reason": error.reason, "delay_s": round(delay, 3)})
                self._sleep(delay)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _exchange(self, seconds: float) -> Iterator[_Exchange]:
        exchange = _Exchange(seconds)
        with self._exchanges_lock:
            self._exchanges.add(exchange)
        _current.exchange = exchange
        try:
            yield exchange
        finally:
            _current.exchange = None
            exchange.finish()
            with self._exchanges_lock:
                self._exchanges.discard(exchange)

    def _get_once(self, number: str, deadline: float | None) -> str:
        o = self.options
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise CarrierError("CARRIER_TIMEOUT", "no time was left to ask Japan Post")
        self.limiter.acquire(max_wait=left)
        seconds = o.fetch_timeout if deadline is None else min(o.fetch_timeout, deadline - time.monotonic())
        if seconds <= 0:
            raise CarrierError("CARRIER_TIMEOUT", "no time was left to ask Japan Post")
        with self._exchange(seconds) as exchange:
            try:
                return self._get_page(number, min(o.connect_timeout, seconds), min(o.read_timeout, seconds))
            except CarrierError:
                if exchange.stopped:
                    raise CarrierError("CARRIER_LOOKUP_STOPPED", "the lookup was stopped: the server is shutting down", counts_as_failure=False) from None
                if exchange.timed_out:
                    raise CarrierError("CARRIER_TIMEOUT", f"Japan Post did not send its page within {seconds:.1f} s") from None
                raise

    def _get_page(self, number: str, connect_timeout: float, read_timeout: float) -> str:
        o = self.options
        try:
            with self._session.get(
                self._url, params=search_params(number), timeout=(connect_timeout, read_timeout), stream=True, allow_redirects=True
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
        except OSError:  # a socket error urllib3 let through (e.g. the deadline passing as it connected)
            raise CarrierError("CARRIER_UNREACHABLE", "Japan Post could not be reached") from None


_RETRYABLE = {"CARRIER_SERVER_ERROR", "CARRIER_TIMEOUT", "CARRIER_UNREACHABLE"}


# --- the overall deadline of one request ---------------------------------------------------------


class _Exchange:
    """One request to Japan Post with a deadline for the whole of it: when the deadline passes
    before `finish()`, every connection it used has its socket shut down, which wakes any read
    blocked on it (a read timeout would not: a trickling site answers every read in time)."""

    def __init__(self, seconds: float):
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._over = False
        self.timed_out = False  # the deadline passed
        self.stopped = False  # the client was closed
        self._timer = threading.Timer(seconds, self.abort)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, connection: HTTPConnection) -> None:
        """Called by the connection before it connects or sends; raises once the deadline passed."""
        with self._lock:
            if not self._over:
                self._connections.append(connection)
                return
        _shut(connection)
        raise TimeoutError("the request's deadline passed")

    def abort(self, stopping: bool = False) -> None:
        with self._lock:
            if self._over:
                return
            self._over = True
            self.stopped, self.timed_out = stopping, not stopping
            connections, self._connections = self._connections, []
        for connection in connections:
            _shut(connection)

    def finish(self) -> None:
        with self._lock:
            self._over = True
            self._connections = []
        self._timer.cancel()


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown, also under TLS: SSLSocket.shutdown would first unset its
            # SSL object, under the feet of the thread reading from it.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()  # .exchange: the request this thread is making


def _watch(connection: HTTPConnection) -> None:
    exchange: _Exchange | None = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.watch(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _watch(self)
        super().connect()
        _watch(self)  # the deadline may have passed while connecting

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _watch(self)  # a kept-alive connection is reused without connect()
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _watch(self)  # self.sock is the plain socket during the TLS handshake: shut down, it ends that too
        super().connect()
        _watch(self)

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _watch(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter with connections that tell the running request (`_Exchange`) about them."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
        return manager


def _decode(body: bytes, content_type: str, encoding: str | None) -> str:
    # requests assumes ISO-8859-1 for text/* without a charset; Japan Post's pages are UTF-8.
    name = encoding if encoding and "charset" in content_type.lower() else "utf-8"
    try:
        return body.decode(name, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
