"""Prometheus metrics scraped from a real server's SHIPPING_METRICS_ADDR: calls, latency
and errors per RPC and caller name, tracking cache hits, carrier lookups and failures, the circuit
breaker, labels issued and voided, and the rate tables' version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from domain.s10 import make
from kokokara.shipping.server.reload import content_version
from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc, rates_pb2, rates_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.labels_support import proto_request
from tests.security_support import auth, keyed_service
from tests.tracking_helpers import free_port

QUOTE = "/kokokara.shipping.v1.RateService/GetQuote"


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInJapanPost]:
    with StandInJapanPost() as s:
        yield s


def test_metrics_count_calls_errors_tracking_labels_and_tables(tmp_path: Path, standin: StandInJapanPost) -> None:
    delivered, broken = make("EN", 72_000_001), make("EN", 72_000_002)
    standin.set_scenario(delivered, "delivered")
    standin.set_scenario(broken, "unavailable")
    port = free_port()
    overrides = {"metrics_addr": f"127.0.0.1:{port}", "tracking_base_url": standin.url, "tracking_retries": 0, "tracking_rate_per_second": 1000.0}
    with keyed_service(tmp_path, **overrides) as (service, keys), grpc.insecure_channel(service.address) as channel:
        assert service.metrics_port == port
        quote = rates_pb2.GetQuoteRequest(destination_region_code="US")
        quote.parcels.add(weight_grams=500)
        rates = rates_pb2_grpc.RateServiceStub(channel)
        rates.GetQuote(quote, metadata=auth(keys["checkout"]), timeout=10)
        rates.GetQuote(quote, metadata=auth(keys["checkout"]), timeout=10)
        with pytest.raises(grpc.RpcError):
            rates.GetQuote(quote, metadata=auth(keys["support"]), timeout=10)
        tracking = tracking_pb2_grpc.TrackingServiceStub(channel)
        for _ in range(3):
            tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=delivered), metadata=auth(keys["support"]), timeout=10)
        with pytest.raises(grpc.RpcError):
            tracking.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=broken), metadata=auth(keys["support"]), timeout=10)
        labels = labels_pb2_grpc.LabelServiceStub(channel)
        label = labels.CreateLabel(proto_request("metrics-1"), metadata=auth(keys["warehouse"]), timeout=30).label
        labels.CreateLabel(proto_request("metrics-1"), metadata=auth(keys["warehouse"]), timeout=30)  # a replay issues nothing
        labels.VoidLabel(labels_pb2.VoidLabelRequest(id=label.id), metadata=auth(keys["warehouse"]), timeout=30)
        labels.VoidLabel(labels_pb2.VoidLabelRequest(id=label.id), metadata=auth(keys["warehouse"]), timeout=30)  # already void

        m = scrape(port)
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text

    assert value(m, "shipping_rpc_calls_total", rpc=QUOTE, caller="checkout-test", code="OK") == 2
    assert value(m, "shipping_rpc_calls_total", rpc=QUOTE, caller="support-test", code="PERMISSION_DENIED") == 1
    assert value(m, "shipping_rpc_errors_total", rpc=QUOTE, caller="support-test", code="PERMISSION_DENIED") == 1
    assert value(m, "shipping_rpc_errors_total", rpc=QUOTE, caller="checkout-test", code="OK") == 0
    assert value(m, "shipping_rpc_duration_seconds_count", rpc=QUOTE, caller="checkout-test") == 2
    assert value(m, "shipping_tracking_cache_requests_total", result="hit") == 2
    assert value(m, "shipping_tracking_cache_requests_total", result="miss") == 2
    assert value(m, "shipping_tracking_cache_hit_ratio") == pytest.approx(0.5)
    assert value(m, "shipping_carrier_lookups_total", outcome="ok") == 1
    assert value(m, "shipping_carrier_failures_total", reason="CARRIER_SERVER_ERROR") == 1
    assert value(m, "shipping_carrier_circuit_state") == 0
    assert value(m, "shipping_labels_total", event="issued") == 1
    assert value(m, "shipping_labels_total", event="voided") == 1
    version = content_version(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE)
    infos = [labels for (name, labels), v in m.items() if name == "shipping_rate_tables_info" and v == 1]
    assert len(infos) == 1 and dict(infos[0])["version"] == version
    assert value(m, "shipping_rate_tables_loaded_timestamp_seconds") > 0
    for key in keys.values():
        assert key not in text


def test_circuit_breaker_state_shows_open(tmp_path: Path, standin: StandInJapanPost) -> None:
    numbers = [make("EN", 73_000_000 + i) for i in range(2)]
    for n in numbers:
        standin.set_scenario(n, "unavailable")
    port = free_port()
    overrides = {
        "metrics_addr": f"127.0.0.1:{port}",
        "tracking_base_url": standin.url,
        "tracking_retries": 0,
        "tracking_breaker_failures": 2,
        "tracking_breaker_reset_seconds": 600.0,
        "tracking_rate_per_second": 1000.0,
    }
    with keyed_service(tmp_path, **overrides) as (service, keys), grpc.insecure_channel(service.address) as channel:
        stub = tracking_pb2_grpc.TrackingServiceStub(channel)
        for n in numbers:
            with pytest.raises(grpc.RpcError):
                stub.GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=n), metadata=auth(keys["support"]), timeout=10)
        assert value(scrape(port), "shipping_carrier_circuit_state") == 2
