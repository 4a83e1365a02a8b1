"""Outgoing email over SMTP. Without ``SMTP_HOST`` (the embedded demo) mail is logged instead."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)


def send_email(config: Mapping[str, Any], to: list[str], subject: str, body: str) -> bool:
    """Send one plain-text message; True if handed to an SMTP server, False if only logged.

    Errors propagate so that the job fails and RQ retries it with backoff.
    """
    if not to:
        return False
    message = EmailMessage()
    message["From"] = config.get("MAIL_FROM", "steward@localhost")
    message["To"] = ", ".join(sorted(set(to)))
    message["Subject"] = subject
    message.set_content(body)
    host = config.get("SMTP_HOST")
    if not host:
        log.info("mail (no SMTP_HOST, not sent) to=%s subject=%s", message["To"], subject)
        return False
    timeout = config.get("SMTP_TIMEOUT", 10)
    with smtplib.SMTP(host, int(config.get("SMTP_PORT", 25)), timeout=timeout) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)
    return True
