"""SHIPPING_HTTP_ADDR and SHIPPING_HTTP_CORS_ORIGINS: read once, checked, with their defaults."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
import requests

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.security import InsecureListenError
from kokokara.shipping.server.settings import DEFAULT_HTTP_ADDR, Settings, SettingsError
from tests.conftest import test_settings


def test_the_http_side_is_on_by_default_on_loopback_and_off_when_empty() -> None:
    assert Settings.from_env({}).http_addr == DEFAULT_HTTP_ADDR == "127.0.0.1:8080"
    assert Settings.from_env({"SHIPPING_HTTP_ADDR": ""}).http_addr == ""
    assert Settings.from_env({"SHIPPING_HTTP_ADDR": "0.0.0.0:9000"}).http_addr == "0.0.0.0:9000"
    assert Settings().http_addr == ""  # built in code (tests): off unless asked for


def test_cors_is_off_by_default_and_takes_a_list_of_origins() -> None:
    assert Settings.from_env({}).http_cors_origins == ()
    settings = Settings.from_env({"SHIPPING_HTTP_CORS_ORIGINS": "https://shop.example.com, http://localhost:3000/ ,"})
    assert settings.http_cors_origins == ("https://shop.example.com", "http://localhost:3000")
    assert Settings.from_env({"SHIPPING_HTTP_CORS_ORIGINS": "*"}).http_cors_origins == ("*",)


@pytest.mark.parametrize("value", ["8080", "localhost", "host:port", ":80", "h:99999"])
def test_a_bad_address_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="SHIPPING_HTTP_ADDR"):
        Settings.from_env({"SHIPPING_HTTP_ADDR": value})


@pytest.mark.parametrize("value", ["shop.example.com", "https://shop.example.com/path", "ftp://x.example", "https://a b"])
def test_a_bad_origin_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="SHIPPING_HTTP_CORS_ORIGINS"):
        Settings.from_env({"SHIPPING_HTTP_CORS_ORIGINS": value})


def test_without_keys_the_http_side_listens_on_loopback_only(tmp_path: Path) -> None:
    with pytest.raises(InsecureListenError, match="SHIPPING_HTTP_ADDR"):
        bootstrap.start(test_settings(database_path=tmp_path / "labels.sqlite3", http_addr="0.0.0.0:0"))


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not built for Windows")
def test_the_http_side_runs_on_uvloop() -> None:
    """uvloop is in the server's locked requirements; without it the HTTP side would fall back to
    asyncio's loop quietly, at about a tenth more CPU a JSON quote."""
    import uvloop

    from kokokara.shipping.server.http import server

    assert server.new_event_loop is uvloop.new_event_loop


def test_serving_http_leaves_the_process_log_handlers_open(tmp_path: Path) -> None:
    # granian sets logging up as it starts serving; done with dictConfig in full, that would close
    # every handler the process has (the request log's writer among them).
    class Recording(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.closed = False
            self.seen: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.seen.append(record.getMessage())

        def close(self) -> None:
            self.closed = True
            super().close()

    handler = Recording()
    root = logging.getLogger()
    root.addHandler(handler)
    service = bootstrap.start(test_settings(database_path=tmp_path / "labels.sqlite3", http_addr="127.0.0.1:0"))
    try:
        assert requests.get(f"http://127.0.0.1:{service.http_port}/", timeout=10).status_code == 200  # it serves
        logging.getLogger("kokokara.shipping.tests").warning("still heard")
        assert not handler.closed and handler in root.handlers and "still heard" in handler.seen
    finally:
        service.stop(0)
        root.removeHandler(handler)
