"""Providers carry a rendered message to its recipient.

    ProviderError
    ├── TransientError   the provider may accept it later: retry with backoff
    └── PermanentError   it never will (bad recipient, rejected content): the notification is dead

Every provider's `send` is blocking and bounded by its own timeout; the consumer runs it on a
thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Email:
    message_id: str
    sender: str
    to: str
    subject: str
    body: str
    reply_to: str = ""


class ProviderError(Exception):
    pass


class TransientError(ProviderError):
    pass


class PermanentError(ProviderError):
    pass


class EmailProvider(Protocol):
    name: str

    def send(self, email: Email) -> None: ...

    def close(self) -> None: ...
