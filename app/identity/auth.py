"""Who is calling: bearer tokens for the API, the session cookie for pages.

``current_actor()`` is the one way API endpoints and pages learn the caller; services receive
the actor as an argument and never look at the request themselves.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask_login import LoginManager, current_user

from app.core.actor import set_actor_resolver
from app.core.db import db
from app.core.errors import Unauthenticated
from app.identity.models import User
from app.identity.service import cached_user, user_for_token

login_manager = LoginManager()
login_manager.login_view = "identity.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_session_user(user_id: str) -> User | None:
    try:
        user = cached_user(db.session, int(user_id))
    except ValueError:
        return None
    return user if user is not None and user.active else None


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def _load_bearer_user() -> None:
    if not _is_api_request():
        return
    header = request.headers.get("Authorization", "")
    if not header:
        return
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("Use 'Authorization: Bearer <token>'.")
    user = user_for_token(db.session, secret.strip())
    if user is None:
        raise Unauthenticated("The token is invalid, expired or revoked.")
    g.api_user = user


def current_actor() -> User:
    """The authenticated caller, or ``Unauthenticated`` (401)."""
    if _is_api_request():
        user = g.get("api_user")
    else:
        user = current_user._get_current_object() if current_user.is_authenticated else None
    if user is None:
        raise Unauthenticated()
    return user


def optional_actor() -> User | None:
    try:
        return current_actor()
    except Unauthenticated:
        return None


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    set_actor_resolver(app, current_actor)
    app.before_request(_load_bearer_user)
