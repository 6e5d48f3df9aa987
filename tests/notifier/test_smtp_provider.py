"""The SMTP provider against a real SMTP server (aiosmtpd): success, 4xx, 5xx, no server."""

from __future__ import annotations

import pytest

from services.cli.processes import free_port
from services.notifier.providers import Email, PermanentError, TransientError
from services.notifier.providers.smtp import SmtpProvider, SmtpSettings
from tests.support.smtp import SmtpSink

EMAIL = Email(
    message_id="n1",
    sender="Jöist <noreply@example.com>",
    to="admin@example.com",
    subject="Héllo",
    body="Body ✓\n",
    reply_to="ann@example.com",
)


def _provider(port: int) -> SmtpProvider:
    return SmtpProvider(SmtpSettings(host="127.0.0.1", port=port, timeout=2))


def test_delivers_a_complete_message(smtp_sink: SmtpSink):
    _provider(smtp_sink.port).send(EMAIL)
    (received,) = smtp_sink.wait_for(1, timeout=5)
    assert received.message["Subject"] == "Héllo"
    assert received.message["Reply-To"] == "ann@example.com"
    assert received.message["From"] == "Jöist <noreply@example.com>"
    assert received.message["Message-ID"].startswith("<n1@")
    assert received.body.replace("\r\n", "\n") == "Body ✓\n"


@pytest.mark.parametrize(
    ("reply", "error"),
    [("451 try again later", TransientError), ("550 no such user", PermanentError)],
)
def test_refusals_are_classified(smtp_sink: SmtpSink, reply: str, error: type):
    smtp_sink.reply = reply
    with pytest.raises(error, match=reply.split()[0]):
        _provider(smtp_sink.port).send(EMAIL)


def test_no_server_is_transient():
    with pytest.raises(TransientError):
        _provider(free_port()).send(EMAIL)


def test_a_silent_server_times_out(smtp_sink: SmtpSink):
    smtp_sink.delay = 5
    provider = SmtpProvider(SmtpSettings(host="127.0.0.1", port=smtp_sink.port, timeout=0.5))
    with pytest.raises(TransientError, match="timed out"):
        provider.send(EMAIL)


def test_a_connection_serves_many_emails_and_is_replaced_when_dropped(smtp_sink: SmtpSink):
    provider = _provider(smtp_sink.port)
    for _ in range(3):
        provider.send(EMAIL)
    assert smtp_sink.connections == 1
    smtp_sink.stop()  # the server goes away and comes back: the kept connection is dead
    restarted = SmtpSink(port=smtp_sink.port).start()
    try:
        provider.send(EMAIL)
        assert len(restarted.wait_for(1, timeout=5)) == 1
        assert restarted.connections == 1
    finally:
        provider.close()
        restarted.stop()
