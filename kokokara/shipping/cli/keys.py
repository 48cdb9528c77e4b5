"""`kokokara-shipping keys`: API keys for callers of the service.

    kokokara-shipping keys add --name checkout-prod --role checkout [--file F] [--rate-per-second R]
    kokokara-shipping keys list [--file F]
    kokokara-shipping keys remove --name checkout-prod [--file F]

`add` prints the new key ONCE: only a salted HMAC-SHA256 of it is written to the keys file, so a
lost key cannot be recovered (add a new one, remove the old). The file defaults to
$SHIPPING_API_KEYS_FILE. The server reads the file at start-up: restart it after a change.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kokokara.shipping.cli.output import table
from kokokara.shipping.server.auth import ROLES, KeysFileError, new_key, read_entries, write_entries


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("keys", help="API keys: add, list, remove", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    default_file = os.environ.get("SHIPPING_API_KEYS_FILE", "")

    add = actions.add_parser("add", help="create a key and print it once")
    add.add_argument("--name", required=True, help="caller name shown in logs and metrics, e.g. checkout-prod")
    add.add_argument("--role", required=True, choices=ROLES, help="what the key may call")
    add.add_argument("--rate-per-second", type=float, default=None, help="this key's own rate limit (default: the server's)")
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="the keys in the file (names, roles, ids; never keys)")
    listing.set_defaults(func=_list)

    remove = actions.add_parser("remove", help="revoke every key of a caller name (or one --id)")
    who = remove.add_mutually_exclusive_group(required=True)
    who.add_argument("--name")
    who.add_argument("--id")
    remove.set_defaults(func=_remove)

    for action in (add, listing, remove):
        action.add_argument("--file", default=default_file, help="the keys file (default: $SHIPPING_API_KEYS_FILE)")


def _file(args: argparse.Namespace) -> Path:
    if not args.file:
        raise KeysFileError("no keys file: pass --file or set SHIPPING_API_KEYS_FILE")
    return Path(args.file)


def _add(args: argparse.Namespace) -> int:
    try:
        path = _file(args)
        entries = read_entries(path) if path.exists() else []
        key, entry = new_key(args.name, args.role, rate_per_second=args.rate_per_second)
        write_entries(path, [*entries, entry])
    except KeysFileError as error:
        print(f"kokokara-shipping keys: {error}", file=sys.stderr)
        return 2
    print(key)
    print(
        f"key {entry.caller.key_id} for {entry.caller.name} ({entry.caller.role}) added to {path}. It is shown only now: store it in the caller's secrets.",
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    try:
        entries = read_entries(_file(args))
    except KeysFileError as error:
        print(f"kokokara-shipping keys: {error}", file=sys.stderr)
        return 2
    rows = [
        [e.caller.key_id, e.caller.name, e.caller.role, f"{e.caller.rate_per_second:g}" if e.caller.rate_per_second else "default", e.created] for e in entries
    ]
    print(table(["id", "name", "role", "rate/s", "created"], rows))
    return 0


def _remove(args: argparse.Namespace) -> int:
    try:
        path = _file(args)
        entries = read_entries(path)
        kept = [e for e in entries if not (e.caller.name == args.name or e.caller.key_id == args.id)]
        if len(kept) == len(entries):
            raise KeysFileError(f"no key for {args.name or args.id} in {path}")
        write_entries(path, kept)
    except KeysFileError as error:
        print(f"kokokara-shipping keys: {error}", file=sys.stderr)
        return 2
    print(f"removed {len(entries) - len(kept)} key(s); restart the server to apply", file=sys.stderr)
    return 0
