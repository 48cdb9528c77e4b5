"""TLS and mutual TLS against real servers, with certificates made at test time."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from kokokara.shipping.server import bootstrap
from kokokara.shipping.server.settings import Settings, SettingsError
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.certs import CertificateAuthority
from tests.conftest import test_settings


def _quote(channel: grpc.Channel) -> rates_pb2.GetQuoteResponse:
    msg = rates_pb2.GetQuoteRequest(destination_region_code="US")
    msg.parcels.add(weight_grams=500)
    return rates_pb2_grpc.RateServiceStub(channel).GetQuote(msg, timeout=5)


def _fails(channel: grpc.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failed:
        _quote(channel)
    return failed.value.code()


def test_tls_serves_only_tls_clients_that_trust_the_server(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path, "ca")
    server = ca.issue("server", server=True)
    other = CertificateAuthority(tmp_path, "other-ca")
    service = bootstrap.start(test_settings(tls_cert_file=server.cert, tls_key_file=server.key, database_path=tmp_path / "l.sqlite3"))
    try:
        trusted = grpc.ssl_channel_credentials(root_certificates=ca.files.cert.read_bytes())
        with grpc.secure_channel(f"localhost:{service.port}", trusted) as channel:
            assert _quote(channel).options
        with grpc.insecure_channel(f"127.0.0.1:{service.port}") as plain:
            assert _fails(plain) is grpc.StatusCode.UNAVAILABLE
        untrusted = grpc.ssl_channel_credentials(root_certificates=other.files.cert.read_bytes())
        with grpc.secure_channel(f"localhost:{service.port}", untrusted) as channel:
            assert _fails(channel) is grpc.StatusCode.UNAVAILABLE
    finally:
        service.stop(0)


def test_mutual_tls_needs_a_client_certificate_from_the_client_ca(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path, "ca")
    server = ca.issue("server", server=True)
    client_ca = CertificateAuthority(tmp_path, "client-ca")
    good = client_ca.issue("warehouse-client", server=False)
    stranger = CertificateAuthority(tmp_path, "stranger-ca").issue("stranger", server=False)
    settings = test_settings(tls_cert_file=server.cert, tls_key_file=server.key, tls_client_ca_file=client_ca.files.cert, database_path=tmp_path / "l.sqlite3")
    service = bootstrap.start(settings)
    root = ca.files.cert.read_bytes()
    try:
        with_cert = grpc.ssl_channel_credentials(root, good.key.read_bytes(), good.cert.read_bytes())
        with grpc.secure_channel(f"localhost:{service.port}", with_cert) as channel:
            assert _quote(channel).options
        with grpc.secure_channel(f"localhost:{service.port}", grpc.ssl_channel_credentials(root)) as channel:
            assert _fails(channel) is grpc.StatusCode.UNAVAILABLE
        wrong = grpc.ssl_channel_credentials(root, stranger.key.read_bytes(), stranger.cert.read_bytes())
        with grpc.secure_channel(f"localhost:{service.port}", wrong) as channel:
            assert _fails(channel) is grpc.StatusCode.UNAVAILABLE
    finally:
        service.stop(0)


def test_tls_settings_come_as_a_pair_and_a_missing_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="together"):
        Settings.from_env({"SHIPPING_TLS_CERT_FILE": "/x.crt"})
    with pytest.raises(SettingsError, match="mutual TLS"):
        Settings.from_env({"SHIPPING_TLS_CLIENT_CA_FILE": "/ca.crt"})
    s = Settings.from_env({"SHIPPING_TLS_CERT_FILE": "/a.crt", "SHIPPING_TLS_KEY_FILE": "/a.key", "SHIPPING_TLS_CLIENT_CA_FILE": "/ca.crt"})
    assert (s.tls_cert_file, s.tls_key_file, s.tls_client_ca_file) == (Path("/a.crt"), Path("/a.key"), Path("/ca.crt"))
    with pytest.raises(OSError, match="cannot read the TLS"):
        bootstrap.start(test_settings(tls_cert_file=tmp_path / "none.crt", tls_key_file=tmp_path / "none.crt", database_path=tmp_path / "l.sqlite3"))
