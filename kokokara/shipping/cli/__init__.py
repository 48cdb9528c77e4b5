"""`kokokara-shipping`: the command line for people (and scripts, with --json).

Each sub-command lives in its own module exposing `register(subparsers)`; the module sets
`func` on its parser to a callable taking the parsed args and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

import grpc

from kokokara.shipping.connect import ClientAuth, open_channel

# Modules of kokokara.shipping.cli that provide sub-commands.
COMMANDS: list[str] = [
    "quote",
    "labels",
    "track",  # tracking
]

COMMANDS += ["tables"]  # rate tables for analysts
COMMANDS += ["keys"]  # API keys
COMMANDS += ["watched"]  # watched parcels and their events


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kokokara-shipping", description="KOKOKARA shipping: Japan Post quotes, labels, tracking and rate tables")
    parser.add_argument(
        "--server",
        default=os.environ.get("SHIPPING_SERVER", "127.0.0.1:50051"),
        help="address of the kokokara-shipping server (default: $SHIPPING_SERVER or %(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for an answer (default %(default)s)")
    env = ClientAuth.from_env()
    parser.add_argument("--api-key", default=env.api_key, help="API key for a server with keys (default: $SHIPPING_API_KEY; prefer the variable)")
    parser.add_argument("--tls", action="store_true", help="connect with TLS, trusting the system's certificate authorities")
    parser.add_argument("--tls-ca", type=Path, default=env.tls_ca_file, help="CA certificate (PEM) to trust; implies --tls ($SHIPPING_CLIENT_TLS_CA_FILE)")
    parser.add_argument("--tls-cert", type=Path, default=env.tls_cert_file, help="client certificate (PEM) for mutual TLS ($SHIPPING_CLIENT_TLS_CERT_FILE)")
    parser.add_argument("--tls-key", type=Path, default=env.tls_key_file, help="client private key (PEM) for mutual TLS ($SHIPPING_CLIENT_TLS_KEY_FILE)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"kokokara.shipping.cli.{name}").register(subparsers)
    return parser


def client_auth(args: argparse.Namespace) -> ClientAuth:
    return ClientAuth(api_key=args.api_key, tls_ca_file=args.tls_ca, tls_cert_file=args.tls_cert, tls_key_file=args.tls_key, tls=args.tls)


def channel(args: argparse.Namespace) -> grpc.Channel:
    """The channel every sub-command talks through: --server with the key and TLS options."""
    return open_channel(args.server, client_auth(args))


# What a shell reports for a program stopped by SIGPIPE (128 + 13).
BROKEN_PIPE_EXIT = 141


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`kokokara-shipping quote ... | head`): stop quietly, as Unix tools
        # do. stdout now points at /dev/null, so the interpreter's own flush at exit cannot fail
        # again (the recipe of Python's signal module documentation, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE_EXIT
    return result


if __name__ == "__main__":
    sys.exit(main())
