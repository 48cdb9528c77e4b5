"""GetQuote against the server's own floor, measured from outside Python: h2load, the nghttp2 load
generator, alternately calls GetQuote and grpc.health.v1.Health/Check on a server started exactly
as `make run` starts it (server.py, default settings: one worker per core, request logging on), and
prints GetQuote's throughput as a share of the health check's for each pair, and the median.

    .venv/bin/python bench/h2load_floor.py [--pairs 7] [--seconds 8] [--connections 32]
                                           [--streams 4] [--no-request-log] [--tracing] [--out FILE]

The health check passes neither the request log nor the interceptors' work, so the ratio says what
a quote costs over the transport's own cost, with the settings a user gets. Each run is

    h2load -t 1 -c 32 -m 4 -D 8000ms -H 'content-type: application/grpc' -H 'te: trailers' \
           -d FRAME http://127.0.0.1:PORT/kokokara.shipping.v1.RateService/GetQuote

FRAME being one length-prefixed gRPC message (a 1.2 kg, 30x20x10 cm parcel to GB, every method
priced). --no-request-log serves with SHIPPING_LOG_REQUESTS=false. --tracing serves with tracing on
(SHIPPING_OTLP_ENDPOINT pointed at an OTLP/HTTP sink in this process that counts the spans it is
sent and answers 200, as a collector would), to show what tracing costs. h2load shares the machine's
cores with the server: runs alternate, so drift falls on both halves of a pair.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc  # noqa: E402

GET_QUOTE = "/kokokara.shipping.v1.RateService/GetQuote"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


def frame(message: bytes) -> bytes:
    """One gRPC message as it travels: uncompressed flag, big-endian length, bytes."""
    return struct.pack(">BI", 0, len(message)) + message


def quote_request() -> rates_pb2.GetQuoteRequest:
    request = rates_pb2.GetQuoteRequest(destination_region_code="GB")
    request.parcels.add(weight_grams=1200, length_mm=300, width_mm=200, height_mm=100)
    return request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OtlpSink:
    """Takes OTLP/HTTP span exports and answers 200 (an empty ExportTraceServiceResponse), counting
    the bytes it was sent: the collector the server exports to under --tracing."""

    def __init__(self) -> None:
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sink.received += len(self.rfile.read(int(self.headers.get("content-length", "0"))))
                sink.exports += 1
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.received = 0
        self.exports = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_server(address: str, request_log: bool, log_path: Path, otlp_endpoint: str = "") -> subprocess.Popen[bytes]:
    """server.py as `make run` runs it: the environment without SHIPPING_* settings (so every
    default holds), only the address given on the command line, as `make run ARGS=--listen ...`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPING_")}
    if not request_log:
        env["SHIPPING_LOG_REQUESTS"] = "false"
    if otlp_endpoint:
        env["SHIPPING_OTLP_ENDPOINT"] = otlp_endpoint
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, str(REPO / "server.py"), "--listen", address], env=env, cwd=REPO, stdout=log, stderr=log)
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server.py exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server.py did not serve within 120 s")
            time.sleep(0.2)
        reply = rates_pb2_grpc.RateServiceStub(channel).GetQuote(quote_request(), timeout=10)
        if not reply.options:
            raise SystemExit("GetQuote answered no option: the benchmark would measure refusals")
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_FINISHED = re.compile(r"finished in [0-9.]+\w*, ([0-9.]+) req/s")
_REQUESTS = re.compile(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored")


def h2load(args: argparse.Namespace, url: str, body: Path) -> float:
    command = [
        "h2load",
        "-t",
        "1",
        "-c",
        str(args.connections),
        "-m",
        str(args.streams),
        "-D",
        f"{int(args.seconds * 1000)}ms",
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        "-d",
        str(body),
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=args.seconds + 60).stdout
    rate, counts = _FINISHED.search(out), _REQUESTS.search(out)
    if rate is None or counts is None:
        raise SystemExit(f"cannot read h2load's output:\n{out}")
    if int(counts.group(4)) or int(counts.group(5)):
        raise SystemExit(f"h2load saw failed requests:\n{out}")
    return float(rate.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=7, help="alternated GetQuote / health check pairs (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each h2load run (default %(default)s)")
    parser.add_argument("--connections", type=int, default=32, help="h2load -c (default %(default)s)")
    parser.add_argument("--streams", type=int, default=4, help="h2load -m: streams in flight per connection (default %(default)s)")
    parser.add_argument("--no-request-log", action="store_true", help="serve with SHIPPING_LOG_REQUESTS=false")
    parser.add_argument("--tracing", action="store_true", help="serve with tracing on, exporting to an OTLP sink in this process")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        raise SystemExit("h2load is not installed (make system-deps installs it)")
    address = f"127.0.0.1:{free_port()}"
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory() as tmp:
        bodies = {GET_QUOTE: Path(tmp, "quote.bin"), HEALTH_CHECK: Path(tmp, "health.bin")}
        bodies[GET_QUOTE].write_bytes(frame(quote_request().SerializeToString()))
        bodies[HEALTH_CHECK].write_bytes(frame(health_pb2.HealthCheckRequest().SerializeToString()))
        sink = OtlpSink() if args.tracing else None
        proc = start_server(address, not args.no_request_log, Path(tmp, "server.log"), sink.url if sink else "")
        pairs = []
        try:
            for i in range(args.pairs):
                # Which half goes first alternates too, so a trend within a pair favours neither.
                order = (GET_QUOTE, HEALTH_CHECK) if i % 2 == 0 else (HEALTH_CHECK, GET_QUOTE)
                rates = {rpc: h2load(args, f"http://{address}{rpc}", bodies[rpc]) for rpc in order}
                ratio = rates[GET_QUOTE] / rates[HEALTH_CHECK]
                pairs.append({"get_quote_rps": rates[GET_QUOTE], "health_check_rps": rates[HEALTH_CHECK], "ratio": ratio})
                print(f"pair {i + 1}: GetQuote {rates[GET_QUOTE]:9.0f} req/s  Health/Check {rates[HEALTH_CHECK]:9.0f} req/s  ratio {ratio:.3f}", flush=True)
        finally:
            stop_server(proc)
            if sink is not None:
                sink.close()
    ratios = [p["ratio"] for p in pairs]
    setting = "request log off (SHIPPING_LOG_REQUESTS=false)" if args.no_request_log else "default settings (request log on)"
    if sink is not None:
        if not sink.exports:
            raise SystemExit("tracing was on but no span reached the sink: the figures would not include it")
        setting += f", tracing on ({sink.exports} exports, {sink.received / 1e6:.1f} MB of spans)"
    print(f"GetQuote / Health.Check, {setting}: median {statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}), {started}")
    if args.out is not None:
        summary = {"started": started, "request_log": not args.no_request_log, "tracing": args.tracing, "pairs": pairs}
        summary["median_ratio"] = statistics.median(ratios)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
