"""The label store interface and what its two implementations (SQLite, PostgreSQL) share.

A label and its S10 number are written in ONE transaction: the serial is taken from the range's
counter row and the label row is inserted before the commit, so a crash either keeps both or
neither, and the counter never goes back. `request_id` is unique in the table, so concurrent
retries of one request resolve to one label: the loser's insert fails, its transaction (with
its serial) rolls back, and it reads the winner's label.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from domain.errors import FieldViolation, InvalidArgument, ResourceExhausted, StartupError, Unavailable
from labels.model import CustomsForm, Label, LabelStatus, Pricing, request_from_canonical
from labels.ranges import SerialRange
from rates.model import Product


class DatabaseMisconfigured(Unavailable):
    """The label database answers but refuses this service as configured: its role or database does
    not exist, the password is refused, the URL or file cannot be used. Unlike an unreachable
    database, waiting does not help: at start-up it stops the server (an operator must act); while
    serving, label calls get it as UNAVAILABLE with its own reason."""


class LabelDatabaseRefused(StartupError):
    """At start-up, the label database refused this configuration (DatabaseMisconfigured): the
    server does not start until an operator fixes it."""

    exit_code = 5


# Builds the label once the store has allocated its number: (tracking_number, range_name) -> Label.
LabelBuilder = Callable[[str, str], Label]


# Labels issued in one transaction at most: enough for every thread of a server, small enough that
# a batch never holds the database's locks for long.
MAX_BATCH = 64


@dataclass(slots=True)
class PendingLabel:
    """A label waiting for the next group commit, and what became of it."""

    request_id: str
    product: Product
    build: LabelBuilder
    done: bool = False
    result: tuple[Label, bool] | None = None
    error: Exception | None = None


class GroupCommit:
    """Group commit for `LabelStore.issue`, by flat combining: a request joins the process's queue,
    and whichever thread holds `writer` next hands every queued label (up to MAX_BATCH) to `commit`,
    which issues them in ONE transaction, each in a savepoint of its own so that one that fails (an
    exhausted range) fails alone. One commit, one fsync and one turn at the database's locks then
    serve a whole batch, which is what let CreateLabel gain from a second worker (docs/performance.md).

    Nobody is answered before the transaction that holds their label has committed: a crash keeps
    all of a batch or none of it, and the callers of a lost batch retry as they would after a lost
    single label. `commit` sets each item's result or error; if it raises, the whole batch failed
    and every item gets that error."""

    def __init__(self, commit: Callable[[list[PendingLabel]], None], writer: threading.Lock | None = None):
        self._commit = commit
        self.writer = writer or threading.Lock()
        self._lock = threading.Lock()
        self.queue: list[PendingLabel] = []

    def issue(self, request_id: str, product: Product, build: LabelBuilder) -> tuple[Label, bool]:
        pending = PendingLabel(request_id, product, build)
        with self._lock:
            self.queue.append(pending)
        with self.writer:
            while not pending.done:  # FIFO: ours is in the first batch or in one of the next
                with self._lock:
                    batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
                self._run(batch)
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _run(self, batch: list[PendingLabel]) -> None:
        """Every item comes out done, with a result or an error."""
        try:
            self._commit(batch)
        except BaseException as error:  # the transaction failed (BEGIN, COMMIT, connection): no label of it was written
            lost = error if isinstance(error, Exception) else Unavailable("the label was not written; retry", reason="DATABASE_UNAVAILABLE")
            for item in batch:
                item.result, item.error = None, lost
            if not isinstance(error, Exception):
                raise
        finally:
            for item in batch:
                item.done = True


@dataclass(frozen=True, slots=True)
class Page:
    labels: tuple[Label, ...]
    next_token: str


class LabelStore(Protocol):
    def sync_ranges(self, ranges: tuple[SerialRange, ...]) -> None: ...

    def issue(self, request_id: str, product: Product, build: LabelBuilder) -> tuple[Label, bool]:
        """Returns (label, created). When request_id is already stored, returns that label and False
        without allocating a number."""
        ...

    def get(self, label_id: str) -> Label | None: ...

    def get_by_request_id(self, request_id: str) -> Label | None: ...

    def list_labels(self, ship_date: date | None, status: LabelStatus | None, page_size: int, page_token: str, *, tracking_number: str = "") -> Page:
        """Labels in issue order, after the page token's; `tracking_number` (normalised S10, "" for
        any) finds a parcel's label by the unique index on the column."""
        ...

    def void(self, label_id: str, when: datetime) -> Label | None: ...

    def for_manifest(self, ship_date: date) -> list[Label]: ...

    def erase_personal_data(self, created_before: datetime, now: datetime) -> int:
        """Erases names, addresses, phones and e-mails of labels created before `created_before`
        (number, product, dates, weights, prices and customs lines stay); returns how many."""
        ...

    def close(self) -> None: ...


