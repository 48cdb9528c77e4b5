"""A lean closed-loop gRPC load client: unary calls written as pre-built HTTP/2 frames on plain
asyncio sockets, in the way h2load sends them, but with a different request body on every call.

Why it exists: on a 2-core machine the load generator shares the cores with the server it loads,
so every microsecond of client CPU is taken from the server. grpc.aio spends 80-175 µs of client
CPU on a unary call here, and python-hyper's h2 state machine (the well-kept HTTP/2 library) costs
about as much; h2load, which spends a few µs, sends one request body per run, so it cannot play
varied carts, unique CreateLabel request ids or a mix of four RPCs. This client does only what a
closed loop of unary gRPC calls needs: the connection preface and SETTINGS, HEADERS and DATA out,
flow control (connection and stream windows, WINDOW_UPDATE), PING and SETTINGS acks, RST_STREAM and
GOAWAY, and the grpc-status of every reply. It is a measuring tool, never used by the service.

The status is read, not assumed: every header block is decoded with python-hyper's hpack. The
client's SETTINGS set SETTINGS_HEADER_TABLE_SIZE to 0, so the server's encoder may not use a dynamic
table (RFC 7541 4.2) and a block's meaning depends on its bytes alone; a block seen before is then
looked up rather than decoded again.

    stats = run(Plan(address, methods, calls, concurrency, connections, start_at, seconds, wrap, warm_up))
"""

from __future__ import annotations

import asyncio
import struct
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import grpc
import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_HEADER_TABLE_SIZE, SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_FRAME_SIZE = 0x1, 0x3, 0x4, 0x5
MAX_WINDOW = 2**31 - 1
DEFAULT_WINDOW = 65_535
# what the client gives back to the server's connection window once it has read that much
REFILL_AT = 1 << 24
GRPC_CODES = {code.value[0]: code.name for code in grpc.StatusCode}  # 3 -> "INVALID_ARGUMENT"

_frame_header = struct.Struct(">BHBBI")  # length as 1 + 2 bytes, type, flags, stream id


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    n = len(payload)
    return _frame_header.pack(n >> 16, n & 0xFFFF, kind, flags, stream_id) + payload


def _string(value: bytes) -> bytes:
    """An HPACK string literal, not Huffman-coded (RFC 7541 5.2), of fewer than 127 bytes."""
    if len(value) >= 127:
        raise ValueError("header value too long for this client")
    return bytes([len(value)]) + value


def request_header_block(path: str, authority: str, timeout_s: int) -> bytes:
    """The request's header block with static-table indices and literals never added to a dynamic
    table (RFC 7541 6.2.2): the server's decoder keeps no state of ours."""
    return b"".join(
        [
            b"\x83",  # :method POST (static index 3)
            b"\x86",  # :scheme http (static index 6)
            b"\x04" + _string(path.encode()),  # :path, name index 4
            b"\x01" + _string(authority.encode()),  # :authority, name index 1
            b"\x0f\x10" + _string(b"application/grpc"),  # content-type, name index 31
            b"\x00" + _string(b"te") + _string(b"trailers"),
            b"\x00" + _string(b"grpc-timeout") + _string(f"{timeout_s}S".encode()),
        ]
    )


class Shared:
    """What the connections of one client process share: the calls in order, the clock, the figures."""

    def __init__(self, methods: list[str], calls: list[tuple[int, bytes]], deadline_ns: int, wrap: bool, position: int):
        self.methods = methods
        self.messages = [struct.pack(">BI", 0, len(payload)) + payload for _, payload in calls]
        self.method_of = [m for m, _ in calls]
        self.deadline_ns = deadline_ns
        self.wrap = wrap
        self.position = position
        self.exhausted = False
        self.latencies = [array("q") for _ in methods]
        self.errors: Counter[str] = Counter()
        self.active = 0
        self.window_stalls = 0  # times a request waited for the server's flow-control window
        self.budget: int | None = None  # calls still to issue, when counted (the warm-up)
        self.done: asyncio.Future[None] | None = None

    def next_call(self, now: int) -> int | None:
        if now >= self.deadline_ns or self.budget == 0:
            return None
        if self.budget is not None:
            self.budget -= 1
        if self.position >= len(self.messages):
            if not self.wrap:
                self.exhausted = True
                return None
            self.position = 0
        index = self.position
        self.position += 1
        return index


@dataclass(slots=True)
class _Stream:
    call: int  # index into Shared.messages
    started_ns: int
    got_message: bool = False


