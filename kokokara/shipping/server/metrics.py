"""Prometheus metrics, served on SHIPPING_METRICS_ADDR at /metrics: the service's own (shipping_*),
the standard gRPC server metrics (grpc_metrics.py), and the client library's process, platform and
garbage collector collectors (process_*, python_info, python_gc_*).

Labels on these metrics are RPC names, caller NAMES from the keys file (never keys), status codes,
carrier reasons and table versions: never anything about a buyer. Each server gets its own
registry, so several servers in one process (tests) do not mix their figures.

Multi-process serving can later switch to prometheus_client's multiprocess mode: only Counters,
Histograms and Gauges are used (the circuit-breaker and hit-ratio gauges are computed at scrape
time from in-process state and would become per-process gauges there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from kokokara.shipping.server.grpc_metrics import GrpcServerMetrics

log = logging.getLogger("kokokara.shipping.server.metrics")

BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        # What prometheus_client's default registry would show too: the process (CPU, memory, open
        # files, start time), the Python build, and the garbage collector's passes per generation.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(collector)
        self.grpc = GrpcServerMetrics(r)
        self.rpc_calls = Counter("shipping_rpc_calls", "Calls by RPC, caller name and status code", ["rpc", "caller", "code"], registry=r)
        self.rpc_errors = Counter("shipping_rpc_errors", "Calls that did not end OK, by RPC, caller and code", ["rpc", "caller", "code"], registry=r)
        self.rpc_latency = Histogram(
            "shipping_rpc_duration_seconds", "Time spent serving a call, by RPC and caller", ["rpc", "caller"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.tracking_cache = Counter("shipping_tracking_cache_requests", "Tracking lookups answered by the cache (hit) or not (miss)", ["result"], registry=r)
        self.carrier_lookups = Counter("shipping_carrier_lookups", "Japan Post page requests by outcome (ok or the failure reason)", ["outcome"], registry=r)
        self.carrier_failures = Counter("shipping_carrier_failures", "Failed Japan Post lookups by reason", ["reason"], registry=r)
        self.breaker_state = Gauge("shipping_carrier_circuit_state", "Japan Post circuit breaker: 0 closed, 1 half-open, 2 open", registry=r)
        self.cache_hit_ratio = Gauge("shipping_tracking_cache_hit_ratio", "Cache hits / lookups since start", registry=r)
        self.labels = Counter("shipping_labels", "Labels issued, voided, and erased (retention)", ["event"], registry=r)
        self.tables_info = Gauge("shipping_rate_tables_info", "Rate tables in use (1): content version, data date", ["version", "data_as_of"], registry=r)
        self.tables_loaded = Gauge("shipping_rate_tables_loaded_timestamp_seconds", "When the rate tables in use were loaded", registry=r)
        self.tables_reloads = Counter("shipping_rate_tables_reloads", "Successful rate table reloads", registry=r)
        self.tables_reload_failures = Counter("shipping_rate_tables_reload_failures", "Rate table reloads refused (old tables kept)", registry=r)
        self.tables_last_reload_ok = Gauge("shipping_rate_tables_last_reload_ok", "1 if the last reload attempt succeeded, 0 if it failed", registry=r)
        self.tables_last_reload_ok.set(1)
        self.cache_hit_ratio.set_function(self._hit_ratio)
        for event in ("issued", "voided", "erased"):
            self.labels.labels(event)
        for result in ("hit", "miss"):
            self.tracking_cache.labels(result)
        self.webhook_deliveries = Counter(
            "shipping_webhook_deliveries", "Webhook delivery attempts by outcome (delivered, failed: retried, dead)", ["outcome"], registry=r
        )
        for outcome in ("delivered", "failed", "dead"):
            self.webhook_deliveries.labels(outcome)
        self._server: Any = None

    # -- hooks ----------------------------------------------------------------------------------

    def observe_rpc(self, rpc: str, caller: str, code: str, seconds: float) -> None:
        self.rpc_calls.labels(rpc, caller, code).inc()
        if code != "OK":
            self.rpc_errors.labels(rpc, caller, code).inc()
        self.rpc_latency.labels(rpc, caller).observe(seconds)

    def label_event(self, event: str, count: int) -> None:
        self.labels.labels(event).inc(count)

    def tracking_cache_event(self, hit: bool) -> None:
        self.tracking_cache.labels("hit" if hit else "miss").inc()

    def carrier_lookup(self, outcome: str) -> None:
        self.carrier_lookups.labels(outcome).inc()
        if outcome != "ok":
            self.carrier_failures.labels(outcome).inc()

    def watch_breaker(self, state: Callable[[], str]) -> None:
        self.breaker_state.set_function(lambda: BREAKER_STATES.get(state(), -1))

    def webhook_delivery(self, outcome: str) -> None:
        self.webhook_deliveries.labels(outcome).inc()

    def watch_counts(self, counts: Callable[[], Any]) -> None:
        """Watched parcels by state, quiet parcels and deliveries by state, read from the store at
        each scrape (so every replica reports the fleet's figures)."""
        self.registry.register(_WatchCollector(counts))

    def tables_in_use(self, version: str, data_as_of: str, loaded_at: float) -> None:
        self.tables_info.clear()
        self.tables_info.labels(version, data_as_of).set(1)
        self.tables_loaded.set(loaded_at)

    def _hit_ratio(self) -> float:
        hits = self.tracking_cache.labels("hit")._value.get()
        misses = self.tracking_cache.labels("miss")._value.get()
        return hits / (hits + misses) if hits + misses else 0.0

    # -- serving --------------------------------------------------------------------------------

    def serve(self, address: str) -> int:
        """Starts the /metrics HTTP endpoint; returns its port."""
        host, _, port = address.rpartition(":")
        self._server, _thread = start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0", registry=self.registry)
        bound = int(self._server.server_address[1])
        log.info("metrics served", extra={"address": f"{host}:{bound}"})
        return bound

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _WatchCollector(Collector):
    def __init__(self, counts: Callable[[], Any]):
        self._counts = counts

    def collect(self) -> Any:
        try:
            c = self._counts()
        except Exception:  # the database is away: no figures rather than a failed scrape
            log.warning("watched parcel figures unavailable", exc_info=True)
            return
        parcels = GaugeMetricFamily("shipping_watched_parcels", "Watched parcels by state (pending: not polled yet)", labels=["state"])
        for state, n in sorted(c.by_state.items()):
            parcels.add_metric([state], n)
        yield parcels
        yield GaugeMetricFamily("shipping_watched_parcels_quiet", "Watched parcels quiet past their state's threshold", value=c.quiet)
        deliveries = GaugeMetricFamily(
            "shipping_webhook_delivery_backlog", "Webhook deliveries in the store by state (pending, delivered, dead)", labels=["state"]
        )
        for state, n in sorted(c.deliveries.items()):
            deliveries.add_metric([state], n)
        yield deliveries
