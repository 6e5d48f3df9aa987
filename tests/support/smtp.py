"""An SMTP sink (aiosmtpd) on a free port that keeps every message, optionally slow."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from services.cli.processes import free_port


@dataclass(frozen=True)
class Received:
    message: EmailMessage
    at: float  # time.monotonic() when the DATA command completed

    @property
    def body(self) -> str:
        return self.message.get_content()


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._sink.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        if self._sink.delay:
            await asyncio.sleep(self._sink.delay)
        if not self._sink.reply.startswith("250"):
            return self._sink.reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self._sink.add(Received(parsed, time.monotonic()))
        return "250 OK"


class SmtpSink:
    """Set `delay` to answer slowly, `reply` (e.g. "451 try later") to refuse messages."""

    def __init__(self, delay: float = 0.0, port: int | None = None) -> None:
        self.delay = delay
        self.reply = "250 OK"
        self.connections = 0  # EHLOs seen: one per SMTP session
        self.port = port or free_port()
        self._messages: list[Received] = []
        self._changed = threading.Condition()
        self._started = False
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpSink:
        self._controller.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._controller.stop()
            self._started = False

    def add(self, received: Received) -> None:
        with self._changed:
            self._messages.append(received)
            self._changed.notify_all()

    @property
    def messages(self) -> list[Received]:
        with self._changed:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """At least `count` messages, or AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self._messages)} of {count} emails after {timeout}s"
                    )
                self._changed.wait(left)
            return list(self._messages)
