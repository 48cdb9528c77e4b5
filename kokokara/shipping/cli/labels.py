"""`kokokara-shipping labels ...`: create, fetch, void and list labels, and print the day's manifest.

    kokokara-shipping labels create request.json [--out label.pdf]   # CreateLabelRequest as proto JSON
    kokokara-shipping labels get ID [--format zpl] [--out label.zpl]
    kokokara-shipping labels void ID
    kokokara-shipping labels list [--date 2026-11-30] [--status active] [--tracking-number EN123456785JP]
    kokokara-shipping labels manifest [--date 2026-11-30] [--format pdf] [--out manifest.pdf]

Without --json, results are printed for people; documents go to --out (or are left out).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import grpc
from google.protobuf import json_format

from kokokara.shipping import cli
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc

FORMATS: dict[str, int] = {
    "pdf-a6": labels_pb2.DOCUMENT_FORMAT_PDF_A6,
    "pdf-4x6": labels_pb2.DOCUMENT_FORMAT_PDF_4X6,
    "zpl": labels_pb2.DOCUMENT_FORMAT_ZPL_4X6,
}
STATUSES: dict[str, int] = {"active": labels_pb2.LABEL_STATUS_ACTIVE, "voided": labels_pb2.LABEL_STATUS_VOIDED}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("labels", help="shipping labels: create, get, void, list, manifest")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    sub = parser.add_subparsers(dest="labels_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="issue a label from a CreateLabelRequest in proto JSON")
    create.add_argument("request", type=Path)
    create.add_argument("--out", type=Path, help="write the document here")
    get = sub.add_parser("get", help="fetch a label and its document")
    get.add_argument("id")
    get.add_argument("--format", choices=sorted(FORMATS))
    get.add_argument("--out", type=Path, help="write the document here")
    void = sub.add_parser("void", help="void a label (its number is never reused)")
    void.add_argument("id")
    listing = sub.add_parser("list", help="list labels")
    listing.add_argument("--date", type=date.fromisoformat, help="ship date, YYYY-MM-DD")
    listing.add_argument("--status", choices=sorted(STATUSES))
    listing.add_argument("--tracking-number", default="", help="only the label issued under this S10 number (any spelling)")
    manifest = sub.add_parser("manifest", help="the hand-over manifest for a ship date")
    manifest.add_argument("--date", type=date.fromisoformat, help="ship date, YYYY-MM-DD (default: today in Japan)")
    manifest.add_argument("--format", choices=["csv", "pdf"], default="csv")
    manifest.add_argument("--out", type=Path, help="write the manifest here (default: CSV to stdout)")
    parser.set_defaults(func=run)


def _date(d: date | None) -> dict[str, int] | None:
    return {"year": d.year, "month": d.month, "day": d.day} if d else None


def _summary(label: labels_pb2.Label) -> str:
    status = labels_pb2.LabelStatus.Name(label.status).removeprefix("LABEL_STATUS_").lower()
    form = labels_pb2.CustomsForm.Name(label.customs_form).removeprefix("CUSTOMS_FORM_")
    return f"{label.id}  {label.tracking_number}  {label.product_name}  {label.price.units:,} JPY  {form}  {status}"


def _show(args: argparse.Namespace, message: object, text: str) -> None:
    if args.json:
        print(json_format.MessageToJson(message, preserving_proto_field_name=True))  # type: ignore[arg-type]
    else:
        print(text)


def _save_document(label: labels_pb2.Label, out: Path | None) -> None:
    if out is not None and label.documents:
        out.write_bytes(label.documents[0].content)
        print(f"document written to {out}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    with cli.channel(args) as channel:
        stub = labels_pb2_grpc.LabelServiceStub(channel)
        try:
            return _run(args, stub)
        except grpc.RpcError as error:
            print(f"kokokara-shipping: {error.code().name}: {error.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 1


def _run(args: argparse.Namespace, stub: labels_pb2_grpc.LabelServiceStub) -> int:
    t = args.timeout
    if args.labels_command == "create":
        request = json_format.Parse(args.request.read_text(encoding="utf-8"), labels_pb2.CreateLabelRequest())
        response = stub.CreateLabel(request, timeout=t)
        _show(args, response, _summary(response.label) + ("  (retry: label issued before)" if response.replayed else ""))
        _save_document(response.label, args.out)
    elif args.labels_command == "get":
        fmt_value = FORMATS.get(args.format, 0)
        request = labels_pb2.GetLabelRequest(id=args.id, document_format=fmt_value, skip_documents=args.out is None)  # type: ignore[arg-type]
        label = stub.GetLabel(request, timeout=t).label
        _show(args, label, _summary(label))
        _save_document(label, args.out)
    elif args.labels_command == "void":
        label = stub.VoidLabel(labels_pb2.VoidLabelRequest(id=args.id), timeout=t).label
        _show(args, label, _summary(label))
    elif args.labels_command == "list":
        token, labels = "", []
        for _ in range(10_000):  # bounded: 5,000,000 labels at most
            status = STATUSES.get(args.status, 0)
            listing = labels_pb2.ListLabelsRequest(
                ship_date=_date(args.date),  # type: ignore[arg-type]
                status=status,  # type: ignore[arg-type]
                tracking_number=args.tracking_number,
                page_size=500,
                page_token=token,
            )
            page = stub.ListLabels(listing, timeout=t)
            labels.extend(page.labels)
            token = page.next_page_token
            if not token:
                break
        if args.json:
            print(json.dumps([json_format.MessageToDict(lb, preserving_proto_field_name=True) for lb in labels], indent=2))
        else:
            for lb in labels:
                print(_summary(lb))
    else:
        fmt = labels_pb2.MANIFEST_FORMAT_PDF if args.format == "pdf" else labels_pb2.MANIFEST_FORMAT_CSV
        manifest = stub.GetManifest(labels_pb2.GetManifestRequest(ship_date=_date(args.date), format=fmt), timeout=t)
        if args.out is not None:
            args.out.write_bytes(manifest.content)
            for p in manifest.products:
                print(f"{p.product_name}: {p.label_count} labels, {p.total_weight_grams:,} g, {p.total_price.units:,} JPY")
        elif fmt == labels_pb2.MANIFEST_FORMAT_CSV:
            sys.stdout.write(manifest.content.decode("utf-8"))
        else:
            print("kokokara-shipping: a PDF manifest needs --out FILE", file=sys.stderr)
            return 2
    return 0
