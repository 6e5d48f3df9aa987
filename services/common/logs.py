"""JSON logs to stdout: one object per line with time, level, service, logger and message.

Extra fields passed with `logger.info("...", extra={"fields": {...}})` are merged into the line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import orjson

_RESERVED = ("time", "level", "service", "logger", "message")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
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


def configure_logging(service: str, level: str) -> None:
    """Routes every logger to stdout as JSON lines at `level`."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("nats", "peewee", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
