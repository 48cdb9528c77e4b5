"""The transport's own ceiling for a reply of a given size: a bare grpcio server (16 threads, no
interceptor, no service code) answers every call with the same N bytes, and bench/quote.py's
closed-loop client measures calls/s. Used to tell what a BatchGetQuotes response of that size costs
in gRPC alone (docs/performance.md, "What limits BatchGetQuotes").

    .venv/bin/python bench/reply_ceiling.py [--bytes 151800] [--workers 1] [--seconds 5]

--workers N runs N server processes on one port (SO_REUSEPORT) and the client on N connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quote import closed_loop

METHOD = "/kokokara.bench.Reply/Blob"


def serve(size: int, port: int) -> None:
    blob = b"x" * size

    def reply(request: bytes, context: grpc.ServicerContext) -> bytes:
        return blob

    server = grpc.server(futures.ThreadPoolExecutor(16), options=[("grpc.so_reuseport", 1)])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("kokokara.bench.Reply", {"Blob": grpc.unary_unary_rpc_method_handler(reply)})])
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(bound, flush=True)
    sys.stdin.read()  # serve until the parent closes stdin
    server.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bytes", type=int, default=151_800, help="reply size (default: a 100-quote batch response of the load harness)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve-port", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_port is not None:
        serve(args.bytes, args.serve_port)
        return
    command = [sys.executable, __file__, "--bytes", str(args.bytes), "--serve-port"]
    first = subprocess.Popen([*command, "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert first.stdout is not None
    port = int(first.stdout.readline())
    servers = [first]
    for _ in range(args.workers - 1):
        other = subprocess.Popen([*command, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert other.stdout is not None
        other.stdout.readline()
        servers.append(other)
    try:
        # The request is the size of a 100-cart BatchGetQuotesRequest from the load harness.
        result = asyncio.run(
            closed_loop(f"127.0.0.1:{port}", METHOD, [b"y" * 2774], args.seconds, args.concurrency, [s.pid for s in servers], connections=args.workers)
        )
    finally:
        for s in servers:
            if s.stdin:
                s.stdin.close()
            s.wait(timeout=10)
    result["reply_bytes"], result["workers"] = args.bytes, args.workers
    result["reply_mb_per_s"] = result["rps"] * args.bytes / 1e6
    print(json.dumps(result))


if __name__ == "__main__":
    main()
