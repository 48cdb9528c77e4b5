"""The composition root: builds the whole service from a Settings object.

`start(settings)` binds the address it is given (port 0 picks a free one), starts serving with
health NOT_SERVING, loads and validates the tables, then flips health to SERVING. Tests start a real
server on 127.0.0.1:0 through it; server.py runs it until SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kokokara.shipping.server import security, watching
from kokokara.shipping.server.convert import today_in_japan
from kokokara.shipping.server.guard import WATCH_RPC
from kokokara.shipping.server.interceptors import PoolRouter
from kokokara.shipping.server.metrics import Metrics
from kokokara.shipping.server.registration import add_servicer
from kokokara.shipping.server.reload import TableReloader
from kokokara.shipping.server.servicers.labels import LabelServicer
from kokokara.shipping.server.servicers.plans import PlanSettings
from kokokara.shipping.server.servicers.rate_tables import RateTablesServicer
from kokokara.shipping.server.servicers.rates import EngineHolder
from kokokara.shipping.server.servicers.watch import TrackingWatchServicer
from kokokara.shipping.server.settings import Settings
from kokokara.shipping.v1 import labels_pb2, rates_pb2, tracking_pb2
from labels.customs import CustomsRules
from labels.ranges import load_ranges
from labels.retention import RetentionPurge
from labels.service import LabelService
from labels.store import DatabaseMisconfigured, LabelDatabaseRefused, LabelStore
from labels.stores import DeferredLabelStore, open_store
from rates.book import RateBook
from rates.cart import load_box_catalogue
from rates.quote import QuoteEngine
from rates.tables import ISO_REGIONS, load_rate_book
from tracking.cache import InProcessCache, LayeredCache, TrackingCache
from tracking.carrier import Carrier, Limiter, RateLimiter, SharedBudget, SharedRateLimiter
from tracking.japan_post_client import ClientOptions, JapanPostClient
from tracking.redis_cache import RedisTrackingCache
from tracking.service import LookupOptions, RefreshPolicy, TrackingLookup
from tracking.watch_service import WatchOptions

if TYPE_CHECKING:
    from kokokara.shipping.server.tracing import Tracing

log = logging.getLogger("kokokara.shipping")

OVERALL = ""  # the health service's name for the server as a whole
# Health name of the tracking cache: NOT_SERVING while Redis is down. The server stays SERVING then,
# since tracking still answers (straight from Japan Post).
TRACKING_CACHE_HEALTH = "kokokara.shipping.v1.TrackingService/cache"
# Watched parcels and webhooks: SERVING while their database is open (they wait for it on their own).
WATCH_HEALTH = "kokokara.shipping.v1.TrackingService/watch"
# Health name for liveness probes: SERVING from the moment the server answers (before the tables
# load), whatever its dependencies do; only a draining server reports it NOT_SERVING. A liveness
# probe on it restarts a process that no longer answers, never one waiting on a database.
PROCESS_HEALTH = "kokokara.shipping/process"


@dataclass
class RunningService:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    engines: EngineHolder
    settings: Settings
    book: RateBook | None = None
    labels: LabelService | None = None
    # What the service opened, closed in reverse order of opening when it stops.
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    # Metrics (served on metrics_port when SHIPPING_METRICS_ADDR is set)
    metrics: Metrics | None = None
    metrics_port: int = 0
    reloader: TableReloader | None = None
    health_port: int = 0  # the plaintext health-only port (SHIPPING_HEALTH_ADDR), 0 when there is none
    http_port: int = 0  # the JSON API and console port (SHIPPING_HTTP_ADDR), 0 when there is none
    label_store: DeferredLabelStore | None = None
    watch: watching.WatchHolder | None = None
    _health_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        host = self.settings.listen_addr.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        """Stops taking new calls, lets running ones finish within the grace period, then closes
        what the service opened."""
        self.health.enter_graceful_shutdown()
        self.server.stop(self.settings.grace_seconds if grace is None else grace).wait()
        self.resources.close()


LABEL_SERVICE = labels_pb2.DESCRIPTOR.services_by_name["LabelService"].full_name
TRACKING_SERVICE = tracking_pb2.DESCRIPTOR.services_by_name["TrackingService"].full_name
# Threads in the watch pool beyond max_watches: the streams past the limit get a thread at once and
# are refused (SERVER_WATCHES_FULL) instead of waiting in the pool's queue.
WATCH_POOL_SPARE = 4


# The adapter calls that get a span of their own when tracing is on.
LABEL_STORE_CALLS = ("issue", "get", "get_by_request_id", "list_labels", "void", "for_manifest", "erase_personal_data")
REDIS_CALLS = ("get", "put", "try_lock", "unlock")


def _tracing(settings: Settings) -> Tracing | None:
    if not settings.otlp_endpoint:
        return None
    from kokokara.shipping.server.tracing import Tracing

    tracing = Tracing(settings.otlp_endpoint, settings.otlp_service_name)
    log.info("tracing", extra={"otlp_endpoint": settings.otlp_endpoint, "service_name": settings.otlp_service_name})
    return tracing


def _health_setter(health_servicer: health.HealthServicer, name: str) -> Callable[[bool], None]:
    def told(up: bool) -> None:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING)

    return told


def _database_system(settings: Settings) -> str:
    return "postgresql" if settings.database_url else "sqlite"


def service_names() -> list[str]:
    return [
        rates_pb2.DESCRIPTOR.services_by_name["RateService"].full_name,
        labels_pb2.DESCRIPTOR.services_by_name["LabelService"].full_name,
        tracking_pb2.DESCRIPTOR.services_by_name["TrackingService"].full_name,
    ]


def start(
    settings: Settings,
    *,
    load_tables: bool = True,
    extra_handlers: Sequence[grpc.GenericRpcHandler] = (),
    today: Callable[[], date] = today_in_japan,
    watch_options: WatchOptions | None = None,
    open_label_store: Callable[[], LabelStore] | None = None,
    tracking_cache: TrackingCache | None = None,
    carrier: Carrier | None = None,
) -> RunningService:
    """Builds, binds and starts the server; loads the tables unless told not to (tests of the
    loading phase call load_into() themselves). `extra_handlers` lets benchmarks add an empty RPC
    that runs through the same server, threads and interceptor as the real ones. `today` is the
    label service's calendar (the default ship date and manifest day), which a test can move.

    The adapters come from the settings unless given: `open_label_store` opens the label store
    (retried in the background while its database cannot be reached), `tracking_cache` and
    `carrier` are the tracking lookup's cache and Japan Post client. Whatever is opened is closed
    in reverse order when the service stops, or at once if the start fails."""
    with contextlib.ExitStack() as resources:
        service = _start(settings, resources, load_tables, extra_handlers, today, watch_options, open_label_store, tracking_cache, carrier)
        service.resources = resources.pop_all()
    if load_tables:
        try:
            load_into(service)
        except Exception:
            service.stop(0)
            raise
        # Reload: on SIGHUP (server.py calls service.reloader.request()) or file changes.
        service.reloader = TableReloader(service, poll_seconds=settings.tables_poll_seconds).start()
        if service.metrics is not None:
            service.metrics.tables_in_use(service.reloader.version, service.book.data_as_of if service.book else "", time.time())
        service.resources.callback(service.reloader.close)
    return service


def _start(
    settings: Settings,
    resources: contextlib.ExitStack,
    load_tables: bool,
    extra_handlers: Sequence[grpc.GenericRpcHandler],
    today: Callable[[], date],
    watch_options: WatchOptions | None,
    open_label_store: Callable[[], LabelStore] | None,
    tracking_cache: TrackingCache | None,
    carrier: Carrier | None,
) -> RunningService:
    # Security: loopback only without keys; keys, roles and limits in the interceptors.
    security.check_listen_address(settings)
    keys = security.load_keys(settings)
    credentials = security.server_credentials(settings)  # read before anything is opened
    security.ensure_descriptors(settings)
    # Metrics: always counted; served, and per-RPC figures taken, only with SHIPPING_METRICS_ADDR.
    metrics = Metrics()
    # Tracing: only with SHIPPING_OTLP_ENDPOINT (OpenTelemetry is not even imported without it).
    tracing = _tracing(settings)
    if tracing is not None:
        resources.callback(tracing.close)  # closed last: the spans of the last calls are sent
    # Four pools (see interceptors.PoolRouter): the server's own for the RPCs that only compute;
    # one for labels, which wait on the database; one for tracking, which waits on Redis and (for
    # no longer than the caller's deadline) on Japan Post's lookups, themselves on a bounded pool of
    # their own (tracking/fetch_pool.py); one for WatchTracking streams, which hold their thread
    # for hours. None can keep another waiting.
    io_pool = futures.ThreadPoolExecutor(max_workers=settings.grpc_threads, thread_name_prefix="grpc-io")
    tracking_pool = futures.ThreadPoolExecutor(max_workers=settings.tracking_threads, thread_name_prefix="grpc-tracking")
    watch_pool = futures.ThreadPoolExecutor(max_workers=settings.max_watches + WATCH_POOL_SPARE, thread_name_prefix="grpc-watch")
    # Shut down once the server has stopped (RunningService.stop stops it before closing these).
    for pool in (io_pool, tracking_pool, watch_pool):
        resources.callback(pool.shutdown, wait=False)
    router = PoolRouter({f"/{LABEL_SERVICE}": io_pool, f"/{TRACKING_SERVICE}": tracking_pool, WATCH_RPC: watch_pool})
    checks = security.interceptors(
        settings,
        keys,
        metrics.observe_rpc if settings.metrics_addr else None,
        metrics.grpc if settings.metrics_addr else None,
        trace=tracing.finish_server_span if tracing else None,
    )
    # The HTTP side (SHIPPING_HTTP_ADDR) runs its calls through these same interceptors: keys, roles,
    # limits, the request log, metrics and, with tracing on, the RPC's span (continuing the caller's
    # trace from its traceparent metadata or header) between the router and the checks, current
    # while they run.
    chain = [router, *([tracing.interceptor()] if tracing else []), *checks]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.compute_threads, thread_name_prefix="grpc-compute"),
        interceptors=chain,
        # Several worker processes share one port only with SO_REUSEPORT; off otherwise,
        # so a second server on a taken port fails instead of silently sharing it.
        options=[("grpc.so_reuseport", 1 if settings.reuse_port else 0), *security.grpc_options(settings), *_connection_age_options(settings)],
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    engines = EngineHolder(use_kernel=settings.quote_kernel)
    if settings.quote_kernel and not engines.kernel_in_use:
        log.warning("the quote kernel is not built (no C compiler at install time): every quote takes the slower Python path")
    # The box catalogue PlanShipment packs into: a broken file stops the start, as a broken table does.
    plans = PlanSettings(load_box_catalogue(settings.box_catalogue_file), settings.plan_budget_ms, settings.plan_fill_factor)
    handlers = [add_servicer(RateTablesServicer(engines, plans=plans), rates_pb2.DESCRIPTOR.services_by_name["RateService"], server)]
    if extra_handlers:
        server.add_generic_rpc_handlers(tuple(extra_handlers))
    # Labels: the store is opened (migrated, ranges synchronised) before binding, so a broken ranges
    # file or a database that refuses the configuration stops the start instead of failing every
    # CreateLabel. A database that cannot be reached does not: quotes and tracking serve, labels are
    # NOT_SERVING (and their calls UNAVAILABLE) until the store, retrying in the background, opens.
    ranges = load_ranges(settings.s10_ranges_file)
    try:
        label_store = DeferredLabelStore(
            open_label_store or (lambda: open_store(settings.database_url, settings.database_path, ranges)),
            retry_max_seconds=settings.database_retry_max_seconds,
        ).open()
    except DatabaseMisconfigured as refused:
        raise LabelDatabaseRefused(str(refused)) from refused
    resources.callback(label_store.close)
    tracking_lookup = _tracking(settings, resources, health_servicer, metrics, tracing, tracking_cache, carrier)
    watch_holder = watching.build(settings, tracking_lookup, metrics, watch_options, on_health=_health_setter(health_servicer, WATCH_HEALTH))
    resources.callback(watch_holder.close)  # before the lookup closes
    label_service = LabelService(
        label_store if tracing is None else tracing.traced(label_store, "label-store", LABEL_STORE_CALLS, **{"db.system": _database_system(settings)}),
        lambda: engines.get()[0],
        CustomsRules(cn23_threshold_jpy=settings.cn23_threshold_jpy),
        on_event=metrics.label_event,
        on_issued=watching.label_hook(watch_holder) if settings.watch_labels else None,
    )
    handlers.append(add_servicer(LabelServicer(label_service, engines, today), labels_pb2.DESCRIPTOR.services_by_name["LabelService"], server))
    handlers.append(
        add_servicer(
            TrackingWatchServicer(tracking_lookup, settings.max_watches, watch_holder), tracking_pb2.DESCRIPTOR.services_by_name["TrackingService"], server
        )
    )
    names = service_names()
    if settings.reflection:
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    for name in [OVERALL, *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_servicer.set(PROCESS_HEALTH, health_pb2.HealthCheckResponse.SERVING)

    port = security.bind(server, settings.listen_addr, credentials)
    if port == 0:
        raise security.CannotServe(f"cannot listen on {settings.listen_addr}")  # what was opened closes
    server.start()
    resources.callback(lambda: server.stop(0))  # a start that fails from here on stops the server too
    service = RunningService(server=server, port=port, health=health_servicer, engines=engines, settings=settings, label_store=label_store)
    label_store.on_ready = lambda: refresh_label_health(service)
    service.labels = label_service
    service.watch = watch_holder
    service.metrics = metrics
    if settings.metrics_addr:
        try:
            service.metrics_port = metrics.serve(settings.metrics_addr)
        except OSError as error:
            raise security.CannotServe(f"cannot listen on {settings.metrics_addr} (SHIPPING_METRICS_ADDR): {error}") from error
        resources.callback(metrics.close)
    # Retention: erase labels' personal data after SHIPPING_LABEL_RETENTION_DAYS.
    if settings.label_retention_days > 0:
        purge = RetentionPurge(label_service, settings.label_retention_days, settings.label_purge_interval_seconds).start()
        resources.callback(purge.close)  # opened after the store, so closed before it
    if settings.health_addr:
        _start_health_server(service, resources)
    if settings.http_addr:
        _start_http(service, resources, chain, handlers)
    return service


def load_into(service: RunningService) -> None:
    """Loads and validates the tables (raises TableError on a broken one) and marks the service
    SERVING."""
    started = time.perf_counter()
    settings = service.settings
    book = load_rate_book(settings.tables_dir, settings.consolidation_file)
    service.engines.set(QuoteEngine(book, handling_days=settings.handling_days), ISO_REGIONS)
    service.book = book
    for name in [OVERALL, *service_names()]:
        if name != LABEL_SERVICE:  # the server as a whole serves once quotes can be answered
            service.health.set(name, health_pb2.HealthCheckResponse.SERVING)
    refresh_label_health(service)
    log.info(
        "rate tables loaded",
        extra={
            "tables": sum(len(v) for v in book.tables.values()),
            "seconds": round(time.perf_counter() - started, 3),
            # plain quotes in the compiled kernel, or all in Python (SHIPPING_QUOTE_KERNEL, or not built)
            "quote_kernel": service.engines.kernel_in_use,
        },
    )


def refresh_label_health(service: RunningService) -> None:
    """LABEL_SERVICE is SERVING once the tables are loaded (labels are priced by the quote engine)
    and the label store is open; called by both, whichever comes last turns it on."""
    with service._health_lock:
        up = service.book is not None and service.label_store is not None and service.label_store.ready
        service.health.set(LABEL_SERVICE, health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING)
    if not up and service.book is not None:
        log.warning("serving without labels until the label database answers", extra={"health": LABEL_SERVICE})


# --- scale-out ---------------------------------------------------------------------------


def _connection_age_options(settings: Settings) -> list[tuple[str, int]]:
    """Close connections after max_connection_age_seconds (letting calls finish within the grace
    period), so clients balancing over a headless Service re-resolve it and reach new replicas."""
    if settings.max_connection_age_seconds <= 0:
        return []
    return [
        ("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * 1000)),
        ("grpc.max_connection_age_grace_ms", int(settings.grace_seconds * 1000)),
    ]


def _start_http(
    service: RunningService, resources: contextlib.ExitStack, chain: Sequence[grpc.ServerInterceptor], handlers: Sequence[grpc.GenericRpcHandler]
) -> None:
    """Serves every RPC as Connect JSON over HTTP, and the console, on settings.http_addr, through
    the gRPC server's own interceptors and handlers; stops before the gRPC server does."""
    from kokokara.shipping.server.http.server import serve

    settings = service.settings
    try:
        http = serve(settings.http_addr, chain, handlers, read_max_bytes=settings.max_receive_message_bytes, cors_origins=settings.http_cors_origins)
    except OSError as error:
        raise security.CannotServe(f"cannot listen on {settings.http_addr} (SHIPPING_HTTP_ADDR): {error}") from error
    service.http_port = http.port
    resources.callback(http.stop)


