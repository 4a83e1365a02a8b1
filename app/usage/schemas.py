"""Usage API schemas: the batch answer, the events as documented, unknown accounts."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.core.schemas import page_schema


class UsageEventSchema(Schema):
    """One event as the ERP sends it (documentation: the batch is read without a schema)."""

    event_id = fields.Str(required=True, metadata={"example": "erp-7f3a-000001"})
    user = fields.Str(
        required=True,
        metadata={"description": "ERP account: email or external id, any case"},
    )
    module = fields.Str(required=True, metadata={"example": "FIN"})
    action = fields.Str(required=True, metadata={"example": "invoice.post"})
    occurred_at = fields.Str(
        required=True,
        metadata={
            "description": "ISO 8601 with a UTC offset",
            "example": "2026-12-01T09:15:00+01:00",
        },
    )


class RejectionSchema(Schema):
    index = fields.Int(required=True, metadata={"description": "0-based position in the batch"})
    reason = fields.Str(required=True)


class IngestResultSchema(Schema):
    accepted = fields.Int(required=True, metadata={"description": "events stored now"})
    duplicates = fields.Int(
        required=True, metadata={"description": "events whose event_id was already received"}
    )
    rejected = fields.List(fields.Nested(RejectionSchema), required=True)


class ModuleEventsSchema(Schema):
    module = fields.Str()
    events = fields.Int()


class UnknownAccountSchema(Schema):
    account = fields.Str()
    first_seen_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    events = fields.Int()
    modules = fields.List(fields.Nested(ModuleEventsSchema))


UnknownAccountPage = page_schema(UnknownAccountSchema)
