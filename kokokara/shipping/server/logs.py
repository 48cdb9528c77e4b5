"""Structured logs: one JSON object per line on stderr, with the `extra` fields a record carries,
formatted and written by one writer thread, off the threads that serve calls.

A thread that logs only puts the record on a queue (no lock, no formatting, no system call); the
writer takes everything that has come in, formats it and writes it with one write and one flush. A
line alone is written at once; while lines keep coming, the writer gathers them for
LogWriter.BATCH_SECONDS (50 ms) at a time, so a loaded server writes 20 times a second, not once
per call. The request log line, logged once per call, goes the shortest way: while the
writer is the only place it would go, the call puts its few values on the queue and the writer
builds the line (the same JSON the logging module would give); when anything else listens on the
logger (a handler an operator adds, a test's log capture), it is an ordinary LogRecord.

Nothing is lost at shutdown: LogWriter.close() (run by logging.shutdown at exit, and by server.py
after the server has stopped) writes every line queued before it returns.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
from typing import IO, Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
ACCESS_LOGGER = "kokokara.shipping.access"


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, object] = {}  # fields every line carries (a worker's pid)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.message if "message" in vars(record) else record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        entry.update(self.tags)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def _timestamp(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created * 1000) % 1000:03d}Z"


# A request log line as the writer gets it: when, RPC, caller name, code, reason, seconds, trace id.
AccessEntry = tuple[float, str, str, str, str, float, str]
_STOP = object()


class LogWriter(logging.Handler):
    """The root handler: queues records; one thread formats and writes them in batches."""

    BATCH_SECONDS = 0.05

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__()
        self.formatter: JsonFormatter = JsonFormatter()
        self.setFormatter(self.formatter)
        self._stream = sys.stderr if stream is None else stream
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._middles: dict[tuple[str, str, str, str], str] = {}
        self._tags = ""  # the formatter's tags, as the end of a line
        self._second = (0, "")  # the last whole second formatted, and its text
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    # -- the logging threads' side: put and return ----------------------------------------------

    def handle(self, record: logging.LogRecord) -> bool:  # no handler lock: the queue is the lock
        if not self.filter(record):
            return False
        if record.args:  # the message as it is now, not as its arguments may be when the writer gets to it
            record.message = record.getMessage()
        if self._closed:
            with self.lock:  # type: ignore[union-attr]
                self._write([self.formatter.format(record)])
        else:
            self._queue.put(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # only reached through Handler.handle
        self.handle(record)

    def access(self, entry: AccessEntry) -> None:
        if self._closed:
            with self.lock:  # type: ignore[union-attr]
                self._write([self._access_line(entry)])
        else:
            self._queue.put(entry)

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        get = self._queue.get
        while True:
            batch = [get()]
            try:
                while True:
                    batch.append(get(block=False))
            except queue.Empty:
                pass
            stop = batch[-1] is _STOP
            lines = []
            flushed = []
            for item in batch:
                if item is _STOP:
                    continue
                if type(item) is _Flushed:
                    flushed.append(item.done)
                    continue
                try:
                    lines.append(self._access_line(item) if type(item) is tuple else self.formatter.format(item))
                except Exception:  # noqa: BLE001 - one bad record must not stop the log
                    lines.append(json.dumps({"level": "ERROR", "logger": "kokokara.shipping.server.logs", "message": "a log record could not be formatted"}))
            if lines:
                self._write(lines)
            for done in flushed:
                done.set()
            if stop:
                return
            if len(batch) > 1:  # lines are coming in fast: let the next batch gather
                time.sleep(self.BATCH_SECONDS)

    def _write(self, lines: list[str]) -> None:
        try:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()
        except (OSError, ValueError):  # stderr closed: nowhere left to say it
            pass

    def _access_line(self, entry: AccessEntry) -> str:
        created, rpc, caller, code, reason, seconds, trace_id = entry
        second = int(created)
        if second != self._second[0]:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        # The fields between the time and the duration repeat: RPC names, callers, codes, reasons.
        middle = self._middles.get((rpc, caller, code, reason))
        if middle is None:
            enc = json.dumps
            middle = (
                f'", "level": "INFO", "logger": "{ACCESS_LOGGER}", "message": "rpc", "rpc": {enc(rpc, ensure_ascii=False)}, '
                f'"caller": {enc(caller, ensure_ascii=False)}, "code": {enc(code)}, "reason": {enc(reason)}, "duration_ms": '
            )
            if len(self._middles) < 10_000:  # a small set, but never unbounded
                self._middles[(rpc, caller, code, reason)] = middle
        line = f'{{"time": "{self._second[1]}.{int(created * 1000) % 1000:03d}Z{middle}{round(seconds * 1000, 3)!r}'
        if trace_id:
            line += f', "trace_id": "{trace_id}"'
        return line + self._tags + "}"

    # -- shutdown -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Waits until every line queued so far is written (at most a few batches)."""
        if self._closed or not self._thread.is_alive():
            return
        done = threading.Event()
        self._queue.put(_Flushed(done))
        done.wait(5)

    def close(self) -> None:
        """Writes everything queued, then stops the writer; later records are written at once."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(10)
        super().close()


class _Flushed:
    """Put on the queue by flush(): set once the lines before it are written."""

    __slots__ = ("done",)

    def __init__(self, done: threading.Event) -> None:
        self.done = done


_writer: LogWriter | None = None
_access_logger = logging.getLogger(ACCESS_LOGGER)


def configure(level: str = "INFO") -> LogWriter:
    global _writer
    root = logging.getLogger()
    old = _writer
    _writer = LogWriter()
    root.handlers[:] = [_writer]
    root.setLevel(level)
    if old is not None:
        old.close()
    return _writer


def tag_every_line(**fields: object) -> None:
    """Adds fields to every line from now on (workers sharing one stderr: their pid)."""
    if _writer is not None:
        _writer.formatter.tags.update(fields)
        _writer._tags = "".join(f", {json.dumps(k)}: {json.dumps(v, default=str)}" for k, v in _writer.formatter.tags.items())


def flush() -> None:
    if _writer is not None:
        _writer.flush()


def access_sink() -> Any:
    """The fast way for the request log line: the writer's `access`, while the writer is the only
    handler the access logger reaches (else None: log an ordinary record). Checked per call, so a
    handler added later (a test's capture) sees the lines from then on."""
    writer = _writer
    if writer is None or writer._closed or writer.filters:
        return None
    logger: logging.Logger | None = _access_logger
    while logger is not None:
        if logger.filters or (logger.handlers and logger.handlers != [writer]):
            return None
        if not logger.propagate:
            return writer.access if logger.handlers == [writer] else None
        logger = logger.parent
    return writer.access
