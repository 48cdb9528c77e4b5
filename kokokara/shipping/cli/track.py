"""`kokokara-shipping track EN123456785JP`: where a parcel is, as a table (or --json for scripts).

Several numbers are looked up in one BatchGetTracking call; --watch follows one number and prints
each change until its status is final (or --timeout passes).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable

import grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from kokokara.shipping import cli
from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc

pb = tracking_pb2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("track", help="where a parcel is (Japan Post tracking)", description=__doc__)
    parser.add_argument("numbers", nargs="+", metavar="NUMBER", help="S10 tracking number, e.g. EN123456785JP (spaces and hyphens allowed)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.add_argument("--watch", action="store_true", help="follow one number and print every change until it is final")
    parser.set_defaults(func=run)


def _label(enum: object, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix).replace("_", " ").lower()  # type: ignore[attr-defined]


def _status(value: int) -> str:
    return _label(pb.TrackingStatus, value, "TRACKING_STATUS_")


def render(t: tracking_pb2.Tracking) -> str:
    """A tracking answer as a header and a table of events, for people."""
    product = _label(pb.TrackingProduct, t.product, "TRACKING_PRODUCT_")
    lines = [
        f"{t.tracking_number}  {_status(t.status).upper()}{' (final)' if t.final else ''}",
        f"product: {product} (by number)" + (f"; Japan Post says {t.carrier_product_text!r}" if t.carrier_product_text else ""),
        f"read from Japan Post {t.fetch_time.ToDatetime():%Y-%m-%d %H:%M} UTC, via {_label(pb.TrackingSource, t.source, 'TRACKING_SOURCE_')};"
        f" next refresh {t.next_refresh_time.ToDatetime():%Y-%m-%d %H:%M} UTC",
    ]
    if t.source == pb.TRACKING_SOURCE_STALE_CACHE:
        lines.append("note: Japan Post could not be read just now; this is the last known answer")
    if not t.events:
        lines.append("Japan Post has no record of this number (yet: items appear after their first scan).")
        return "\n".join(lines)
    head = ("date (local)", "status", "Japan Post says", "details", "office", "where", "postal code")
    rows = [
        (
            e.occurrence_time_text + (" JST" if e.occurrence_time.time_zone.id == "Asia/Tokyo" else ""),
            _status(e.status),
            e.carrier_status_text,
            e.details,
            e.office,
            e.location,
            e.postal_code,
        )
        for e in t.events
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    lines += ["", fmt(head), fmt(tuple("-" * w for w in widths)), *(fmt(r) for r in rows)]
    return "\n".join(lines)


def _describe(status: status_pb2.Status | None, fallback: str) -> str:
    if status is None:
        return fallback
    parts = [status.message]
    for d in status.details:
        if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            d.Unpack(info)
            parts.append(f"[{info.reason}]")
    return " ".join(parts)


def _as_json(message: object) -> str:
    return json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), ensure_ascii=False, indent=2)  # type: ignore[arg-type]


def _print_all(answers: Iterable[tracking_pb2.Tracking], as_json: bool) -> None:
    for i, t in enumerate(answers):
        if as_json:
            print(_as_json(t), flush=True)
        else:
            print(("\n" if i else "") + render(t), flush=True)


def run(args: argparse.Namespace) -> int:
    with cli.channel(args) as channel:
        stub = tracking_pb2_grpc.TrackingServiceStub(channel)
        try:
            if args.watch:
                if len(args.numbers) != 1:
                    print("kokokara-shipping: --watch follows one number", file=sys.stderr)
                    return 2
                request = pb.WatchTrackingRequest(tracking_number=args.numbers[0])
                _print_all(stub.WatchTracking(request, timeout=args.timeout), args.json)
                return 0
            if len(args.numbers) == 1:
                _print_all([stub.GetTracking(pb.GetTrackingRequest(tracking_number=args.numbers[0]), timeout=args.timeout)], args.json)
                return 0
            batch = pb.BatchGetTrackingRequest(requests=[pb.GetTrackingRequest(tracking_number=n) for n in args.numbers])
            response = stub.BatchGetTracking(batch, timeout=args.timeout)
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            if args.watch and code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return 0  # --timeout ended the watch
            print(f"kokokara-shipping: {code.name}: {_describe(rpc_status.from_call(error), error.details())}", file=sys.stderr)  # type: ignore[arg-type,attr-defined]
            return 2 if code == grpc.StatusCode.INVALID_ARGUMENT else 1
    failed = 0
    if args.json:
        print(_as_json(response))
    for number, result in zip(args.numbers, response.results, strict=True):
        if result.WhichOneof("result") == "error":
            failed += 1
            if not args.json:
                print(f"\n{number}: {_describe(result.error, 'failed')}", file=sys.stderr)
        elif not args.json:
            print("\n" + render(result.tracking), flush=True)
    return 1 if failed else 0
