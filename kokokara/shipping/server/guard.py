"""The guard interceptor: who is calling, may they, and may they now.

It sits INSIDE ServingInterceptor (bootstrap lists it second), so its refusals are raised as domain
errors and mapped and logged by the one error-mapping point like any other failure:

- a key from `authorization: Bearer <key>` (UNAUTHENTICATED, API_KEY_MISSING / API_KEY_INVALID);
- the key's role must allow the RPC (PERMISSION_DENIED, ROLE_NOT_ALLOWED);
- a token bucket per key (RESOURCE_EXHAUSTED, RATE_LIMITED, with a RetryInfo delay);
- a token bucket of failed authentications per peer address (FailedAuthThrottle): once an address
  has spent it, its calls are refused before any key is looked at (RESOURCE_EXHAUSTED,
  TOO_MANY_AUTH_FAILURES, with a RetryInfo delay), so nobody tries keys as fast as they like;
- at most N WatchTracking streams at once per key (RESOURCE_EXHAUSTED, TOO_MANY_WATCHES).

Health checks pass unchecked (probes carry no key). Reflection needs a valid key of any role.
The caller it finds is put on the call's CallInfo, which the access log and metrics show by name.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import grpc

from domain.errors import PermissionDenied, ResourceExhausted, Unauthenticated
from kokokara.shipping.server.auth import TRACKING, Caller, KeyRing, allowed, bearer_key
from kokokara.shipping.server.interceptors import current_call

WATCH_RPC = TRACKING + "WatchTracking"


class TokenBucket:
    """`rate` calls a second on average, bursts of `burst`. take() returns 0 when a call may go
    ahead, else the seconds until it could."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self._rate, self._burst, self._clock = rate, max(1.0, burst), clock
        self._tokens = self._burst
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self._rate

    def wait(self) -> float:
        """The seconds until take() would let a call go ahead (0: now), taking nothing."""
        with self._lock:
            tokens = min(self._burst, self._tokens + (self._clock() - self._last) * self._rate)
            return 0.0 if tokens >= 1 else (1 - tokens) / self._rate


