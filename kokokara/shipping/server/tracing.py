"""OpenTelemetry tracing, off unless SHIPPING_OTLP_ENDPOINT names an OTLP/HTTP collector.

With it on, every RPC gets a server span (opentelemetry-instrumentation-grpc's interceptor, which
continues a trace the caller sent in `traceparent`), the request log line carries the span's
trace_id, and the adapters that leave the process get client spans of their own, children of the
RPC's: Japan Post lookups, Redis (the tracking cache), and the label store. The adapters are
wrapped here, in thin proxies the composition root puts around them, so the domain (tracking/,
labels/) knows nothing of OpenTelemetry; tracking's lookup pool runs each lookup in its caller's
context (tracking/fetch_pool.py), so a Japan Post span belongs to the RPC that asked for it.

Spans are batched and sent by the SDK's BatchSpanProcessor (a thread of its own); the provider is
the server's, not the process-wide global, and `close` sends what is left at shutdown. No span
carries a buyer's data: names of operations, the RPC, status codes, and the adapters' peers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import grpc
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.grpc import filters, server_interceptor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

TRACES_PATH = "/v1/traces"


def traces_url(endpoint: str) -> str:
    """The collector's traces URL: http://collector:4318 -> http://collector:4318/v1/traces (as
    OTEL_EXPORTER_OTLP_ENDPOINT is read); a URL with a path of its own is taken as it is."""
    return endpoint.rstrip("/") + TRACES_PATH if urlsplit(endpoint).path.strip("/") == "" else endpoint


def current_trace_id() -> str:
    """The current span's trace id as 32 hex digits (as collectors show it), or "" outside a trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


# Server span statuses that are errors (OpenTelemetry's gRPC conventions): the others are the
# caller's doing, and leave the span's status unset.
SERVER_ERRORS = frozenset({"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"})


def finish_server_span(code: str) -> str:
    """Called by the ServingInterceptor as a call ends, inside the RPC's span, with the status code's
    name: puts it on the span (the instrumentation only sees aborts made with `abort`, and ours
    carry details: `abort_with_status`), and returns the trace id for the request log line."""
    span = trace.get_current_span()
    context = span.get_span_context()
    if not context.is_valid:
        return ""
    if code != "OK":
        span.set_attribute("rpc.grpc.status_code", grpc.StatusCode[code].value[0])
        if code in SERVER_ERRORS:
            span.set_status(Status(StatusCode.ERROR, code))
    return format(context.trace_id, "032x")


class Tracing:
    def __init__(self, endpoint: str, service_name: str, exporter: SpanExporter | None = None) -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        self.provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter(endpoint=traces_url(endpoint))))
        self.tracer = self.provider.get_tracer("kokokara.shipping")

    finish_server_span = staticmethod(finish_server_span)

    def interceptor(self) -> grpc.ServerInterceptor:
        # Health checks (Kubernetes' probes, load balancers) are not traced: a span every few seconds
        # per probe says nothing about the service and costs as much as a quote's.
        return server_interceptor(tracer_provider=self.provider, filter_=filters.negate(filters.health_check()))

    def traced(self, target: Any, peer: str, methods: Iterable[str], **attributes: str) -> Any:
        """`target` with a client span around each call of `methods`, named "<peer> <method>"."""
        return _Traced(target, self.tracer, peer, frozenset(methods), attributes)

    def flush(self) -> None:
        self.provider.force_flush()

    def close(self) -> None:
        self.provider.shutdown()  # sends the spans still batched


class _Traced:
    """A proxy: the listed methods in a span each, everything else passed through."""

    def __init__(self, target: Any, tracer: trace.Tracer, peer: str, methods: frozenset[str], attributes: dict[str, str]) -> None:
        self._target = target
        self._tracer = tracer
        self._peer = peer
        self._methods = methods
        self._attributes = {"peer.service": peer, **attributes}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name not in self._methods or not callable(value):
            return value
        wrapped = self._wrap(name, value)
        self.__dict__[name] = wrapped  # looked up once
        return wrapped

    def _wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        span_name = f"{self._peer} {name}"
        tracer, attributes = self._tracer, self._attributes

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(span_name, kind=SpanKind.CLIENT, attributes=attributes, record_exception=True) as span:
                try:
                    return method(*args, **kwargs)
                except Exception as error:
                    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                    raise

        return call
