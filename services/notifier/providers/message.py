"""Builds the RFC 5322 message for an Email, shared by every email provider."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

from services.notifier.providers import Email


def to_mime(email: Email, domain: str = "joist.local") -> EmailMessage:
    message = EmailMessage()
    message["From"] = email.sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{email.message_id}@{domain}>"
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message.set_content(email.body)
    return message
