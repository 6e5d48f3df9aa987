"""Builds the RFC 5322 message for an Email, shared by every email provider.

It uses the `compat32` MIME classes: five times cheaper to build and serialise than
`EmailMessage` with the default policy (0.5 ms against 2.5 ms per email here), which matters
in the notifier's hot path. Non-ASCII text is encoded as RFC 2047 words and the body as
quoted-printable UTF-8.
"""

from __future__ import annotations

from email.charset import QP, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

from services.notifier.providers import Email

_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # a readable body (quoted-printable), not base64


def _text(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address or value


def to_mime(email: Email, domain: str = "joist.local") -> MIMEText:
    message = MIMEText(email.body, "plain", _UTF8_QP)
    message["From"] = _address(email.sender)
    message["To"] = _address(email.to)
    message["Subject"] = _text(email.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{email.message_id}@{domain}>"
    if email.reply_to:
        message["Reply-To"] = _address(email.reply_to)
    return message
