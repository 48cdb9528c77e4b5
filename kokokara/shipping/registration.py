"""Registers a servicer for a proto service, letting methods answer with pre-serialised bytes
and, where the servicer asks (RAW_REQUESTS), take their requests as wire bytes.

The generated add_*Servicer_to_server functions serialise every response with the message's
SerializeToString. Servicers that build their responses as wire bytes (kokokara/shipping/wire.py)
need those bytes passed through as they are; messages are serialised as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import descriptor, symbol_database


def _serialize(message: Any) -> bytes:
    if isinstance(message, bytes):
        return message
    data: bytes = message.SerializeToString()
    return data


def add_servicer(servicer: object, service: descriptor.ServiceDescriptor, server: grpc.Server) -> None:
    """Adds every method of `service` that `servicer` implements to `server`."""
    database = symbol_database.Default()
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    # Methods the servicer reads from their wire bytes (e.g. RateServicer.RAW_REQUESTS): no deserializer.
    raw: frozenset[str] = getattr(servicer, "RAW_REQUESTS", frozenset())
    for method in service.methods:
        request_type = database.GetSymbol(method.input_type.full_name)
        behaviour: Callable[..., Any] = getattr(servicer, method.name)
        if method.client_streaming and method.server_streaming:
            factory = grpc.stream_stream_rpc_method_handler
        elif method.client_streaming:
            factory = grpc.stream_unary_rpc_method_handler
        elif method.server_streaming:
            factory = grpc.unary_stream_rpc_method_handler
        else:
            factory = grpc.unary_unary_rpc_method_handler
        deserializer = None if method.name in raw else request_type.FromString
        handlers[method.name] = factory(behaviour, request_deserializer=deserializer, response_serializer=_serialize)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
