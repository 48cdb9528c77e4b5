"""What a quote costs over HTTP (Connect JSON) against over gRPC, measured with h2load from outside
Python, on one server process serving both.

    python bench/http_vs_grpc.py [--rounds 5] [--requests 20000] [--clients 4] [--streams 8]

Starts server.py (one worker, request logs off) with its HTTP side on, checks once that each kind of
call answers a quote, then runs h2load against GetQuote in alternated rounds: gRPC (HTTP/2), Connect
JSON over HTTP/2 (h2c) and Connect JSON over HTTP/1.1 (h2load --h1, keep-alive, one request at a time
per connection). Prints each round's requests a second and, per kind, the median and the cost
ratio against gRPC (gRPC req/s over the kind's req/s: 1.5 means a quote costs 1.5 times as much).
The same cart every call, to GB (h2load sends one body per run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google.protobuf import json_format  # noqa: E402

from kokokara.shipping.v1 import common_pb2, rates_pb2  # noqa: E402

RPC = "/kokokara.shipping.v1.RateService/GetQuote"
REQUEST = rates_pb2.GetQuoteRequest(destination_region_code="GB", parcels=[common_pb2.Parcel(weight_grams=1200, length_mm=300, width_mm=200, height_mm=100)])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port} after {seconds:g} s")


def h2load(url: str, body: Path, headers: list[str], *, requests: int, clients: int, streams: int, h1: bool) -> tuple[float, str]:
    args = ["h2load", "-n", str(requests), "-c", str(clients), "-d", str(body)]
    args += ["-m", "1"] if h1 else ["-m", str(streams)]
    if h1:
        args.append("--h1")
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", out)
    if not rate or not codes or not done or int(done.group(3)) or int(codes.group(1)) != requests:
        raise SystemExit(f"h2load did not get {requests} answers of 2xx:\n{out}")
    return float(rate.group(1)), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--streams", type=int, default=8, help="concurrent streams per HTTP/2 connection")
    args = parser.parse_args()

    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "SHIPPING_LISTEN_ADDR": f"127.0.0.1:{grpc_port}",
        "SHIPPING_HTTP_ADDR": f"127.0.0.1:{http_port}",
        "SHIPPING_WORKERS": "1",
        "SHIPPING_LOG_REQUESTS": "false",
        "SHIPPING_LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryDirectory() as tmp:
        env["SHIPPING_DATABASE_PATH"] = str(Path(tmp) / "labels.sqlite3")
        grpc_body, json_body = Path(tmp) / "grpc.bin", Path(tmp) / "quote.json"
        wire = REQUEST.SerializeToString()
        grpc_body.write_bytes(b"\x00" + len(wire).to_bytes(4, "big") + wire)
        json_body.write_text(json_format.MessageToJson(REQUEST, indent=None))
        server = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env, cwd=ROOT)
        try:
            wait_for(grpc_port)
            wait_for(http_port)
            time.sleep(2)  # the tables load after the port opens
            kinds = {
                "grpc h2": (f"http://127.0.0.1:{grpc_port}{RPC}", grpc_body, ["content-type: application/grpc", "te: trailers"], False),
                "connect json h2c": (f"http://127.0.0.1:{http_port}{RPC}", json_body, ["content-type: application/json"], False),
                "connect json http/1.1": (f"http://127.0.0.1:{http_port}{RPC}", json_body, ["content-type: application/json"], True),
            }
            _check(kinds)
            rates: dict[str, list[float]] = {kind: [] for kind in kinds}
            started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            print(f"{started}: {args.rounds} rounds of {args.requests} GetQuote calls, {args.clients} connections, {args.streams} streams each (HTTP/2)")
            for round_number in range(args.rounds):
                order = list(kinds) if round_number % 2 == 0 else list(reversed(kinds))
                for kind in order:
                    url, body, headers, h1 = kinds[kind]
                    rate, _ = h2load(url, body, headers, requests=args.requests, clients=args.clients, streams=args.streams, h1=h1)
                    rates[kind].append(rate)
                    print(f"  round {round_number + 1} {kind:24s} {rate:10.0f} req/s", flush=True)
            grpc_median = statistics.median(rates["grpc h2"])
            print(f"finished {datetime.now(UTC).strftime('%H:%M:%S UTC')}")
            summary = {}
            for kind, values in rates.items():
                median = statistics.median(values)
                summary[kind] = {"median_req_per_s": round(median), "cost_vs_grpc": round(grpc_median / median, 3)}
                print(f"{kind:24s} median {median:8.0f} req/s   cost vs gRPC {grpc_median / median:.2f}x")
            print(json.dumps(summary))
        finally:
            server.terminate()
            server.wait(30)
    return 0


def _check(kinds: dict[str, tuple[str, Path, list[str], bool]]) -> None:
    """One call of each kind must answer a quote (gRPC: grpc-status 0; JSON: options)."""
    for url, body, headers, h1 in kinds.values():  # h2load reaches each and gets a 2xx
        h2load(url, body, headers, requests=1, clients=1, streams=1, h1=h1)
    import grpc

    grpc_url = kinds["grpc h2"][0]
    address = grpc_url.split("/")[2]
    with grpc.insecure_channel(address) as channel:
        answer = channel.unary_unary(RPC, request_serializer=lambda m: m.SerializeToString(), response_deserializer=rates_pb2.GetQuoteResponse.FromString)(
            REQUEST, timeout=10
        )
        assert answer.options, "the gRPC quote has no options"
    import urllib.request

    url, body, _, _ = kinds["connect json h2c"]
    reply = urllib.request.urlopen(urllib.request.Request(url, data=body.read_bytes(), headers={"content-type": "application/json"}), timeout=10)
    assert json.loads(reply.read())["options"], "the JSON quote has no options"


if __name__ == "__main__":
    raise SystemExit(main())
