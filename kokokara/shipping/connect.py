"""Client-side channels to a kokokara-shipping server, for the command line and the Python client:
plaintext or TLS (with a client certificate for mutual TLS), and the API key sent as
`authorization: Bearer <key>` on every call."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc


@dataclass(frozen=True)
class ClientAuth:
    """How to reach a server. Every field is optional: none set means plaintext without a key."""

    api_key: str | None = None
    tls_ca_file: Path | None = None  # set, or cert/key set: TLS; no CA file uses the system roots
    tls_cert_file: Path | None = None  # with tls_key_file: a client certificate for mutual TLS
    tls_key_file: Path | None = None
    tls: bool = False

    @property
    def uses_tls(self) -> bool:
        return self.tls or any((self.tls_ca_file, self.tls_cert_file, self.tls_key_file))

    @classmethod
    def from_env(cls) -> ClientAuth:
        """SHIPPING_API_KEY, SHIPPING_CLIENT_TLS_CA_FILE, SHIPPING_CLIENT_TLS_CERT_FILE, SHIPPING_CLIENT_TLS_KEY_FILE."""

        def path(name: str) -> Path | None:
            value = os.environ.get(name, "")
            return Path(value) if value else None

        return cls(
            api_key=os.environ.get("SHIPPING_API_KEY") or None,
            tls_ca_file=path("SHIPPING_CLIENT_TLS_CA_FILE"),
            tls_cert_file=path("SHIPPING_CLIENT_TLS_CERT_FILE"),
            tls_key_file=path("SHIPPING_CLIENT_TLS_KEY_FILE"),
        )


class _BearerKey(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the API key to every call of a plaintext channel (gRPC only lets call credentials ride
    on secure channels, and a keyed server may listen without TLS on a private network)."""

    def __init__(self, key: str):
        self._metadata = ("authorization", f"Bearer {key}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(details.metadata or ()), self._metadata]
        return _CallDetails(details.method, details.timeout, metadata, details.credentials, details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details), request)


@dataclass(frozen=True)
class _CallDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: Any
    compression: Any


def open_channel(address: str, auth: ClientAuth | None = None, options: list[tuple[str, Any]] | None = None) -> grpc.Channel:
    """A channel to `address` as `auth` says (plaintext without a key when it is None)."""
    auth = auth or ClientAuth()
    if not auth.uses_tls:
        channel = grpc.insecure_channel(address, options=options)
        return grpc.intercept_channel(channel, _BearerKey(auth.api_key)) if auth.api_key else channel
    if bool(auth.tls_cert_file) != bool(auth.tls_key_file):
        raise ValueError("a client certificate needs both its certificate and its key file")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=auth.tls_ca_file.read_bytes() if auth.tls_ca_file else None,
        private_key=auth.tls_key_file.read_bytes() if auth.tls_key_file else None,
        certificate_chain=auth.tls_cert_file.read_bytes() if auth.tls_cert_file else None,
    )
    if auth.api_key:
        credentials = grpc.composite_channel_credentials(credentials, grpc.access_token_call_credentials(auth.api_key))
    return grpc.secure_channel(address, credentials, options=options)
