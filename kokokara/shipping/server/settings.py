"""Settings, read from the environment once at start-up into a frozen object.

Nothing below the composition root reads the environment: it is handed the pieces of this object
it needs. Every variable has an embedded default so `make run` works with nothing set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from domain.errors import StartupError

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TABLES_DIR = REPO_ROOT / "data" / "japan_post_tables"
DEFAULT_CONSOLIDATION_FILE = REPO_ROOT / "data" / "consolidation" / "EXAMPLE_consolidation_rates.csv"
# Labels
DEFAULT_DATABASE_PATH = REPO_ROOT / "var" / "labels.sqlite3"
DEFAULT_S10_RANGES_FILE = REPO_ROOT / "data" / "labels" / "EXAMPLE_s10_ranges.csv"
DEFAULT_BOX_CATALOGUE_FILE = REPO_ROOT / "data" / "boxes" / "EXAMPLE_boxes.csv"


class SettingsError(StartupError, ValueError):
    """A variable holds a value the service cannot use; the message names the variable."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Settings:
    listen_addr: str = "127.0.0.1:50051"
    tables_dir: Path = DEFAULT_TABLES_DIR
    consolidation_file: Path = DEFAULT_CONSOLIDATION_FILE
    # The shop ships within this many days of the order; arrival estimates add it.
    handling_days: int = 3
    # Threads for the label RPCs, which wait on the database, and for the RPCs that only compute
    # (quotes, rate tables); tracking has its own (tracking_threads). A process serving alone did best with 2 compute threads, two workers
    # on two cores with 16 (docs/performance.md, "Thread pools").
    grpc_threads: int = 16
    compute_threads: int = 16
    # WatchTracking streams open at once per process, each on a thread of its own pool; more are refused.
    max_watches: int = 64
    grace_seconds: float = 10.0
    log_level: str = "INFO"
    # One log line per request; benchmarks may switch it off to measure the transport alone.
    log_requests: bool = True
    # Plain quotes through the compiled quote kernel (kokokara/shipping/server/fast/fastquote.py) when it is
    # built; false answers every quote through the Python path (the same bytes, slower).
    quote_kernel: bool = True
    # Labels: SQLite file unless a PostgreSQL URL is given; S10 ranges; CN22/CN23 limit.
    database_path: Path = DEFAULT_DATABASE_PATH
    database_url: str = ""
    # A database that cannot be reached is tried again after 0.5 s, 1 s, 2 s, ... at most this long apart.
    database_retry_max_seconds: float = 15.0
    s10_ranges_file: Path = DEFAULT_S10_RANGES_FILE
    cn23_threshold_jpy: int = 45_387

    # --- tracking ---
    # Japan Post's tracking site, or the stand-in (`python -m standin.japan_post`, `make demo`).
    tracking_base_url: str = "https://trackings.post.japanpost.jp"
    # Empty: an in-process cache. Set (redis://host:6379/0): a Redis cache shared by all processes.
    redis_url: str = ""
    redis_key_prefix: str = "kokokara:shipping:tracking:v1:"
    redis_timeout_seconds: float = 0.5
    redis_probe_seconds: float = 1.0
    tracking_connect_timeout_seconds: float = 3.0
    tracking_read_timeout_seconds: float = 10.0
    # One request to Japan Post as a whole (connect, headers, the whole page): a site trickling its
    # page byte by byte never trips the read timeout, this deadline it does.
    tracking_fetch_timeout_seconds: float = 10.0
    # gRPC threads for GetTracking and BatchGetTracking, a pool apart from labels' and quotes'.
    tracking_threads: int = 16
    # Japan Post lookups at once per process, each on a thread of its own pool, and lookups queued
    # for one; past both a lookup is refused at once (the stale copy, else CARRIER_BUSY).
    tracking_carrier_workers: int = 4
    tracking_carrier_queue: int = 16
    # A caller holding a stale copy waits this long for Japan Post's answer, then gets the copy.
    tracking_stale_wait_seconds: float = 1.0
    tracking_max_page_bytes: int = 1_000_000
    tracking_retries: int = 2
    # Our own limit on lookups sent to Japan Post (per process), and the burst allowed.
    tracking_rate_per_second: float = 1.0
    tracking_rate_burst: int = 3
    tracking_breaker_failures: int = 5
    tracking_breaker_reset_seconds: float = 30.0
    # How long answers stay fresh, by status; +-jitter fraction.
    tracking_ttl_final_seconds: int = 7 * 86400
    tracking_ttl_transit_seconds: int = 3 * 3600
    tracking_ttl_delivery_day_seconds: int = 30 * 60
    tracking_ttl_not_found_seconds: int = 15 * 60
    tracking_ttl_jitter: float = 0.15
    # Answers are kept this long past their freshness to answer from when Japan Post fails.
    tracking_stale_keep_seconds: int = 14 * 86400
    tracking_cache_max_entries: int = 10_000  # ~1 KB each; Redis is the cache for large fleets
    tracking_batch_workers: int = 8
    tracking_watch_max_seconds: int = 86400

    # --- security and operations ---
    # JSON keys file (`kokokara-shipping keys add`); unset = no keys: served on loopback only.
    api_keys_file: Path | None = None
    # server.py --insecure: serve without keys on a non-loopback address (logged loudly). No env var.
    insecure: bool = False
    reflection: bool = True
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # Set: mutual TLS, clients must present a certificate signed by this CA.
    tls_client_ca_file: Path | None = None
    max_receive_message_bytes: int = 4 * 1024 * 1024
    max_send_message_bytes: int = 64 * 1024 * 1024
    # Per API key (token bucket, in-process); 0 = no limit. A key's own rate_per_second wins.
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100
    # Calls with a missing or invalid key, per peer address (token bucket, in-process); past it the
    # address is refused for a while, whatever key it sends. 0 = no limit.
    auth_failures_per_second: float = 1.0
    auth_failures_burst: int = 20
    # Connections a server process holds at once; the ones past it are closed as they arrive, so a
    # flood of connections cannot take every file descriptor the process has.
    max_connections: int = 1000
    # A connection that has not finished its (TLS) handshake and sent its HTTP/2 settings within this
    # time is closed (gRPC's own default is 120 s).
    handshake_timeout_seconds: float = 10.0
    # A connection without a call for this long is closed (GOAWAY; clients reconnect on their next
    # call). 0: never.
    connection_idle_seconds: float = 300.0
    max_watches_per_key: int = 10
    # 0 = keep labels' personal data forever; N = erase names, addresses, phones, e-mails N days on.
    label_retention_days: int = 0
    label_purge_interval_seconds: float = 3600.0
    # HOST:PORT for Prometheus metrics (/metrics); unset = no metrics endpoint.
    metrics_addr: str = ""
    # How often the rate table files are checked for changes (reload); 0 = only on SIGHUP.
    tables_poll_seconds: float = 5.0
    # OpenTelemetry tracing: the OTLP/HTTP collector (http(s)://HOST:PORT, to which /v1/traces is
    # added, or the full URL of its traces path); empty = no tracing. And the service.name spans carry.
    otlp_endpoint: str = ""
    otlp_service_name: str = "kokokara-shipping"
    # --- scale-out ---
    # A Redis Cluster for the tracking cache and its locks instead of one Redis: ((host, port), ...),
    # some or all of its nodes (the rest are discovered). Exclusive with redis_url.
    redis_cluster_nodes: tuple[tuple[str, int], ...] = ()
    # Plaintext HOST:PORT serving only the gRPC health service, for Kubernetes' grpc probes (which
    # cannot do TLS or API keys). Empty: health is served on the main address only.
    health_addr: str = ""
    # Connections older than this are closed (GOAWAY, after letting calls finish within
    # grace_seconds), so clients re-resolve the headless Service and spread over new replicas.
    # 0: never.
    max_connection_age_seconds: float = 0.0
    # --- serving ---
    # Worker processes server.py runs behind one port (each loads the tables once); default: one per core.
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # SO_REUSEPORT on the listening socket, so several processes can bind one port. server.py turns
    # it on in its workers when it runs more than one; off, a second server on a taken port fails.
    reuse_port: bool = False
    # Each worker pinned to one allowed CPU of its own: "true", "false", or "auto" (pinned when there
    # is one worker per allowed CPU; kokokara/shipping/server/affinity.py says why).
    pin_cpus: str = "auto"
    # --- packing plans ---
    # The boxes PlanShipment packs into when a request brings none (data/boxes/README.md).
    box_catalogue_file: Path = DEFAULT_BOX_CATALOGUE_FILE
    # How long one plan's search may take when the request does not say; then the best plan so far.
    plan_budget_ms: int = 50
    # The share of a box's inner volume its items may fill (docs/packing.md, "The fit test").
    plan_fill_factor: float = 0.85
    # --- watched parcels and webhooks ---
    # Watch every label CreateLabel issues (order reference: the label's request_id).
    watch_labels: bool = False
    # JSON list of {"id", "url", "secret"}: webhook endpoints besides those created over the API.
    webhook_endpoints_file: Path | None = None
    # Webhooks to loopback, private, link-local (cloud metadata) addresses: refused unless true.
    webhook_allow_private_addresses: bool = False
    # Run the poller and the webhook sender in this process (false: serve the RPCs only).
    watch_worker: bool = True
    # The share of the carrier rate limit (tracking_rate_per_second) the poller may use, fleet-wide.
    watch_poll_share: float = 0.5
    # A new watched parcel is first polled within this many seconds.
    watch_first_poll_seconds: float = 60.0
    # Webhooks: the first retry after this, doubling up to an hour; dead after the retry window.
    webhook_first_retry_seconds: float = 10.0
    webhook_retry_window_seconds: float = 86400.0
    webhook_timeout_seconds: float = 10.0
    # --- JSON over HTTP (the Connect protocol) and the console ---
    # HOST:PORT the first worker serves the JSON API and the console on (HTTP/1.1 and h2c); empty:
    # no HTTP side. from_env defaults to DEFAULT_HTTP_ADDR; a Settings built in code has it off.
    http_addr: str = ""
    # Origins (scheme://host[:port]) whose pages may call the JSON API from a browser (CORS); empty:
    # none, no CORS headers at all.
    http_cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            listen_addr=env.get("SHIPPING_LISTEN_ADDR", d.listen_addr),
            tables_dir=Path(env.get("SHIPPING_TABLES_DIR", str(d.tables_dir))),
            consolidation_file=Path(env.get("SHIPPING_CONSOLIDATION_FILE", str(d.consolidation_file))),
            handling_days=_int(env, "SHIPPING_HANDLING_DAYS", d.handling_days, lo=0, hi=60),
            grpc_threads=_int(env, "SHIPPING_GRPC_THREADS", d.grpc_threads, lo=1, hi=1024),
            compute_threads=_int(env, "SHIPPING_COMPUTE_THREADS", d.compute_threads, lo=1, hi=1024),
            max_watches=_int(env, "SHIPPING_MAX_WATCHES", d.max_watches, lo=1, hi=10_000),
            grace_seconds=float(_int(env, "SHIPPING_GRACE_SECONDS", int(d.grace_seconds), lo=0, hi=600)),
            log_level=env.get("SHIPPING_LOG_LEVEL", d.log_level).upper(),
            log_requests=_bool(env, "SHIPPING_LOG_REQUESTS", d.log_requests),
            quote_kernel=_bool(env, "SHIPPING_QUOTE_KERNEL", d.quote_kernel),
            database_path=Path(env.get("SHIPPING_DATABASE_PATH", str(d.database_path))),
            database_url=_database_url(env),
            database_retry_max_seconds=_float(env, "SHIPPING_DATABASE_RETRY_MAX_SECONDS", d.database_retry_max_seconds, lo=0.1, hi=3600),
            s10_ranges_file=Path(env.get("SHIPPING_S10_RANGES_FILE", str(d.s10_ranges_file))),
            cn23_threshold_jpy=_int(env, "SHIPPING_CN23_THRESHOLD_JPY", d.cn23_threshold_jpy, lo=1, hi=10_000_000),
            **_tracking_from_env(env, d),
            **_security_from_env(env, d),
            **_scale_from_env(env, d),
            **_serving_from_env(env, d),
            **_packing_from_env(env, d),
            **_telemetry_from_env(env, d),
            **_watch_from_env(env, d),
            **_http_from_env(env),
        )