PERSONAL_ADDRESS_FIELDS = ("name", "company", "address_lines", "city", "administrative_area", "postal_code", "phone", "email")
# Added later, and only stored when given: the district, sorting code and the address in Latin letters.
LATER_PERSONAL_ADDRESS_FIELDS = ("sublocality", "sorting_code", "latin")
ERASED_NOTE = "personal data erased after the retention period"
# Labels erased per transaction, so a large purge does not hold the write lock for long.
ERASE_BATCH = 500


def erase_payload(data: str | dict[str, Any]) -> str:
    """The stored payload with the sender's and recipient's personal data blanked (their region
    codes stay: the manifest counts by destination)."""
    body = json.loads(data) if isinstance(data, str) else dict(data)
    request = body["request"]
    for party in ("sender", "recipient"):
        address = request[party]
        for field in PERSONAL_ADDRESS_FIELDS:
            address[field] = [] if field == "address_lines" else ""
        for field in LATER_PERSONAL_ADDRESS_FIELDS:  # optional: left out, as when never given
            address.pop(field, None)
    customs = request.get("customs")
    if customs:
        customs.pop("importer_reference", None)  # the recipient's own tax or customs code
    if ERASED_NOTE not in body["notes"]:
        body["notes"] = [*body["notes"], ERASED_NOTE]
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


MAX_ALLOCATION_ATTEMPTS = 16


def exhausted(product: Product, described: list[str]) -> ResourceExhausted:
    if not described:
        return ResourceExhausted(
            f"no S10 range is configured for product {product.value}; add one to the ranges file",
            reason="S10_RANGE_NOT_CONFIGURED",
            metadata={"product": product.value},
        )
    return ResourceExhausted(
        f"S10 range exhausted for product {product.value}: {', '.join(described)}; add a range to the ranges file",
        reason="S10_RANGE_EXHAUSTED",
        metadata={"product": product.value, "ranges": ",".join(d.split(" ")[0] for d in described)},
    )


def describe_range(name: str, indicator: str, first: int, last: int) -> str:
    return SerialRange(name, Product.EMS, indicator, first, last).describe()


def payload(label: Label) -> str:
    """The label's content as stored (JSON): the request as sent and what was decided when issuing
    it, with the ship date the label is for (the request's own, or the day it defaulted to). Labels
    stored before had no "ship_date" here, and their request always held one."""
    return json.dumps(
        {
            "request": label.request.canonical(),
            "ship_date": label.ship_date.isoformat(),
            "pricing": {
                "product": label.pricing.product.value,
                "product_name": label.pricing.product_name,
                "price_jpy": label.pricing.price_jpy,
                "notes": list(label.pricing.notes),
            },
            "customs_form": label.customs_form.value,
            "export_declaration_required": label.export_declaration_required,
            "notes": list(label.notes),
        },
        sort_keys=True,
        ensure_ascii=False,
    )


# The columns of a new label's row, in the order of label_row's values.
LABEL_COLUMNS = "id, request_id, request_hash, tracking_number, range_name, product, ship_date, status, created_at, data"


def label_row(label: Label, request_id: str, number: str, range_name: str, product: Product, *, dates_as_text: bool) -> tuple[Any, ...]:
    """The values of a new label's row, in LABEL_COLUMNS order (SQLite keeps dates as ISO text)."""
    ship_date: Any = label.ship_date.isoformat() if dates_as_text else label.ship_date
    created_at: Any = label.created_at.isoformat() if dates_as_text else label.created_at
    return (label.id, request_id, label.request_hash, number, range_name, product.value, ship_date, label.status.value, created_at, payload(label))


def label_from_row(
    *,
    seq: int,
    label_id: str,
    request_id: str,
    request_hash: str,
    tracking_number: str,
    range_name: str,
    status: str,
    created_at: datetime,
    voided_at: datetime | None,
    data: str | dict[str, Any],
) -> Label:
    body = json.loads(data) if isinstance(data, str) else data
    p = body["pricing"]
    return Label(
        id=label_id,
        seq=seq,
        tracking_number=tracking_number,
        range_name=range_name,
        request=request_from_canonical(request_id, body["request"], date.fromisoformat(body["ship_date"]) if "ship_date" in body else None),
        request_hash=request_hash,
        pricing=Pricing(Product(p["product"]), p["product_name"], int(p["price_jpy"]), tuple(p["notes"])),
        customs_form=CustomsForm(body["customs_form"]),
        export_declaration_required=bool(body["export_declaration_required"]),
        created_at=created_at,
        status=LabelStatus(status),
        voided_at=voided_at,
        notes=tuple(body["notes"]),
        hashed_with_default_ship_date="ship_date" not in body,
    )


