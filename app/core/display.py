"""Recorded values as people read them: the before/after of an audited change, a field name.

The audit log stores values as JSON (None, booleans, ISO timestamps, codes like
``waiting_on_requester``); pages never print them raw. ``plain`` turns each into words: a dash
for nothing, yes/no, an instant in the viewer's zone, a code with spaces, a list joined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _

from app.core.i18n import local_dt

_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def plain_value(value: Any) -> str:
    """One recorded value in words."""
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, list | tuple):
        return ", ".join(plain_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{plain_name(k)}: {plain_value(v)}" for k, v in value.items())
    if isinstance(value, str):
        if _INSTANT.match(value):
            try:
                return local_dt(value)
            except ValueError:
                return value
        if _CODE.match(value):
            return value.replace("_", " ")
    return str(value)


def plain_name(name: Any) -> str:
    """A recorded field or action name in words (``resolution_code`` -> "resolution code")."""
    return str(name).replace("_", " ")


def code_in_words(words: Mapping[str, Any]) -> Callable[..., str]:
    """A template filter that says a recorded code (a status, an outcome, a measure) in
    words: its entry in ``words``, else the code with spaces; ``none`` (a dash) for no code."""

    def in_words(code: str | None, none: str = "—") -> str:
        if not code:
            return str(none)
        return str(words.get(code) or plain_name(code))

    return in_words