DEFAULT_HTTP_ADDR = "127.0.0.1:8080"
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def _http_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """SHIPPING_HTTP_ADDR (empty: off) and SHIPPING_HTTP_CORS_ORIGINS (comma-separated origins)."""
    addr = env.get("SHIPPING_HTTP_ADDR", DEFAULT_HTTP_ADDR).strip()
    host, sep, port = addr.rpartition(":")
    if addr and not (sep and host and port.isdigit() and int(port) <= 65535):
        raise SettingsError(f"SHIPPING_HTTP_ADDR must be HOST:PORT (or empty for no HTTP side), got {addr!r}")
    origins = tuple(o.strip().rstrip("/") for o in env.get("SHIPPING_HTTP_CORS_ORIGINS", "").split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise SettingsError(f"SHIPPING_HTTP_CORS_ORIGINS: {origin!r} is not an origin such as https://shop.example.com (scheme, host, optional port)")
    return {"http_addr": addr, "http_cors_origins": origins}


_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _database_url(env: Mapping[str, str]) -> str:
    """SHIPPING_DATABASE_URL, checked enough that the database driver never has to reject it: its
    messages quote the value, password included. Ours never show it."""
    raw = env.get("SHIPPING_DATABASE_URL", "").strip()
    if not raw:
        return ""
    problem = _postgres_url_problem(raw)
    if problem:
        raise SettingsError(
            f"SHIPPING_DATABASE_URL {problem}; expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (the value is not shown: it may hold a password)"
        )
    return raw


def _postgres_url_problem(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres"):
        return "must be a URL starting with postgresql://"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "must not contain spaces or control characters (percent-encode them)"
    if _BAD_PERCENT.search(url):
        return "has a % that is not followed by two hexadecimal digits (write %25 for a % sign)"
    parts = urlsplit(url)
    if "," not in parts.netloc:  # several hosts (host1:5432,host2:5432) are libpq's to check
        try:
            port = parts.port
        except ValueError:
            return "has a port that is not a number from 1 to 65535"
        if port == 0:
            return "has a port that is not a number from 1 to 65535"
    return ""


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name, "").strip()
    return Path(raw) if raw else None


def _security_from_env(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """Security and operations settings."""
    cert, key = _path(env, "SHIPPING_TLS_CERT_FILE"), _path(env, "SHIPPING_TLS_KEY_FILE")
    client_ca = _path(env, "SHIPPING_TLS_CLIENT_CA_FILE")
    if (cert is None) != (key is None):
        raise SettingsError("SHIPPING_TLS_CERT_FILE and SHIPPING_TLS_KEY_FILE must be set together")
    if client_ca is not None and cert is None:
        raise SettingsError("SHIPPING_TLS_CLIENT_CA_FILE needs SHIPPING_TLS_CERT_FILE and SHIPPING_TLS_KEY_FILE (mutual TLS is TLS first)")
    metrics_addr = env.get("SHIPPING_METRICS_ADDR", d.metrics_addr).strip()
    if metrics_addr and not metrics_addr.rpartition(":")[2].isdigit():
        raise SettingsError(f"SHIPPING_METRICS_ADDR must be HOST:PORT, got {metrics_addr!r}")
    mib = 1024 * 1024
    return {
        "api_keys_file": _path(env, "SHIPPING_API_KEYS_FILE"),
        "reflection": _bool(env, "SHIPPING_REFLECTION", d.reflection),
        "tls_cert_file": cert,
        "tls_key_file": key,
        "tls_client_ca_file": client_ca,
        "max_receive_message_bytes": _int(env, "SHIPPING_MAX_RECEIVE_MESSAGE_BYTES", d.max_receive_message_bytes, lo=1024, hi=1024 * mib),
        "max_send_message_bytes": _int(env, "SHIPPING_MAX_SEND_MESSAGE_BYTES", d.max_send_message_bytes, lo=1024, hi=1024 * mib),
        "rate_limit_per_second": _float(env, "SHIPPING_RATE_LIMIT_PER_SECOND", d.rate_limit_per_second, lo=0, hi=1_000_000),
        "rate_limit_burst": _int(env, "SHIPPING_RATE_LIMIT_BURST", d.rate_limit_burst, lo=1, hi=1_000_000),
        "auth_failures_per_second": _float(env, "SHIPPING_AUTH_FAILURES_PER_SECOND", d.auth_failures_per_second, lo=0, hi=1_000_000),
        "auth_failures_burst": _int(env, "SHIPPING_AUTH_FAILURES_BURST", d.auth_failures_burst, lo=1, hi=1_000_000),
        "max_connections": _int(env, "SHIPPING_MAX_CONNECTIONS", d.max_connections, lo=1, hi=1_000_000),
        "handshake_timeout_seconds": _float(env, "SHIPPING_HANDSHAKE_TIMEOUT_SECONDS", d.handshake_timeout_seconds, lo=0.1, hi=600),
        "connection_idle_seconds": _float(env, "SHIPPING_CONNECTION_IDLE_SECONDS", d.connection_idle_seconds, lo=0, hi=30 * 86400),
        "max_watches_per_key": _int(env, "SHIPPING_MAX_WATCHES_PER_KEY", d.max_watches_per_key, lo=1, hi=100_000),
        "label_retention_days": _int(env, "SHIPPING_LABEL_RETENTION_DAYS", d.label_retention_days, lo=0, hi=100 * 365),
        "label_purge_interval_seconds": _float(env, "SHIPPING_LABEL_PURGE_INTERVAL_SECONDS", d.label_purge_interval_seconds, lo=1, hi=7 * 86400),
        "metrics_addr": metrics_addr,
        "tables_poll_seconds": _float(env, "SHIPPING_TABLES_POLL_SECONDS", d.tables_poll_seconds, lo=0, hi=86400),
    }


def _tracking_from_env(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """The tracking settings; SHIPPING_<FIELD> for each field, e.g. SHIPPING_REDIS_URL."""
    url = env.get("SHIPPING_TRACKING_BASE_URL", d.tracking_base_url).strip()
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"SHIPPING_TRACKING_BASE_URL must be an http(s) URL, got {url!r}")
    redis_url = env.get("SHIPPING_REDIS_URL", d.redis_url).strip()
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"SHIPPING_REDIS_URL must be a redis:// URL, got {redis_url!r}")
    return {
        "tracking_base_url": url,
        "redis_url": redis_url,
        "redis_key_prefix": env.get("SHIPPING_REDIS_KEY_PREFIX", d.redis_key_prefix),
        "redis_timeout_seconds": _float(env, "SHIPPING_REDIS_TIMEOUT_SECONDS", d.redis_timeout_seconds, lo=0.01, hi=60),
        "redis_probe_seconds": _float(env, "SHIPPING_REDIS_PROBE_SECONDS", d.redis_probe_seconds, lo=0.01, hi=3600),
        "tracking_connect_timeout_seconds": _float(env, "SHIPPING_TRACKING_CONNECT_TIMEOUT_SECONDS", d.tracking_connect_timeout_seconds, lo=0.01, hi=120),
        "tracking_read_timeout_seconds": _float(env, "SHIPPING_TRACKING_READ_TIMEOUT_SECONDS", d.tracking_read_timeout_seconds, lo=0.01, hi=300),
        "tracking_fetch_timeout_seconds": _float(env, "SHIPPING_TRACKING_FETCH_TIMEOUT_SECONDS", d.tracking_fetch_timeout_seconds, lo=0.1, hi=300),
        "tracking_threads": _int(env, "SHIPPING_TRACKING_THREADS", d.tracking_threads, lo=1, hi=1024),
        "tracking_carrier_workers": _int(env, "SHIPPING_TRACKING_CARRIER_WORKERS", d.tracking_carrier_workers, lo=1, hi=256),
        "tracking_carrier_queue": _int(env, "SHIPPING_TRACKING_CARRIER_QUEUE", d.tracking_carrier_queue, lo=0, hi=10_000),
        "tracking_stale_wait_seconds": _float(env, "SHIPPING_TRACKING_STALE_WAIT_SECONDS", d.tracking_stale_wait_seconds, lo=0, hi=60),
        "tracking_max_page_bytes": _int(env, "SHIPPING_TRACKING_MAX_PAGE_BYTES", d.tracking_max_page_bytes, lo=1024, hi=100_000_000),
        "tracking_retries": _int(env, "SHIPPING_TRACKING_RETRIES", d.tracking_retries, lo=0, hi=10),
        "tracking_rate_per_second": _float(env, "SHIPPING_TRACKING_RATE_PER_SECOND", d.tracking_rate_per_second, lo=0.001, hi=10_000),
        "tracking_rate_burst": _int(env, "SHIPPING_TRACKING_RATE_BURST", d.tracking_rate_burst, lo=1, hi=10_000),
        "tracking_breaker_failures": _int(env, "SHIPPING_TRACKING_BREAKER_FAILURES", d.tracking_breaker_failures, lo=1, hi=1000),
        "tracking_breaker_reset_seconds": _float(env, "SHIPPING_TRACKING_BREAKER_RESET_SECONDS", d.tracking_breaker_reset_seconds, lo=0.1, hi=86400),
        "tracking_ttl_final_seconds": _int(env, "SHIPPING_TRACKING_TTL_FINAL_SECONDS", d.tracking_ttl_final_seconds, lo=1, hi=90 * 86400),
        "tracking_ttl_transit_seconds": _int(env, "SHIPPING_TRACKING_TTL_TRANSIT_SECONDS", d.tracking_ttl_transit_seconds, lo=1, hi=7 * 86400),
        "tracking_ttl_delivery_day_seconds": _int(env, "SHIPPING_TRACKING_TTL_DELIVERY_DAY_SECONDS", d.tracking_ttl_delivery_day_seconds, lo=1, hi=86400),
        "tracking_ttl_not_found_seconds": _int(env, "SHIPPING_TRACKING_TTL_NOT_FOUND_SECONDS", d.tracking_ttl_not_found_seconds, lo=1, hi=86400),
        "tracking_ttl_jitter": _float(env, "SHIPPING_TRACKING_TTL_JITTER", d.tracking_ttl_jitter, lo=0, hi=0.5),
        "tracking_stale_keep_seconds": _int(env, "SHIPPING_TRACKING_STALE_KEEP_SECONDS", d.tracking_stale_keep_seconds, lo=0, hi=365 * 86400),
        "tracking_cache_max_entries": _int(env, "SHIPPING_TRACKING_CACHE_MAX_ENTRIES", d.tracking_cache_max_entries, lo=1, hi=100_000_000),
        "tracking_batch_workers": _int(env, "SHIPPING_TRACKING_BATCH_WORKERS", d.tracking_batch_workers, lo=1, hi=100),
        "tracking_watch_max_seconds": _int(env, "SHIPPING_TRACKING_WATCH_MAX_SECONDS", d.tracking_watch_max_seconds, lo=1, hi=30 * 86400),
    }


def _scale_from_env(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """Scale-out settings: SHIPPING_REDIS_CLUSTER_NODES=host:port,host:port,..."""
    raw = env.get("SHIPPING_REDIS_CLUSTER_NODES", "").strip()
    if not raw:
        return {"redis_cluster_nodes": d.redis_cluster_nodes, **_scale_server_from_env(env, d)}
    if env.get("SHIPPING_REDIS_URL", "").strip():
        raise SettingsError("set SHIPPING_REDIS_URL (one Redis) or SHIPPING_REDIS_CLUSTER_NODES (a Redis Cluster), not both")
    nodes = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        host = host.strip("[]")  # [::1]:7000
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"SHIPPING_REDIS_CLUSTER_NODES must be host:port,host:port,...; {entry!r} is not host:port")
        nodes.append((host, int(port)))
    prefix = env.get("SHIPPING_REDIS_KEY_PREFIX", d.redis_key_prefix)
    if "{" in prefix or "}" in prefix:
        raise SettingsError("SHIPPING_REDIS_KEY_PREFIX must not contain braces on a Redis Cluster (they would put every key in one hash slot)")
    return {"redis_cluster_nodes": tuple(nodes), **_scale_server_from_env(env, d)}


def _scale_server_from_env(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """Scale-out settings of the server itself."""
    health_addr = env.get("SHIPPING_HEALTH_ADDR", d.health_addr).strip()
    if health_addr and not health_addr.rpartition(":")[2].isdigit():
        raise SettingsError(f"SHIPPING_HEALTH_ADDR must be HOST:PORT, got {health_addr!r}")
    return {
        "health_addr": health_addr,
        "max_connection_age_seconds": _float(env, "SHIPPING_MAX_CONNECTION_AGE_SECONDS", d.max_connection_age_seconds, lo=0, hi=30 * 86400),
    }


def _serving_from_env(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """Multi-process serving: SHIPPING_WORKERS, SHIPPING_REUSE_PORT, SHIPPING_PIN_CPUS."""
    return {
        "workers": _int(env, "SHIPPING_WORKERS", d.workers, lo=1, hi=256),
        "reuse_port": _bool(env, "SHIPPING_REUSE_PORT", d.reuse_port),
        "pin_cpus": _pin_cpus(env, d.pin_cpus),
    }


def _packing_from_env(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """Packing plans: SHIPPING_BOX_CATALOGUE_FILE, SHIPPING_PLAN_BUDGET_MS, SHIPPING_PLAN_FILL_FACTOR."""
    return {
        "box_catalogue_file": Path(env.get("SHIPPING_BOX_CATALOGUE_FILE", str(d.box_catalogue_file))),
        "plan_budget_ms": _int(env, "SHIPPING_PLAN_BUDGET_MS", d.plan_budget_ms, lo=1, hi=10_000),
        "plan_fill_factor": _float(env, "SHIPPING_PLAN_FILL_FACTOR", d.plan_fill_factor, lo=0.05, hi=1.0),
    }


def _telemetry_from_env(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """Tracing: SHIPPING_OTLP_ENDPOINT, SHIPPING_OTLP_SERVICE_NAME."""
    endpoint = env.get("SHIPPING_OTLP_ENDPOINT", d.otlp_endpoint).strip()
    if endpoint and not (endpoint.startswith(("http://", "https://")) and urlsplit(endpoint).hostname):
        raise SettingsError(f"SHIPPING_OTLP_ENDPOINT must be an http(s) URL of an OTLP/HTTP collector, e.g. http://otel-collector:4318, got {endpoint!r}")
    name = env.get("SHIPPING_OTLP_SERVICE_NAME", d.otlp_service_name).strip()
    if not name:
        raise SettingsError("SHIPPING_OTLP_SERVICE_NAME must not be empty")
    return {"otlp_endpoint": endpoint, "otlp_service_name": name}


def _watch_from_env(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """Watched parcels and webhooks: SHIPPING_WATCH_*, SHIPPING_WEBHOOK_*."""
    return {
        "watch_labels": _bool(env, "SHIPPING_WATCH_LABELS", d.watch_labels),
        "webhook_endpoints_file": _path(env, "SHIPPING_WEBHOOK_ENDPOINTS_FILE"),
        "webhook_allow_private_addresses": _bool(env, "SHIPPING_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", d.webhook_allow_private_addresses),
        "watch_worker": _bool(env, "SHIPPING_WATCH_WORKER", d.watch_worker),
        "watch_poll_share": _float(env, "SHIPPING_WATCH_POLL_SHARE", d.watch_poll_share, lo=0.01, hi=1.0),
        "watch_first_poll_seconds": _float(env, "SHIPPING_WATCH_FIRST_POLL_SECONDS", d.watch_first_poll_seconds, lo=0.01, hi=3600),
        "webhook_first_retry_seconds": _float(env, "SHIPPING_WEBHOOK_FIRST_RETRY_SECONDS", d.webhook_first_retry_seconds, lo=0.01, hi=3600),
        "webhook_retry_window_seconds": _float(env, "SHIPPING_WEBHOOK_RETRY_WINDOW_SECONDS", d.webhook_retry_window_seconds, lo=1, hi=30 * 86400),
        "webhook_timeout_seconds": _float(env, "SHIPPING_WEBHOOK_TIMEOUT_SECONDS", d.webhook_timeout_seconds, lo=0.1, hi=120),
    }


def _pin_cpus(env: Mapping[str, str], default: str) -> str:
    raw = env.get("SHIPPING_PIN_CPUS", "").strip().lower()
    if raw == "":
        return default
    if raw == "auto":
        return "auto"
    try:
        return "true" if _bool(env, "SHIPPING_PIN_CPUS", False) else "false"
    except SettingsError:
        raise SettingsError(f"SHIPPING_PIN_CPUS must be auto, true or false, got {env['SHIPPING_PIN_CPUS']!r}") from None


def _float(env: Mapping[str, str], name: str, default: float, *, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")
