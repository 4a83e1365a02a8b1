"""Outgoing webhooks: a JSON POST (e.g. to a chat channel). Failures raise so the job retries."""

from __future__ import annotations

import logging
from typing import Any

import requests

log = logging.getLogger(__name__)


class WebhookFailed(RuntimeError):
    """The receiver did not accept the notification."""


def post_json(url: str | None, payload: dict[str, Any], timeout: float = 5) -> bool:
    """POST ``payload``; True when delivered, False when no URL is configured."""
    if not url:
        return False
    response = requests.post(url, json=payload, timeout=timeout)
    if response.status_code >= 300:
        raise WebhookFailed(f"webhook answered {response.status_code}")
    return True
