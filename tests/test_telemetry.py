"""Standard telemetry scraped and received from real servers: the gRPC server metrics under the names
and labels gRPC dashboards know, the client library's process and GC collectors beside the
service's own metrics."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from kokokara.shipping import bootstrap
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.conftest import test_settings
from tests.test_security_metrics import scrape, value
from tests.tracking_helpers import free_port

SERVICE = "kokokara.shipping.v1.RateService"


def quote(region: str = "GB") -> rates_pb2.GetQuoteRequest:
    request = rates_pb2.GetQuoteRequest(destination_region_code=region)
    request.parcels.add(weight_grams=500)
    return request


def test_grpc_server_metrics_process_and_gc_collectors_on_the_metrics_endpoint(tmp_path: Path) -> None:
    port = free_port()
    service = bootstrap.start(test_settings(metrics_addr=f"127.0.0.1:{port}", database_path=tmp_path / "labels.sqlite3"))
    try:
        with grpc.insecure_channel(service.address) as channel:
            rates = rates_pb2_grpc.RateServiceStub(channel)
            rates.GetQuote(quote(), timeout=10)
            rates.GetQuote(quote("US"), timeout=10)
            with pytest.raises(grpc.RpcError) as bad:
                rates.GetQuote(quote("XX"), timeout=10)
            assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        samples = scrape(port)
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        service.stop(0)

    unary = {"grpc_type": "unary", "grpc_service": SERVICE, "grpc_method": "GetQuote"}
    assert value(samples, "grpc_server_started_total", **unary) == 3
    assert value(samples, "grpc_server_handled_total", **unary, grpc_code="OK") == 2
    assert value(samples, "grpc_server_handled_total", **unary, grpc_code="INVALID_ARGUMENT") == 1
    assert value(samples, "grpc_server_handling_seconds_count", **unary) == 3
    assert value(samples, "grpc_server_handling_seconds_bucket", **unary, le="+Inf") == 3
    assert value(samples, "grpc_server_msg_received_total", **unary) == 3
    assert value(samples, "grpc_server_msg_sent_total", **unary) == 2  # the failed call wrote no reply
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["grpc_server_handling_seconds"].type == "histogram"
    assert families["grpc_server_handled"].type == "counter"
    # Health checks are not counted (probes would drown the service's own calls).
    assert not any(labels and dict(labels).get("grpc_service", "").startswith("grpc.health") for _, labels in samples)
    # prometheus_client's default collectors: process, platform, garbage collector.
    assert value(samples, "process_resident_memory_bytes") > 0
    assert value(samples, "process_start_time_seconds") > 0
    assert ("python_gc_collections_total", (("generation", "0"),)) in samples
    assert any(name == "python_info" for name, _ in samples)
    # The service's own metrics are still there.
    assert value(samples, "shipping_rpc_calls_total", rpc=f"/{SERVICE}/GetQuote", caller="anonymous", code="OK") == 2
