"""Server interceptor: maps every failure through errors.to_status and logs one line per request.

This is the single error-mapping point that servicers rely on: they raise domain errors and never
call context.abort themselves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import grpc
from grpc_status import rpc_status

from domain.errors import DeadlineExceeded, ShippingError
from kokokara.shipping.server.errors import grpc_code, to_status
from kokokara.shipping.server.grpc_metrics import GrpcServerMetrics, MethodMetrics, grpc_type
from kokokara.shipping.server.logs import access_sink

access_log = logging.getLogger("kokokara.shipping.access")
error_log = logging.getLogger("kokokara.shipping.server.errors")


class _Outcome:
    __slots__ = ("caller", "code", "reason", "role")

    def __init__(self) -> None:
        self.code = "OK"
        self.reason = ""
        # Set by the guard interceptor to the caller's NAME from the keys file; never the key.
        self.caller = "anonymous"
        # The caller's role, set by the guard; None where the server has no keys (loopback only).
        self.role: str | None = None


# The call being served on this thread: the guard interceptor, running inside this one, names the
# caller on it, so the access log and metrics can say who called.
current_call: ContextVar[_Outcome | None] = ContextVar("current_call", default=None)


def current_role() -> str | None:
    """The role of the key behind the call being served (None: the server has no keys)."""
    call = current_call.get()
    return None if call is None else call.role


# Wrapped handlers kept per method name (only methods that exist get this far, so a few dozen).
MAX_CACHED_METHODS = 1024


class WrapperCache:
    """Interceptors' wrapped handlers, by method name. grpcio asks the interceptors for every call and
    hands them the same handler object for a method each time (the generic handlers hold one per
    method), so its wrapper is built once, not per call. A caller that builds a new handler per call
    (the HTTP bridge) gets a new wrapper each time, and never displaces the one in use."""

    def __init__(self) -> None:
        self._entries: dict[str, list[Any]] = {}  # method -> [handler, wrapped, used again]

    def find(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler | None:
        entry = self._entries.get(method)
        if entry is None or entry[0] is not handler:
            return None
        if not entry[2]:
            entry[2] = True
        return entry[1]  # type: ignore[no-any-return]

    def keep(self, method: str, handler: grpc.RpcMethodHandler, wrapped: grpc.RpcMethodHandler) -> None:
        entry = self._entries.get(method)
        if (entry is None and len(self._entries) < MAX_CACHED_METHODS) or (entry is not None and not entry[2]):
            self._entries[method] = [handler, wrapped, False]


# Called once per finished call with (rpc, caller, code, seconds): the metrics hook.
Observer = Callable[[str, str, str, float], None]


def _check_deadline(context: grpc.ServicerContext) -> None:
    """Work is not started for a caller whose deadline has passed already."""
    if context.time_remaining() <= 0:
        raise DeadlineExceeded("the caller's deadline passed before the work started", reason="DEADLINE_EXCEEDED")


def _fail(error: BaseException, context: grpc.ServicerContext, method: str, outcome: _Outcome) -> None:
    """Aborts the call with the mapped status (raises)."""
    already = context.code() if hasattr(context, "code") else None
    if already not in (None, grpc.StatusCode.OK) and not isinstance(error, ShippingError):
        # The call was aborted already (e.g. by grpc itself); keep that status.
        outcome.code = already.name
        raise error
    if not isinstance(error, ShippingError):
        error_log.error("unhandled error in %s", method, exc_info=error)
    status = to_status(error)
    outcome.code = grpc_code(status).name
    outcome.reason = getattr(error, "reason", "INTERNAL")
    context.abort_with_status(rpc_status.to_status(status))


class ServingInterceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        *,
        log_requests: bool = True,
        observer: Observer | None = None,
        grpc_metrics: GrpcServerMetrics | None = None,
        trace: Callable[[str], str] | None = None,
    ) -> None:
        self._log_requests = log_requests
        # Tracing's hook: told the call's status code as it ends, it marks the RPC's span and
        # returns the trace id for the log line.
        self._trace = trace
        self._observer = observer
        self._grpc_metrics = grpc_metrics
        self._wrapped = WrapperCache()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if method.startswith("/grpc.health."):
            return handler
        wrapped = self._wrapped.find(method, handler)
        if wrapped is None:
            wrapped = self._wrap(method, handler)
            self._wrapped.keep(method, handler, wrapped)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        log_requests = self._log_requests
        trace = self._trace
        observer = self._observer
        standard: MethodMetrics | None = None if self._grpc_metrics is None else self._grpc_metrics.method(method, grpc_type(handler))

        def done(outcome: _Outcome, started: float) -> None:
            seconds = time.perf_counter() - started
            if standard is not None:
                # a unary call read its one request; it wrote its reply if it ended OK
                standard.finish(
                    outcome.code, seconds, received=0 if handler.request_streaming else 1, sent=int(outcome.code == "OK" and not handler.response_streaming)
                )
            trace_id = "" if trace is None else trace(outcome.code)
            if log_requests and access_log.isEnabledFor(logging.INFO):
                sink = access_sink()
                if sink is not None:  # the writer formats the line, off this thread (logs.py)
                    sink((time.time(), method, outcome.caller, outcome.code, outcome.reason, seconds, trace_id))
                else:
                    fields = {"rpc": method, "caller": outcome.caller, "code": outcome.code, "reason": outcome.reason, "duration_ms": round(seconds * 1000, 3)}
                    if trace_id:
                        fields["trace_id"] = trace_id
                    access_log.info("rpc", extra=fields)
            if observer is not None:
                observer(method, outcome.caller, outcome.code, seconds)

        if handler.unary_unary or handler.stream_unary:
            inner = handler.unary_unary or handler.stream_unary

            def unary_response(request: Any, context: grpc.ServicerContext) -> Any:
                started = time.perf_counter()
                outcome = _Outcome()
                token = current_call.set(outcome)
                if standard is not None:
                    standard.begin()
                    if handler.request_streaming:
                        request = standard.count_received(request)
                try:
                    _check_deadline(context)
                    return inner(request, context)
                except Exception as error:  # noqa: BLE001 - this is the error-mapping point
                    _fail(error, context, method, outcome)
                finally:
                    current_call.reset(token)
                    done(outcome, started)

            factory = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
            return factory(unary_response, handler.request_deserializer, handler.response_serializer)

        inner_stream = handler.unary_stream or handler.stream_stream

        def stream_response(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            outcome = _Outcome()
            current_call.set(outcome)  # a generator: reset() could run in another context, so just overwrite
            if standard is not None:
                standard.begin()
                if handler.request_streaming:
                    request = standard.count_received(request)
            try:
                _check_deadline(context)
                if standard is None:
                    yield from inner_stream(request, context)
                else:
                    yield from standard.count_sent(inner_stream(request, context))
            except Exception as error:  # noqa: BLE001 - this is the error-mapping point
                _fail(error, context, method, outcome)
            finally:
                if context.code() not in (None, grpc.StatusCode.OK) and outcome.code == "OK":
                    outcome.code = context.code().name
                done(outcome, started)

        factory = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
        return factory(stream_response, handler.request_deserializer, handler.response_serializer)


class PoolRouter(grpc.ServerInterceptor):
    """Runs the RPCs of some services (or single methods) on a thread pool of their own instead of the server's.

    The server's own pool serves the RPCs that only compute (quotes, rate tables), sized for them
    (SHIPPING_COMPUTE_THREADS: in one process they take turns on the GIL, so their best thread count
    is measured, not guessed; docs/performance.md). The RPCs that wait on the network or a database
    (tracking, labels) get a pool of their own, so a slow Japan Post or database never keeps a quote
    waiting, and WatchTracking streams, which hold a thread for hours, another.

    grpcio picks a handler's pool from its behaviour's `experimental_thread_pool` attribute
    (grpc/_server.py, `_select_thread_pool_for_behavior`); tests/server/test_thread_pools.py fails if a
    grpcio release stops honouring it. Must be the outermost interceptor, so it sees the behaviour
    grpcio will call."""

    def __init__(self, pools: dict[str, Any]) -> None:
        # "/package.Service/Method" or "/package.Service" -> futures.ThreadPoolExecutor; a method's
        # own entry wins over its service's.
        self._pools = pools
        self._routed = WrapperCache()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        pool = self._pools.get(method) or self._pools.get(method.rpartition("/")[0])
        if pool is None:
            return handler
        routed = self._routed.find(method, handler)
        if routed is None:
            routed = self._route(handler, pool)
            self._routed.keep(method, handler, routed)
        return routed

    @staticmethod
    def _route(handler: grpc.RpcMethodHandler, pool: Any) -> grpc.RpcMethodHandler:
        for kind, factory in (
            ("unary_unary", grpc.unary_unary_rpc_method_handler),
            ("unary_stream", grpc.unary_stream_rpc_method_handler),
            ("stream_unary", grpc.stream_unary_rpc_method_handler),
            ("stream_stream", grpc.stream_stream_rpc_method_handler),
        ):
            behaviour = getattr(handler, kind)
            if behaviour is not None:

                def routed(request: Any, context: grpc.ServicerContext, _behaviour: Any = behaviour) -> Any:
                    return _behaviour(request, context)

                routed.experimental_thread_pool = pool  # type: ignore[attr-defined]
                return factory(routed, handler.request_deserializer, handler.response_serializer)
        return handler
