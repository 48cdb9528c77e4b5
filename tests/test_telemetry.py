"""Standard telemetry scraped and received from real servers: the gRPC server metrics under the names
and labels gRPC dashboards know, the client library's process and GC collectors beside the
service's own metrics; and the request log, written by a thread of its own, complete when the
server is stopped."""

from __future__ import annotations

import io
import json
import logging
import signal
from concurrent import futures
from pathlib import Path

import grpc
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from kokokara.shipping import bootstrap, logs
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.conftest import test_settings
from tests.process_support import server_process
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


# --- the request log, written off the serving threads ------------------------------------------


def test_every_request_log_line_is_written_when_the_server_is_stopped_with_sigterm(tmp_path: Path) -> None:
    calls = 3000
    with server_process(tmp_path) as server, grpc.insecure_channel(server.address) as channel:
        get_quote = rates_pb2_grpc.RateServiceStub(channel).GetQuote
        with futures.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: get_quote(quote(), timeout=30), range(calls)))
        assert all(a.options for a in answers)
        server.proc.send_signal(signal.SIGTERM)  # at once: lines may still be queued
        assert server.proc.wait(timeout=30) == 0
    entries = server.log_entries()
    logged = [e for e in entries if e["message"] == "rpc"]
    assert len(logged) == calls
    assert {(e["rpc"], e["code"], e["caller"]) for e in logged} == {(f"/{SERVICE}/GetQuote", "OK", "anonymous")}
    assert all(e["duration_ms"] > 0 and e["time"].endswith("Z") for e in logged)
    assert entries[-1]["message"] == "stopped"  # and the lines after them too


def test_the_queued_request_line_is_the_line_the_logging_module_would_write() -> None:
    stream = io.StringIO()
    writer = logs.LogWriter(stream)
    try:
        record = logging.makeLogRecord({"name": logs.ACCESS_LOGGER, "levelno": logging.INFO, "levelname": "INFO", "msg": "rpc", "created": 1_800_000_000.25})
        fields = {"rpc": "/a.B/C", "caller": 'café "x"', "code": "INVALID_ARGUMENT", "reason": "BAD_REGION", "duration_ms": 1.235, "trace_id": "ab" * 16}
        vars(record).update(fields)
        writer.handle(record)
        writer.access((1_800_000_000.25, "/a.B/C", 'café "x"', "INVALID_ARGUMENT", "BAD_REGION", 0.001235, "ab" * 16))
        writer.flush()
    finally:
        writer.close()
    from_record, queued = (json.loads(line) for line in stream.getvalue().splitlines())
    assert queued == from_record
    assert queued["time"] == "2027-01-15T08:00:00.250Z"
