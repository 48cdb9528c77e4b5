"""The HTTP side as one ASGI application: every v1 RPC as Connect (JSON or binary protobuf, over
HTTP/1.1 and HTTP/2) at /kokokara.shipping.v1.<Service>/<Method>, and the console at /.

The Connect protocol is the `connectrpc` library's (the generated *_connect.py applications); each
method is answered by the gRPC handler itself, through the server's interceptors (bridge.py). A
failed call's google.rpc.Status becomes the Connect error of the same code with the same details
(ErrorInfo, BadRequest, RetryInfo), each also shown as JSON under `debug`.

A plain JSON POST to a method answered on the loop (GetQuote: content-type application/json, no
compression, no Connect timeout) takes a shorter way to the same gRPC handler: read, call, write the
reply as the Connect application would (HttpApp._plain_unary); a failed call and every other request
are written by the Connect application. Per call, the Connect application's generic request handling
(deadline scope, disconnect watch, header and codec negotiation, body as an async generator) cost
about as much as the quote itself.

CORS (SHIPPING_HTTP_CORS_ORIGINS) is off unless origins are configured; the console's pages carry a
strict Content-Security-Policy (no inline script, no other origin).
"""

from __future__ import annotations

import asyncio
import contextvars
import mimetypes
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

from connectrpc.code import Code
from connectrpc.codec import Codec
from connectrpc.errors import ConnectError, ErrorDetail
from google.protobuf import any_pb2, json_format, symbol_database
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.rpc import status_pb2
from protobuf.wkt import Any as PyAny

from kokokara.shipping.server.http.bridge import Body, Bridge, CallFailed, LocalContext, Metadatum
from kokokara.shipping.server.http.jsonenc import encoder_for
from kokokara.shipping.v1 import labels_connect, labels_pb2, rates_connect, rates_pb2, tracking_connect, tracking_pb2

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
# The console's pages: scripts and styles from this origin only, no inline script or style, no
# framing, no plug-ins; the JSON API is called on this origin (connect-src 'self').
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
CORS_ALLOW_HEADERS = b"authorization, content-type, connect-protocol-version, connect-timeout-ms, x-user-agent"
CORS_EXPOSE_HEADERS = b"grpc-status, grpc-message, grpc-status-details-bin"
CORS_MAX_AGE = b"7200"

_CODES = {code.value: code for code in Code}
# Answered on the event loop itself, not handed to a thread: a quote takes microseconds (the quote
# kernel, or about 10 µs in Python), less than the hand-over to a thread and back would cost. Every
# other RPC runs on a thread: the one the gRPC server would use for it, or the HTTP side's own pool.
INLINE_RPCS = frozenset({"/kokokara.shipping.v1.RateService/GetQuote"})

# The outcome of a call the short path (HttpApp._plain_unary) already ran and that failed: the
# Connect application it then hands the request to raises it instead of running the call again.
_RAN: contextvars.ContextVar[BaseException | None] = contextvars.ContextVar("ran", default=None)


# --- codecs: the body reaches the gRPC handler as it came (bridge.to_wire parses it there) ---------


class _JSONCodec(Codec[Any, Any]):
    def name(self) -> str:
        return "json"

    def encode(self, message: Any) -> bytes:
        return encoder_for(type(message).DESCRIPTOR)(message)

    def decode(self, data: bytes | bytearray, message_class: Any) -> Any:
        return Body(bytes(data), True)


class _ProtoCodec(Codec[Any, Any]):
    def name(self) -> str:
        return "proto"

    def encode(self, message: Any) -> bytes:
        return message if isinstance(message, bytes) else message.SerializeToString()

    def decode(self, data: bytes | bytearray, message_class: Any) -> Any:
        return Body(bytes(data), False)


CODECS = [_ProtoCodec(), _JSONCodec()]


# --- errors ---------------------------------------------------------------------------------------


class _Debug:
    """What connectrpc turns into a detail's `debug` JSON (it calls `_to_json_value`)."""

    def __init__(self, packed: any_pb2.Any) -> None:
        self._packed = packed

    def _to_json_value(self, **_: Any) -> Any:
        name = self._packed.type_url.rpartition("/")[2]
        message = symbol_database.Default().GetSymbol(name)()
        self._packed.Unpack(message)
        return json_format.MessageToDict(message)


