"""The one place where failures become gRPC statuses (AIP-193: google.rpc.Status with details).

Domain errors carry a stable reason; this module turns them into a status code, an ErrorInfo with
that reason, and for bad input a BadRequest naming each field. Anything else is a bug: INTERNAL,
logged with its traceback here and sent without one.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from domain.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ShippingError,
    Unauthenticated,
    Unavailable,
)

DOMAIN = "shipping.kokokara.jp"
# Error details travel in gRPC trailing metadata. Clients start refusing metadata past 8 KiB (a soft
# limit, enforced at random up to the 16 KiB hard one), and a request with thousands of bad fields
# must still get INVALID_ARGUMENT: so only the first violations are listed, each description and the
# message are cut short, and the whole stays well under 8 KiB.
MAX_VIOLATIONS = 20
MAX_DESCRIPTION_CHARS = 160
MAX_MESSAGE_CHARS = 600
log = logging.getLogger("kokokara.shipping.server.errors")

_CODES: list[tuple[type[ShippingError], int]] = [
    (InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (NotFound, code_pb2.NOT_FOUND),
    (AlreadyExists, code_pb2.ALREADY_EXISTS),
    (FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (Unavailable, code_pb2.UNAVAILABLE),
    # callers, roles, deadlines
    (Unauthenticated, code_pb2.UNAUTHENTICATED),
    (PermissionDenied, code_pb2.PERMISSION_DENIED),
    (DeadlineExceeded, code_pb2.DEADLINE_EXCEEDED),
]


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def _bad_request(violations: list[FieldViolation]) -> error_details_pb2.BadRequest:
    listed = violations[:MAX_VIOLATIONS]
    bad = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description[:MAX_DESCRIPTION_CHARS]) for v in listed]
    )
    if len(violations) > MAX_VIOLATIONS:
        rest = violations[MAX_VIOLATIONS]
        bad.field_violations.add(field=rest.field, description=f"and {len(violations) - MAX_VIOLATIONS} more bad fields not listed")
    return bad


def _short(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[: MAX_MESSAGE_CHARS - 1] + "…"


def to_status(error: BaseException) -> status_pb2.Status:
    """The google.rpc.Status for an error raised while serving a request."""
    if isinstance(error, ShippingError):
        code = next((c for kind, c in _CODES if isinstance(error, kind)), code_pb2.INTERNAL)
        details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata))]
        violations = getattr(error, "violations", None)
        if violations:
            details.append(_pack(_bad_request(violations)))
        retry_after = getattr(error, "retry_after_seconds", None)
        if retry_after is not None:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(max(1, int(retry_after * 1e9)))
            details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
        return status_pb2.Status(code=code, message=_short(error.message), details=details)
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message="internal error; it has been logged",
        details=[_pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=DOMAIN))],
    )


def grpc_code(status: status_pb2.Status) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == status.code:
            return code
    return grpc.StatusCode.UNKNOWN
