"""Output helpers shared by the sub-commands: plain-text tables and readable gRPC errors."""

from __future__ import annotations

import sys
import unicodedata

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A left-aligned text table that keeps its columns with Japanese (double-width) text too."""
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def print_rpc_error(error: grpc.RpcError) -> int:
    """Prints a gRPC error with its field violations to stderr; returns the exit code 1."""
    code = error.code().name if hasattr(error, "code") else "UNKNOWN"
    details = error.details() if hasattr(error, "details") else str(error)
    print(f"error: {code}: {details}", file=sys.stderr)
    status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                for v in bad.field_violations:
                    print(f"  {v.field}: {v.description}", file=sys.stderr)
    return 1
