"""Helpers for the security tests: keys files with a key per role, servers started with
them, and calls to any RPC by its full name with or without a key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import symbol_database
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.auth import ROLES, new_key, write_entries
from kokokara.shipping.v1 import labels_pb2, rates_pb2, tracking_pb2
from tests.conftest import test_settings
from tests.grpc_support import status_details

SERVICES = [
    rates_pb2.DESCRIPTOR.services_by_name["RateService"],
    labels_pb2.DESCRIPTOR.services_by_name["LabelService"],
    tracking_pb2.DESCRIPTOR.services_by_name["TrackingService"],
]


def every_rpc() -> list[tuple[str, Any, Any, bool]]:
    """(full method name, request class, response class, server streaming) of every RPC we serve."""
    db = symbol_database.Default()
    out = []
    for service in SERVICES:
        for m in service.methods:
            out.append((f"/{service.full_name}/{m.name}", db.GetSymbol(m.input_type.full_name), db.GetSymbol(m.output_type.full_name), m.server_streaming))
    return out


def make_keys(path: Path, **per_key_rate: float) -> dict[str, str]:
    """A keys file with one key per role (caller name `<role>-test`); returns role -> key."""
    keys, entries = {}, []
    for role in ROLES:
        key, entry = new_key(f"{role}-test", role, rate_per_second=per_key_rate.get(role))
        keys[role] = key
        entries.append(entry)
    write_entries(path, entries)
    return keys


@contextmanager
def keyed_service(tmp_path: Path, **overrides: object) -> Iterator[tuple[bootstrap.RunningService, dict[str, str]]]:
    keys_file = tmp_path / "keys.json"
    keys = make_keys(keys_file)
    settings = test_settings(api_keys_file=keys_file, database_path=tmp_path / "labels.sqlite3", **overrides)
    service = bootstrap.start(settings)
    try:
        yield service, keys
    finally:
        service.stop(0)


def auth(key: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),) if key is not None else ()


def call(channel: grpc.Channel, rpc: str, request: Any, response_type: Any, streaming: bool, key: str | None, timeout: float = 10) -> Any:
    """Calls `rpc`; returns the response (or the list of streamed ones), raises grpc.RpcError."""
    if streaming:
        stream = channel.unary_stream(rpc, request_serializer=type(request).SerializeToString, response_deserializer=response_type.FromString)
        return list(stream(request, metadata=auth(key), timeout=timeout))
    unary = channel.unary_unary(rpc, request_serializer=type(request).SerializeToString, response_deserializer=response_type.FromString)
    return unary(request, metadata=auth(key), timeout=timeout)


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    return status_details(error).error_info if status is not None else None


def retry_info(error: grpc.RpcError) -> error_details_pb2.RetryInfo | None:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    return status_details(error).retry_info if status is not None else None
