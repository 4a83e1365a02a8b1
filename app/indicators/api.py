"""Indicators API: the registry, daily series with their status, targets (If-Match)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app.catalogue.service import module_ref
from app.core.db import db
from app.core.errors import NotFound, ValidationFailed
from app.core.etag import check_if_match
from app.core.jsonio import json_response
from app.core.pagination import decode_cursor, encode_cursor
from app.core.permissions import Permission, guard_writes, require
from app.identity.auth import current_actor
from app.indicators import registry, service
from app.indicators.schemas import (
    IndicatorPage,
    RegistryArgs,
    SeriesArgs,
    SeriesSchema,
    TargetArgs,
    TargetBodySchema,
    TargetSchema,
)

blp = Blueprint("indicators_api", __name__, description="Indicators, their series and targets")
guard_writes(blp, (Permission.INDICATOR_MANAGE,))


def blueprints() -> list[Blueprint]:
    return [blp]


def _module_code(session, module_id: int | None) -> str | None:
    module = module_ref(session, module_id) if module_id is not None else None
    return module.code if module else None


def indicator_to_dict(indicator: registry.Indicator) -> dict:
    return {
        "key": indicator.key,
        "name": indicator.name,
        "unit": indicator.unit.value,
        "formula": indicator.formula,
        "dimensions": [d.value for d in indicator.dimensions],
        "window": indicator.window,
        "family": indicator.family.value,
        "higher_is_better": indicator.higher_is_better,
    }


def _registry_page(cursor: str | None, limit: int) -> tuple[list[registry.Indicator], str | None]:
    every = registry.all_indicators()
    start = 0
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        keys = [i.key for i in every]
        if after not in keys:
            raise ValidationFailed(
                _l("The cursor is not valid."),
                errors={"cursor": [_l("Not a cursor from this list.")]},
            )
        start = keys.index(after) + 1
    page = every[start : start + limit]
    more = start + limit < len(every)
    return page, encode_cursor([page[-1].key]) if more and page else None


@blp.route("/indicators")
class Indicators(MethodView):
    @blp.arguments(RegistryArgs, location="query")
    @blp.response(200, IndicatorPage)
    def get(self, args: dict):
        """Every indicator Steward measures: what it means, its unit and dimensions."""
        require(current_actor(), Permission.INDICATOR_VIEW)
        page, next_cursor = _registry_page(args["cursor"], args["limit"])
        return json_response(
            {"items": [indicator_to_dict(i) for i in page], "next_cursor": next_cursor}
        )


@blp.route("/indicators/<key>/series")
class Series(MethodView):
    @blp.arguments(SeriesArgs, location="query")
    @blp.response(200, SeriesSchema)
    def get(self, args: dict, key: str):
        """The daily points of one indicator, overall, for one module or one priority."""
        require(current_actor(), Permission.INDICATOR_VIEW)
        registry.get(key)
        session = db.session
        module_id = service.module_id_of(session, args.get("module"))
        points = service.series(
            session,
            key,
            module_id=module_id,
            priority=args.get("priority"),
            start=args.get("start"),
            end=args.get("end"),
        )
        return json_response(
            {
                "key": key,
                "module": _module_code(session, module_id),
                "priority": args.get("priority"),
                "points": [
                    {
                        "date": p.day.isoformat(),
                        "value": p.value,
                        "status": p.status,
                        "computed_at": p.computed_at.isoformat(),
                    }
                    for p in points
                ],
            }
        )


def target_to_dict(target, module_code: str | None) -> dict:
    return {
        "key": target.key,
        "module": module_code,
        "target": target.target,
        "amber": target.amber,
        "direction": target.direction,
        "updated_at": target.updated_at.isoformat() if target.updated_at else None,
    }


@blp.route("/targets/<key>")
class Target(MethodView):
    @blp.arguments(TargetArgs, location="query")
    @blp.response(200, TargetSchema)
    def get(self, args: dict, key: str):
        """The target of one indicator, overall or for one module (404 when none is set)."""
        require(current_actor(), Permission.INDICATOR_VIEW)
        session = db.session
        module_id = service.module_id_of(session, args.get("module"))
        found = service.own_target(session, key, module_id)
        if found is None:
            raise NotFound(_l("No target is set for '%(key)s' here.", key=key))
        return json_response(
            target_to_dict(found, _module_code(session, module_id)),
            headers={"ETag": service.target_etag(found)},
        )

    @blp.arguments(TargetArgs, location="query")
    @blp.arguments(TargetBodySchema)
    @blp.response(200, TargetSchema)
    @blp.alt_response(201, schema=TargetSchema, description="Created")
    def put(self, args: dict, body: dict, key: str):
        """Set the target (admins); If-Match with its ETag when it exists (428, 412)."""
        actor = current_actor()
        require(actor, Permission.INDICATOR_MANAGE)
        session = db.session
        module_id = service.module_id_of(session, args.get("module"))
        existing = service.own_target(session, key, module_id)
        if existing is not None:
            check_if_match(request.headers.get("If-Match"), service.target_etag(existing))
        found, created = service.set_target(session, actor, key, module_id, **body)
        session.commit()
        return json_response(
            target_to_dict(found, _module_code(session, module_id)),
            201 if created else 200,
            {"ETag": service.target_etag(found)},
        )
