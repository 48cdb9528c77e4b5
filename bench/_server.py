"""A benchmark server: the real service (bootstrap.start) plus one empty RPC,
/kokokara.bench.Bench/Empty, that takes and returns empty bytes through the same threads and
interceptor.

    python bench/_server.py [--workers N]

Prints one JSON line on stdout once serving, {"address": ..., "pids": [...]} (the processes that
serve: itself, or its N workers), and serves until stdin closes. With N > 1 it runs the same
supervisor as server.py (kokokara/shipping/supervisor.py), with this script as the worker."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
from pathlib import Path

from kokokara.shipping.lean import skip_pyarrow

skip_pyarrow()  # as server.py does, so figures match production processes

import grpc  # noqa: E402

from kokokara.shipping import bootstrap, logs  # noqa: E402
from kokokara.shipping.settings import Settings  # noqa: E402

EMPTY_METHOD = "/kokokara.bench.Bench/Empty"


def empty_handler() -> grpc.GenericRpcHandler:
    def empty(request: bytes, context: grpc.ServicerContext) -> bytes:
        return b""

    return grpc.method_handlers_generic_handler("kokokara.bench.Bench", {"Empty": grpc.unary_unary_rpc_method_handler(empty)})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--ready-fd", type=int, default=None, help="worker mode (started by the supervisor)")
    args = parser.parse_args()
    settings = dataclasses.replace(Settings.from_env({**os.environ, "SHIPPING_LISTEN_ADDR": args.listen}), workers=args.workers)
    logs.configure(settings.log_level)
    if args.ready_fd is not None:  # a worker: SO_REUSEPORT, say ready, serve until SIGTERM
        service = bootstrap.start(dataclasses.replace(settings, reuse_port=True), extra_handlers=[empty_handler()])
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        os.write(args.ready_fd, b"ready\n")
        os.close(args.ready_fd)
        stopping.wait()
        service.stop(1)
    elif args.workers > 1:
        from kokokara.shipping.supervisor import Supervisor, reserve_port

        address, holder = reserve_port(args.listen)
        supervisor = Supervisor(
            address, args.workers, 1.0, script=Path(__file__), on_serving=lambda pids: print(json.dumps({"address": address, "pids": pids}), flush=True)
        )
        threading.Thread(target=lambda: (sys.stdin.read(), supervisor.stopping.set()), daemon=True).start()
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        supervisor.run()
        if holder is not None:
            holder.close()
    else:
        service = bootstrap.start(settings, extra_handlers=[empty_handler()])
        print(json.dumps({"address": service.address, "pids": [os.getpid()]}), flush=True)
        sys.stdin.read()
        service.stop(1)


if __name__ == "__main__":
    main()
