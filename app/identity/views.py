"""Login, logout, the home page that each role lands on, and one's own API tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.core.db import db
from app.core.errors import TooManyRequests, Unauthenticated
from app.core.navigation import EntityPage, NavItem, add_entity_page, add_nav, panels_for
from app.core.pagination import SortKey, paginate
from app.core.permissions import Permission, Role
from app.identity import service
from app.identity.auth import current_actor, sign_in, sign_out
from app.identity.forms import LoginForm
from app.identity.models import ApiToken

blueprint = Blueprint("identity", __name__)

ROLE_LABELS = {
    Role.REQUESTER: _l("Requester"),
    Role.KEY_USER: _l("Key user"),
    Role.AGENT: _l("Support agent"),
    Role.PRODUCT_OWNER: _l("Product owner"),
    Role.APPROVER: _l("Approver"),
    Role.ADMIN: _l("Administrator"),
    Role.AUDITOR: _l("Auditor"),
    Role.COMMITTEE_MEMBER: _l("Steering committee member"),
}

add_nav(NavItem(_l("Home"), "identity.home", None, order=0))
add_nav(NavItem(_l("Audit log"), "core.audit_log", Permission.AUDIT_VIEW, order=90))
add_nav(NavItem(_l("My API tokens"), "identity.my_tokens", Permission.TOKEN_SELF, order=95))
add_entity_page(EntityPage("user", _l("User")))
add_entity_page(EntityPage("api_token", _l("API token")))


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    # Browsers read a backslash as "/" and drop tabs and newlines: "/\\evil" means "//evil".
    if target and any(c == "\\" or c.isspace() or ord(c) < 32 for c in target):
        target = None
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("identity.home")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("identity.home"))
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        config = current_app.config
        try:
            user = service.authenticate(
                db.session,
                form.email.data,
                form.password.data,
                remote_addr=request.remote_addr,
                max_attempts=config["LOGIN_MAX_ATTEMPTS"],
                window_seconds=config["LOGIN_WINDOW_SECONDS"],
                address_max_attempts=config["LOGIN_ADDRESS_MAX_ATTEMPTS"],
            )
        except (Unauthenticated, TooManyRequests) as exc:
            db.session.commit()
            flash(exc.message, "error")
            status, headers = exc.status, exc.headers
        else:
            target = _safe_next(request.args.get("next"))
            sign_in(user)
            db.session.commit()
            return redirect(target)
    elif request.method == "POST":
        status = 400
    return render_template("identity/login.html", form=form), status, headers


@blueprint.post("/logout")
@login_required
def logout():
    sign_out()
    db.session.commit()
    flash("You are signed out.", "info")
    return redirect(url_for("identity.login"))


@blueprint.get("/")
@login_required
def home():
    user = current_user._get_current_object()
    panels = [(panel, panel.context(user)) for panel in panels_for(user)]
    roles = sorted({str(ROLE_LABELS[Role(r.role)]) for r in user.roles})
    return render_template("identity/home.html", panels=panels, role_labels=roles)


@blueprint.get("/account/tokens")
@login_required
def my_tokens():
    """The API tokens the signed-in person holds, newest first, each revocable here."""
    actor = current_actor()
    page = paginate(
        db.session,
        service.tokens_of(db.session, actor),
        [SortKey(ApiToken.id, lambda t: t.id, descending=True)],
        request.args.get("cursor"),
        current_app.config["PAGE_DEFAULT_LIMIT"],
    )
    return render_template("identity/tokens.html", page=page)


@blueprint.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_my_token(token_id: int):
    token = service.revoke_token(db.session, current_actor(), token_id)
    db.session.commit()
    flash(f"Token {token.name!r} revoked.", "success")
    return redirect(url_for("identity.my_tokens"))
