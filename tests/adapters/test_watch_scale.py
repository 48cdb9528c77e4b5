"""10,000 watched parcels, all due at once (the worst case: a backlog), polled through the real
tracking lookup and Japan Post client against the stand-in: the stand-in never sees more requests
a second than the poller's share of the rate limit, and parcels are polled in the order they fell
due. (An upper bound on a rate: a slow machine only makes it easier to keep.)"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from domain.s10 import make
from standin.japan_post import StandInJapanPost
from tracking.cache import InProcessCache
from tracking.japan_post_client import ClientOptions, JapanPostClient
from tracking.service import TrackingLookup
from tracking.watch import WatchPolicy
from tracking.watch_service import WatchOptions, WatchService
from tracking.watch_sqlite import SqliteWatchStore

PARCELS = 10_000
CARRIER_RATE = 40.0
SHARE = 0.5


@pytest.mark.parametrize("replicas", [1, 3])
def test_ten_thousand_parcels_stay_within_the_rate_limit(tmp_path: Path, replicas: int) -> None:
    """With several replicas (each its own store connection, Japan Post client and rate limiter,
    as separate processes have), the budget is still one: only the poller holding the lease polls."""
    store = SqliteWatchStore(tmp_path / "watch.sqlite3")
    with StandInJapanPost() as standin:
        options = WatchOptions(policy=WatchPolicy(first_poll_seconds=60.0), poll_rate_per_second=CARRIER_RATE * SHARE, idle_seconds=0.05)
        clients = [JapanPostClient(standin.url, ClientOptions(rate_per_second=CARRIER_RATE, burst=3)) for _ in range(replicas)]
        lookups = [TrackingLookup(c, InProcessCache(20_000)) for c in clients]
        stores = [store, *(SqliteWatchStore(tmp_path / "watch.sqlite3") for _ in range(replicas - 1))]
        services = [WatchService(st, lk.get, lambda url, headers, body: 200, options) for st, lk in zip(stores, lookups, strict=True)]
        service = services[0]
        assert service.watch_many([(make("CN", 10_000_000 + i), f"order-{i}") for i in range(PARCELS)]) == PARCELS
        # all due now: a minute's registrations found waiting
        due = store.list_parcels(status=None, changed_before=None, order_reference="", quiet_only=False, after_seq=0, limit=PARCELS)
        assert max(p.next_poll_at or 0 for p in due) - min(p.next_poll_at or 0 for p in due) > 55  # spread over the minute
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.05):
                samples.append((time.monotonic(), standin.hits()))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        clock_offset = 120.0  # the services' clock runs two minutes ahead: every parcel is due
        for s in services:
            s._clock = lambda: time.time() + clock_offset  # type: ignore[method-assign]
            s.start()
        time.sleep(4.0)
        for s in services:
            s.close()
        stop.set()
        sampler.join()
        for lk, c in zip(lookups, clients, strict=True):
            lk.close()
            c.close()
        for st in stores[1:]:
            st.close()
    polled = standin.hits()
    assert polled >= 10
    # requests in any one-second window: at most the share of the limit (+1 for the window's edge)
    worst = 0
    for i, (t0, h0) in enumerate(samples):
        for t1, h1 in samples[i:]:
            if t1 - t0 > 1.0:
                break
            worst = max(worst, h1 - h0)
    assert worst <= CARRIER_RATE * SHARE + 1, worst
    # polled in the order they fell due: the polled ones are the earliest due
    due_at = {p.number: p.next_poll_at or 0.0 for p in due}
    after = store.list_parcels(status=None, changed_before=None, order_reference="", quiet_only=False, after_seq=0, limit=PARCELS)
    store.close()
    polled_numbers = {p.number for p in after if p.status is not None}
    assert len(polled_numbers) == sum(s.polls for s in services) > 0
    assert max(due_at[n] for n in polled_numbers) <= min(due_at[n] for n in due_at.keys() - polled_numbers)