class Connection(asyncio.Protocol):
    def __init__(self, shared: Shared, header_blocks: list[bytes], slots: int):
        self.shared = shared
        self.header_blocks = header_blocks
        self.slots = slots
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.out: list[bytes] = []
        self.next_stream = 1
        self.streams: dict[int, _Stream] = {}
        self.send_window = DEFAULT_WINDOW
        self.stream_window = DEFAULT_WINDOW  # the server's initial window for each new stream
        self.max_frame = 16_384
        self.max_streams = 1 << 30
        self.waiting: list[int] = []  # call indices waiting for window
        self.unacked_read = 0
        self.decoder = hpack.Decoder()
        self.decoder.max_allowed_table_size = 0
        self.blocks: dict[bytes, dict[str, str]] = {}
        self.partial: tuple[int, int, bytearray] | None = None  # (stream, flags, block) awaiting CONTINUATION
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False

    # --- connection ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        settings = struct.pack(
            ">HIHIHI",
            SETTINGS_HEADER_TABLE_SIZE,
            0,
            SETTINGS_INITIAL_WINDOW_SIZE,
            MAX_WINDOW,
            0x2,
            0,  # 0x2: ENABLE_PUSH off
        )
        transport.write(PREFACE + frame(SETTINGS, 0, 0, settings) + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", MAX_WINDOW - DEFAULT_WINDOW)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        lost = len(self.streams) + len(self.waiting)
        self.shared.active -= lost
        if lost:
            self.shared.errors["connection lost"] += lost
        self.streams.clear()
        self.waiting.clear()
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"connection closed before it was ready: {exc}"))
        self._idle_check()

    def start(self) -> None:
        """Fills every slot; each finished call is followed by the next until none is left."""
        now = time.perf_counter_ns()
        for _ in range(self.slots):
            self._issue(now)
        self._flush()
        self._idle_check()

    # --- sending ---

    def _issue(self, now: int) -> None:
        if self.closed or len(self.streams) + len(self.waiting) >= min(self.slots, self.max_streams):
            return
        index = self.shared.next_call(now)
        if index is None:
            return
        self.shared.active += 1
        self.waiting.append(index)
        self._send_waiting(now)

    def _send_waiting(self, now: int) -> None:
        while self.waiting:
            index = self.waiting[0]
            message = self.shared.messages[index]
            if len(message) > self.send_window or len(message) > self.stream_window:
                self.shared.window_stalls += 1
                return  # a WINDOW_UPDATE or SETTINGS will let it go
            self.waiting.pop(0)
            self.send_window -= len(message)
            stream = self.next_stream
            self.next_stream += 2
            self.streams[stream] = _Stream(index, now)
            self.out.append(frame(HEADERS, END_HEADERS, stream, self.header_blocks[self.shared.method_of[index]]))
            step = self.max_frame
            for at in range(0, len(message), step):
                last = at + step >= len(message)
                self.out.append(frame(DATA, END_STREAM if last else 0, stream, message[at : at + step]))

    def _flush(self) -> None:
        if self.out and self.transport is not None and not self.closed:
            self.transport.write(b"".join(self.out))
        self.out.clear()

    # --- receiving ---

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        at, size = 0, len(buffer)
        while size - at >= 9:
            high, low, kind, flags, stream = _frame_header.unpack_from(buffer, at)
            length = (high << 16) | low
            end = at + 9 + length
            if end > size:
                break
            self._frame(kind, flags, stream & 0x7FFFFFFF, bytes(buffer[at + 9 : end]))
            at = end
        del buffer[:at]
        if self.unacked_read >= REFILL_AT:
            self.out.append(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", self.unacked_read)))
            self.unacked_read = 0
        self._flush()

    def _frame(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        if kind == DATA:
            self.unacked_read += len(payload)
            state = self.streams.get(stream)
            if state is not None:
                state.got_message = True
                if flags & END_STREAM:  # a reply without trailers: not gRPC
                    self._finish(stream, "no trailers")
        elif kind == HEADERS:
            if flags & PADDED:
                payload = payload[1 : len(payload) - payload[0]]
            if flags & PRIORITY:
                payload = payload[5:]
            if flags & END_HEADERS:
                self._headers(stream, flags, payload)
            else:
                self.partial = (stream, flags, bytearray(payload))
        elif kind == CONTINUATION and self.partial is not None:
            self.partial[2].extend(payload)
            if flags & END_HEADERS:
                first, first_flags, block = self.partial
                self.partial = None
                self._headers(first, first_flags, bytes(block))
        elif kind == SETTINGS:
            if not flags & ACK:
                self._settings(payload)
                self.out.append(frame(SETTINGS, ACK, 0))
                if not self.ready.done():
                    self.ready.set_result(None)
        elif kind == WINDOW_UPDATE:
            increment = struct.unpack(">I", payload)[0] & 0x7FFFFFFF
            if stream == 0:
                self.send_window += increment
                self._send_waiting(time.perf_counter_ns())
            # a stream's own window only matters for its one request message, sent at once
        elif kind == PING:
            if not flags & ACK:
                self.out.append(frame(PING, ACK, 0, payload))
        elif kind == RST_STREAM:
            if stream in self.streams:
                self._finish(stream, f"RST_STREAM {struct.unpack('>I', payload)[0]}")
        elif kind == GOAWAY:
            last, code = struct.unpack_from(">II", payload)
            for open_stream in [s for s in self.streams if s > (last & 0x7FFFFFFF)]:
                self._finish(open_stream, f"GOAWAY {code}")
            self.closed = True
            self._idle_check()

    def _settings(self, payload: bytes) -> None:
        for at in range(0, len(payload), 6):
            key, value = struct.unpack_from(">HI", payload, at)
            if key == SETTINGS_INITIAL_WINDOW_SIZE:
                self.stream_window = value
            elif key == SETTINGS_MAX_FRAME_SIZE:
                self.max_frame = value
            elif key == SETTINGS_MAX_CONCURRENT_STREAMS:
                self.max_streams = value
        self._send_waiting(time.perf_counter_ns())

    def _decode(self, block: bytes) -> dict[str, str]:
        known = self.blocks.get(block)
        if known is not None:
            return known
        headers = dict(cast(list[tuple[str, str]], self.decoder.decode(block)))  # raw=False: str
        if self.decoder.header_table.maxsize == 0:  # no dynamic table: the bytes alone say it
            self.blocks[block] = headers
        return headers

    def _headers(self, stream: int, flags: int, block: bytes) -> None:
        headers = self._decode(block)
        if stream not in self.streams:
            return
        if ":status" in headers and headers[":status"] != "200":
            self._finish(stream, f"HTTP {headers[':status']}")
        elif flags & END_STREAM:
            status = headers.get("grpc-status")
            if status is None:
                self._finish(stream, "no grpc-status")
            elif status != "0":
                self._finish(stream, GRPC_CODES.get(int(status), status))
            elif not self.streams[stream].got_message:
                self._finish(stream, "OK without a message")
            else:
                self._finish(stream, None)

    def _finish(self, stream: int, error: str | None) -> None:
        state = self.streams.pop(stream)
        index, started = state.call, state.started_ns
        shared = self.shared
        shared.active -= 1
        now = time.perf_counter_ns()
        method = shared.method_of[index]
        if error is None:
            shared.latencies[method].append(now - started)
        else:
            shared.errors[f"{shared.methods[method].rsplit('/', 1)[1]} {error}"] += 1
        self._issue(now)
        self._idle_check()

    def _idle_check(self) -> None:
        shared = self.shared
        if shared.active == 0 and shared.done is not None and not shared.done.done():
            shared.done.set_result(None)


@dataclass(frozen=True)
class Plan:
    """One closed-loop run: `concurrency` calls in flight over `connections` connections for
    `seconds` from `start_at` (a time.time()), after `warm_up` calls; `calls` are (index into
    `methods`, serialised request), sent in order, from the start again when `wrap`."""

    address: str
    methods: list[str]
    calls: list[tuple[int, bytes]]
    concurrency: int
    connections: int
    start_at: float
    seconds: float
    wrap: bool
    warm_up: int


async def _run(plan: Plan) -> dict[str, Any]:
    address, methods, calls, concurrency, connections = plan.address, plan.methods, plan.calls, plan.concurrency, plan.connections
    start_at, seconds, wrap, warm_up = plan.start_at, plan.seconds, plan.wrap, plan.warm_up
    loop = asyncio.get_running_loop()
    host, port = address.rsplit(":", 1)
    blocks = [request_header_block(m, address, 60) for m in methods]
    shared = Shared(methods, calls, deadline_ns=1 << 62, wrap=wrap, position=0)
    conns: list[Connection] = []
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: Connection(shared, blocks, 1), host, int(port))
        conns.append(conn)
    await asyncio.gather(*(c.ready for c in conns))
    # warm-up: the first calls, one in flight per connection, before the clock starts
    shared.budget = warm_up
    shared.done = loop.create_future()
    for conn in conns:
        conn.start()
    await asyncio.wait_for(shared.done, 120)
    if shared.errors:
        raise RuntimeError(f"warm-up calls failed: {dict(shared.errors)}")
    late = time.time() - start_at
    await asyncio.sleep(max(0.0, start_at - time.time()))
    shared.latencies = [array("q") for _ in methods]
    if wrap:
        shared.position = 0
    shared.budget = None
    shared.done = loop.create_future()
    per = [concurrency // connections + (1 if i < concurrency % connections else 0) for i in range(connections)]
    clock = time.perf_counter_ns
    cpu = time.process_time()
    started = clock()
    shared.deadline_ns = started + int(seconds * 1e9)
    for conn, slots in zip(conns, per, strict=True):
        conn.slots = slots
        conn.start()
    await asyncio.wait_for(shared.done, seconds + 120)
    elapsed = (clock() - started) / 1e9
    used = time.process_time() - cpu
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return {
        "elapsed": elapsed,
        "latencies": [lat.tobytes() for lat in shared.latencies],
        "errors": dict(shared.errors),
        "cpu": used,
        "late": late,
        "exhausted": shared.exhausted,
        "window_stalls": shared.window_stalls,
    }


def run(plan: Plan) -> dict[str, Any]:
    """Runs the plan; the same figures as bench/load.py's grpc.aio client, and `window_stalls`."""
    return asyncio.run(_run(plan))
