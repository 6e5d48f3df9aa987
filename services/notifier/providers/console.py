"""The console provider: logs each email and appends it to a mail log file (development)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from services.notifier.providers import Email, TransientError
from services.notifier.providers.message import to_mime

log = logging.getLogger(__name__)


class ConsoleProvider:
    name = "console"

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()

    def send(self, email: Email) -> None:
        log.info("email", extra={"fields": {"to": email.to, "subject": email.subject}})
        text = to_mime(email).as_string()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self._path.open("a") as out:
                out.write(text + "\n" + "=" * 72 + "\n")
        except OSError as exc:
            raise TransientError(f"cannot write {self._path}: {exc.strerror}") from exc

    def close(self) -> None:
        """Nothing stays open between emails."""
