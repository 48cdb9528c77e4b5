"""The command line and the Python client against servers that require API keys and TLS."""

from __future__ import annotations

from pathlib import Path

import pytest

from kokokara.shipping.cli import main
from kokokara.shipping.client import ShippingClient, ShippingClientError
from kokokara.shipping.connect import ClientAuth
from kokokara.shipping.server import bootstrap
from tests.certs import CertificateAuthority
from tests.conftest import test_settings
from tests.security_support import make_keys


@pytest.fixture
def keyed_tls(tmp_path: Path):
    ca = CertificateAuthority(tmp_path, "ca")
    server = ca.issue("server", server=True)
    keys_file = tmp_path / "keys.json"
    keys = make_keys(keys_file)
    service = bootstrap.start(test_settings(api_keys_file=keys_file, tls_cert_file=server.cert, tls_key_file=server.key, database_path=tmp_path / "l.sqlite3"))
    yield service, keys, ca.files.cert
    service.stop(0)


def test_cli_sends_the_key_over_tls(keyed_tls, capsys: pytest.CaptureFixture[str]) -> None:
    service, keys, ca = keyed_tls
    base = ["--server", f"localhost:{service.port}", "--tls-ca", str(ca)]
    assert main([*base, "--api-key", keys["checkout"], "quote", "--to", "US", "--weight", "1kg"]) == 0
    assert capsys.readouterr().out.startswith("Shipping to US:")
    assert main([*base, "quote", "--to", "US", "--weight", "1kg"]) == 1
    assert "UNAUTHENTICATED" in capsys.readouterr().err
    assert main([*base, "--api-key", keys["support"], "quote", "--to", "US", "--weight", "1kg"]) == 1
    assert "PERMISSION_DENIED" in capsys.readouterr().err


def test_cli_key_from_the_environment(keyed_tls, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    service, keys, ca = keyed_tls
    monkeypatch.setenv("SHIPPING_API_KEY", keys["analyst"])
    monkeypatch.setenv("SHIPPING_CLIENT_TLS_CA_FILE", str(ca))
    assert main(["--server", f"localhost:{service.port}", "tables", "compare", "GB", "--weights", "500g,1kg"]) == 0
    assert "ems" in capsys.readouterr().out


def test_python_client_with_a_key(keyed_tls) -> None:
    service, keys, ca = keyed_tls
    auth = ClientAuth(api_key=keys["analyst"], tls_ca_file=ca)
    with ShippingClient(f"localhost:{service.port}", auth=auth) as client:
        assert len(client.list_tables()) >= 5
    with ShippingClient(f"localhost:{service.port}", auth=ClientAuth(tls_ca_file=ca)) as client, pytest.raises(ShippingClientError) as failed:
        client.list_tables()
    assert failed.value.code.name == "UNAUTHENTICATED"


def test_key_on_a_plaintext_channel(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    keys = make_keys(keys_file)
    service = bootstrap.start(test_settings(api_keys_file=keys_file, database_path=tmp_path / "l.sqlite3"))
    try:
        with ShippingClient(service.address, api_key=keys["analyst"]) as client:
            assert not client.compare("US", [500]).empty
    finally:
        service.stop(0)
