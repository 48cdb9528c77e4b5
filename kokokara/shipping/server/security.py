"""The server's security set-up from Settings: the keys, the interceptors, TLS, message
size limits, and the rule that a server without keys listens on loopback only.

The composition root (bootstrap.start) calls these; nothing here reads the environment.
"""

from __future__ import annotations

import ipaddress
import logging
import resource
from collections.abc import Callable
from pathlib import Path

import grpc

from domain.errors import StartupError
from kokokara.shipping.server.auth import KeyRing
from kokokara.shipping.server.grpc_metrics import GrpcServerMetrics
from kokokara.shipping.server.guard import GuardInterceptor
from kokokara.shipping.server.interceptors import Observer, ServingInterceptor
from kokokara.shipping.server.settings import Settings

log = logging.getLogger("kokokara.shipping.server.security")


class CannotServe(StartupError, OSError):
    """An address the server cannot listen on, or a file it cannot read (certificates)."""

    exit_code = 4


class InsecureListenError(CannotServe):
    """Refused: no keys file and a listen address other than loopback, without --insecure."""


def host_of(address: str) -> str:
    host = address.rsplit(":", 1)[0] if ":" in address else address
    return host.strip("[]")


def is_loopback(address: str) -> bool:
    host = host_of(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost, or "" (every address)


def check_listen_address(settings: Settings) -> None:
    """Without keys the service is open to anyone who can reach it: loopback only, unless the
    operator said --insecure, which is logged at ERROR on every start."""
    if settings.api_keys_file is None and settings.http_addr and not is_loopback(settings.http_addr) and not settings.insecure:
        raise InsecureListenError(
            f"refusing to serve HTTP on {settings.http_addr} without API keys: set SHIPPING_API_KEYS_FILE,"
            " set SHIPPING_HTTP_ADDR to a loopback address (or empty), or start with --insecure"
        )
    if settings.api_keys_file is not None or is_loopback(settings.listen_addr):
        return
    if not settings.insecure:
        raise InsecureListenError(
            f"refusing to listen on {settings.listen_addr} without API keys: set SHIPPING_API_KEYS_FILE"
            " (see `kokokara-shipping keys add`), listen on 127.0.0.1, or start with --insecure"
        )
    log.error(
        "INSECURE: serving WITHOUT API keys on a non-loopback address; anyone who can reach it may call every RPC",
        extra={"address": settings.listen_addr},
    )


def load_keys(settings: Settings) -> KeyRing | None:
    """The keys of SHIPPING_API_KEYS_FILE (KeysFileError when it cannot be used); None without."""
    if settings.api_keys_file is None:
        return None
    keys = KeyRing.load(settings.api_keys_file)
    log.info("api keys loaded", extra={"keys": len(keys.entries), "file": str(settings.api_keys_file)})
    return keys


def interceptors(
    settings: Settings,
    keys: KeyRing | None,
    observer: Observer | None = None,
    grpc_metrics: GrpcServerMetrics | None = None,
    *,
    trace: Callable[[str], str] | None = None,
) -> list[grpc.ServerInterceptor]:
    """ServingInterceptor first (outermost: it maps, logs and counts whatever the guard refuses)."""
    chain: list[grpc.ServerInterceptor] = [ServingInterceptor(log_requests=settings.log_requests, observer=observer, grpc_metrics=grpc_metrics, trace=trace)]
    if keys is not None:
        chain.append(
            GuardInterceptor(
                keys,
                rate_per_second=settings.rate_limit_per_second,
                burst=settings.rate_limit_burst,
                max_watches_per_key=settings.max_watches_per_key,
                auth_failures_per_second=settings.auth_failures_per_second,
                auth_failures_burst=settings.auth_failures_burst,
            )
        )
    return chain


def grpc_options(settings: Settings) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
        ("grpc.max_send_message_length", settings.max_send_message_bytes),
        *connection_options(settings),
    ]


def connection_options(settings: Settings) -> list[tuple[str, int]]:
    """What one caller's idle connections may take: at most max_connections at once (grpc accepts
    and at once closes the ones past it, so descriptors are never used up), the handshake and the
    client's HTTP/2 settings within handshake_timeout_seconds, and no connection kept without a call
    for longer than connection_idle_seconds. tests/processes/test_connection_flood.py checks that the grpcio
    in use honours all three."""
    options = [
        ("grpc.max_allowed_incoming_connections", settings.max_connections),
        ("grpc.server_handshake_timeout_ms", max(1, int(settings.handshake_timeout_seconds * 1000))),
    ]
    if settings.connection_idle_seconds > 0:
        options.append(("grpc.max_connection_idle_ms", max(1, int(settings.connection_idle_seconds * 1000))))
    return options


# Descriptors a server process needs besides its incoming connections: the listening sockets,
# Redis, PostgreSQL and Japan Post connections, the metrics server, log and database files.
DESCRIPTOR_HEADROOM = 256


def ensure_descriptors(settings: Settings) -> None:
    """Raises the process's soft limit on open files (up to its hard limit) when max_connections
    plus the headroom would not fit, and says so when even the hard limit is too low."""
    needed = settings.max_connections + DESCRIPTOR_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        log.warning(
            "the open-files limit is too low for SHIPPING_MAX_CONNECTIONS: lower it, or raise the limit (ulimit -n)",
            extra={"max_connections": settings.max_connections, "open_files_limit": target, "needed": needed},
        )


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise CannotServe(f"cannot read the {what} {path}: {error.strerror or error}") from None


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials when a certificate is configured (mutual TLS with a client CA), else None."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    pair = (_read(settings.tls_key_file, "TLS key"), _read(settings.tls_cert_file, "TLS certificate"))
    if settings.tls_client_ca_file is None:
        return grpc.ssl_server_credentials([pair])
    ca = _read(settings.tls_client_ca_file, "TLS client CA")
    return grpc.ssl_server_credentials([pair], root_certificates=ca, require_client_auth=True)


def bind(server: grpc.Server, address: str, credentials: grpc.ServerCredentials | None) -> int:
    """Binds the address, with TLS when credentials are given; returns the port (0 on failure)."""
    if credentials is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, credentials)
