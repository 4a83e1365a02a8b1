"""Shapes of users, roles and tokens in the API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.core.permissions import Role
from app.core.schemas import Instant, PageArgs, page_schema


class TokenRequest(Schema):
    email = fields.Email(required=True, metadata={"example": "ana.requester@example.com"})
    password = fields.Str(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenResponse(Schema):
    token = fields.Str(required=True)
    expires_at = fields.DateTime(required=True)


class RoleSchema(Schema):
    role = fields.Str(required=True, validate=validate.OneOf([r.value for r in Role]))
    module = fields.Str(allow_none=True, load_default=None, metadata={"example": "FIN"})


class UserSchema(Schema):
    id = fields.Int(dump_only=True)
    email = fields.Email(required=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    department = fields.Str(allow_none=True, validate=validate.Length(max=120))
    active = fields.Bool(load_default=True)
    is_service_account = fields.Bool(dump_only=True)
    roles = fields.List(fields.Nested(RoleSchema), load_default=list)
    password = fields.Str(load_only=True, validate=validate.Length(min=8, max=200))
    created_at = fields.DateTime(dump_only=True)


class UserPatchSchema(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=200))
    department = fields.Str(allow_none=True, validate=validate.Length(max=120))
    active = fields.Bool()
    roles = fields.List(fields.Nested(RoleSchema))
    password = fields.Str(load_only=True, validate=validate.Length(min=8, max=200))


class UserListArgs(PageArgs):
    q = fields.Str(validate=validate.Length(max=100), metadata={"description": "email or name"})
    role = fields.Str(validate=validate.OneOf([r.value for r in Role]))


UserPage = page_schema(UserSchema)


class ApiTokenCreate(Schema):
    user = fields.Email(required=True, metadata={"description": "holder's email"})
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    scopes = fields.List(
        fields.Str(validate=validate.Length(min=1, max=64)),
        load_default=lambda: ["*"],
        validate=validate.Length(min=1, max=32, error="Name at least one scope ('*': all)."),
        metadata={"description": "permissions the token is for; '*' keeps all the holder's"},
    )
    expires_at = Instant(
        allow_none=True,
        load_default=None,
        metadata={
            "description": "default and latest: API_TOKEN_MAX_DAYS from now "
            "(SERVICE_TOKEN_MAX_DAYS for a service account)"
        },
    )
    service_account = fields.Bool(
        load_default=False, metadata={"description": "create the holder as a service account"}
    )


class ApiTokenSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    user = fields.Function(lambda t: t.user.email)
    scopes = fields.List(fields.Str())
    prefix = fields.Str()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class ApiTokenCreated(ApiTokenSchema):
    token = fields.Str(
        attribute="secret", metadata={"description": "the secret, shown only in this response"}
    )


ApiTokenPage = page_schema(ApiTokenSchema)


class SettingsSchema(Schema):
    """How pages read for the caller; null follows the defaults."""

    timezone = fields.Str(
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "IANA zone (null: the module calendar's, else the default)"},
    )
    locale = fields.Str(
        allow_none=True,
        validate=validate.OneOf(["en", "fr"]),
        metadata={"description": "language (null: the browser's)"},
    )
    effective_timezone = fields.Str(dump_only=True)
    reply_mode = fields.Str(
        validate=validate.OneOf(["public", "internal"]),
        metadata={"description": "how the reply box opens on a ticket (support team)"},
    )
    absent = fields.Bool(
        metadata={"description": "away: round-robin assignment skips you (support team)"}
    )