def _start_health_server(service: RunningService, resources: contextlib.ExitStack) -> None:
    """Serves the health service alone, in plaintext, on settings.health_addr: Kubernetes' grpc probes
    speak neither TLS nor API keys. It shares the main server's statuses (NOT_SERVING while tables
    load and while draining) and stops after the main server."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="health"),
        # A flood of connections on the probe port must not lock the probes out either.
        options=[("grpc.so_reuseport", 1 if service.settings.reuse_port else 0), *security.connection_options(service.settings)],
    )
    health_pb2_grpc.add_HealthServicer_to_server(service.health, server)
    try:
        port = server.add_insecure_port(service.settings.health_addr)
    except RuntimeError:  # grpcio raises where older versions returned 0
        port = 0
    if port == 0:
        raise security.CannotServe(f"cannot listen on {service.settings.health_addr} (SHIPPING_HEALTH_ADDR)")
    server.start()
    service.health_port = port
    resources.callback(lambda: server.stop(0).wait())


def _tracking(
    settings: Settings,
    resources: contextlib.ExitStack,
    health_servicer: health.HealthServicer,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
    cache: TrackingCache | None = None,
    carrier: Carrier | None = None,
) -> TrackingLookup:
    """The tracking lookup over `cache` and `carrier`, or, where not given, the settings' cache (Redis
    when SHIPPING_REDIS_URL or SHIPPING_REDIS_CLUSTER_NODES is set, else in-process) and Japan Post
    client; each is closed with `resources`. Health of the cache goes under TRACKING_CACHE_HEALTH."""

    cache_health = _health_setter(health_servicer, TRACKING_CACHE_HEALTH)
    s = settings
    budget: SharedBudget | None = None  # the carrier budget every process spends, where Redis keeps one
    if cache is None:
        cache, budget = _tracking_cache(s, resources, cache_health, tracing)
    cache_health(cache.healthy)
    if carrier is None:
        read_wait = max(s.tracking_read_timeout_seconds, 1.0)
        limiter: Limiter = RateLimiter(s.tracking_rate_per_second, s.tracking_rate_burst, max_wait=read_wait)
        if budget is not None:
            limiter = SharedRateLimiter(budget, limiter, s.tracking_rate_per_second, s.tracking_rate_burst, max_wait=read_wait)
        client = JapanPostClient(
            s.tracking_base_url,
            ClientOptions(
                connect_timeout=s.tracking_connect_timeout_seconds,
                read_timeout=s.tracking_read_timeout_seconds,
                fetch_timeout=s.tracking_fetch_timeout_seconds,
                max_bytes=s.tracking_max_page_bytes,
                retries=s.tracking_retries,
                rate_per_second=s.tracking_rate_per_second,
                burst=s.tracking_rate_burst,
                breaker_failures=s.tracking_breaker_failures,
                breaker_reset_seconds=s.tracking_breaker_reset_seconds,
            ),
            on_lookup=metrics.carrier_lookup if metrics else None,
            limiter=limiter,
        )
        resources.callback(client.close)  # after the lookup: it drops the requests still running
        if metrics is not None:
            metrics.watch_breaker(lambda: client.breaker.state)
        japan_post = {"server.address": urlsplit(s.tracking_base_url).hostname or ""}
        carrier = client if tracing is None else tracing.traced(client, "japan-post", ("fetch",), **japan_post)
    # The slowest lookup: every try running into its deadline, plus backoff; the lock must outlive it.
    slowest = s.tracking_fetch_timeout_seconds * (s.tracking_retries + 1) + 2**s.tracking_retries
    lookup = TrackingLookup(
        carrier,
        cache,
        LookupOptions(
            policy=RefreshPolicy(
                final_seconds=s.tracking_ttl_final_seconds,
                transit_seconds=s.tracking_ttl_transit_seconds,
                delivery_day_seconds=s.tracking_ttl_delivery_day_seconds,
                not_found_seconds=s.tracking_ttl_not_found_seconds,
                jitter=s.tracking_ttl_jitter,
                stale_keep_seconds=s.tracking_stale_keep_seconds,
            ),
            lock_seconds=slowest + 5,
            wait_seconds=slowest + 5,
            batch_workers=s.tracking_batch_workers,
            watch_max_seconds=s.tracking_watch_max_seconds,
            carrier_workers=s.tracking_carrier_workers,
            carrier_queue=s.tracking_carrier_queue,
            stale_wait_seconds=s.tracking_stale_wait_seconds,
        ),
        on_cache=metrics.tracking_cache_event if metrics else None,
    )
    resources.callback(lookup.close)  # first of the three: it wakes its waiting callers
    return lookup


def _tracking_cache(
    s: Settings, resources: contextlib.ExitStack, cache_health: Callable[[bool], None], tracing: Tracing | None
) -> tuple[TrackingCache, SharedBudget | None]:
    """Redis (one, or a Cluster) with a copy in the process to answer from while Redis is down, or
    the process's own cache alone; closed with `resources`. With Redis, also the carrier budget the
    fleet shares (kept in the same Redis)."""
    cache: TrackingCache
    budget: SharedBudget | None = None
    if s.redis_url or s.redis_cluster_nodes:
        shared = RedisTrackingCache(
            s.redis_url,
            cluster_nodes=s.redis_cluster_nodes,
            prefix=s.redis_key_prefix,
            timeout_seconds=s.redis_timeout_seconds,
            probe_seconds=s.redis_probe_seconds,
            on_health=cache_health,
        )
        traced_shared = shared if tracing is None else tracing.traced(shared, "redis", REDIS_CALLS, **{"db.system": "redis"})
        cache = LayeredCache(traced_shared, InProcessCache(s.tracking_cache_max_entries), stale_keep_seconds=s.tracking_stale_keep_seconds)
        budget = shared
    else:
        cache = InProcessCache(s.tracking_cache_max_entries)
    resources.callback(cache.close)
    return cache, budget
