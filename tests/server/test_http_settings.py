"""SHIPPING_HTTP_ADDR and SHIPPING_HTTP_CORS_ORIGINS: read once, checked, with their defaults."""

from __future__ import annotations

import pytest

from kokokara.shipping.server.settings import DEFAULT_HTTP_ADDR, Settings, SettingsError


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
