"""`kokokara-shipping quote`: what shipping a parcel costs, as a table for people or JSON for scripts.

kokokara-shipping quote --to US --weight 1.2kg --size 30x20x10cm
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import grpc
from google.protobuf import json_format

from kokokara.shipping import cli
from kokokara.shipping.cli.output import print_rpc_error, table
from kokokara.shipping.v1 import common_pb2, rates_pb2, rates_pb2_grpc

_WEIGHT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kg|g)?\s*$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)\s*(mm|cm|m)?\s*$", re.IGNORECASE)
_UNIT_MM = {"mm": 1, "cm": 10, "m": 1000}


def parse_weight(text: str) -> int:
    """'1.2kg' -> 1200, '350g' -> 350, '500' -> 500 (grams)."""
    m = _WEIGHT.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"weight must look like 1.2kg or 350g, got {text!r}")
    value, unit = float(m.group(1)), (m.group(2) or "g").lower()
    grams = round(value * (1000 if unit == "kg" else 1))
    if grams <= 0:
        raise argparse.ArgumentTypeError("weight must be positive")
    return grams


def parse_size(text: str) -> tuple[int, int, int]:
    """'30x20x10cm' -> (300, 200, 100) millimetres; the unit defaults to cm."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 30x20x10cm, got {text!r}")
    factor = _UNIT_MM[(m.group(4) or "cm").lower()]
    sides = tuple(round(float(m.group(i)) * factor) for i in (1, 2, 3))
    return sides[0], sides[1], sides[2]


def _enum_value(enum: object, prefix: str, what: str, text: str) -> int:
    """A proto enum's value from its short lower-case name (ems, gift, returned_goods, ...)."""
    try:
        return enum.Value(prefix + text.strip().upper().replace("-", "_"))  # type: ignore[attr-defined, no-any-return]
    except ValueError:
        choices = ", ".join(n.removeprefix(prefix).lower() for n in enum.keys()[1:])  # type: ignore[attr-defined]
        raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; choose from {choices}") from None


def parse_method(text: str) -> int:
    return _enum_value(common_pb2.ShippingMethod, "SHIPPING_METHOD_", "method", text)


def parse_contents(text: str) -> int:
    return _enum_value(common_pb2.ContentsType, "CONTENTS_TYPE_", "contents type", text)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "quote", help="price a parcel to a destination by every method", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--to", required=True, metavar="REGION", help="destination ISO 3166-1 alpha-2 code, e.g. US")
    p.add_argument("--weight", required=True, type=parse_weight, action="append", help="parcel weight, e.g. 1.2kg (repeat for several parcels)")
    p.add_argument("--size", type=parse_size, action="append", help="parcel size LxWxH, e.g. 30x20x10cm (repeat in parcel order)")
    p.add_argument("--method", type=parse_method, action="append", help="only this method (ems, airmail, epacket, sea, consolidation); repeatable")
    p.add_argument("--value", type=int, help="declared value in JPY")
    p.add_argument(
        "--contents",
        type=parse_contents,
        default=common_pb2.CONTENTS_TYPE_UNSPECIFIED,
        help="what the parcels hold: merchandise (the default), gift, sample, documents, returned_goods; acceptance may depend on it",
    )
    p.add_argument("--insure", action="store_true", help="buy cover for the declared value")
    p.add_argument("--json", action="store_true", help="print the response as JSON")
    p.set_defaults(func=run)


def build_request(args: argparse.Namespace) -> rates_pb2.GetQuoteRequest:
    sizes = args.size or []
    if len(sizes) > len(args.weight):
        raise SystemExit("kokokara-shipping quote: more --size than --weight options")
    request = rates_pb2.GetQuoteRequest(destination_region_code=args.to, methods=args.method or [], insure=args.insure, contents_type=args.contents)
    for i, grams in enumerate(args.weight):
        length, width, height = sizes[i] if i < len(sizes) else (0, 0, 0)
        request.parcels.add(weight_grams=grams, length_mm=length, width_mm=width, height_mm=height)
    if args.value is not None:
        request.declared_value.currency_code = "JPY"
        request.declared_value.units = args.value
    return request


def _yen(money: object) -> str:
    return f"¥{money.units:,}"  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    request = build_request(args)
    with cli.channel(args) as channel:
        try:
            response = rates_pb2_grpc.RateServiceStub(channel).GetQuote(request, timeout=args.timeout)
        except grpc.RpcError as error:
            return print_rpc_error(error)
    if args.json:
        print(json.dumps(json_format.MessageToDict(response, preserving_proto_field_name=True), ensure_ascii=False, indent=2))
        return 0
    rows = []
    for o in response.options:
        d = o.delivery
        arrival = f"{d.earliest_arrival_date.year}-{d.earliest_arrival_date.month:02d}-{d.earliest_arrival_date.day:02d}" if d.max_days else ""
        latest = f"{d.latest_arrival_date.year}-{d.latest_arrival_date.month:02d}-{d.latest_arrival_date.day:02d}" if d.max_days else ""
        rows.append(
            [
                common_pb2.ShippingMethod.Name(o.method).removeprefix("SHIPPING_METHOD_").lower(),
                o.product_name,
                _yen(o.total_price),
                str(o.zone or "-"),
                "yes" if o.tracked else "no",
                _yen(o.compensation_limit) if o.compensation_limit.units else "-",
                f"{d.min_days}-{d.max_days}" if d.max_days else "?",
                f"{arrival} .. {latest}" if arrival else "",
            ]
        )
    print(f"Shipping to {response.destination_region_code}:")
    if rows:
        print(table(["method", "product", "price", "zone", "tracked", "cover", "days", "arrives"], rows))
    else:
        print("  no method can take this parcel")
    if response.unavailable:
        print("\nNot available:")
        print(
            table(
                ["method", "reason", "why"],
                [
                    [
                        common_pb2.ShippingMethod.Name(u.method).removeprefix("SHIPPING_METHOD_").lower(),
                        rates_pb2.UnavailableReason.Name(u.reason).removeprefix("UNAVAILABLE_REASON_"),
                        u.message,
                    ]
                    for u in response.unavailable
                ],
            )
        )
    notes = sorted({n for o in response.options for n in o.notes})
    if notes:
        print("\nNotes:")
        for n in notes:
            print(f"  - {n}")
    sys.stdout.flush()
    return 0