class _Detail(ErrorDetail):
    """A google.rpc detail (packed as google.protobuf.Any) sent as a Connect error detail."""

    def __init__(self, packed: any_pb2.Any) -> None:
        super().__init__(PyAny(type_url=packed.type_url, value=packed.value))
        self._debug = _Debug(packed)

    def value(self, *_: Any) -> Any:
        return self._debug


def connect_error(status: status_pb2.Status) -> ConnectError:
    """The Connect error for a google.rpc.Status: same code, message and details."""
    name = _grpc_code_name(status.code)
    return ConnectError(_CODES.get(name.lower(), Code.UNKNOWN), status.message, [_Detail(d) for d in status.details])


def _grpc_code_name(number: int) -> str:
    import grpc

    for code in grpc.StatusCode:
        if code.value[0] == number:
            return str(code.name)
    return "UNKNOWN"


# --- the services ---------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _metadata(ctx: Any) -> tuple[tuple[str, str], ...]:
    """The HTTP request headers as gRPC metadata (lower-case names), as the interceptors read it."""
    return tuple(Metadatum(k.lower(), v) for k, v in ctx.request_headers.allitems())


def _peer(client_address: str | None) -> str:
    address = client_address or ""
    host, _, port = address.rpartition(":")
    if not host:
        return "unknown"
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"


class _Service:
    """A Connect service implementation whose every method runs the gRPC handler (bridge.Bridge)."""

    def __init__(self, bridge: Bridge, service: ServiceDescriptor, default_pool: futures.Executor) -> None:
        # the methods answered on the loop, by path: each takes the JSON body and the call's
        # context and returns the reply's JSON text, or raises as the call failed
        self.inline: dict[str, Callable[[Body, LocalContext], bytes]] = {}
        for method in service.methods:
            full = f"/{service.full_name}/{method.name}"
            response_type = bridge.message_types(full)[1]
            call = (
                self._streaming(bridge, full, response_type, default_pool)
                if method.server_streaming
                else self._unary(bridge, full, response_type, default_pool)
            )
            setattr(self, _snake(method.name), call)

    @staticmethod
    def _context(ctx: Any) -> LocalContext:
        timeout_ms = ctx.timeout_ms
        return LocalContext(_metadata(ctx), _peer(ctx.client_address), None if timeout_ms is None else timeout_ms / 1000)

    def _unary(self, bridge: Bridge, method: str, response_type: type[Message], default_pool: futures.Executor) -> Callable[[Body, Any], Awaitable[Any]]:
        inline = method in INLINE_RPCS
        if inline:
            self.inline[method] = self._inline(bridge, method, response_type)

        async def call(request: Body, ctx: Any) -> Any:
            ran = _RAN.get()
            if ran is not None:
                raise connect_error(ran.status) if isinstance(ran, CallFailed) else ran
            context = self._context(ctx)
            try:
                if inline:
                    result = bridge.call(method, request, context)
                else:
                    pool = bridge.pool_for(method, context.invocation_metadata()) or default_pool
                    result = await asyncio.get_running_loop().run_in_executor(pool, bridge.call, method, request, context)
            except CallFailed as failed:
                raise connect_error(failed.status) from None
            if isinstance(result, bytes) and request.json:
                return response_type.FromString(result)
            return result

        return call

    @staticmethod
    def _inline(bridge: Bridge, method: str, response_type: type[Message]) -> Callable[[Body, LocalContext], bytes]:
        encode = encoder_for(response_type.DESCRIPTOR)

        def call(request: Body, context: LocalContext) -> bytes:
            result = bridge.call(method, request, context)
            return encode(response_type.FromString(result) if isinstance(result, bytes) else result)

        return call

    def _streaming(
        self, bridge: Bridge, method: str, response_type: type[Message], default_pool: futures.Executor
    ) -> Callable[[Body, Any], AsyncIterator[Any]]:
        async def stream(request: Body, ctx: Any) -> AsyncIterator[Any]:
            context = self._context(ctx)
            pool = bridge.pool_for(method, context.invocation_metadata()) or default_pool
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=16)

            def pump() -> None:
                try:
                    for item in bridge.stream(method, request, context):
                        asyncio.run_coroutine_threadsafe(queue.put(("item", item)), loop).result()
                    asyncio.run_coroutine_threadsafe(queue.put(("end", None)), loop).result()
                except CallFailed as failed:
                    asyncio.run_coroutine_threadsafe(queue.put(("error", failed.status)), loop).result()
                except Exception as error:  # noqa: BLE001 - handed to the caller
                    asyncio.run_coroutine_threadsafe(queue.put(("crash", error)), loop).result()

            running = loop.run_in_executor(pool, pump)
            try:
                while True:
                    kind, value = await queue.get()
                    if kind == "item":
                        yield response_type.FromString(value) if isinstance(value, bytes) and request.json else value
                    elif kind == "end":
                        return
                    elif kind == "error":
                        raise connect_error(value)
                    else:
                        raise value
            finally:
                context.cancel()  # a caller that went away ends the watch
                while not running.done():
                    try:
                        queue.get_nowait()
                    except asyncio.QueueEmpty:
                        await asyncio.sleep(0.01)

        return stream


