"""Reading google.rpc.Status details off a failed call, for every gRPC test."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import message
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass
class StatusDetails:
    code: grpc.StatusCode
    reason: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # BadRequest: field -> description
    error_info: error_details_pb2.ErrorInfo | None = None
    retry_info: error_details_pb2.RetryInfo | None = None


def _unpack(detail, kind: type[message.Message]):  # type: ignore[no-untyped-def]
    if not detail.Is(kind.DESCRIPTOR):
        return None
    value = kind()
    detail.Unpack(value)
    return value


def status_details(error: grpc.RpcError) -> StatusDetails:
    """The code, ErrorInfo reason, BadRequest fields and RetryInfo of a failed call (asserts the
    call carries a google.rpc.Status)."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status"
    out = StatusDetails(code=error.code())  # type: ignore[attr-defined]
    for detail in status.details:
        if info := _unpack(detail, error_details_pb2.ErrorInfo):
            out.error_info, out.reason = info, info.reason
        elif bad := _unpack(detail, error_details_pb2.BadRequest):
            out.fields.update({v.field: v.description for v in bad.field_violations})
        elif retry := _unpack(detail, error_details_pb2.RetryInfo):
            out.retry_info = retry
    return out
