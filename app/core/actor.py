"""The authenticated caller, as seen by code in ``core`` (which may not import identity).

Identity registers how the caller is found (token or session) when the app starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app

_RESOLVER_KEY = "steward.actor_resolver"


def set_actor_resolver(app: Any, resolver: Callable[[], Any]) -> None:
    app.extensions[_RESOLVER_KEY] = resolver


def current_actor() -> Any:
    """The authenticated caller, or ``Unauthenticated`` (401) raised by the resolver."""
    return current_app.extensions[_RESOLVER_KEY]()
