"""Calls the gRPC handlers in-process for the HTTP side: the same servicers behind the same
interceptors (keys, roles, limits, logging, metrics, error mapping) as a gRPC call.

The composition root hands over the interceptors the gRPC server runs and the generic handlers the
servicers were registered with (kokokara/shipping/server/registration.py); `Bridge.call` resolves a method
through them exactly as grpcio does and runs the handler with a ServicerContext of its own. A status
the error-mapping point aborts with comes back as `CallFailed`, holding the google.rpc.Status with
its ErrorInfo and BadRequest details, which the Connect side sends as they are.

Request bodies reach the chain undecoded, as gRPC requests do: JSON is parsed into the message
inside the call (after the caller is authenticated), and JSON that is no such message is
INVALID_ARGUMENT, MALFORMED_REQUEST, with a BadRequest naming `request`, mapped, logged and counted
by the one error-mapping point like any other bad request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import grpc
from google.protobuf import json_format, symbol_database
from google.protobuf.message import Message
from google.rpc import status_pb2

from domain.errors import FieldViolation, InvalidArgument
from kokokara.shipping.server.http.jsondec import decoder_for

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class Body:
    """A request as it came over HTTP: JSON (`json=True`) or the binary protobuf encoding."""

    data: bytes
    json: bool


class CallFailed(Exception):
    """The call ended with a non-OK status (the google.rpc.Status the error-mapping point sent)."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


class Metadatum(NamedTuple):
    """One metadata entry as grpcio hands it to interceptors: a pair, with `key` and `value` by name
    (OpenTelemetry's interceptor reads them so)."""

    key: str
    value: str


class _HandlerCallDetails(grpc.HandlerCallDetails):
    __slots__ = ("invocation_metadata", "method")

    def __init__(self, method: str, metadata: tuple[tuple[str, str], ...]) -> None:
        self.method = method
        self.invocation_metadata = metadata


class LocalContext(grpc.ServicerContext):
    """The ServicerContext of one HTTP call: its metadata (the HTTP headers), its peer and its
    deadline (Connect-Timeout-Ms). Aborting raises CallFailed."""

    def __init__(self, metadata: tuple[tuple[str, str], ...], peer: str, timeout_seconds: float | None) -> None:
        self._metadata = metadata
        self._peer = peer
        self._deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self._active = True
        self._callbacks: list[Callable[[], None]] = []

    # -- what the servicers and interceptors read ---------------------------------------------
    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:  # type: ignore[override]
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def time_remaining(self) -> float:  # type: ignore[override]
        return 1e9 if self._deadline is None else self._deadline - time.monotonic()

    def is_active(self) -> bool:
        return self._active and self.time_remaining() > 0

    def code(self) -> grpc.StatusCode | None:  # type: ignore[override]
        return self._code

    def details(self) -> str:  # type: ignore[override]
        return self._details

    # -- ending the call ---------------------------------------------------------------------
    def abort(self, code: grpc.StatusCode, details: str) -> None:  # type: ignore[override]
        self._code = code
        raise CallFailed(status_pb2.Status(code=code.value[0], message=details))

    def abort_with_status(self, status: grpc.Status) -> None:  # type: ignore[override]
        self._code = status.code
        for key, value in status.trailing_metadata or ():
            if key == STATUS_DETAILS_KEY:
                raise CallFailed(status_pb2.Status.FromString(value))
        raise CallFailed(status_pb2.Status(code=status.code.value[0], message=status.details))

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def cancel(self) -> None:
        self._active = False
        for callback in self._callbacks:
            callback()

    def add_callback(self, callback: Callable[[], None]) -> bool:  # type: ignore[override]
        self._callbacks.append(callback)
        return True

    # -- not used by this service's handlers -------------------------------------------------
    def set_trailing_metadata(self, trailing_metadata: Any) -> None:
        pass

    def send_initial_metadata(self, initial_metadata: Any) -> None:
        pass

    def set_compression(self, compression: Any) -> None:
        pass

    def disable_next_message_compression(self) -> None:
        pass

    def auth_context(self) -> dict:  # type: ignore[override]
        return {}

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def trailing_metadata(self) -> None:
        return None


def to_wire(body: Body, message_type: type[Message]) -> bytes:
    """The request's protobuf bytes: JSON is parsed strictly (unknown fields, wrong types and
    malformed JSON are INVALID_ARGUMENT naming `request`), binary passes as it is."""
    if not body.json:
        return body.data
    fast = decoder_for(message_type)(body.data) if body.data else None
    if fast is not None:
        return fast
    message = message_type()
    try:
        json_format.Parse(body.data or b"{}", message)
    except json_format.ParseError as error:
        reason = str(error).split("\n", 1)[0].rstrip(".")  # json_format goes on to list every field
        raise InvalidArgument(
            [FieldViolation("request", f"is not a valid JSON {message_type.DESCRIPTOR.name}: {reason}")], reason="MALFORMED_REQUEST"
        ) from None
    except (ValueError, RecursionError) as error:  # undecodable bytes, JSON nested too deep
        raise InvalidArgument([FieldViolation("request", f"is not valid JSON: {type(error).__name__}")], reason="MALFORMED_REQUEST") from None
    return message.SerializeToString()