# A page token is base64url (unpadded) of {"a": seq to continue after, "d": ship_date filter, "s":
# status filter, "t": tracking number filter}; "t" only when that filter is set, so the tokens of a
# listing without it stay as they were before the filter existed (and servers of either version,
# side by side during a rolling update, read each other's). It is not signed: it grants nothing (any
# caller allowed to list sees every label, and the filters are checked against the request), so a
# key shared by every worker and replica would protect nothing. It is validated strictly instead, so
# a forged one is INVALID_ARGUMENT: seq is a JSON integer between 0 and the largest value either
# store's integer column holds.
MAX_PAGE_TOKEN_CHARS = 256
MAX_SEQ = 2**63 - 1
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_TOKEN_KEYS = frozenset({"a", "d", "s"})
_TOKEN_KEYS_FILTERED = _TOKEN_KEYS | {"t"}


def _token_filters(ship_date: date | None, status: LabelStatus | None, tracking_number: str) -> dict[str, str]:
    filters = {"d": ship_date.isoformat() if ship_date else "", "s": status.value if status else ""}
    if tracking_number:
        filters["t"] = tracking_number
    return filters


def encode_page_token(after_seq: int, ship_date: date | None, status: LabelStatus | None, tracking_number: str = "") -> str:
    raw = json.dumps({"a": after_seq, **_token_filters(ship_date, status, tracking_number)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _not_json_number(text: str) -> Any:
    raise ValueError(f"not an integer: {text[:20]}")


def _token_content(token: str) -> tuple[int, dict[str, str]] | None:
    """(seq, the filters it was made for) of a token this service made, or None."""
    if len(token) > MAX_PAGE_TOKEN_CHARS or not _TOKEN_CHARS.fullmatch(token):
        return None
    try:
        raw = json.loads(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8"),
            parse_float=_not_json_number,  # 1.5, 1e999
            parse_constant=_not_json_number,  # NaN, Infinity
        )
    except ValueError:  # bad base64, bad UTF-8, bad JSON, a float (binascii.Error and UnicodeError are ValueErrors)
        return None
    if not isinstance(raw, dict) or raw.keys() not in (_TOKEN_KEYS, _TOKEN_KEYS_FILTERED):
        return None
    after = raw.pop("a")
    if type(after) is not int or not 0 <= after <= MAX_SEQ or not all(isinstance(v, str) for v in raw.values()):
        return None
    return after, raw


def decode_page_token(token: str, ship_date: date | None, status: LabelStatus | None, tracking_number: str = "") -> int:
    """The seq to continue after; 0 for no token. The filters must be those the token was made for."""
    if not token:
        return 0
    content = _token_content(token)
    if content is None:
        raise InvalidArgument([FieldViolation("page_token", "is not a token from a previous ListLabels answer")], reason="INVALID_PAGE_TOKEN")
    after, filters = content
    if filters != _token_filters(ship_date, status, tracking_number):
        raise InvalidArgument(
            [FieldViolation("page_token", "was made for other filters; send the same ship_date, status and tracking_number as in the first call")],
            reason="INVALID_PAGE_TOKEN",
        )
    return after


def list_query(
    columns: str,
    after_seq: int,
    ship_date: date | None,
    status: LabelStatus | None,
    tracking_number: str,
    limit: int,
    *,
    placeholder: str,
    dates_as_text: bool,
) -> tuple[str, list[object]]:
    """ListLabels' SELECT and its arguments, for either store (`placeholder`: "?" or "%s"; SQLite
    keeps dates as ISO text). The tracking number has the unique index of its column, the ship date
    labels_by_ship_date; without either, the scan follows seq, the primary key."""
    p = placeholder
    sql = f"SELECT {columns} FROM labels WHERE seq > {p}"
    args: list[object] = [after_seq]
    if tracking_number:
        sql += f" AND tracking_number = {p}"
        args.append(tracking_number)
    if ship_date is not None:
        sql += f" AND ship_date = {p}"
        args.append(ship_date.isoformat() if dates_as_text else ship_date)
    if status is not None:
        sql += f" AND status = {p}"
        args.append(status.value)
    sql += f" ORDER BY seq LIMIT {p}"
    args.append(limit)
    return sql, args


def page_of(
    rows: Sequence[Any], to_label: Callable[[Any], Label], page_size: int, ship_date: date | None, status: LabelStatus | None, tracking_number: str
) -> Page:
    """The page of the rows list_query found (up to page_size + 1): the first page_size as labels,
    and a token after the last of them when there were more."""
    labels = tuple(to_label(r) for r in rows[:page_size])
    token = encode_page_token(labels[-1].seq, ship_date, status, tracking_number) if len(rows) > page_size else ""
    return Page(labels, token)


__all__ = [
    "MAX_ALLOCATION_ATTEMPTS",
    "DatabaseMisconfigured",
    "LabelBuilder",
    "LabelStore",
    "Page",
    "decode_page_token",
    "describe_range",
    "encode_page_token",
    "erase_payload",
    "exhausted",
    "label_from_row",
    "list_query",
    "page_of",
    "payload",
]
