"""A benchmark server: the real service (bootstrap.start) plus one empty RPC,
/kokokara.bench.Bench/Empty, that takes and returns empty bytes through the same threads and
interceptor.

    python bench/_server.py [--workers N]

Prints one JSON line on stdout once serving, {"address": ..., "pids": [...]} (the processes that
serve: itself, or its N workers), and serves until stdin closes. With N > 1 it runs the same
supervisor as server.py (kokokara/shipping/server/supervisor.py), with this script as the worker."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from kokokara.shipping.server.lean import skip_pyarrow

skip_pyarrow()  # as server.py does, so figures match production processes

import grpc  # noqa: E402

from kokokara.shipping.server import affinity, bootstrap, logs  # noqa: E402
from kokokara.shipping.server.settings import Settings  # noqa: E402

EMPTY_METHOD = "/kokokara.bench.Bench/Empty"
SERVICER_CPU_METHOD = "/kokokara.bench.Bench/ServicerCpu"

# Thread CPU time spent inside RateServicer.GetQuote in this process, and calls: what the quote path
# costs inside a loaded server, against bench/quote.py's in-process figure.
_servicer_cpu = {"calls": 0, "ns": 0}
_servicer_lock = threading.Lock()


def _time_get_quote() -> None:
    from kokokara.shipping.server.servicers.rates import RateServicer

    untimed = RateServicer.GetQuote

    def timed(self: RateServicer, request: object, context: grpc.ServicerContext) -> bytes:
        started = time.thread_time_ns()
        try:
            return untimed(self, request, context)  # type: ignore[arg-type]
        finally:
            spent = time.thread_time_ns() - started
            with _servicer_lock:
                _servicer_cpu["calls"] += 1
                _servicer_cpu["ns"] += spent

    RateServicer.GetQuote = timed  # type: ignore[method-assign]


def empty_handler() -> grpc.GenericRpcHandler:
    def empty(request: bytes, context: grpc.ServicerContext) -> bytes:
        return b""

    def servicer_cpu(request: bytes, context: grpc.ServicerContext) -> bytes:
        """This process's totals since the last call, as JSON; resets them."""
        with _servicer_lock:
            out = json.dumps({**_servicer_cpu, "pid": os.getpid()}).encode()
            _servicer_cpu.update(calls=0, ns=0)
        return out

    return grpc.method_handlers_generic_handler(
        "kokokara.bench.Bench",
        {"Empty": grpc.unary_unary_rpc_method_handler(empty), "ServicerCpu": grpc.unary_unary_rpc_method_handler(servicer_cpu)},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--ready-fd", type=int, default=None, help="worker mode (started by the supervisor)")
    parser.add_argument("--pin-cpu", type=int, default=None, help="the CPU the supervisor gives this worker")
    parser.add_argument("--time-servicer", action="store_true", help="time RateServicer.GetQuote (thread CPU); read with ServicerCpu")
    args = parser.parse_args()
    if args.time_servicer:
        _time_get_quote()
    settings = dataclasses.replace(Settings.from_env({**os.environ, "SHIPPING_LISTEN_ADDR": args.listen}), workers=args.workers)
    logs.configure(settings.log_level)
    pin = args.pin_cpu
    serving_alone = args.ready_fd is None and args.workers == 1  # a supervisor stays unpinned, as server.py's does
    if pin is None and serving_alone and affinity.should_pin(settings.pin_cpus, 1, affinity.allowed_cpus()):
        pin = affinity.allowed_cpus()[0]
    if pin is not None:
        affinity.pin_process(pin)
    if args.ready_fd is not None:  # a worker: SO_REUSEPORT, say ready, serve until SIGTERM
        service = bootstrap.start(dataclasses.replace(settings, reuse_port=True), extra_handlers=[empty_handler()])
        gc.collect()
        gc.freeze()  # as server.py does once started
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        os.write(args.ready_fd, b"ready\n")
        os.close(args.ready_fd)
        stopping.wait()
        service.stop(1)
    elif args.workers > 1:
        from kokokara.shipping.server.supervisor import Supervisor, reserve_port

        address, holder = reserve_port(args.listen)
        supervisor = Supervisor(
            address,
            args.workers,
            1.0,
            script=Path(__file__),
            worker_args=["--time-servicer"] if args.time_servicer else [],
            on_serving=lambda pids: print(json.dumps({"address": address, "pids": pids}), flush=True),
            pin_cpus=affinity.should_pin(settings.pin_cpus, args.workers, affinity.allowed_cpus()),
        )
        threading.Thread(target=lambda: (sys.stdin.read(), supervisor.stopping.set()), daemon=True).start()
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        supervisor.run()
        if holder is not None:
            holder.close()
    else:
        service = bootstrap.start(settings, extra_handlers=[empty_handler()])
        gc.collect()
        gc.freeze()  # as server.py does once started
        print(json.dumps({"address": service.address, "pids": [os.getpid()]}), flush=True)
        sys.stdin.read()
        service.stop(1)


if __name__ == "__main__":
    main()
