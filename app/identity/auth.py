"""Who is calling: bearer tokens for the API, the session cookie for pages.

``current_actor()`` is the one way API endpoints and pages learn the caller; services receive
the actor as an argument and never look at the request themselves.

The session cookie carries the key of a server-side session (``UserSession``), checked before
anything else on every page request: once that session has ended (logout, idle for
``SESSION_IDLE_MINUTES``, password reset, deactivation) the cookie is emptied, and with it the
CSRF secret, so the forms it rendered are refused too.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, flash, g, request
from flask import session as cookie
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user

from app.core.actor import set_actor_resolver
from app.core.db import db
from app.core.errors import Unauthenticated
from app.identity import service
from app.identity.models import User
from app.identity.service import user_for_token

SESSION_KEY = "sid"

login_manager = LoginManager()
login_manager.login_view = "identity.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_session_user(user_id: str) -> User | None:
    user = g.get("session_user")
    return user if user is not None and str(user.id) == user_id else None


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def _check_browser_session() -> None:
    """Find the session the cookie names; an ended one empties the cookie (CSRF secret too)."""
    if _is_api_request() or request.endpoint == "static":
        return
    key = cookie.get(SESSION_KEY)
    if key is None:
        if "_user_id" in cookie:  # a cookie from before server-side sessions: not honoured
            cookie.clear()
        return
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    user = service.user_for_session(db.session, str(key), idle=idle)
    if db.session.dirty:
        db.session.commit()  # the recorded activity, or the end of an idle session
    if user is None or str(user.id) != cookie.get("_user_id"):
        cookie.clear()
        flash(gettext("Your session has ended; please sign in again."), "info")
        return
    g.session_user = user


def sign_in(user: User) -> None:
    """Start a fresh server-side session for ``user`` in this browser (the caller commits)."""
    cookie.clear()  # nothing from before the login survives it (no fixation, new CSRF secret)
    key = service.start_session(db.session, user, remote_addr=request.remote_addr)
    login_user(user)
    cookie[SESSION_KEY] = key
    g.session_user = user


def sign_out() -> None:
    """End this browser's session on the server and empty its cookie (the caller commits)."""
    key = cookie.get(SESSION_KEY)
    if key:
        service.end_session(db.session, str(key), reason="logout")
    logout_user()
    cookie.clear()


def _load_bearer_user() -> None:
    if not _is_api_request():
        return
    header = request.headers.get("Authorization", "")
    if not header:
        return
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(_l("Use 'Authorization: Bearer <token>'."))
    user = user_for_token(db.session, secret.strip())
    if user is None:
        raise Unauthenticated(_l("The token is invalid, expired or revoked."))
    if db.session.dirty:
        db.session.commit()  # its last use, shown to its holder (at most once a minute)
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
    """Register how callers are found (call before CSRF protection: its secret lives in the
    session cookie, which an ended session empties first)."""
    login_manager.init_app(app)
    set_actor_resolver(app, current_actor)
    app.before_request(_check_browser_session)
    app.before_request(_load_bearer_user)
