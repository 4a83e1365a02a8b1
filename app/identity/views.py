"""Login, logout, the home page that each role lands on, and one's own API tokens."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from app.catalogue.service import module_refs
from app.core import forms
from app.core.clock import utcnow
from app.core.db import db
from app.core.edge import whole_number
from app.core.errors import (
    PreconditionRequired,
    StaleWrite,
    StewardError,
    TooManyRequests,
    Unauthenticated,
    ValidationFailed,
)
from app.core.navigation import EntityPage, NavItem, add_entity_page, add_nav, panels_for
from app.core.pagination import SortKey, paginate
from app.core.permissions import MODULE_SCOPED_ROLES, SERVICE_SCOPES, Permission, Role, can, require
from app.identity import service
from app.identity.auth import current_actor, sign_in, sign_out
from app.identity.forms import LoginForm
from app.identity.models import ApiToken, User

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
add_entity_page(
    EntityPage("user", _l("User"), "identity.user_page", Permission.USER_VIEW, argument="user_id")
)
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
    flash(_("You are signed out."), "info")
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
    flash(_("Token %(name)s revoked.", name=repr(token.name)), "success")
    return redirect(url_for("identity.my_tokens"))


# --- one's own settings ------------------------------------------------------------------------

add_nav(NavItem(_l("Settings"), "identity.settings", Permission.TOKEN_SELF, order=96))
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


@blueprint.route("/account/settings", methods=["GET", "POST"])
@forms.returns_to("identity.settings")
def settings():
    """Time zone and language of the pages one reads."""
    actor = current_actor()
    if request.method == "POST":
        try:
            forms.check_form_version("user", actor.id, actor.version)
            service.update_settings(
                db.session,
                actor,
                timezone=request.form.get("timezone") or None,
                locale=request.form.get("locale") or None,
            )
            db.session.commit()
        except (StaleWrite, PreconditionRequired):
            db.session.rollback()
            return forms.refuse(
                message=_("Your settings changed meanwhile (another tab?): check them again."),
                errors={},
                form="",
            )
        except StewardError as exc:
            db.session.rollback()
            return forms.refuse(exc, message=_("Your settings were not saved."))
        return forms.accepted(url_for("identity.settings"), _("Your settings are saved."))
    draft = forms.draft()
    typed = draft.values if draft else {}
    return render_template(
        "identity/settings.html",
        draft=draft,
        labels={"timezone": _("Time zone"), "locale": _("Language")},
        zones=sorted(service.zones()),
        chosen_zone=typed.get("timezone", actor.timezone or ""),
        chosen_locale=typed.get("locale", actor.locale or ""),
        default_zone=actor.display_timezone if not actor.timezone else None,
        fallback_zone=current_app.config.get("DEFAULT_TIMEZONE", "UTC"),
        languages=LANGUAGE_NAMES,
        now=utcnow(),
        version=actor.version,
    )


# --- administration: users, roles, passwords, API tokens -------------------------------------

add_nav(NavItem(_l("Users"), "identity.users", Permission.USER_VIEW, order=83))
add_nav(NavItem(_l("API tokens"), "identity.tokens", Permission.TOKEN_MANAGE, order=84))

USER_LABELS = {
    "email": _l("Email"),
    "name": _l("Name"),
    "department": _l("Department"),
    "password": _l("Password"),
    "roles": _l("Roles"),
    "active": _l("Active"),
    "user": _l("User"),
    "scopes": _l("Permissions"),
    "expires_at": _l("Expires"),
    "days": _l("Valid for (days)"),
    "version": _l("Version"),
}
PASSWORD_MIN = 8  # as the API asks


def _module_codes() -> dict[int, str]:
    return {m.id: m.code for m in module_refs(db.session)}


def _roles_from_form(form) -> tuple[list[tuple[str, int | None]], dict[str, list[str]]]:
    """Checked roles: ``agent`` (every module) or ``key_user:FIN`` (one module)."""
    by_code = {code: module_id for module_id, code in _module_codes().items()}
    pairs: list[tuple[str, int | None]] = []
    for value in form.getlist("roles"):
        role, _sep, code = value.partition(":")
        if role not in {r.value for r in Role}:
            return [], {"roles": [_("Choose roles from the list.")]}
        if code and code not in by_code:
            return [], {"roles": [_("Choose modules from the list.")]}
        pairs.append((role, by_code[code] if code else None))
    return pairs, {}


def _user_fields(form, *, new: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "name": (form.get("name") or "").strip(),
        "department": (form.get("department") or "").strip() or None,
    }
    if not values["name"]:
        errors["name"] = [_("Give the person's name.")]
    elif len(values["name"]) > 200:
        errors["name"] = [_("At most 200 characters.")]
    if values["department"] and len(values["department"]) > 120:
        errors["department"] = [_("At most 120 characters.")]
    if new:
        email = (form.get("email") or "").strip()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 320:
            errors["email"] = [_("An email address, like sam@example.com.")]
        values["email"] = email
        password = form.get("password") or ""
        if password and len(password) < PASSWORD_MIN:
            errors["password"] = [_("At least %(n)s characters.", n=PASSWORD_MIN)]
        values["password"] = password or None
    roles, role_errors = _roles_from_form(form)
    errors.update(role_errors)
    values["roles"] = roles
    return values, errors


def _service_errors(exc: StewardError) -> dict[str, list[str]]:
    return {k: list(v) for k, v in (exc.errors or {}).items()}


@blueprint.route("/admin/users", methods=["GET", "POST"])
@forms.returns_to("identity.users")
def users():
    """Everyone who may sign in or call the API; admins create people here."""
    actor = current_actor()
    require(actor, Permission.USER_VIEW)
    if request.method == "POST":
        require(actor, Permission.USER_MANAGE)
        values, errors = _user_fields(request.form, new=True)
        if errors:
            return forms.refuse(message=_("The user was not created."), errors=errors)
        if service.find_user_by_email(db.session, values["email"]) is not None:
            return forms.refuse(
                message=_("The user was not created."),
                errors={"email": [_("Someone already has this email.")]},
            )
        try:
            user, _created = service.save_user(db.session, actor, active=True, **values)
            db.session.commit()
        except StewardError as exc:
            db.session.rollback()
            return forms.refuse(exc, errors=_service_errors(exc))
        return forms.accepted(
            url_for("identity.user_page", user_id=user.id),
            _("%(name)s can sign in now.", name=user.name)
            if values["password"]
            else _("%(name)s was created; set a password to let them sign in.", name=user.name),
        )
    q = (request.args.get("q") or "").strip()[:100]
    stmt = select(User)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(User.email.like(like), func.lower(User.name).like(like)))
    page = paginate(
        db.session,
        stmt,
        [SortKey(User.email, lambda u: u.email), SortKey(User.id, lambda u: u.id)],
        request.args.get("cursor"),
        current_app.config["PAGE_DEFAULT_LIMIT"],
    )
    return render_template(
        "identity/users.html",
        page=page,
        q=q,
        draft=forms.draft(),
        labels=USER_LABELS,
        role_labels=ROLE_LABELS,
        modules=module_refs(db.session),
        scoped=MODULE_SCOPED_ROLES,
        can_manage=can(actor, Permission.USER_MANAGE),
        module_codes=_module_codes(),
    )


@blueprint.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@forms.returns_to("identity.user_page")
def user_page(user_id: int):
    """One person: name, roles (each for every module or for one), active, password, tokens."""
    actor = current_actor()
    require(actor, Permission.USER_VIEW)
    user = service.get_user(db.session, user_id)
    if request.method == "POST":
        require(actor, Permission.USER_MANAGE)
        values, errors = _user_fields(request.form, new=False)
        if errors:
            return forms.refuse(message=_("The changes were not saved."), errors=errors)
        try:
            forms.check_form_version("user", user.id, user.version)
            service.save_user(
                db.session,
                actor,
                email=user.email,
                active=request.form.get("active") == "on",
                is_service_account=user.is_service_account,
                **values,
            )
            db.session.commit()
        except (StaleWrite, PreconditionRequired):
            db.session.rollback()
            message = _(
                "Someone changed %(name)s while you were editing, so your change was not "
                "saved. It is shown as it is now: make your change again.",
                name=user.name,
            )
            return forms.refuse(message=message, errors={}, form="")
        except StewardError as exc:
            db.session.rollback()
            return forms.refuse(exc, errors=_service_errors(exc))
        return forms.accepted(url_for("identity.user_page", user_id=user.id), _("Changes saved."))
    draft = forms.draft()
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()).limit(50)
    ).all()
    return render_template(
        "identity/user.html",
        user=user,
        held={(r.role, r.module_id) for r in user.roles},
        tokens=tokens if can(actor, Permission.TOKEN_MANAGE) else [],
        draft=draft,
        labels=USER_LABELS,
        role_labels=ROLE_LABELS,
        modules=module_refs(db.session),
        scoped=MODULE_SCOPED_ROLES,
        can_manage=can(actor, Permission.USER_MANAGE),
        can_tokens=can(actor, Permission.TOKEN_MANAGE),
        module_codes=_module_codes(),
    )


@blueprint.post("/admin/users/<int:user_id>/password")
@forms.returns_to("identity.user_page")
def reset_password(user_id: int):
    """Set a new password: the person's sessions end and their tokens are revoked."""
    actor = current_actor()
    require(actor, Permission.USER_MANAGE)
    user = service.get_user(db.session, user_id)
    password = request.form.get("password") or ""
    if len(password) < PASSWORD_MIN or len(password) > 200:
        return forms.refuse(
            message=_("The password was not changed."),
            errors={"password": [_("At least %(n)s characters.", n=PASSWORD_MIN)]},
            form="password",
        )
    if user.is_service_account:
        return forms.refuse(
            message=_("A service account signs in with tokens only, never a password."),
            errors={},
            form="password",
        )
    try:
        service.save_user(
            db.session,
            actor,
            email=user.email,
            name=user.name,
            department=user.department,
            active=user.active,
            roles=user.role_pairs(),
            password=password,
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, errors=_service_errors(exc), form="password")
    return forms.accepted(
        url_for("identity.user_page", user_id=user.id),
        _(
            "Password changed: %(name)s was signed out everywhere and their tokens revoked.",
            name=user.name,
        ),
    )


