"""Identity API: token exchange, the caller, users (admins) and long-lived tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from app.catalogue.service import get_module
from app.core.clock import utcnow
from app.core.db import db
from app.core.errors import NotFound, TooManyRequests, Unauthenticated, ValidationFailed
from app.core.etag import check_if_match, etag_for
from app.core.pagination import SortKey, paginate
from app.core.permissions import ALL_SCOPES, Permission, can, require
from app.identity import service
from app.identity.auth import current_actor
from app.identity.models import ApiToken, RoleAssignment, User
from app.identity.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPage,
    PageArgs,
    SettingsSchema,
    TokenRequest,
    TokenResponse,
    UserListArgs,
    UserPage,
    UserPatchSchema,
    UserSchema,
)

auth_blp = Blueprint("auth_api", __name__, description="Exchange credentials for a token")
users_blp = Blueprint("users_api", __name__, description="Users, roles and API tokens")


def blueprints() -> list[Blueprint]:
    return [auth_blp, users_blp]


def user_etag(user: User) -> str:
    return etag_for("user", user.id, user.version)


def dump_user(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "department": user.department,
        "active": user.active,
        "is_service_account": user.is_service_account,
        "created_at": user.created_at,
        "roles": [
            {"role": r.role, "module": r.module.code if r.module else None}
            for r in sorted(user.roles, key=lambda r: (r.role, r.module_id or 0))
        ],
    }


def _role_pairs(roles: list[dict]) -> list[tuple[str, int | None]]:
    pairs = []
    for entry in roles:
        module_id = None
        if entry.get("module"):
            try:
                module_id = get_module(db.session, entry["module"]).id
            except NotFound as exc:
                raise ValidationFailed(exc.message, errors={"roles": [exc.message]}) from exc
        pairs.append((entry["role"], module_id))
    return pairs


@auth_blp.route("/auth/tokens")
class Tokens(MethodView):
    @auth_blp.arguments(TokenRequest)
    @auth_blp.response(201, TokenResponse)
    @auth_blp.doc(security=[])
    def post(self, body: dict):
        """Exchange email and password for a bearer token."""
        config = current_app.config
        try:
            user = service.authenticate(
                db.session,
                body["email"],
                body["password"],
                remote_addr=request.remote_addr,
                max_attempts=config["LOGIN_MAX_ATTEMPTS"],
                window_seconds=config["LOGIN_WINDOW_SECONDS"],
                address_max_attempts=config["LOGIN_ADDRESS_MAX_ATTEMPTS"],
            )
        except (Unauthenticated, TooManyRequests):
            db.session.commit()  # the failed attempt counts towards throttling
            raise
        expires_at = utcnow() + timedelta(hours=config["API_TOKEN_TTL_HOURS"])
        token, secret = service.issue_token(
            db.session, user, user, name="login", scopes=[ALL_SCOPES], expires_at=expires_at
        )
        db.session.commit()
        return {"token": secret, "expires_at": token.expires_at}


@auth_blp.route("/me")
class Me(MethodView):
    @auth_blp.response(200, UserSchema)
    def get(self):
        """The caller: email, name and roles (each with its module or null)."""
        return dump_user(current_actor())


DESK_SETTINGS = ("reply_mode", "absent")


def settings_of(user: User) -> dict:
    values = {
        "timezone": user.timezone,
        "locale": user.locale,
        "effective_timezone": service.effective_timezone(user, current_app.config),
    }
    if can(user, Permission.TICKET_WORK):
        values |= service.desk_settings(user)
    return values


@auth_blp.route("/me/settings")
class MySettings(MethodView):
    @auth_blp.response(200, SettingsSchema)
    def get(self):
        """The caller's settings: time zone and language, and for the support team the reply
        box's default mode and whether they are away (ETag: PATCH them with If-Match)."""
        return settings_of(current_actor()), 200, {"ETag": user_etag(current_actor())}

    @auth_blp.arguments(SettingsSchema)
    @auth_blp.response(200, SettingsSchema)
    def patch(self, body: dict):
        """Change the caller's settings (If-Match with the ETag of GET); the desk settings are
        the support team's only."""
        actor = current_actor()
        user = service.get_user(db.session, actor.id)
        check_if_match(request.headers.get("If-Match"), user_etag(user))
        desk = {key: body.pop(key) for key in DESK_SETTINGS if key in body}
        if desk:
            service.update_desk_settings(db.session, actor, user, desk)
        if body:
            service.update_settings(db.session, actor, **body)
        db.session.commit()
        return settings_of(user), 200, {"ETag": user_etag(user)}


TOKEN_ORDER = [SortKey(ApiToken.id, lambda t: t.id, descending=True)]


