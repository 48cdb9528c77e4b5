"""Composition of watched parcels: the store (PostgreSQL when SHIPPING_DATABASE_URL is set, else an
SQLite file beside the label database), the endpoints file, the poller and sender, the metrics,
and the hook that watches every label CreateLabel issues."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from domain.errors import ShippingError, StartupError
from domain.opening import OpenWhenReachable
from kokokara.shipping.server.metrics import Metrics
from kokokara.shipping.server.settings import Settings
from labels.model import Label
from tracking.service import TrackingLookup
from tracking.watch import DeliveryPolicy, WatchPolicy, check_webhook_url
from tracking.watch_service import WatchOptions, WatchService
from tracking.watch_store import Endpoint, WatchStore
from tracking.webhook_client import WebhookClient

log = logging.getLogger("kokokara.shipping.watch")


class EndpointsFileError(StartupError, ValueError):
    """The webhook endpoints file cannot be used; the message names the file and the entry."""

    exit_code = 2


def open_watch_store(settings: Settings) -> WatchStore:
    if settings.database_url:
        from tracking.watch_postgres import PostgresWatchStore

        return PostgresWatchStore(settings.database_url)
    from tracking.watch_sqlite import SqliteWatchStore

    return SqliteWatchStore(settings.database_path.with_name("watch.sqlite3"))


def load_endpoints_file(path: Path, allow_private: bool) -> list[Endpoint]:
    """[{"id": ..., "url": ..., "secret": ...}, ...]; every entry checked like an API-created one."""
    try:
        items = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise EndpointsFileError(f"SHIPPING_WEBHOOK_ENDPOINTS_FILE {path}: {error}") from None
    if not isinstance(items, list):
        raise EndpointsFileError(f"SHIPPING_WEBHOOK_ENDPOINTS_FILE {path}: expected a JSON list of endpoints")
    out = []
    for i, item in enumerate(items):
        try:
            endpoint_id, url, secret = str(item["id"]), str(item["url"]), str(item["secret"])
        except (KeyError, TypeError):
            raise EndpointsFileError(f"SHIPPING_WEBHOOK_ENDPOINTS_FILE {path}: entry {i} needs id, url and secret") from None
        if len(secret) < 16:
            raise EndpointsFileError(f"SHIPPING_WEBHOOK_ENDPOINTS_FILE {path}: entry {i} ({endpoint_id}): the secret must have 16 characters or more")
        try:
            check_webhook_url(url, allow_private=allow_private)
        except ShippingError as error:
            raise EndpointsFileError(f"SHIPPING_WEBHOOK_ENDPOINTS_FILE {path}: entry {i} ({endpoint_id}): {error}") from None
        out.append(Endpoint(endpoint_id, url, secret, 0.0, True))
    return out


def options_from(settings: Settings) -> WatchOptions:
    s = settings
    slowest_lookup = s.tracking_fetch_timeout_seconds * (s.tracking_retries + 1) + 2**s.tracking_retries
    return WatchOptions(
        policy=WatchPolicy(first_poll_seconds=s.watch_first_poll_seconds),
        delivery=DeliveryPolicy(
            first_retry_seconds=s.webhook_first_retry_seconds,
            retry_window_seconds=s.webhook_retry_window_seconds,
            lease_seconds=2 * s.webhook_timeout_seconds + 5,
        ),
        poll_rate_per_second=s.tracking_rate_per_second * s.watch_poll_share,
        poll_lease_seconds=4 * slowest_lookup,
        allow_private_addresses=s.webhook_allow_private_addresses,
        event_retention_seconds=s.watch_event_retention_days * 86400.0,
    )


class WatchHolder:
    """The watch service, or None while its database cannot be reached (the watched-parcel RPCs are
    UNAVAILABLE until then); opened again in the background as the label store is."""

    def __init__(self, opener: Callable[[], WatchService], retry_max_seconds: float, on_ready: Callable[[], None] | None = None):
        self._opening = OpenWhenReachable(
            opener,
            name="watch database",
            meanwhile="serving without watched parcels until it answers",
            once_open="serving watched parcels",
            retry_max_seconds=retry_max_seconds,
            on_ready=on_ready,
        )

    @property
    def service(self) -> WatchService | None:
        return self._opening.value

    def open(self) -> WatchHolder:
        self._opening.open()
        return self

    def close(self) -> None:
        self._opening.close()


def build(
    settings: Settings,
    lookup: TrackingLookup,
    metrics: Metrics | None,
    options: WatchOptions | None = None,
    on_health: Callable[[bool], None] | None = None,
) -> WatchHolder:
    """The watch service (its worker started when settings.watch_worker) in a holder that keeps
    trying while its database cannot be reached; the rest of the server serves meanwhile.
    `on_health(up)` is told whether it is open, at once and again when a later try opens it."""
    endpoints = load_endpoints_file(settings.webhook_endpoints_file, settings.webhook_allow_private_addresses) if settings.webhook_endpoints_file else None
    options = options or options_from(settings)

    def opener() -> WatchService:
        store = open_watch_store(settings)
        if endpoints is not None:
            store.sync_file_endpoints(endpoints)
        client = WebhookClient(allow_private=options.allow_private_addresses, timeout_seconds=settings.webhook_timeout_seconds)
        service = WatchService(store, lambda number: lookup.get(number), client.post, options, on_delivery=metrics.webhook_delivery if metrics else None)
        if metrics is not None:
            metrics.watch_counts(store.counts)
        closing = service.close

        def close() -> None:
            closing()
            store.close()

        service.close = close  # type: ignore[method-assign]
        if settings.watch_worker:
            service.start()
        return service

    told = on_health or (lambda _up: None)
    holder = WatchHolder(opener, settings.database_retry_max_seconds, on_ready=lambda: told(True)).open()
    told(holder.service is not None)
    return holder


def label_hook(holder: WatchHolder) -> Callable[[Label], None]:
    """Watches each label's parcel as it is issued, its request_id as the order reference. A failure
    here never fails the label: it is logged, and the parcel can be watched by hand."""

    def on_issued(label: Label) -> None:
        service = holder.service
        if service is None:
            log.warning("a new label's parcel is not watched: the watch database cannot be reached", extra={"tracking_number": label.tracking_number})
            return
        reference = label.request.request_id if len(label.request.request_id) <= 128 else ""
        try:
            service.watch(label.tracking_number, reference, "")
        except Exception:
            log.exception("could not watch a new label's parcel", extra={"tracking_number": label.tracking_number})

    return on_issued
