"""`kokokara-shipping watched`: parcels the service polls and reports by webhook.

kokokara-shipping watched add EN123456785JP --order ORDER-42
kokokara-shipping watched list --status in_customs --quiet-for-days 3
kokokara-shipping watched events --after 120 --number EN123456785JP
kokokara-shipping watched remove EN123456785JP
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import grpc
from google.protobuf import json_format, timestamp_pb2

from kokokara.shipping import cli
from kokokara.shipping.cli.output import table
from kokokara.shipping.v1 import tracking_pb2, tracking_pb2_grpc

STATUSES = {name.removeprefix("TRACKING_STATUS_").lower(): value for name, value in tracking_pb2.TrackingStatus.items() if value}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("watched", help="watched parcels: add, list, events, remove")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    sub = parser.add_subparsers(dest="watched_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="watch parcels (registering a number twice changes nothing)")
    add.add_argument("numbers", nargs="+", metavar="NUMBER")
    add.add_argument("--order", default="", help="the order reference sent with every event")
    add.add_argument("--endpoint", default="", help="send this parcel's events to this webhook endpoint id only")
    listing = sub.add_parser("list", help="list watched parcels")
    listing.add_argument("--status", choices=sorted(STATUSES))
    listing.add_argument("--quiet-for-days", type=int, default=0, help="only parcels without a change for this many days")
    listing.add_argument("--quiet", action="store_true", help="only parcels marked quiet")
    listing.add_argument("--order", default="", help="only this order reference")
    events = sub.add_parser("events", help="recorded events, from a cursor")
    events.add_argument("--after", type=int, default=0, help="events after this sequence number")
    events.add_argument("--number", default="", help="only this parcel's events")
    events.add_argument("--limit", type=int, default=100)
    remove = sub.add_parser("remove", help="stop watching parcels (their events stay listed)")
    remove.add_argument("numbers", nargs="+", metavar="NUMBER")
    parser.set_defaults(func=run)


def _when(stamp: timestamp_pb2.Timestamp, present: bool = True) -> str:
    if not present:
        return "-"
    return datetime.fromtimestamp(stamp.seconds, UTC).strftime("%Y-%m-%d %H:%M")


def _status(value: int) -> str:
    return tracking_pb2.TrackingStatus.Name(value).removeprefix("TRACKING_STATUS_").lower() if value else "pending"


def _show(args: argparse.Namespace, message: object) -> bool:
    if args.json:
        print(json_format.MessageToJson(message, preserving_proto_field_name=True))  # type: ignore[arg-type]
    return bool(args.json)


def run(args: argparse.Namespace) -> int:
    with cli.channel(args) as channel:
        stub = tracking_pb2_grpc.TrackingServiceStub(channel)
        try:
            return _run(args, stub)
        except grpc.RpcError as error:
            print(f"kokokara-shipping: {error.code().name}: {error.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 1


def _run(args: argparse.Namespace, stub: tracking_pb2_grpc.TrackingServiceStub) -> int:
    t = args.timeout
    if args.watched_command == "add":
        for number in args.numbers:
            parcel = stub.WatchParcel(
                tracking_pb2.WatchParcelRequest(tracking_number=number, order_reference=args.order, webhook_endpoint_id=args.endpoint), timeout=t
            )
            if not _show(args, parcel):
                print(f"{parcel.tracking_number}  watched  next poll {_when(parcel.next_poll_time, parcel.HasField('next_poll_time'))}")
    elif args.watched_command == "remove":
        for number in args.numbers:
            stub.UnwatchParcel(tracking_pb2.UnwatchParcelRequest(tracking_number=number), timeout=t)
            print(f"{number}  no longer watched", file=sys.stderr)
    elif args.watched_command == "list":
        request = tracking_pb2.ListWatchedParcelsRequest(
            status=STATUSES.get(args.status or "", 0),  # type: ignore[arg-type]
            quiet_for_days=args.quiet_for_days,
            order_reference=args.order,
            quiet_only=args.quiet,
            page_size=1000,
        )
        parcels: list[tracking_pb2.WatchedParcel] = []
        while True:
            page = stub.ListWatchedParcels(request, timeout=t)
            parcels.extend(page.parcels)
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        if not _show(args, tracking_pb2.ListWatchedParcelsResponse(parcels=parcels)):
            rows = [
                [
                    p.tracking_number,
                    p.order_reference,
                    _status(p.status),
                    "quiet" if p.quiet else "",
                    str(p.event_count),
                    _when(p.last_change_time),
                    _when(p.next_poll_time, p.HasField("next_poll_time")),
                ]
                for p in parcels
            ]
            print(table(["number", "order", "status", "", "events", "last change (UTC)", "next poll (UTC)"], rows))
    elif args.watched_command == "events":
        answer = stub.ListTrackingEvents(
            tracking_pb2.ListTrackingEventsRequest(after_sequence=args.after, tracking_number=args.number, page_size=args.limit), timeout=t
        )
        if not _show(args, answer):
            rows = [
                [
                    str(e.sequence),
                    e.tracking_number,
                    tracking_pb2.TrackingEventType.Name(e.type).removeprefix("TRACKING_EVENT_TYPE_").lower(),
                    _status(e.status),
                    e.event.carrier_status_text,
                    _when(e.create_time),
                ]
                for e in answer.events
            ]
            print(table(["seq", "number", "event", "status", "Japan Post", "recorded (UTC)"], rows))
            print(f"next: --after {answer.last_sequence}", file=sys.stderr)
    return 0
