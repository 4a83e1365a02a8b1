"""Usage API: the ERP's batches of usage events, and the ERP accounts Steward does not know."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from werkzeug.exceptions import UnsupportedMediaType

from app.core.db import db
from app.core.edge import MalformedBody, json_body
from app.core.errors import StewardError, ValidationFailed
from app.core.jsonio import has_long_numbers
from app.core.schemas import PageArgs
from app.identity.auth import current_actor
from app.usage import service
from app.usage.schemas import (
    IngestResultSchema,
    UnknownAccountPage,
    UsageEventSchema,
)

blp = Blueprint("usage_api", __name__, description="ERP usage events")

NDJSON = "application/x-ndjson"
JSON = "application/json"


def blueprints() -> list[Blueprint]:
    return [blp]


class BatchTooLarge(StewardError):
    status, code = 413, "payload_too_large"


def _too_large() -> BatchTooLarge:
    return BatchTooLarge(
        _l(
            "A batch holds at most %(max_batch_events)s events; split it.",
            max_batch_events=service.MAX_BATCH_EVENTS,
        ),
        max_events=service.MAX_BATCH_EVENTS,
    )


def _json_items() -> list:
    try:
        document = json_body()
    except RecursionError as exc:
        raise MalformedBody(_l("The JSON body nests too deep.")) from exc
    except ValueError as exc:
        raise MalformedBody() from exc
    if not isinstance(document, list):
        raise ValidationFailed(
            _l("The body must be a JSON array of events."),
            errors={"json": [_l("Send a JSON array, or NDJSON (one event per line).")]},
        )
    if len(document) > service.MAX_BATCH_EVENTS:
        raise _too_large()
    return document


def _ndjson_items(raw: bytes) -> list:
    # counting newlines first: a batch over the limit is refused before any parsing
    if raw.count(b"\n") > service.MAX_BATCH_EVENTS:
        lines = [line for line in raw.splitlines() if line.strip()]
        if len(lines) > service.MAX_BATCH_EVENTS:
            raise _too_large()
    long_numbers = has_long_numbers(raw)
    return list(service.ndjson_items(raw.splitlines(), long_numbers=long_numbers))


def batch_items() -> list:
    """The events of this request's body, as a JSON array or as NDJSON."""
    mimetype = request.mimetype
    if mimetype not in (JSON, NDJSON):
        raise UnsupportedMediaType(f"Send {JSON} (an array of events) or {NDJSON}.")
    raw = request.get_data(cache=True)  # beyond MAX_CONTENT_LENGTH werkzeug answers 413
    if not raw.strip():
        raise MalformedBody(_l("The body is empty."))
    return _json_items() if mimetype == JSON else _ndjson_items(raw)


_EVENTS_BODY = {
    "required": True,
    "description": (
        f"At most {service.MAX_BATCH_EVENTS} events (413 beyond): a JSON array, or NDJSON "
        "(one event per line)."
    ),
    "content": {
        JSON: {"schema": {"type": "array", "items": UsageEventSchema}},
        NDJSON: {"schema": {"type": "string"}},
    },
}


@blp.route("/usage-events")
class UsageEvents(MethodView):
    @blp.doc(requestBody=_EVENTS_BODY)
    @blp.response(200, IngestResultSchema)
    @blp.alt_response(413, description="More events than a batch may hold")
    @blp.alt_response(415, description="Neither JSON nor NDJSON")
    def post(self):
        """Receive a batch of usage events from the ERP (service token `usage:ingest`, admins).

        Each event is checked on its own: the rejected ones are listed with their 0-based
        index and a reason, the others are stored. An `event_id` received before (in this
        batch or any earlier one) counts as a duplicate and changes nothing: resending a batch
        is safe. `user` is compared case-insensitively.
        """
        actor = current_actor()
        service.require_ingest(actor)
        items = batch_items()
        result = service.ingest_batch(db.session, actor, items)
        db.session.commit()
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": [{"index": r.index, "reason": r.reason} for r in result.rejected],
        }


@blp.route("/usage/unknown-accounts")
class UnknownAccounts(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, UnknownAccountPage)
    def get(self, args: dict):
        """ERP accounts that send usage but match no Steward user, most recently seen first."""
        page = service.unknown_accounts(
            db.session, current_actor(), cursor=args["cursor"], limit=args["limit"]
        )
        return {"items": page.items, "next_cursor": page.next_cursor}