@auth_blp.route("/me/tokens")
class MyTokens(MethodView):
    @auth_blp.arguments(PageArgs, location="query")
    @auth_blp.response(200, ApiTokenPage)
    def get(self, args: dict):
        """The caller's own API tokens, newest first (revoke one with `DELETE /tokens/<id>`)."""
        stmt = service.tokens_of(db.session, current_actor())
        page = paginate(db.session, stmt, TOKEN_ORDER, args["cursor"], args["limit"])
        return {"items": page.items, "next_cursor": page.next_cursor}


@users_blp.route("/users")
class Users(MethodView):
    @users_blp.arguments(UserListArgs, location="query")
    @users_blp.response(200, UserPage)
    def get(self, args: dict):
        """List users, by email; filter by text or role."""
        require(current_actor(), Permission.USER_VIEW)
        stmt = select(User)
        if args.get("q"):
            like = f"%{args['q'].lower()}%"
            stmt = stmt.where(or_(User.email.like(like), User.name.ilike(like)))
        if args.get("role"):
            stmt = stmt.where(User.roles.any(RoleAssignment.role == args["role"]))
        page = paginate(
            db.session,
            stmt,
            [SortKey(User.email, lambda u: u.email), SortKey(User.id, lambda u: u.id)],
            args["cursor"],
            args["limit"],
        )
        return {"items": [dump_user(u) for u in page.items], "next_cursor": page.next_cursor}

    @users_blp.arguments(UserSchema)
    @users_blp.response(201, UserSchema)
    def post(self, body: dict):
        """Create a user (or update the one with this email)."""
        actor = current_actor()
        require(actor, Permission.USER_MANAGE)
        user, _ = service.save_user(
            db.session,
            actor,
            email=body["email"],
            name=body["name"],
            department=body.get("department"),
            active=body["active"],
            password=body.get("password"),
            roles=_role_pairs(body["roles"]),
        )
        db.session.commit()
        return dump_user(user), 201, {"ETag": user_etag(user)}


@users_blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @users_blp.response(200, UserSchema)
    def get(self, user_id: int):
        """One user."""
        require(current_actor(), Permission.USER_VIEW)
        user = service.get_user(db.session, user_id)
        return dump_user(user), 200, {"ETag": user_etag(user)}

    @users_blp.arguments(UserPatchSchema)
    @users_blp.response(200, UserSchema)
    def patch(self, body: dict, user_id: int):
        """Change a user's name, department, active flag, roles or password (If-Match)."""
        actor = current_actor()
        require(actor, Permission.USER_MANAGE)
        user = service.get_user(db.session, user_id)
        check_if_match(request.headers.get("If-Match"), user_etag(user))
        roles = _role_pairs(body["roles"]) if "roles" in body else user.role_pairs()
        user, _ = service.save_user(
            db.session,
            actor,
            email=user.email,
            name=body.get("name", user.name),
            department=body.get("department", user.department),
            active=body.get("active", user.active),
            password=body.get("password"),
            roles=roles,
        )
        db.session.commit()
        return dump_user(user), 200, {"ETag": user_etag(user)}


@users_blp.route("/tokens")
class ApiTokens(MethodView):
    @users_blp.arguments(PageArgs, location="query")
    @users_blp.response(200, ApiTokenPage)
    def get(self, args: dict):
        """List API tokens (newest first); secrets are never shown again."""
        require(current_actor(), Permission.TOKEN_MANAGE)
        page = paginate(db.session, select(ApiToken), TOKEN_ORDER, args["cursor"], args["limit"])
        return {"items": page.items, "next_cursor": page.next_cursor}

    @users_blp.arguments(ApiTokenCreate)
    @users_blp.response(201, ApiTokenCreated)
    def post(self, body: dict):
        """Issue a scoped token, e.g. for the ERP's usage feed (a service account).

        Every token expires: without `expires_at`, after `API_TOKEN_MAX_DAYS` (a person's) or
        `SERVICE_TOKEN_MAX_DAYS` (a service account's), and never later than that.
        """
        actor = current_actor()
        require(actor, Permission.TOKEN_MANAGE)
        holder = service.find_user_by_email(db.session, body["user"])
        if holder is None and body["service_account"]:
            holder, _ = service.save_user(
                db.session,
                actor,
                email=body["user"],
                name=body["name"],
                roles=[],
                is_service_account=True,
            )
        if holder is None:
            raise ValidationFailed(_l("Unknown user."), errors={"user": [_l("No such user.")]})
        longest = service.token_lifetime_limit(holder, current_app.config)
        token, secret = service.issue_token(
            db.session,
            actor,
            holder,
            name=body["name"],
            scopes=body["scopes"],
            expires_at=body["expires_at"] or utcnow() + longest,
            max_lifetime=longest,
        )
        db.session.commit()
        token.secret = secret  # transient: dumped once as "token", never stored
        return token


@users_blp.route("/tokens/<int:token_id>")
class ApiTokenItem(MethodView):
    @users_blp.response(204)
    def delete(self, token_id: int):
        """Revoke a token at once: one's own, or anyone's for admins."""
        service.revoke_token(db.session, current_actor(), token_id)
        db.session.commit()
