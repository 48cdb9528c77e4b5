"""Registers a servicer for a proto service: every request arrives as wire bytes and is parsed
here, in one place, and methods may answer with pre-serialised bytes.

Requests: grpcio is given no deserializer for any method. When grpcio deserialises a request itself
and the bytes are not a message, it answers INTERNAL "Exception deserializing request!", logs a
traceback, skips the interceptors (so the call is missing from the request log and the metrics),
and keeps about 19 KB of the process's memory for good (20,000 such calls, unauthenticated, grew a
worker by 375 MiB; tests/processes/test_hostile_input.py). Here the bytes reach the interceptors like any
request, so the caller is authenticated first, and are parsed by parse_request inside the call:
bytes that are no message are INVALID_ARGUMENT, MALFORMED_REQUEST, with a BadRequest naming
`request`, mapped, logged and counted by the one error-mapping point, and cost nothing.

The servicer still receives the parsed message, except for the methods it lists in RAW_REQUESTS
(e.g. RateServicer's quotes, read by the compiled quote kernel): those get the bytes and call
parse_request themselves when they need the message.

Responses: the generated add_*Servicer_to_server functions serialise every response with the
message's SerializeToString. Servicers that build their responses as wire bytes
(kokokara/shipping/server/fast/wire.py) need those bytes passed through as they are; messages are serialised as
usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc
from google.protobuf import descriptor, symbol_database
from google.protobuf.message import DecodeError, Message

from domain.errors import FieldViolation, InvalidArgument

RequestT = TypeVar("RequestT", bound=Message)


def parse_request(message_type: type[RequestT], data: bytes) -> RequestT:
    """A request message from its wire bytes; bytes that are not one are INVALID_ARGUMENT."""
    try:
        return message_type.FromString(data)
    except DecodeError:
        raise InvalidArgument([FieldViolation("request", "is not a valid serialised message")], reason="MALFORMED_REQUEST") from None


def _serialize(message: Any) -> bytes:
    if isinstance(message, bytes):
        return message
    data: bytes = message.SerializeToString()
    return data


def _parsing(behaviour: Callable[..., Any], request_type: type[Message], client_streaming: bool) -> Callable[..., Any]:
    """`behaviour` given parsed messages instead of the wire bytes grpcio hands over."""
    if client_streaming:

        def parsed_stream(requests: Iterator[bytes], context: grpc.ServicerContext) -> Any:
            return behaviour((parse_request(request_type, data) for data in requests), context)

        return parsed_stream

    def parsed(request: bytes, context: grpc.ServicerContext) -> Any:
        return behaviour(parse_request(request_type, request), context)

    return parsed


def add_servicer(servicer: object, service: descriptor.ServiceDescriptor, server: grpc.Server) -> grpc.GenericRpcHandler:
    """Adds every method of `service` that `servicer` implements to `server`; returns the handler
    added, which the HTTP side calls through the same interceptors."""
    database = symbol_database.Default()
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    # Methods the servicer reads from their wire bytes (e.g. RateServicer.RAW_REQUESTS): not parsed here.
    raw: frozenset[str] = getattr(servicer, "RAW_REQUESTS", frozenset())
    for method in service.methods:
        behaviour: Callable[..., Any] = getattr(servicer, method.name)
        if method.name not in raw:
            behaviour = _parsing(behaviour, database.GetSymbol(method.input_type.full_name), method.client_streaming)
        if method.client_streaming and method.server_streaming:
            factory = grpc.stream_stream_rpc_method_handler
        elif method.client_streaming:
            factory = grpc.stream_unary_rpc_method_handler
        elif method.server_streaming:
            factory = grpc.unary_stream_rpc_method_handler
        else:
            factory = grpc.unary_unary_rpc_method_handler
        # No request_deserializer: grpcio hands over the bytes (see the module's docstring).
        handlers[method.name] = factory(behaviour, request_deserializer=None, response_serializer=_serialize)
    generic = grpc.method_handlers_generic_handler(service.full_name, handlers)
    server.add_generic_rpc_handlers((generic,))
    return generic
