"""Schema pieces every API shares: cursor pagination arguments, the page envelope and the
error body that every API error answers with (declared for every operation in OpenAPI)."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate


class Instant(fields.AwareDateTime):
    """An instant given with its UTC offset, returned in UTC. Year 1 with a positive offset
    or year 9999 with a negative one has no UTC equivalent: a 422, never an overflow later."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            return instant.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("Out of the range of dates.") from None


class PageArgs(Schema):
    cursor = fields.Str(
        load_default=None, metadata={"description": "next_cursor of the previous page"}
    )
    limit = fields.Int(load_default=25, validate=validate.Range(min=1, max=200))


_page_schemas: dict[str, type[Schema]] = {}


def page_schema(item: type[Schema]) -> type[Schema]:
    """The list envelope ``{"items": [...], "next_cursor": ...}`` for ``item``."""
    name = item.__name__.removesuffix("Schema") + "Page"
    if name not in _page_schemas:
        _page_schemas[name] = type(
            name,
            (Schema,),
            {
                "items": fields.List(fields.Nested(item)),
                "next_cursor": fields.Str(allow_none=True),
            },
        )
    return _page_schemas[name]


class ErrorSchema(Schema):
    """``{"status", "code", "message", "errors"}``, and details some errors add."""

    class Meta:
        name = "Error"
        unknown = INCLUDE  # an error may carry details beyond the four keys

    status = fields.Int(required=True, metadata={"example": 422})
    code = fields.Str(
        required=True,
        metadata={"description": "the kind of error", "example": "validation_error"},
    )
    message = fields.Str(required=True, metadata={"description": "for people"})
    errors = fields.Dict(
        required=True,
        keys=fields.Str(),
        metadata={"description": "messages per field (empty when no field is at fault)"},
    )
    allowed = fields.List(
        fields.Str(), metadata={"description": "invalid_transition: the actions possible now"}
    )
    missing_scopes = fields.List(
        fields.Str(), metadata={"description": "insufficient_scope: the scopes the token lacks"}
    )
    retry_after = fields.Int(metadata={"description": "rate_limited: seconds to wait"})
    current_status = fields.Str(metadata={"description": "conflict: the entity's status now"})
