"""Outgoing mail: a burst of messages shares one SMTP connection, and a connection the server
dropped is replaced without losing the message. A real aiosmtpd server counts the connections.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from app.core import mail
from tests.faults import free_port


@dataclass
class CountingSmtp:
    """A real SMTP server remembering, for each message, the client connection it came on."""

    port: int
    peers: list[tuple] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        self.peers.append(session.peer)
        for line in envelope.content.decode().splitlines():
            if line.startswith("Subject: "):
                self.subjects.append(line.removeprefix("Subject: "))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def connections(self) -> int:
        return len(set(self.peers))


@pytest.fixture
def smtp() -> Iterator[CountingSmtp]:
    server = CountingSmtp(port=free_port())
    server.start()
    yield server
    mail.close_connections()
    server.stop()


def config(server: CountingSmtp) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": server.port, "MAIL_FROM": "steward@test"}


def send(server: CountingSmtp, subject: str) -> bool:
    return mail.send_email(config(server), ["rita@example.com"], subject, "Hello.")


def test_a_burst_of_mails_shares_one_smtp_connection(smtp):
    sent = [send(smtp, f"message {n}") for n in range(5)]

    assert sent == [True] * 5
    assert smtp.subjects == [f"message {n}" for n in range(5)]
    assert smtp.connections == 1


def test_a_connection_is_renewed_after_a_number_of_messages(smtp, monkeypatch):
    monkeypatch.setattr(mail, "MAX_MESSAGES_PER_CONNECTION", 2)

    for n in range(5):
        send(smtp, f"message {n}")

    assert smtp.connections == 3


def test_an_idle_connection_is_not_reused(smtp, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(mail, "_clock", lambda: now[0])
    send(smtp, "before the pause")
    now[0] += mail.IDLE_SECONDS + 1

    send(smtp, "after the pause")

    assert smtp.connections == 2


def test_a_connection_the_server_dropped_is_replaced_and_the_mail_still_sent(smtp):
    send(smtp, "first")
    smtp.stop()  # the server goes away and comes back: the kept connection is dead
    smtp.start()

    assert send(smtp, "second") is True
    assert smtp.subjects == ["first", "second"]


def test_with_the_server_down_the_mail_fails_so_that_its_job_is_retried(smtp):
    smtp.stop()

    with pytest.raises(ConnectionRefusedError):
        send(smtp, "nobody listens")


def test_without_an_smtp_host_mail_is_only_logged(smtp):
    assert mail.send_email({}, ["rita@example.com"], "demo", "Hello.") is False
    assert smtp.subjects == []
