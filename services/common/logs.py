"""JSON logs to stdout: one object per line with time, level, service, logger and message.

Extra fields passed with `logger.info("...", extra={"fields": {...}})` are merged into the line.

Lines are written in batches, as Envoy writes its access logs: a line is formatted when it is
logged and written with the others of the same `FLUSH_EVERY` seconds, in one write, while a
warning or an error is written at once with whatever waits before it. One write per access-log
line (two per request through the gateway) cost more CPU than the line itself: each write
hands the GIL to another thread and back. A process killed with SIGKILL loses at most the
last `FLUSH_EVERY` seconds of INFO lines; an orderly exit writes everything.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any, TextIO

import orjson

_RESERVED = ("time", "level", "service", "logger", "message")
FLUSH_EVERY = 0.1  # seconds an INFO line may wait to be written


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service
        self._second = (-1, "")  # the last whole second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        whole = int(record.created)
        if whole != self._second[0]:
            self._second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
        line: dict[str, Any] = {
            "time": f"{self._second[1]}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update((k, v) for k, v in fields.items() if k not in _RESERVED)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(line, default=str).decode()
        except orjson.JSONEncodeError:  # what orjson refuses, e.g. an integer beyond 64 bits
            return json.dumps(line, default=str)


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that writes its lines in batches (module docstring)."""

    def __init__(self, stream: TextIO, every: float = FLUSH_EVERY, most: int = 512) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._most = most
        self._stopped = threading.Event()
        flusher = threading.Thread(target=self._flush_every, args=(every,), daemon=True)
        flusher.start()

    def emit(self, record: logging.LogRecord) -> None:  # called holding the handler's lock
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or len(self._lines) >= self._most:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            lines, self._lines = self._lines, []
            if lines:
                self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()

    def close(self) -> None:
        self._stopped.set()
        self.flush()
        super().close()

    def _flush_every(self, seconds: float) -> None:
        while not self._stopped.wait(seconds):
            if self._lines:
                self.flush()


def configure_logging(service: str, level: str) -> None:
    """Routes every logger to stdout as JSON lines at `level`."""
    # What the JSON lines never show is not gathered for each record (the logging HOWTO's
    # "Optimization"): the caller's frame, thread, process and multiprocessing names.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = BatchedStreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("nats", "peewee", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