# --- the application ------------------------------------------------------------------------------

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class HttpApp:
    """Routes Connect paths to the generated Connect applications, serves the console, adds CORS
    and the pages' security headers."""

    def __init__(self, bridge: Bridge, *, read_max_bytes: int, cors_origins: Sequence[str] = (), default_pool: futures.Executor | None = None) -> None:
        self._pool = default_pool or futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="http-compute")
        self._apps: dict[str, ASGIApp] = {}
        self._inline: dict[str, Callable[[Body, LocalContext], bytes]] = {}
        self._read_max_bytes = read_max_bytes
        for _module, pb2, name, app_class in (
            (rates_connect, rates_pb2, "RateService", rates_connect.RateServiceASGIApplication),
            (labels_connect, labels_pb2, "LabelService", labels_connect.LabelServiceASGIApplication),
            (tracking_connect, tracking_pb2, "TrackingService", tracking_connect.TrackingServiceASGIApplication),
        ):
            descriptor = pb2.DESCRIPTOR.services_by_name[name]
            service = _Service(bridge, descriptor, self._pool)
            self._inline.update(service.inline)
            app = app_class(service, codecs=CODECS, read_max_bytes=read_max_bytes)  # type: ignore[arg-type]
            self._apps[f"/{descriptor.full_name}/"] = app  # type: ignore[assignment]
        self._cors = frozenset(cors_origins)

    def close(self) -> None:
        self._pool.shutdown(wait=False)

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        origin = _header(scope, b"origin")
        allowed_origin = self._allowed_origin(origin)
        prefix = path[: path.rfind("/") + 1]
        app = self._apps.get(prefix)
        if app is not None:
            if scope["method"] == "OPTIONS":
                await self._preflight(send, allowed_origin)
                return
            send = _with_cors(send, allowed_origin) if allowed_origin else send
            inline = self._inline.get(path)
            if inline is not None and scope["method"] == "POST":
                metadata = _plain_json(scope)
                if metadata is not None:
                    await self._plain_unary(app, inline, metadata, scope, receive, send)
                    return
            await app(scope, receive, send)
            return
        await self._console(scope, send)

    async def _plain_unary(
        self,
        app: ASGIApp,
        inline: Callable[[Body, LocalContext], bytes],
        metadata: tuple[tuple[str, str], ...],
        scope: dict,
        receive: Callable[[], Awaitable[dict]],
        send: Callable[[dict], Awaitable[None]],
    ) -> None:
        """A plain Connect JSON POST to a method answered on the loop (_plain_json says which):
        the body read, the call run through the same gRPC handler and interceptors, the reply
        written as the Connect application writes it. Anything else, a failed call included, is
        handed to the Connect application with the body as it came, which writes the error; a
        call that already ran is not run again (_RAN)."""
        received: list[dict] = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                await app(scope, _replaying(received, receive), send)
                return
            size += len(message.get("body", b""))
            if size > self._read_max_bytes:
                await app(scope, _replaying(received, receive), send)
                return
            if not message.get("more_body", False):
                break
        body = received[0].get("body", b"") if len(received) == 1 else b"".join(m.get("body", b"") for m in received)
        client = scope.get("client")
        context = LocalContext(metadata, _peer(f"{client[0]}:{client[1]}" if client else None), None)
        try:
            reply = inline(Body(bytes(body), True), context)
        except Exception as error:  # noqa: BLE001 - written by the Connect application
            ran = _RAN.set(error)
            try:
                await app(scope, _replaying(received, receive), send)
            finally:
                _RAN.reset(ran)
            return
        await send({"type": "http.response.start", "status": 200, "headers": _PLAIN_REPLY_HEADERS, "trailers": False})
        await send({"type": "http.response.body", "body": reply, "more_body": False})

    def _allowed_origin(self, origin: bytes | None) -> bytes | None:
        if origin is None or not self._cors:
            return None
        text = origin.decode("latin-1")
        if text in self._cors:
            return origin
        return b"*" if "*" in self._cors else None

    async def _preflight(self, send: Callable[[dict], Awaitable[None]], allowed_origin: bytes | None) -> None:
        if allowed_origin is None:  # CORS off, or an origin not listed: no permission given
            await _respond(send, 403, b"text/plain; charset=utf-8", b"cross-origin requests are not allowed from this origin\n")
            return
        headers = [
            (b"access-control-allow-origin", allowed_origin),
            (b"access-control-allow-methods", b"POST, GET"),
            (b"access-control-allow-headers", CORS_ALLOW_HEADERS),
            (b"access-control-max-age", CORS_MAX_AGE),
            (b"vary", b"origin"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _console(self, scope: dict, send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b"text/plain; charset=utf-8", b"method not allowed\n", [(b"allow", b"GET, HEAD")])
            return
        path = scope["path"]
        name = "index.html" if path in ("/", "") else path.lstrip("/")
        target = (CONSOLE_DIR / name).resolve()
        if not target.is_relative_to(CONSOLE_DIR) or not target.is_file() or not re.fullmatch(r"[a-z0-9_-]+\.(html|js|css|svg)", target.name):
            await _respond(send, 404, b"text/plain; charset=utf-8", b"not found\n", SECURITY_HEADERS)
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else ""
        body = target.read_bytes()
        extra = [*SECURITY_HEADERS, (b"cache-control", b"no-cache")]
        await _respond(send, 200, f"{kind}{charset}".encode(), b"" if scope["method"] == "HEAD" else body, extra)


# What the Connect application sends with a unary JSON reply it does not compress.
_PLAIN_REPLY_HEADERS = [(b"content-type", b"application/json"), (b"content-encoding", b"identity"), (b"vary", b"Accept-Encoding")]


def _plain_json(scope: dict) -> tuple[tuple[str, str], ...] | None:
    """The request's headers as gRPC metadata if it is a plain Connect unary JSON request, which
    the short path answers: content-type application/json, no request or reply compression asked
    for, no Connect timeout, protocol version 1 if named, each header once (UTF-8). None for
    anything else, which the Connect application handles."""
    metadata = []
    names = set()
    json = False
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.lower()
        if name in names:
            return None
        names.add(name)
        if name == b"content-type":
            if raw_value != b"application/json":
                return None
            json = True
        elif name in _NOT_PLAIN and raw_value not in _NOT_PLAIN[name]:
            return None
        try:
            metadata.append(Metadatum(name.decode(), raw_value.decode()))
        except UnicodeDecodeError:
            return None
    return tuple(metadata) if json else None


# Headers the short path accepts only with these values (or without them).
_NOT_PLAIN: dict[bytes, frozenset[bytes]] = {
    b"content-encoding": frozenset({b"identity"}),
    b"accept-encoding": frozenset({b"identity"}),
    b"connect-timeout-ms": frozenset(),
    b"connect-protocol-version": frozenset({b"1"}),
}


def _replaying(received: list[dict], receive: Callable[[], Awaitable[dict]]) -> Callable[[], Awaitable[dict]]:
    """A receive() that gives the messages already read again, then reads on."""
    pending = list(received)

    async def receiving() -> dict:
        return pending.pop(0) if pending else await receive()

    return receiving


def _header(scope: dict, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _with_cors(send: Callable[[dict], Awaitable[None]], origin: bytes) -> Callable[[dict], Awaitable[None]]:
    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": [
                    *message.get("headers", ()),
                    (b"access-control-allow-origin", origin),
                    (b"access-control-expose-headers", CORS_EXPOSE_HEADERS),
                    (b"vary", b"origin"),
                ],
            }
        await send(message)

    return sending


async def _respond(send: Callable[[dict], Awaitable[None]], status: int, content_type: bytes, body: bytes, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
