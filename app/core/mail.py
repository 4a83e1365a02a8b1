"""Outgoing email over SMTP. Without ``SMTP_HOST`` (the embedded demo) mail is logged instead.

A worker sends one message per job, often hundreds in a row: each thread keeps its SMTP
connection open between messages (up to ``MAX_MESSAGES_PER_CONNECTION``, and while it has not
been idle for ``IDLE_SECONDS``), so a burst costs one connection, not one per message. A
connection the server has dropped meanwhile is replaced once, transparently.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from collections.abc import Mapping
from email.header import Header
from email.mime.text import MIMEText
from typing import Any

log = logging.getLogger(__name__)

IDLE_SECONDS = 30.0
MAX_MESSAGES_PER_CONNECTION = 100
_clock = time.monotonic


class _Connection(threading.local):
    smtp: smtplib.SMTP | None = None
    key: tuple | None = None
    used_at: float = 0.0
    sent: int = 0


_current = _Connection()


def _settings_key(config: Mapping[str, Any]) -> tuple:
    return (
        config.get("SMTP_HOST"),
        int(config.get("SMTP_PORT", 25)),
        config.get("SMTP_USER"),
        bool(config.get("SMTP_STARTTLS")),
    )


def _open(config: Mapping[str, Any]) -> smtplib.SMTP:
    timeout = config.get("SMTP_TIMEOUT", 10)
    smtp = smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT", 25)), timeout=timeout)
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    except Exception:
        smtp.close()
        raise
    return smtp


def close_connections() -> None:
    """Say goodbye to this thread's SMTP server (a worker stopping, an idle connection)."""
    smtp, _current.smtp, _current.key, _current.sent = _current.smtp, None, None, 0
    if smtp is None:
        return
    try:
        smtp.quit()
    except Exception:  # already gone: nothing to say goodbye to
        smtp.close()


def _connection(config: Mapping[str, Any]) -> tuple[smtplib.SMTP, bool]:
    """This thread's connection for ``config``, and whether it was used before."""
    key = _settings_key(config)
    stale = _clock() - _current.used_at > IDLE_SECONDS
    if _current.smtp is not None and (
        _current.key != key or stale or _current.sent >= MAX_MESSAGES_PER_CONNECTION
    ):
        close_connections()
    if _current.smtp is not None:
        return _current.smtp, True
    _current.smtp, _current.key, _current.sent = _open(config), key, 0
    return _current.smtp, False


def send_email(config: Mapping[str, Any], to: list[str], subject: str, body: str) -> bool:
    """Send one plain-text message; True if handed to an SMTP server, False if only logged.

    Errors propagate so that the job fails and RQ retries it with backoff.
    """
    if not to:
        return False
    # MIMEText, not EmailMessage: the same message for a fifth of the CPU (no header parsing)
    message = MIMEText(body, "plain", "utf-8")
    message["From"] = config.get("MAIL_FROM", "steward@localhost")
    message["To"] = ", ".join(sorted(set(to)))
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    if not config.get("SMTP_HOST"):
        log.info("mail (no SMTP_HOST, not sent) to=%s subject=%s", message["To"], subject)
        return False
    while True:
        smtp, reused = _connection(config)
        try:
            smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            close_connections()
            if reused:  # the server dropped a connection we kept: once more, on a new one
                log.info("SMTP connection dropped (%s); reconnecting", exc)
                continue
            raise
        except Exception:
            close_connections()  # unknown state: start the next message afresh
            raise
        _current.used_at = _clock()
        _current.sent += 1
        return True
