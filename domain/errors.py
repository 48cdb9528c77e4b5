"""Domain errors. The gRPC edge maps each kind to one status code (kokokara/shipping/server/errors.py).

Every error has a stable UPPER_SNAKE `reason` (sent as google.rpc.ErrorInfo.reason) and a message
for people. Messages never hold personal data: they name fields and rules, not their values, except
for values that identify nothing about a person (a region code, a weight, a tracking number).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field: `field` is a path such as `parcels[0].weight_grams`."""

    field: str
    description: str


class ShippingError(Exception):
    """Base class: a failure the caller can act on."""

    reason: str = "SHIPPING_ERROR"

    def __init__(self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata = dict(metadata or {})


class InvalidArgument(ShippingError):
    """The request is malformed: maps to INVALID_ARGUMENT with a BadRequest listing each field."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], *, reason: str | None = None, message: str | None = None):
        self.violations = list(violations)
        text = message or "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(text, reason=reason)


class NotFound(ShippingError):
    reason = "NOT_FOUND"


class AlreadyExists(ShippingError):
    reason = "ALREADY_EXISTS"


class FailedPrecondition(ShippingError):
    """The request is well-formed but cannot be carried out in the current state (e.g. customs rules)."""

    reason = "FAILED_PRECONDITION"

    def __init__(self, message: str, *, reason: str | None = None, violations: list[FieldViolation] | None = None):
        super().__init__(message, reason=reason)
        self.violations = list(violations or [])


class ResourceExhausted(ShippingError):
    reason = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None, retry_after_seconds: float | None = None):
        super().__init__(message, reason=reason, metadata=metadata)
        # When set, the caller may try again after this long (sent as google.rpc.RetryInfo).
        self.retry_after_seconds = retry_after_seconds


class Unauthenticated(ShippingError):
    """No API key, or one the service does not know."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(ShippingError):
    """A known caller asked for something outside its role."""

    reason = "PERMISSION_DENIED"


class DeadlineExceeded(ShippingError):
    """The caller's deadline passed before the work was done; the rest was not started."""

    reason = "DEADLINE_EXCEEDED"


class Unavailable(ShippingError):
    """A dependency (Japan Post, Redis, the database) failed; the caller may retry later."""

    reason = "UNAVAILABLE"


class StartupError(Exception):
    """The service cannot start as configured: a setting, a keys file, a rate table, the S10 ranges,
    an address it cannot listen on, a label database that refuses it. Every start-up failure derives
    from this one base, so server.py catches one and exits with its `exit_code`, printing `what`
    before the message (the message itself names the file, line or variable)."""

    exit_code: int = 1
    what: str = ""


@dataclass
class ViolationCollector:
    """Collects every bad field of a request so the caller learns all of them in one reply."""

    violations: list[FieldViolation] = field(default_factory=list)

    def add(self, field_path: str, description: str) -> None:
        self.violations.append(FieldViolation(field_path, description))

    def raise_if_any(self, reason: str) -> None:
        if self.violations:
            raise InvalidArgument(self.violations, reason=reason)
