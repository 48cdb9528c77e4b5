"""Standard telemetry scraped and received from real servers: the gRPC server metrics under the names
and labels gRPC dashboards know, the client library's process and GC collectors beside the
service's own metrics; the request log line the writer thread builds, the same as the logging
module's; and OpenTelemetry spans, sent over OTLP/HTTP to a real receiver in the test.
tests/processes/test_request_log.py stops a real server process with its log lines queued."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from prometheus_client.parser import text_string_to_metric_families

from domain.s10 import make
from kokokara.shipping.server import bootstrap, logs
from kokokara.shipping.server.settings import Settings, SettingsError
from kokokara.shipping.server.tracing import traces_url
from kokokara.shipping.v1 import labels_pb2_grpc, rates_pb2, rates_pb2_grpc, tracking_pb2, tracking_pb2_grpc
from standin.japan_post import StandInJapanPost
from tests.conftest import test_settings
from tests.labels_support import proto_request
from tests.server.test_security_metrics import scrape, value
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


# --- tracing, sent to a real OTLP/HTTP receiver ---------------------------------------------------


class OtlpReceiver:
    """An OTLP/HTTP trace receiver on a loopback port: what a collector's otlphttp receiver takes
    (POST /v1/traces, a protobuf ExportTraceServiceRequest), kept as spans for the test to read."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.paths.append(self.path)
                receiver.requests.append(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[tuple[str, Any]]:
        """(service.name, span) for every span received."""
        out = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    out.extend((attributes.get("service.name", ""), span) for span in scope.spans)
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_spans_for_rpcs_japan_post_redis_and_the_label_store_reach_an_otlp_receiver(tmp_path: Path, redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    receiver = OtlpReceiver()
    number = make("EN", 73_000_001)
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    http_traces = ("5af92f3577b34da6a3ce929d0e0e4736", "6af92f3577b34da6a3ce929d0e0e4736")
    with StandInJapanPost() as standin:
        standin.set_scenario(number, "delivered")
        settings = test_settings(
            otlp_endpoint=receiver.url,  # the exporter adds /v1/traces
            otlp_service_name="shipping-under-test",
            tracking_base_url=standin.url,
            tracking_retries=0,
            tracking_rate_per_second=1000.0,
            redis_url=redis_url,
            redis_key_prefix=f"telemetry-{uuid.uuid4().hex[:8]}:",
            database_path=tmp_path / "labels.sqlite3",
            http_addr="127.0.0.1:0",
        )
        service = bootstrap.start(settings)
        try:
            with caplog.at_level(logging.INFO, logger=logs.ACCESS_LOGGER), grpc.insecure_channel(service.address) as channel:
                # A caller that is traced itself: the server's span continues its trace.
                traceparent = (("traceparent", f"00-{caller_trace}-{caller_span}-01"),)
                rates_pb2_grpc.RateServiceStub(channel).GetQuote(quote(), metadata=traceparent, timeout=10)
                with pytest.raises(grpc.RpcError):  # a trace of its own, marked INVALID_ARGUMENT
                    rates_pb2_grpc.RateServiceStub(channel).GetQuote(quote("XX"), timeout=10)
                tracking_pb2_grpc.TrackingServiceStub(channel).GetTracking(tracking_pb2.GetTrackingRequest(tracking_number=number), timeout=30)
                labels_pb2_grpc.LabelServiceStub(channel).CreateLabel(proto_request(f"traced-{uuid.uuid4().hex[:8]}"), timeout=30)
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)  # probes leave no span
                # Over HTTP, by the short path for plain JSON quotes and by connectrpc's (gzip asked for):
                # each a server span of its own, continuing the caller's trace from its header.
                for trace_id, encoding in zip(http_traces, ("identity", "gzip"), strict=True):
                    reply = requests.post(
                        f"http://127.0.0.1:{service.http_port}/kokokara.shipping.v1.RateService/GetQuote",
                        data=json.dumps({"destinationRegionCode": "GB", "parcels": [{"weightGrams": 500}]}),
                        headers={"content-type": "application/json", "accept-encoding": encoding, "traceparent": f"00-{trace_id}-{caller_span}-01"},
                        timeout=10,
                    )
                    assert reply.status_code == 200, reply.text
        finally:
            service.stop(0)  # sends the spans still batched
            receiver.close()

    assert set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans()
    assert spans and {name for name, _ in spans} == {"shipping-under-test"}
    assert not [span for _, span in spans if "grpc.health" in span.name]
    by_name: dict[str, list[Any]] = {}
    for _, span in spans:
        by_name.setdefault(span.name, []).append(span)
    over_http = [span for _, span in spans if span.trace_id.hex() in http_traces]
    assert sorted((span.name, span.trace_id.hex(), span.parent_span_id.hex(), span.kind) for span in over_http) == [
        ("/kokokara.shipping.v1.RateService/GetQuote", trace_id, caller_span, over_http[0].SPAN_KIND_SERVER) for trace_id in http_traces
    ]
    server_spans = [span for _, span in spans if span.name.startswith("/kokokara.shipping.v1.") and span not in over_http]
    assert sorted(span.name.rsplit("/", 1)[1] for span in server_spans) == ["CreateLabel", "GetQuote", "GetQuote", "GetTracking"]
    assert all(span.kind == span.SPAN_KIND_SERVER for span in server_spans)
    # The good GetQuote continued the caller's trace; the bad one says INVALID_ARGUMENT (3), which is
    # the caller's error, not the server's: the span's status stays unset.
    (quote_ok,) = [span for span in server_spans if span.trace_id.hex() == caller_trace]
    (quote_bad,) = [span for span in server_spans if span.name.endswith("/GetQuote") and span is not quote_ok]
    assert quote_ok.parent_span_id.hex() == caller_span
    status_code = {span.span_id: {a.key: a.value.int_value for a in span.attributes}.get("rpc.grpc.status_code") for span in server_spans}
    assert status_code[quote_bad.span_id] == grpc.StatusCode.INVALID_ARGUMENT.value[0] and status_code[quote_ok.span_id] == 0
    assert quote_bad.status.code == quote_bad.status.STATUS_CODE_UNSET
    server = {span.name.rsplit("/", 1)[1]: span for span in server_spans if span is not quote_bad}
    # Every request log line names its call's trace.
    logged = {getattr(record, "trace_id", None): record.code for record in caplog.records if record.name == logs.ACCESS_LOGGER}
    expected = {span.trace_id.hex(): "INVALID_ARGUMENT" if span is quote_bad else "OK" for span in server_spans}
    assert logged == expected | dict.fromkeys(http_traces, "OK")
    # Japan Post, fetched on tracking's lookup pool, is a child of the GetTracking span.
    (fetch,) = by_name["japan-post fetch"]
    assert fetch.kind == fetch.SPAN_KIND_CLIENT
    assert fetch.trace_id == server["GetTracking"].trace_id and fetch.parent_span_id == server["GetTracking"].span_id
    # Redis: the cache read that missed, the lock around the fetch, the write; all in that trace.
    redis_calls = {name for name, found in by_name.items() if name.startswith("redis ") for s in found if s.trace_id == server["GetTracking"].trace_id}
    assert {"redis get", "redis try_lock", "redis put", "redis unlock"} <= redis_calls
    # The label store: the label issued in CreateLabel's trace.
    assert any(s.trace_id == server["CreateLabel"].trace_id for s in by_name["label-store issue"])
    attributes = {a.key: a.value.string_value for a in by_name["label-store issue"][0].attributes}
    assert attributes == {"peer.service": "label-store", "db.system": "sqlite"}


def test_records_are_written_as_they_were_when_logged_with_their_exceptions_and_after_close() -> None:
    stream = io.StringIO()
    writer = logs.LogWriter(stream)
    logger = logging.getLogger("tests.telemetry.writer")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(writer)
    try:
        items = ["a"]
        logger.info("items %s", items)
        items.append("b")  # after the call: the line shows what was logged
        try:
            1 / 0  # noqa: B018 - the exception to log
        except ZeroDivisionError:
            logger.exception("failed")
        writer.close()  # writes everything queued
        logger.warning("after close")  # written at once, not lost
    finally:
        logger.removeHandler(writer)
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "items ['a']" and first["level"] == "INFO"
    assert second["message"] == "failed" and "ZeroDivisionError" in second["exception"]
    assert third["message"] == "after close"


def test_tracing_settings_are_read_once_and_checked() -> None:
    assert Settings.from_env({}).otlp_endpoint == ""
    settings = Settings.from_env({"SHIPPING_OTLP_ENDPOINT": "http://collector:4318", "SHIPPING_OTLP_SERVICE_NAME": "shipping-eu"})
    assert (settings.otlp_endpoint, settings.otlp_service_name) == ("http://collector:4318", "shipping-eu")
    for bad in ("collector:4318", "grpc://collector:4317", "http://"):
        with pytest.raises(SettingsError, match="SHIPPING_OTLP_ENDPOINT"):
            Settings.from_env({"SHIPPING_OTLP_ENDPOINT": bad})
    assert traces_url("http://collector:4318") == traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_url("https://collector.example/otlp/v1/traces") == "https://collector.example/otlp/v1/traces"
