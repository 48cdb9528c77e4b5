"""Where watched parcels, their events and webhook deliveries are kept: the interface and its values
(the SQL both stores share is tracking/watch_sql.py; tracking/watch_sqlite.py and
tracking/watch_postgres.py hold what differs).

The store is the transactional outbox: a poll's new state, the events it gives and one delivery per
endpoint for each event are written in one transaction, so a process killed between the poll and
the delivery loses nothing (the delivery is pending in the store) and records nothing twice (event
ids are unique, and the parcel's state moves with its events).

Work is shared between processes and replicas through the store alone: due parcels and pending
deliveries are claimed with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the database's
write lock), so two processes never poll one parcel or send one delivery at once; a claim whose
process died runs out and is taken again (at-least-once). Deliveries to one endpoint of one
parcel's events go in order: one is claimable only when no earlier one is pending. Leadership
leases (`try_lead`) let one process at a time hold a job (the poller, whose rate budget is then one
for the whole fleet).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracking.model import Status
from tracking.watch import EventType, NewEvent, WatchedParcel

PENDING_STATE = "pending"  # a parcel never polled yet (no status)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    event_id: str
    type: EventType
    number: str
    order_reference: str
    status: Status | None
    created_at: float
    body: dict[str, Any]

    def wire_body(self) -> dict[str, Any]:
        return {**self.body, "sequence": self.seq}


@dataclass(frozen=True, slots=True)
class Endpoint:
    endpoint_id: str
    url: str
    secret: str
    created_at: float
    from_file: bool


@dataclass(frozen=True, slots=True)
class Delivery:
    seq: int
    event: StoredEvent
    endpoint: Endpoint
    attempts: int


@dataclass(frozen=True, slots=True)
class DeadDelivery:
    event_id: str
    endpoint_id: str
    number: str
    attempts: int
    last_error: str
    dead_at: float


@dataclass(frozen=True, slots=True)
class PollResult:
    """What a poll changes: the parcel's new state and the events it gives (oldest first)."""

    status: Status
    final: bool
    event_count: int
    last_change_at: float
    final_since: float | None
    next_poll_at: float | None
    events: tuple[NewEvent, ...]


@dataclass(frozen=True, slots=True)
class WatchCounts:
    by_state: dict[str, int]
    quiet: int
    deliveries: dict[str, int]


class WatchStore(abc.ABC):
    @abc.abstractmethod
    def watch(self, number: str, order_reference: str, endpoint_id: str, now: float, first_poll_at: float) -> tuple[WatchedParcel, bool]:
        """Registers a number (True) or returns it as registered (False)."""

    @abc.abstractmethod
    def watch_many(self, items: Sequence[tuple[str, str, str, float]], now: float) -> int:
        """Registers (number, order_reference, endpoint_id, first_poll_at) in one transaction,
        skipping numbers already watched; returns how many were new."""

    @abc.abstractmethod
    def unwatch(self, number: str) -> bool: ...

    @abc.abstractmethod
    def get(self, number: str) -> WatchedParcel | None: ...

    @abc.abstractmethod
    def list_parcels(
        self, *, status: str | None, changed_before: float | None, order_reference: str, quiet_only: bool, after_seq: int, limit: int, tracking_number: str = ""
    ) -> list[WatchedParcel]: ...

    @abc.abstractmethod
    def claim_due(self, now: float, limit: int, lease_seconds: float) -> list[WatchedParcel]: ...

    @abc.abstractmethod
    def record_poll(self, parcel: WatchedParcel, result: PollResult, now: float) -> list[StoredEvent]: ...

    @abc.abstractmethod
    def poll_failed(self, number: str, next_poll_at: float, now: float) -> None: ...

    @abc.abstractmethod
    def quiet_candidates(self, changed_before: float, limit: int) -> list[WatchedParcel]: ...

    @abc.abstractmethod
    def record_quiet(self, parcel: WatchedParcel, event: NewEvent, now: float) -> bool: ...

    @abc.abstractmethod
    def events_after(self, after_seq: int, number: str, limit: int) -> list[StoredEvent]: ...

    @abc.abstractmethod
    def add_endpoint(self, endpoint: Endpoint) -> None: ...

    @abc.abstractmethod
    def sync_file_endpoints(self, endpoints: Sequence[Endpoint]) -> None: ...

    @abc.abstractmethod
    def endpoints(self) -> list[Endpoint]: ...

    @abc.abstractmethod
    def delete_endpoint(self, endpoint_id: str) -> bool: ...

    @abc.abstractmethod
    def claim_deliveries(self, now: float, limit: int, lease_seconds: float) -> list[Delivery]: ...

    @abc.abstractmethod
    def delivered(self, delivery_seq: int, now: float) -> None: ...

    @abc.abstractmethod
    def delivery_failed(self, delivery_seq: int, now: float, error: str, retry_at: float | None) -> None: ...

    @abc.abstractmethod
    def dead_deliveries(self, limit: int) -> list[DeadDelivery]: ...

    @abc.abstractmethod
    def counts(self, quiet_now: float | None = None) -> WatchCounts: ...

    @abc.abstractmethod
    def purge(self, before: float) -> int:
        """Deletes events recorded before `before` whose deliveries are all finished (delivered or
        dead), with those deliveries; returns how many events went."""

    @abc.abstractmethod
    def try_lead(self, name: str, owner: str, now: float, seconds: float) -> bool: ...

    @abc.abstractmethod
    def close(self) -> None: ...


# --- the SQL both adapters run ------------------------------------------------------------------
