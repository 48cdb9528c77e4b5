"""The request log is written by a thread of its own, in batches (kokokara/shipping/server/logs.py):
a server process stopped with SIGTERM right after thousands of calls has written every line."""

from __future__ import annotations

import signal
from concurrent import futures
from pathlib import Path

import grpc

from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
from tests.process_support import server_process

SERVICE = "kokokara.shipping.v1.RateService"


def quote() -> rates_pb2.GetQuoteRequest:
    request = rates_pb2.GetQuoteRequest(destination_region_code="GB")
    request.parcels.add(weight_grams=500)
    return request


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
