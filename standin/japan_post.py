"""A stand-in for Japan Post's tracking site: a real HTTP server serving pages of the real shape.

Used by the tests and by `make demo` (no internet needed). It answers
`GET /services/srv/search/direct?reqCodeNo1=<number>&locale=en` from scenario files: each number is
mapped to a scenario (scenarios.json in the pages directory, or set at run time), and a scenario
is a page `<name>.html` whose item number is replaced by the one asked for. Special scenarios:
`slow` waits before answering, `unavailable` answers 503, `garbled` is a page of the wrong shape
(a file like the others). Hostile ones, for the tests of a degraded Japan Post: `trickle` sends the
whole answer (status line, headers, page) one byte every `trickle_seconds`, so no per-read timeout
ever fires; `hang` reads the request and then says nothing, holding the connection open until the
stand-in stops; `reset` drops the connection with a TCP reset instead of answering. Numbers not
mapped get the not-found page, as on the real site.

    python -m standin.japan_post [--port 8089] [--pages DIR] [--scenario trickle]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import struct
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tracking.japan_post import SEARCH_PATH

DEFAULT_PAGES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "japan_post"
_SPACED_NUMBER = re.compile(r"\b[A-Z]{2} \d{3} \d{3} \d{3} [A-Z]{2}\b")
SPECIAL = {"slow", "unavailable", "trickle", "hang", "reset"}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that hang up (read timeouts, stopped tests) are normal here, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def spaced(number: str) -> str:
    return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:11]} {number[11:]}"


class StandInJapanPost:
    def __init__(
        self,
        pages_dir: Path = DEFAULT_PAGES,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        slow_seconds: float = 5.0,
        slow_page: str = "in_transit",
        latency_seconds: float = 0.0,
        trickle_seconds: float = 1.0,
    ):
        self.pages_dir = pages_dir
        self.slow_seconds = slow_seconds
        self.slow_page = slow_page
        # Added to every answer: makes concurrent lookups overlap, as they do against the real site.
        self.latency_seconds = latency_seconds
        # `trickle` sends one byte of its answer every this many seconds.
        self.trickle_seconds = trickle_seconds
        self._pages = {p.stem: p.read_text(encoding="utf-8") for p in pages_dir.glob("*.html")}
        mapping_file = pages_dir / "scenarios.json"
        mapping = json.loads(mapping_file.read_text()) if mapping_file.exists() else {}
        self._scenarios: dict[str, str] = {k: v for k, v in mapping.items() if not k.startswith("_")}
        self._override: str | None = None
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._server = _QuietServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def set_scenario(self, number: str, scenario: str) -> None:
        self._check(scenario)
        with self._lock:
            self._scenarios[number] = scenario

    def set_override(self, scenario: str | None) -> None:
        """Serves `scenario` for every number (e.g. "unavailable" for an outage); None to stop."""
        if scenario is not None:
            self._check(scenario)
        with self._lock:
            self._override = scenario

    def hits(self, number: str | None = None) -> int:
        """Requests received, for one number or in all."""
        with self._lock:
            return self._hits[number] if number else sum(self._hits.values())

    def _check(self, scenario: str) -> None:
        if scenario not in self._pages and scenario not in SPECIAL:
            raise ValueError(f"no scenario {scenario!r} in {self.pages_dir}")

    def start(self) -> StandInJapanPost:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="standin-japan-post", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StandInJapanPost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving ---------------------------------------------------------------------------

    def _scenario(self, number: str) -> str:
        """Counts the request and says which scenario answers it."""
        with self._lock:
            self._hits[number] += 1
            return self._override or self._scenarios.get(number, "not_found")

    def _answer(self, number: str, scenario: str) -> tuple[int, str]:
        if self.latency_seconds and self._stopping.wait(self.latency_seconds):
            return 503, "<html><body>stopping</body></html>"
        if scenario == "trickle":
            scenario = self.slow_page
        if scenario == "unavailable":
            return 503, "<html><body><h1>Service Temporarily Unavailable</h1><p>maintenance</p></body></html>"
        if scenario == "slow":
            if self._stopping.wait(self.slow_seconds):
                return 503, "<html><body>stopping</body></html>"
            scenario = self.slow_page
        return 200, _SPACED_NUMBER.sub(spaced(number), self._pages[scenario])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != SEARCH_PATH:
                    self._send(404, "<html><body>Not Found</body></html>")
                    return
                query = parse_qs(parts.query)
                number = (query.get("reqCodeNo1") or [""])[0].strip().upper()
                if not number:
                    self._send(400, "<html><body>reqCodeNo1 is required</body></html>")
                    return
                scenario = standin._scenario(number)
                if scenario == "hang":
                    standin._stopping.wait()
                    self.close_connection = True
                elif scenario == "reset":
                    self._reset()
                elif scenario == "trickle":
                    self._trickle(*standin._answer(number, scenario))
                else:
                    self._send(*standin._answer(number, scenario))

            def _send(self, status: int, body: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self.wfile.write(data)

            def _trickle(self, status: int, body: str) -> None:
                """The whole answer, status line and headers included, one byte at a time."""
                data = body.encode("utf-8")
                head = f"HTTP/1.1 {status} OK\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: {len(data)}\r\n\r\n"
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client gave up
                    for byte in head.encode("ascii") + data:
                        if standin._stopping.wait(standin.trickle_seconds):
                            return
                        self.wfile.write(bytes([byte]))

            def _reset(self) -> None:
                """Drops the connection with a TCP reset (SO_LINGER 0), answering nothing."""
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: tests and the demo count hits instead

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="stand-in Japan Post tracking site")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="directory of scenario pages and scenarios.json")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--trickle-seconds", type=float, default=1.0, help="seconds between the bytes of a `trickle` answer")
    parser.add_argument("--scenario", default=None, help="serve this scenario for every number (e.g. trickle, hang, reset, unavailable)")
    args = parser.parse_args(argv)
    standin = StandInJapanPost(args.pages, host=args.host, port=args.port, slow_seconds=args.slow_seconds, trickle_seconds=args.trickle_seconds)
    if args.scenario:
        standin.set_override(args.scenario)
    print(f"stand-in Japan Post on {standin.url}{SEARCH_PATH}?reqCodeNo1=EN123456785JP&locale=en", flush=True)
    try:
        standin._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