TOKEN_SCOPES = sorted(p.value for p in Permission)


@blueprint.route("/admin/tokens", methods=["GET", "POST"])
@forms.returns_to("identity.tokens")
def tokens():
    """Every API token (revocable here), and issuing one for a person or a service account.

    The secret of a new token is shown once, on the answer to the form (never stored, never
    in a redirect's URL or cookie), with caching forbidden.
    """
    actor = current_actor()
    require(actor, Permission.TOKEN_MANAGE)
    issued = None
    if request.method == "POST":
        issued = _issue_token(actor)
        if not isinstance(issued, tuple):
            return issued  # refused: back to the form
    page = paginate(
        db.session,
        select(ApiToken),
        [SortKey(ApiToken.id, lambda t: t.id, descending=True)],
        request.args.get("cursor"),
        current_app.config["PAGE_DEFAULT_LIMIT"],
    )
    response = render_template(
        "identity/admin_tokens.html",
        page=page,
        issued=issued,
        draft=forms.draft(),
        labels=USER_LABELS,
        scopes=TOKEN_SCOPES,
        service_scopes=sorted(p.value for p in SERVICE_SCOPES),
        max_days=current_app.config["API_TOKEN_MAX_DAYS"],
        service_max_days=current_app.config["SERVICE_TOKEN_MAX_DAYS"],
    )
    return response, 200, {"Cache-Control": "no-store"}


