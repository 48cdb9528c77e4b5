"""Runs the kokokara-shipping gRPC server.

    python server.py [--listen HOST:PORT] [--workers N] [--[no-]pin-cpus] [--insecure]

The address defaults to SHIPPING_LISTEN_ADDR, else 127.0.0.1:50051. With more than one worker
(--workers, else SHIPPING_WORKERS, else one per core) a supervisor runs that many server processes
on the one port (SO_REUSEPORT; see kokokara/shipping/server/supervisor.py) and restarts any that dies.
SIGTERM and SIGINT drain running calls (up to SHIPPING_GRACE_SECONDS) before the process exits.
--pin-cpus / --no-pin-cpus (SHIPPING_PIN_CPUS: auto, true or false) decide whether each worker runs
on one allowed CPU of its own; auto pins when there is one worker per allowed CPU
(kokokara/shipping/server/affinity.py says why). SIGHUP reloads the rate tables (validated in full; on an error the old ones keep serving); the
supervisor passes it on to every worker.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from kokokara.shipping.server import logs
from kokokara.shipping.server.settings import Settings, SettingsError

log = logging.getLogger("kokokara.shipping")


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"kokokara-shipping: {error}", file=sys.stderr)
        return error.exit_code
    parser = argparse.ArgumentParser(description="kokokara-shipping gRPC server")
    parser.add_argument("--listen", default=settings.listen_addr, help="HOST:PORT to serve on (default %(default)s)")
    parser.add_argument(
        "--workers", type=int, default=settings.workers, help="server processes sharing the port (default %(default)s: SHIPPING_WORKERS or one per core)"
    )
    parser.add_argument(
        "--pin-cpus",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pin each worker to one allowed CPU of its own, or never (default: SHIPPING_PIN_CPUS, else auto: pinned when there is one worker per allowed CPU)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="serve WITHOUT API keys on a non-loopback address (refused otherwise; logged at ERROR)",
    )
    # Internal: a worker started by the supervisor writes "ready" to this file descriptor once SERVING.
    parser.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    # Internal: the CPU the supervisor gives this worker.
    parser.add_argument("--pin-cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 256:
        parser.error("--workers must be between 1 and 256")
    pin = settings.pin_cpus if args.pin_cpus is None else ("true" if args.pin_cpus else "false")
    settings = dataclasses.replace(settings, listen_addr=args.listen, workers=args.workers, insecure=args.insecure, pin_cpus=pin)
    logs.configure(settings.log_level)
    if settings.workers > 1:
        return supervise(settings)
    return serve(settings, ready_fd=args.ready_fd, pin_cpu=args.pin_cpu)


def supervise(settings: Settings) -> int:
    from kokokara.shipping.server.supervisor import Supervisor, reserve_port

    try:
        address, holder = reserve_port(settings.listen_addr)
    except OSError as error:
        print(f"kokokara-shipping: cannot listen on {settings.listen_addr}: {error}", file=sys.stderr)
        return 4
    from kokokara.shipping.server import affinity

    pin = affinity.should_pin(settings.pin_cpus, settings.workers, affinity.allowed_cpus())
    if settings.pin_cpus == "true" and not pin:
        log.warning("SHIPPING_PIN_CPUS is true but this system cannot pin processes; workers run unpinned")
    try:
        # The workers run this very script: in an installed package (the image) there is no server.py
        # beside kokokara/, where the supervisor's default looks.
        supervisor = Supervisor(
            address,
            settings.workers,
            settings.grace_seconds,
            script=Path(__file__).resolve(),
            worker_args=["--insecure"] if settings.insecure else [],
            pin_cpus=pin,
            metrics_addr=settings.metrics_addr,
        )
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        signal.signal(signal.SIGINT, supervisor.request_stop)
        signal.signal(signal.SIGHUP, supervisor.forward)
        return supervisor.run()
    finally:
        if holder is not None:
            holder.close()


def serve(settings: Settings, ready_fd: int | None = None, pin_cpu: int | None = None) -> int:
    """One server process: the whole service, until SIGTERM/SIGINT. Imported late so the
    supervisor process stays small (no gRPC, pandas or tables). `pin_cpu` is the CPU a supervisor
    gave this worker; a process serving alone that is to pin (settings.pin_cpus) takes its first
    allowed CPU."""
    from kokokara.shipping.server import affinity

    if pin_cpu is None and ready_fd is None:
        cpus = affinity.allowed_cpus()
        if affinity.should_pin(settings.pin_cpus, 1, cpus):
            pin_cpu = cpus[0]
        elif settings.pin_cpus == "true":
            log.warning("SHIPPING_PIN_CPUS is true but this system cannot pin processes; serving unpinned")
    if ready_fd is not None:
        _tag_logs_with_pid()
    if pin_cpu is not None:  # before gRPC starts its threads, which then inherit the mask
        affinity.pin_process(pin_cpu)

    from kokokara.shipping.server.lean import skip_pyarrow

    skip_pyarrow()  # before pandas is imported: see kokokara/shipping/server/lean.py

    from domain.errors import StartupError
    from kokokara.shipping.server import bootstrap

    try:
        service = bootstrap.start(settings)
    except StartupError as error:  # settings, keys, tables, S10 ranges, addresses, label database
        log.error("cannot start", extra={"problem": str(error), "exit_code": error.exit_code})
        print(f"kokokara-shipping: {error.what + ': ' if error.what else ''}{error}", file=sys.stderr)
        return error.exit_code

    # What start-up built (rate tables, stubs, modules) lives as long as the process: out of the
    # garbage collector's generations, so its passes during serving no longer walk it.
    gc.collect()
    gc.freeze()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("shutting down", extra={"signal": signal.Signals(signum).name})
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_hangup(_signum: int, _frame: object) -> None:  # reload the rate tables
        if service.reloader is not None:
            service.reloader.request()

    signal.signal(signal.SIGHUP, on_hangup)
    if ready_fd is None:
        log.info("serving", extra={"address": service.address})
    else:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
        _stop_when_orphaned(stopping)
    stopping.wait()
    service.stop()
    log.info("stopped")
    logs.flush()  # every line written before the process exits (logging.shutdown closes the writer too)
    return 0


def _tag_logs_with_pid() -> None:
    """Workers share one stderr: every line a worker logs carries its pid."""
    logs.tag_every_line(pid=os.getpid())


def _stop_when_orphaned(stopping: threading.Event) -> None:
    """A worker whose supervisor is gone (killed with SIGKILL) stops too, instead of serving on alone."""
    parent = os.getppid()

    def watch() -> None:
        while not stopping.wait(1.0):
            if os.getppid() != parent:
                log.warning("supervisor gone; shutting down")
                stopping.set()

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
