"""The SMTP provider (stdlib smtplib): plain, STARTTLS or implicit TLS, with a timeout.

Each sending thread keeps its connection open for the next email (a new connection costs a TCP
handshake, the greeting, EHLO, maybe TLS and login); a connection idle for longer than
`IDLE_SECONDS`, or that the server dropped, is replaced. Connection problems, timeouts and 4xx
replies are transient; 5xx replies are permanent.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from services.notifier.providers import Email, PermanentError, TransientError
from services.notifier.providers.message import to_mime

IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout: float = 10.0


class _Connection:
    def __init__(self, client: smtplib.SMTP) -> None:
        self.client = client
        self.last_used = time.monotonic()


class SmtpProvider:
    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._local_hostname = socket.getfqdn()
        self._local = threading.local()
        self._open: set[_Connection] = set()
        self._guard = threading.Lock()

    def send(self, email: Email) -> None:
        message = to_mime(email)
        try:
            connection, reused = self._connection()
            try:
                connection.client.send_message(message)
            except smtplib.SMTPServerDisconnected:
                self._drop()
                if not reused:
                    raise
                connection, _ = self._connection()  # the server closed an idle connection
                connection.client.send_message(message)
            connection.last_used = time.monotonic()
        except smtplib.SMTPResponseException as exc:
            self._drop()
            error = f"SMTP {exc.smtp_code}: {exc.smtp_error.decode(errors='replace')}"
            raise (PermanentError if exc.smtp_code >= 500 else TransientError)(error) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            codes = [code for code, _ in exc.recipients.values()]
            error = f"recipients refused: {exc.recipients}"
            raise (PermanentError if min(codes) >= 500 else TransientError)(error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        with self._guard:
            connections, self._open = self._open, set()
        for connection in connections:
            _quit(connection.client)

    def _connection(self) -> tuple[_Connection, bool]:
        """This thread's open connection (and True), or a new one (and False)."""
        connection: _Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            if time.monotonic() - connection.last_used < IDLE_SECONDS:
                return connection, True
            self._drop()
        connection = _Connection(self._connect())
        self._local.connection = connection
        with self._guard:
            self._open.add(connection)
        return connection, False

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host,
                s.port,
                local_hostname=self._local_hostname,
                timeout=s.timeout,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(
                s.host, s.port, local_hostname=self._local_hostname, timeout=s.timeout
            )
        try:
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password)
        except BaseException:
            _quit(client)
            raise
        return client

    def _drop(self) -> None:
        connection: _Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            return
        self._local.connection = None
        with self._guard:
            self._open.discard(connection)
        _quit(connection.client)


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