def peer_address(peer: str) -> str:
    """The address a call came from, from grpc's peer string ("ipv4:10.0.0.7:51234",
    "ipv6:[2001:db8::1]:51234", also with the brackets %-encoded): the IPv4 address, or the /64
    network of an IPv6 one (one host's share of addresses; ::1 stays ::1); any other peer as it is."""
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return peer
    host = unquote(rest).rpartition(":")[0].strip("[]")
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return peer
    if ip.version == 6 and not ip.is_loopback:
        mapped = ip.ipv4_mapped  # type: ignore[union-attr]
        return str(mapped) if mapped is not None else str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class FailedAuthThrottle:
    """Failed authentications per peer address: `rate` a second on average, bursts of `burst`.
    Addresses that never fail cost nothing; the `max_peers` that failed most recently are
    remembered (an address forgotten starts again with a full bucket)."""

    def __init__(self, rate: float, burst: int, *, max_peers: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._rate, self._burst, self._max_peers, self._clock = rate, burst, max_peers, clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Seconds until `address` may try again (0: now)."""
        bucket = self._buckets.get(address)
        return 0.0 if bucket is None else bucket.wait()

    def failed(self, address: str) -> None:
        """Counts one failed authentication from `address`."""
        with self._lock:
            bucket = self._buckets.get(address)
            if bucket is None:
                bucket = self._buckets[address] = TokenBucket(self._rate, self._burst, self._clock)
                if len(self._buckets) > self._max_peers:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(address)
        bucket.take()


class GuardInterceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        keys: KeyRing,
        *,
        rate_per_second: float,
        burst: int,
        max_watches_per_key: int,
        auth_failures_per_second: float = 0.0,
        auth_failures_burst: int = 1,
    ) -> None:
        self._keys = keys
        # None: failed authentications are not throttled.
        self._failures = FailedAuthThrottle(auth_failures_per_second, auth_failures_burst) if auth_failures_per_second > 0 else None
        self._rate = rate_per_second
        self._burst = burst
        self._max_watches = max_watches_per_key
        self._buckets: dict[str, TokenBucket] = {}
        self._watches: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- checks ---------------------------------------------------------------------------------

    def _caller(self, method: str, context: grpc.ServicerContext) -> Caller:
        address = ""
        if self._failures is not None:
            address = peer_address(context.peer())
            wait = self._failures.wait(address)
            if wait > 0:
                # Before the key is looked at: a correct guess gets no further than a wrong one.
                raise ResourceExhausted(
                    "too many calls with a missing or invalid API key from this address; retry after the delay given",
                    reason="TOO_MANY_AUTH_FAILURES",
                    retry_after_seconds=wait,
                )
        key = bearer_key(context.invocation_metadata())
        if not key:
            self._auth_failed(address)
            raise Unauthenticated(
                "this service needs an API key: send 'authorization: Bearer <key>' metadata",
                reason="API_KEY_MISSING",
            )
        caller = self._keys.identify(key)
        if caller is None:
            self._auth_failed(address)
            raise Unauthenticated("the API key is not valid (unknown or revoked)", reason="API_KEY_INVALID")
        call = current_call.get()
        if call is not None:
            call.caller = caller.name
            call.role = caller.role
        if not method.startswith("/grpc.reflection.") and not allowed(caller.role, method):
            raise PermissionDenied(
                f"role {caller.role} may not call {method.rsplit('/', 1)[-1]}",
                reason="ROLE_NOT_ALLOWED",
                metadata={"role": caller.role, "rpc": method.lstrip("/")},
            )
        self._limit(caller)
        return caller

    def _auth_failed(self, address: str) -> None:
        if self._failures is not None:
            self._failures.failed(address)

    def _limit(self, caller: Caller) -> None:
        rate = caller.rate_per_second or self._rate
        if rate <= 0:
            return
        bucket = self._buckets.get(caller.key_id)
        if bucket is None:
            with self._lock:
                bucket = self._buckets.setdefault(caller.key_id, TokenBucket(rate, max(self._burst, rate)))
        wait = bucket.take()
        if wait > 0:
            raise ResourceExhausted(
                f"rate limit of {rate:g} calls a second for this key reached; retry after the delay given",
                reason="RATE_LIMITED",
                metadata={"rate_per_second": f"{rate:g}"},
                retry_after_seconds=wait,
            )

    def _open_watch(self, caller: Caller) -> None:
        with self._lock:
            open_now = self._watches.get(caller.key_id, 0)
            if open_now >= self._max_watches:
                raise ResourceExhausted(
                    f"at most {self._max_watches} WatchTracking streams at once per key; close one first",
                    reason="TOO_MANY_WATCHES",
                    metadata={"max_watches": str(self._max_watches)},
                    retry_after_seconds=60.0,
                )
            self._watches[caller.key_id] = open_now + 1

    def _close_watch(self, caller: Caller) -> None:
        with self._lock:
            left = self._watches.get(caller.key_id, 1) - 1
            if left > 0:
                self._watches[caller.key_id] = left
            else:
                self._watches.pop(caller.key_id, None)

    # -- wiring ---------------------------------------------------------------------------------

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith("/grpc.health."):
            return handler
        if handler.unary_unary or handler.stream_unary:
            inner = handler.unary_unary or handler.stream_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                self._caller(method, context)
                return inner(request, context)

            factory = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
            return factory(unary, handler.request_deserializer, handler.response_serializer)

        inner_stream = handler.unary_stream or handler.stream_stream
        watch = method == WATCH_RPC

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            caller = self._caller(method, context)
            if not watch:
                yield from inner_stream(request, context)
                return
            self._open_watch(caller)
            try:
                yield from inner_stream(request, context)
            finally:
                self._close_watch(caller)

        factory = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
        return factory(stream, handler.request_deserializer, handler.response_serializer)