def _issue_token(actor: User):
    form = request.form
    email = (form.get("user") or "").strip()
    name = (form.get("name") or "").strip()
    scopes = [s for s in form.getlist("scopes") if s]
    service_account = form.get("service_account") == "on"
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 120:
        errors["name"] = [_("Name the token after what uses it (at most 120 characters).")]
    if not email or len(email) > 320:
        errors["user"] = [_("The email of the person or service account.")]
    days_text = (form.get("days") or "").strip()
    if days_text and whole_number(days_text) is None:
        errors["days"] = [_("A whole number of days.")]
    if errors:
        return forms.refuse(message=_("No token was issued."), errors=errors)
    holder = service.find_user_by_email(db.session, email)
    try:
        if holder is None and service_account:
            holder, _created = service.save_user(
                db.session, actor, email=email, name=name, roles=[], is_service_account=True
            )
        if holder is None:
            raise ValidationFailed(
                _("No token was issued."),
                errors={"user": [_("Nobody has this email; tick service account to create one.")]},
            )
        longest = service.token_lifetime_limit(holder, current_app.config)
        days = int(days_text) if days_text else longest.days
        if days < 1:
            raise ValidationFailed(
                _("No token was issued."), errors={"days": [_("At least one day.")]}
            )
        expires_at = utcnow() + timedelta(days=min(days, 100_000))
        token, secret = service.issue_token(
            db.session,
            actor,
            holder,
            name=name,
            scopes=scopes,
            expires_at=expires_at,
            max_lifetime=longest,
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        errors = _service_errors(exc)
        if "expires_at" in errors:
            errors["days"] = errors.pop("expires_at")
        return forms.refuse(exc, errors=errors, message=_("No token was issued."))
    flash(_("Token %(name)s issued for %(who)s.", name=token.name, who=holder.email), "success")
    return token, secret


@blueprint.post("/admin/tokens/<int:token_id>/revoke")
@forms.returns_to("identity.tokens")
def revoke_token(token_id: int):
    actor = current_actor()
    require(actor, Permission.TOKEN_MANAGE)
    token = service.revoke_token(db.session, actor, token_id)
    db.session.commit()
    back = request.form.get("back")
    target = (
        url_for("identity.user_page", user_id=token.user_id)
        if back == "user"
        else url_for("identity.tokens")
    )
    return forms.accepted(target, _("Token %(name)s revoked.", name=token.name))
