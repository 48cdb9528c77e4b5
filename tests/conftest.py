"""Shared fixtures: the shipped rate tables, a real gRPC server on 127.0.0.1:0, and access to the
real Redis and PostgreSQL on this machine.

Tests that need Redis or PostgreSQL use the `redis_url` / `database_url` fixtures. When the service
is down they are skipped with a message saying so, except under CI=true, where a missing service
fails the run instead.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import grpc
import pytest

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR, Settings
from rates.book import RateBook
from rates.quote import QuoteEngine
from rates.tables import load_rate_book

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Servers that tests start as processes (server.py) serve no HTTP side unless a test asks for one, so
# they never clash over its default port; the HTTP tests set SHIPPING_HTTP_ADDR themselves.
os.environ["SHIPPING_HTTP_ADDR"] = ""
REPO = Path(__file__).resolve().parent.parent


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, url: str, default_port: int) -> str:
    if _reachable(url, default_port):
        return url
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it (.ci/run starts it)")
    pytest.skip(f"{message}: skipping the tests that need it (start it, or see README)")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return need_service("Redis", os.environ.get("SHIPPING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"), 6379)


@pytest.fixture(scope="session")
def database_url() -> str:
    return need_service("PostgreSQL", os.environ.get("SHIPPING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"), 5432)


@pytest.fixture(scope="session")
def rate_book() -> RateBook:
    return load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE)


@pytest.fixture(scope="session")
def engine(rate_book: RateBook) -> QuoteEngine:
    return QuoteEngine(rate_book, handling_days=3)


def test_settings(**overrides: object) -> Settings:
    base = {"listen_addr": "127.0.0.1:0", "grace_seconds": 1.0, "log_requests": True}
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture(scope="session")
def service() -> Iterator[bootstrap.RunningService]:
    running = bootstrap.start(test_settings())
    yield running
    running.stop(0.5)


@pytest.fixture(scope="session")
def channel(service: bootstrap.RunningService) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(service.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch
