"""The OpenAPI document: generated from the schemas, with Steward's real error body.

flask-smorest declares its own error schema (``code`` an integer) for every error response;
Steward answers ``{"status", "code", "message", "errors"}`` (``app/core/errors.py``), so that is
the schema every operation declares, for its ``default`` and its listed error responses.
"""

from __future__ import annotations

from flask_smorest import Api

from app.core.edge import DatabaseIdConverter
from app.core.schemas import ErrorSchema


def _id_parameter(converter: DatabaseIdConverter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": converter.max}


class StewardApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, **kwargs) -> None:
        super()._init_spec(**kwargs)
        self.register_converter(DatabaseIdConverter, _id_parameter)
