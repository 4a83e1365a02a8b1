"""Shapes of modules, support groups and calendars in the API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.catalogue.service import MAX_TARGET_MINUTES


class ModuleSchema(Schema):
    id = fields.Int(dump_only=True)
    code = fields.Str(
        required=True, validate=validate.Length(min=2, max=16), metadata={"example": "FIN"}
    )
    name = fields.Str(
        required=True, validate=validate.Length(min=1, max=120), metadata={"example": "Finance"}
    )
    description = fields.Str(allow_none=True, validate=validate.Length(max=2000))
    active = fields.Bool(load_default=True)
    owner = fields.Email(
        allow_none=True,
        metadata={"description": "owner's email (shown to those who may view users)"},
    )
    owner_name = fields.Str(dump_only=True, allow_none=True)
    support_group = fields.Str(allow_none=True, metadata={"description": "support group code"})
    calendar = fields.Str(allow_none=True, metadata={"description": "business calendar code"})


class ModulePatchSchema(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=120))
    description = fields.Str(allow_none=True, validate=validate.Length(max=2000))
    active = fields.Bool()
    owner = fields.Email(allow_none=True)
    support_group = fields.Str(allow_none=True)
    calendar = fields.Str(allow_none=True)


class ModuleList(Schema):
    items = fields.List(fields.Nested(ModuleSchema))
    next_cursor = fields.Str(allow_none=True)


class GroupSchema(Schema):
    code = fields.Str(required=True, validate=validate.Length(min=2, max=16))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    email = fields.Email(allow_none=True)
    members = fields.List(
        fields.Email(),
        load_default=list,
        metadata={"description": "emails (shown to those who may view users)"},
    )
    member_names = fields.List(fields.Str(), dump_only=True)


class GroupList(Schema):
    items = fields.List(fields.Nested(GroupSchema))
    next_cursor = fields.Str(allow_none=True)


class HolidaySchema(Schema):
    day = fields.Date(required=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))


class CalendarSchema(Schema):
    code = fields.Str(required=True, validate=validate.Length(min=2, max=16))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    timezone = fields.Str(required=True, metadata={"example": "Europe/Paris"})
    working_hours = fields.Dict(
        keys=fields.Str(),
        values=fields.List(fields.List(fields.Str())),
        metadata={"example": {"0": [["09:00", "12:30"], ["13:30", "17:30"]]}},
    )
    country = fields.Str(allow_none=True, validate=validate.Length(max=8))
    holidays = fields.List(fields.Nested(HolidaySchema), dump_only=True)


class CalendarPatchSchema(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=120))
    timezone = fields.Str()
    working_hours = fields.Dict(keys=fields.Str(), values=fields.List(fields.List(fields.Str())))


class CalendarList(Schema):
    items = fields.List(fields.Nested(CalendarSchema))
    next_cursor = fields.Str(allow_none=True)


class HolidayImportSchema(Schema):
    country = fields.Str(
        required=True, validate=validate.Length(min=2, max=8), metadata={"example": "FR"}
    )
    years = fields.List(
        fields.Int(validate=validate.Range(min=2000, max=2100)),
        required=True,
        validate=validate.Length(min=1, max=10),
    )


class SlaPolicySchema(Schema):
    priority = fields.Str(dump_only=True)
    response_minutes = fields.Int(validate=validate.Range(min=1, max=MAX_TARGET_MINUTES))
    resolution_minutes = fields.Int(validate=validate.Range(min=1, max=MAX_TARGET_MINUTES))
    business_hours = fields.Bool(metadata={"description": "false = 24x7 clock"})
    version = fields.Int(dump_only=True)


class SlaPolicyList(Schema):
    items = fields.List(fields.Nested(SlaPolicySchema))
    next_cursor = fields.Str(allow_none=True)
