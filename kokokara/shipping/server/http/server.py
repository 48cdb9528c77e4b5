"""Runs the HTTP side in the server process: granian (HTTP/1.1 and h2c on one port), embedded, on
an asyncio loop in a thread of its own, beside the gRPC server's threads. The loop is uvloop's
where it is installed (every platform but Windows): each call crosses from granian's threads to the
loop and back, and libuv's loop does that for about a tenth less CPU a JSON quote than asyncio's.

Port 0 picks a free port (found before granian binds it, so a test can learn it).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence

import grpc
from granian.constants import HTTPModes, Interfaces
from granian.server.embed import Server

from kokokara.shipping.server.http.app import HttpApp
from kokokara.shipping.server.http.bridge import Bridge

log = logging.getLogger("kokokara.shipping.server.http")

new_event_loop: Callable[[], asyncio.AbstractEventLoop]
try:
    import uvloop

    new_event_loop = uvloop.new_event_loop
except ImportError:  # not built for Windows
    new_event_loop = asyncio.new_event_loop


# granian configures logging as it serves with logging.config.dictConfig, which, unless incremental,
# closes every handler the process has: the server's log writer among them, whose lines were then
# written one by one, with a flush, on the serving threads. Incremental and empty, it only sets the
# level of granian's own logger (to silence it: log_enabled=False).
LEAVE_LOGGING_ALONE = {"version": 1, "incremental": True, "formatters": {}, "handlers": {}, "loggers": {}}


class HttpServer:
    def __init__(self, app: HttpApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server = Server(
            app,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            http=HTTPModes.auto,
            log_enabled=False,
            log_dictconfig=LEAVE_LOGGING_ALONE,
            websockets=False,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self._failed: BaseException | None = None

    def _run(self) -> None:
        loop = self._loop = new_event_loop()
        try:
            loop.run_until_complete(self._server.serve())
        except BaseException as error:  # noqa: BLE001 - reported by start()
            self._failed = error
        finally:
            loop.close()

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._failed is not None or not self._thread.is_alive():
                raise OSError(f"the HTTP side did not start on {self.host}:{self.port}: {self._failed}")
            try:
                with socket.create_connection((self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise OSError(f"the HTTP side did not start on {self.host}:{self.port} within {timeout:g} s")

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(self._server.stop)
            self._thread.join(10)
        self.app.close()


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(
    address: str,
    interceptors: Sequence[grpc.ServerInterceptor],
    handlers: Sequence[grpc.GenericRpcHandler],
    *,
    read_max_bytes: int,
    cors_origins: Sequence[str] = (),
) -> HttpServer:
    """Starts the HTTP side on address (HOST:PORT) and returns it once it accepts connections."""
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    port = int(port_text) or _free_port(host)
    app = HttpApp(Bridge(interceptors, handlers), read_max_bytes=read_max_bytes, cors_origins=cors_origins)
    server = HttpServer(app, host, port)
    server.start()
    log.info("serving JSON over HTTP (Connect) and the console", extra={"address": f"{host}:{port}"})
    return server
