"""10,000 watched parcels, all due at once (the worst case: a backlog), polled through the real
tracking lookup and Japan Post client against the stand-in: the stand-in never sees more requests
a second than the poller's share of the rate limit, and parcels are polled in the order they fell
due. (An upper bound on a rate: a slow machine only makes it easier to keep.)"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from domain.s10 import make
from tracking.cache import InProcessCache
from tracking.japan_post_client import ClientOptions, JapanPostClient
from tracking.service import TrackingLookup
from tracking.standin import StandInJapanPost
from tracking.watch import WatchPolicy
from tracking.watch_service import WatchOptions, WatchService
from tracking.watch_sqlite import SqliteWatchStore

PARCELS = 10_000
CARRIER_RATE = 40.0
SHARE = 0.5


def test_ten_thousand_parcels_stay_within_the_rate_limit(tmp_path: Path) -> None:
    store = SqliteWatchStore(tmp_path / "watch.sqlite3")
    with StandInJapanPost() as standin:
        client = JapanPostClient(standin.url, ClientOptions(rate_per_second=CARRIER_RATE, burst=3))
        lookup = TrackingLookup(client, InProcessCache(20_000))
        options = WatchOptions(policy=WatchPolicy(first_poll_seconds=60.0), poll_rate_per_second=CARRIER_RATE * SHARE, idle_seconds=0.05)
        service = WatchService(store, lambda n: lookup.get(n), lambda url, headers, body: 200, options)
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
        clock_offset = 120.0  # the service's clock runs two minutes ahead: every parcel is due
        service._clock = lambda: time.time() + clock_offset  # type: ignore[method-assign]
        service.start()
        time.sleep(4.0)
        service.close()
        stop.set()
        sampler.join()
        lookup.close()
        client.close()
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
    assert len(polled_numbers) == service.polls > 0
    assert max(due_at[n] for n in polled_numbers) <= min(due_at[n] for n in due_at.keys() - polled_numbers)
