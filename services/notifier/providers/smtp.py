"""The SMTP provider (stdlib smtplib): plain, STARTTLS or implicit TLS, with a timeout.

Connection problems, timeouts and 4xx replies are transient; 5xx replies are permanent.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from services.notifier.providers import Email, PermanentError, TransientError
from services.notifier.providers.message import to_mime


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout: float = 10.0


class SmtpProvider:
    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    def send(self, email: Email) -> None:
        s = self._settings
        try:
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password)
                client.send_message(to_mime(email))
        except smtplib.SMTPResponseException as exc:
            error = f"SMTP {exc.smtp_code}: {exc.smtp_error.decode(errors='replace')}"
            raise (PermanentError if exc.smtp_code >= 500 else TransientError)(error) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = f"recipients refused: {exc.recipients}"
            raise (PermanentError if min(codes) >= 500 else TransientError)(error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
