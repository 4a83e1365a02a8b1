"""Indicator API bodies: the registry, a series of daily points, a target."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.core.schemas import PageArgs, page_schema
from app.indicators.registry import Dimension
from app.indicators.service import DIRECTIONS

# a series is read day by day: ten years of points is more than any chart shows
MAX_SERIES_DAYS = 3660


class IndicatorSchema(Schema):
    key = fields.Str(required=True, metadata={"example": "mttr_seconds"})
    name = fields.Str(required=True)
    unit = fields.Str(required=True, metadata={"example": "seconds"})
    formula = fields.Str(required=True, metadata={"description": "the definition, in words"})
    dimensions = fields.List(
        fields.Str(validate=validate.OneOf([d.value for d in Dimension])), required=True
    )
    window = fields.Str(required=True, metadata={"example": "30 days"})
    family = fields.Str(required=True, metadata={"description": "the dashboard it belongs to"})
    higher_is_better = fields.Bool(required=True)


IndicatorPage = page_schema(IndicatorSchema)


class SeriesArgs(Schema):
    module = fields.Str(
        validate=validate.Length(min=1, max=16),
        metadata={"description": "module code; the overall series without it"},
    )
    priority = fields.Int(
        validate=validate.Range(min=1, max=5), metadata={"description": "1 for P1 ... 5 for P5"}
    )
    start = fields.Date(data_key="from", metadata={"description": "first day, YYYY-MM-DD"})
    end = fields.Date(data_key="to", metadata={"description": "last day, YYYY-MM-DD"})

    @validates_schema
    def _coherent(self, data: dict, **kwargs) -> None:
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError("'from' must not be after 'to'.", field_name="from")
        if start and end and (end - start).days > MAX_SERIES_DAYS:
            raise ValidationError(f"At most {MAX_SERIES_DAYS} days.", field_name="to")
        if data.get("module") and data.get("priority"):
            raise ValidationError(
                "Ask for a module or a priority, not both.", field_name="priority"
            )


class PointSchema(Schema):
    date = fields.Date(required=True)
    value = fields.Float(required=True, allow_none=True)
    status = fields.Str(
        required=True, allow_none=True, validate=validate.OneOf(["green", "amber", "red"])
    )
    computed_at = fields.DateTime(required=True)


class SeriesSchema(Schema):
    key = fields.Str(required=True)
    module = fields.Str(allow_none=True)
    priority = fields.Int(allow_none=True)
    points = fields.List(fields.Nested(PointSchema), required=True)


class TargetArgs(Schema):
    module = fields.Str(
        validate=validate.Length(min=1, max=16),
        metadata={"description": "module code; the overall target without it"},
    )


class TargetBodySchema(Schema):
    target = fields.Float(required=True, metadata={"example": 0.95})
    amber = fields.Float(
        load_default=0.0,
        validate=validate.Range(min=0),
        metadata={"description": "how far on the wrong side is still amber"},
    )
    direction = fields.Str(
        required=True, validate=validate.OneOf(DIRECTIONS), metadata={"example": "at_least"}
    )


class TargetSchema(TargetBodySchema):
    key = fields.Str(required=True)
    module = fields.Str(allow_none=True)
    updated_at = fields.DateTime()


class RegistryArgs(PageArgs):
    pass
