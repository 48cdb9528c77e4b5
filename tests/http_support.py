"""Helpers for the HTTP side's tests: Connect calls with `requests`, and a failed call's status
read back into a google.rpc.Status to compare with gRPC's."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import requests
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2

CONNECT_TO_GRPC = {
    "canceled": "CANCELLED",
    "unknown": "UNKNOWN",
    "invalid_argument": "INVALID_ARGUMENT",
    "deadline_exceeded": "DEADLINE_EXCEEDED",
    "not_found": "NOT_FOUND",
    "already_exists": "ALREADY_EXISTS",
    "permission_denied": "PERMISSION_DENIED",
    "resource_exhausted": "RESOURCE_EXHAUSTED",
    "failed_precondition": "FAILED_PRECONDITION",
    "aborted": "ABORTED",
    "out_of_range": "OUT_OF_RANGE",
    "unimplemented": "UNIMPLEMENTED",
    "internal": "INTERNAL",
    "unavailable": "UNAVAILABLE",
    "data_loss": "DATA_LOSS",
    "unauthenticated": "UNAUTHENTICATED",
}


@dataclass
class HttpOutcome:
    http_status: int
    code: str = "OK"  # the gRPC code's name
    message: str = ""
    reason: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    body: Any = None
    debug: list[Any] = field(default_factory=list)


def connect_call(
    base: str, rpc: str, body: bytes | str | dict, key: str | None = None, headers: dict[str, str] | None = None, timeout: float = 20
) -> HttpOutcome:
    """POSTs a Connect unary call as JSON; returns the outcome, details decoded from `value`."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    sent = {"content-type": "application/json", **(headers or {})}
    if key is not None:
        sent["authorization"] = f"Bearer {key}"
    reply = requests.post(base + rpc, data=data, headers=sent, timeout=timeout)
    return outcome(reply)


def outcome(reply: requests.Response) -> HttpOutcome:
    payload = reply.json() if reply.content else {}
    if reply.status_code == 200:
        return HttpOutcome(200, body=payload)
    out = HttpOutcome(reply.status_code, code=CONNECT_TO_GRPC[payload["code"]], message=payload.get("message", ""), body=payload)
    for detail in payload.get("details", []):
        packed = any_pb2.Any(type_url="type.googleapis.com/" + detail["type"], value=base64.b64decode(detail["value"] + "=="))
        out.debug.append(detail.get("debug"))
        if detail["type"] == "google.rpc.ErrorInfo":
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            out.reason = info.reason
        elif detail["type"] == "google.rpc.BadRequest":
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            out.fields.update({v.field: v.description for v in bad.field_violations})
    return out


def to_json(message: Any) -> dict:
    return json_format.MessageToDict(message)
