"""Schema pieces every API shares: cursor pagination arguments and the page envelope."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


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
    status = fields.Int()
    code = fields.Str()
    message = fields.Str()
    errors = fields.Dict()
