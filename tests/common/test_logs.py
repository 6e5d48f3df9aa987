"""JSON log lines, written in batches: INFO lines within FLUSH_EVERY, a warning at once with
what waited before it, everything on an orderly exit."""

from __future__ import annotations

import io
import json
import logging
import time

from services.common.logs import FLUSH_EVERY, BatchedStreamHandler, JsonFormatter


def _logger(stream: io.StringIO, name: str) -> tuple[logging.Logger, BatchedStreamHandler]:
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger(f"joist.test.{name}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, handler


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_info_lines_wait_at_most_flush_every_and_keep_their_order():
    stream = io.StringIO()
    logger, handler = _logger(stream, "info")
    for i in range(5):
        logger.info("line", extra={"fields": {"i": i}})
    assert stream.getvalue() == ""  # batched, not one write per line
    deadline = time.monotonic() + 10 * FLUSH_EVERY
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(FLUSH_EVERY / 10)
    lines = _lines(stream)
    handler.close()
    assert [line["i"] for line in lines] == [0, 1, 2, 3, 4]
    assert lines[0]["service"] == "test" and lines[0]["level"] == "INFO"
    assert lines[0]["time"].endswith("Z") and lines[0]["message"] == "line"


def test_a_warning_is_written_at_once_after_what_waited():
    stream = io.StringIO()
    logger, handler = _logger(stream, "warning")
    logger.info("first")
    logger.warning("then this", extra={"fields": {"message": "never overrides", "x": 1}})
    lines = _lines(stream)
    handler.close()
    assert [line["message"] for line in lines] == ["first", "then this"]
    assert lines[1]["level"] == "WARNING" and lines[1]["x"] == 1


def test_everything_is_written_when_the_handler_closes():
    stream = io.StringIO()
    logger, handler = _logger(stream, "close")
    for i in range(1000):  # past the batch limit too
        logger.info("line", extra={"fields": {"i": i}})
    handler.close()  # what logging.shutdown() does at exit
    assert [line["i"] for line in _lines(stream)] == list(range(1000))