def _parsing_json(behaviour: Callable[..., Any], request_type: type[Message]) -> Callable[..., Any]:
    """`behaviour`, which takes wire bytes, given the HTTP body."""

    def parsed(body: Body, context: grpc.ServicerContext) -> Any:
        return behaviour(to_wire(body, request_type), context)

    return parsed


_UNRESOLVED = object()


class Bridge:
    """Resolves and runs gRPC handlers in-process, through the server's interceptors."""

    def __init__(self, interceptors: Sequence[grpc.ServerInterceptor], handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._interceptors = tuple(interceptors)
        self._handlers = tuple(handlers)
        self._types: dict[str, tuple[type[Message], type[Message]]] = {}
        self._resolved: dict[str, object] = {}

    def message_types(self, method: str) -> tuple[type[Message], type[Message]]:
        """(request type, response type) of a full method name /package.Service/Method."""
        types = self._types.get(method)
        if types is None:
            service_name, _, name = method.strip("/").rpartition("/")
            pool = symbol_database.Default().pool
            descriptor = pool.FindServiceByName(service_name).methods_by_name[name]
            db = symbol_database.Default()
            types = self._types[method] = (db.GetSymbol(descriptor.input_type.full_name), db.GetSymbol(descriptor.output_type.full_name))
        return types

    def _lookup(self, details: grpc.HandlerCallDetails, request_type: type[Message]) -> grpc.RpcMethodHandler | None:
        """The innermost continuation: the registered handler, given the HTTP body turned into wire bytes."""
        for generic in self._handlers:
            handler = generic.service(details)
            if handler is None:
                continue
            if handler.unary_unary is not None:
                return grpc.unary_unary_rpc_method_handler(_parsing_json(handler.unary_unary, request_type))
            if handler.unary_stream is not None:
                return grpc.unary_stream_rpc_method_handler(_parsing_json(handler.unary_stream, request_type))
            return None  # client streaming: this service has none
        return None

    def resolve(self, method: str, metadata: tuple[tuple[str, str], ...]) -> grpc.RpcMethodHandler | None:
        """The handler grpcio would run for this call, interceptors included (outermost first).

        Resolved once per method: this service's interceptors (PoolRouter, ServingInterceptor,
        GuardInterceptor) choose a handler by the method alone and read the caller's metadata inside
        the call, from its context, so one handler serves every call of a method."""
        handler = self._resolved.get(method, _UNRESOLVED)
        if handler is _UNRESOLVED:
            handler = self._resolved[method] = self._resolve(method, metadata)
        return handler  # type: ignore[return-value]

    def _resolve(self, method: str, metadata: tuple[tuple[str, str], ...]) -> grpc.RpcMethodHandler | None:
        request_type = self.message_types(method)[0]

        def continuation_at(i: int) -> Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None]:
            if i == len(self._interceptors):
                return lambda details: self._lookup(details, request_type)
            interceptor = self._interceptors[i]
            after = continuation_at(i + 1)
            return lambda details: interceptor.intercept_service(after, details)

        return continuation_at(0)(_HandlerCallDetails(method, metadata))

    def call(self, method: str, body: Body, context: LocalContext) -> Any:
        """Runs a unary call: the response (a message, or its wire bytes), or raises CallFailed."""
        handler = self.resolve(method, context.invocation_metadata())
        if handler is None or handler.unary_unary is None:
            raise CallFailed(status_pb2.Status(code=grpc.StatusCode.UNIMPLEMENTED.value[0], message=f"no unary method {method}"))
        return handler.unary_unary(body, context)

    def stream(self, method: str, body: Body, context: LocalContext) -> Iterator[Any]:
        """Runs a server-streaming call: its responses; a failure raises CallFailed."""
        handler = self.resolve(method, context.invocation_metadata())
        if handler is None or handler.unary_stream is None:
            raise CallFailed(status_pb2.Status(code=grpc.StatusCode.UNIMPLEMENTED.value[0], message=f"no streaming method {method}"))
        return handler.unary_stream(body, context)  # type: ignore[no-any-return]

    def pool_for(self, method: str, metadata: tuple[tuple[str, str], ...]) -> Any:
        """The thread pool the gRPC server runs this method on (PoolRouter), or None for its own."""
        handler = self.resolve(method, metadata)
        behaviour = handler and (handler.unary_unary or handler.unary_stream)
        return getattr(behaviour, "experimental_thread_pool", None)
