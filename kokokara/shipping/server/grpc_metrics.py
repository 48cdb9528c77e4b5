"""The standard gRPC server metrics, named and labelled as py-grpc-prometheus and go-grpc-prometheus
name them, so the usual gRPC dashboards and alerts read them as they are:

- grpc_server_started_total{grpc_type, grpc_service, grpc_method}: calls started
- grpc_server_handled_total{grpc_type, grpc_service, grpc_method, grpc_code}: calls finished, by
  status code name (OK, INVALID_ARGUMENT, ...)
- grpc_server_handling_seconds{grpc_type, grpc_service, grpc_method}: histogram of the time from
  the call's start to its status
- grpc_server_msg_received_total / grpc_server_msg_sent_total{grpc_type, grpc_service,
  grpc_method}: messages read and written (one each for a unary call that ends OK; one per
  update for WatchTracking)

grpc_type is unary, client_stream, server_stream or bidi_stream; grpc_service the full service
name (kokokara.shipping.v1.RateService), grpc_method the method's (GetQuote). Health checks are not
counted: probes call them every few seconds and they would only drown the service's own calls.

The ServingInterceptor calls `begin` when a call starts and `finish` when it ends; the labelled
children are looked up once per method and status, not per call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

# go-grpc-prometheus's default buckets stop at 10 s; quotes answer in well under a millisecond, so
# the low end is finer here (the same buckets as shipping_rpc_duration_seconds).
HANDLING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LABELS = ["grpc_type", "grpc_service", "grpc_method"]


def grpc_type(handler: grpc.RpcMethodHandler) -> str:
    if handler.request_streaming:
        return "bidi_stream" if handler.response_streaming else "client_stream"
    return "server_stream" if handler.response_streaming else "unary"


class MethodMetrics:
    """One method's children, looked up once."""

    __slots__ = ("_handled", "_handled_children", "_labels", "_lock", "handling", "received", "sent", "started")

    def __init__(self, server: GrpcServerMetrics, labels: tuple[str, str, str]) -> None:
        self._labels = labels
        self._handled = server.handled
        self._handled_children: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.started = server.started.labels(*labels)
        self.received = server.received.labels(*labels)
        self.sent = server.sent.labels(*labels)
        self.handling = server.handling.labels(*labels)

    def begin(self) -> None:
        self.started.inc()

    def finish(self, code: str, seconds: float, *, sent: int = 0, received: int = 0) -> None:
        child = self._handled_children.get(code)
        if child is None:
            with self._lock:
                child = self._handled_children.setdefault(code, self._handled.labels(*self._labels, code))
        child.inc()
        self.handling.observe(seconds)
        if received:
            self.received.inc(received)
        if sent:
            self.sent.inc(sent)

    def count_sent(self, replies: Iterator[Any]) -> Iterator[Any]:
        """Passes a stream's replies through, counting each as it is written."""
        for reply in replies:
            self.sent.inc()
            yield reply

    def count_received(self, requests: Iterator[Any]) -> Iterator[Any]:
        for request in requests:
            self.received.inc()
            yield request


class GrpcServerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.started = Counter("grpc_server_started", "Total number of RPCs started on the server.", _LABELS, registry=r)
        self.handled = Counter(
            "grpc_server_handled", "Total number of RPCs completed on the server, regardless of success or failure.", [*_LABELS, "grpc_code"], registry=r
        )
        self.handling = Histogram(
            "grpc_server_handling_seconds",
            "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
            _LABELS,
            buckets=HANDLING_BUCKETS,
            registry=r,
        )
        self.received = Counter("grpc_server_msg_received", "Total number of RPC stream messages received on the server.", _LABELS, registry=r)
        self.sent = Counter("grpc_server_msg_sent", "Total number of gRPC stream messages sent by the server.", _LABELS, registry=r)
        self._methods: dict[str, MethodMetrics] = {}
        self._lock = threading.Lock()

    def method(self, full_method: str, kind: str) -> MethodMetrics:
        """The children of "/package.Service/Method" served as `kind` (see grpc_type)."""
        found = self._methods.get(full_method)
        if found is None:
            service, _, name = full_method.lstrip("/").rpartition("/")
            with self._lock:
                found = self._methods.setdefault(full_method, MethodMetrics(self, (kind, service, name)))
        return found
