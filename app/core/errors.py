"""Domain exceptions and their one mapping to HTTP.

Services raise these; ``register_error_handlers`` turns them (and every other error) into a JSON
body of one shape under ``/api`` — ``{"status", "code", "message", "errors"}`` — and into an
HTML page elsewhere. Nothing reaches the client as a stack trace.

Messages are written with ``lazy_gettext``: an error is raised in the service's words and read
(``.message``, ``.errors``) in the language of whoever reads it, the viewer of the request.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.core.db import db

log = logging.getLogger(__name__)


class StewardError(Exception):
    """Base of every error a service raises on purpose."""

    status: int = 400
    code: str = "bad_request"
    default_message: Any = _l("The request cannot be processed.")

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self._message = message or self.default_message
        self._errors = errors or {}
        self.headers = headers or {}
        self.extra = extra
        super().__init__(str(self._message))

    @property
    def message(self) -> str:
        """The message in the reader's language."""
        return str(self._message)

    @property
    def errors(self) -> dict[str, Any]:
        """The messages per field, in the reader's language."""
        return in_words(self._errors)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = in_words(self.extra)
        # the four keys of the error contract always win over extra details
        body.update(status=self.status, code=self.code, message=self.message, errors=self.errors)
        return body


def in_words(value: Any) -> Any:
    """``value`` with every lazily translated message in it read now (dicts and lists kept)."""
    if isinstance(value, dict):
        return {key: in_words(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [in_words(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class Unauthenticated(StewardError):
    status, code = 401, "unauthorized"
    default_message = _l("Authentication is required.")


class PermissionDenied(StewardError):
    status, code = 403, "forbidden"
    default_message = _l("You are not allowed to do this.")


class InsufficientScope(PermissionDenied):
    """The holder may do this, but the API token they called with was not issued for it."""

    code = "insufficient_scope"

    def __init__(self, scopes: list[str], message: str | None = None) -> None:
        names = "' or '".join(scopes)
        super().__init__(
            message or _l("This API token was not issued with the '%(names)s' scope.", names=names),
            missing_scopes=list(scopes),
        )


class NotFound(StewardError):
    status, code = 404, "not_found"
    default_message = _l("No such resource.")


class Conflict(StewardError):
    status, code = 409, "conflict"
    default_message = _l("The request conflicts with current state.")


class InvalidTransition(Conflict):
    """A state change the entity's state machine does not allow from its current state."""

    code = "invalid_transition"

    def __init__(self, message: str | None = None, *, allowed: list[str], **extra: Any) -> None:
        super().__init__(message, allowed=sorted(allowed), **extra)


class StaleWrite(StewardError):
    status, code = 412, "precondition_failed"
    default_message = _l("The resource changed since you read it; reload and try again.")


class PreconditionRequired(StewardError):
    status, code = 428, "precondition_required"
    default_message = _l("This change needs an If-Match header with the resource's ETag.")


class ValidationFailed(StewardError):
    status, code = 422, "validation_error"
    default_message = _l("The input is not valid.")


class TooManyRequests(StewardError):
    status, code = 429, "rate_limited"
    default_message = _l("Too many attempts; try again later.")

    def __init__(self, message: str | None = None, *, retry_after: int, **extra: Any) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(
            message, headers={"Retry-After": str(retry_after)}, retry_after=retry_after, **extra
        )


class UriTooLong(StewardError):
    status, code = 414, "uri_too_long"
    default_message = _l("The request URL is too long.")


class HeadersTooLarge(StewardError):
    status, code = 431, "request_header_fields_too_large"
    default_message = _l("The request headers are too large.")


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    431: "request_header_fields_too_large",
    500: "internal_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def error_response(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> Response | tuple:
    if wants_json():
        response = jsonify(body)
        response.status_code = status
        response.headers.update(headers or {})
        return response
    if status == 401:  # a page asked for someone: send them to sign in, then back
        login_view = current_app.config.get("LOGIN_VIEW", "identity.login")
        return redirect(url_for(login_view, next=request.full_path.rstrip("?")))
    return render_template("error.html", error=body), status, headers or {}


def N_(message: str) -> str:
    """gettext's marker for "extract this message, translate it later"."""
    return message


# The messages marshmallow writes itself (its fields', validators' and schemas' defaults), as
# templates of what it formats: extracted for translation here, read in the reader's language
# when a 422 is answered (``library_message_in_words``).
LIBRARY_MESSAGES = (
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Invalid input."),
    N_("Invalid input type."),
    N_("Invalid type."),
    N_("Unknown field."),
    N_("Not a valid string."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."),
    N_("Not a valid boolean."),
    N_("Not a valid datetime."),
    N_("Not a valid naive datetime."),
    N_("Not a valid aware datetime."),
    N_("Not a valid date."),
    N_("Not a valid time."),
    N_("Not a valid period of time."),
    N_("Not a valid mapping type."),
    N_("Not a valid list."),
    N_("Not a valid tuple."),
    N_("Not a valid UUID."),
    N_("Not a valid URL."),
    N_("Not a valid email address."),
    N_("String does not match expected pattern."),
    N_("Must be one of: {choices}."),
    N_("Must be equal to {other}."),
    N_("Shorter than minimum length {min}."),
    N_("Longer than maximum length {max}."),
    N_("Length must be between {min} and {max}."),
    N_("Length must be {equal}."),
    N_("Must be greater than or equal to {min}."),
    N_("Must be greater than {min}."),
    N_("Must be less than or equal to {max}."),
    N_("Must be less than {max}."),
    N_("Must be greater than or equal to {min} and less than or equal to {max}."),
    N_("Must be greater than or equal to {min} and less than {max}."),
    N_("Must be greater than {min} and less than or equal to {max}."),
    N_("Must be greater than {min} and less than {max}."),
)


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)  # literal, name, literal, name, ...
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


class KnownMessages:
    """English messages that are written in English on purpose (by a library, or as a wire
    contract's text), given as ``str.format`` templates marked with ``N_``: ``in_words`` reads
    one that was written from them in the reader's language."""

    def __init__(self, templates: tuple[str, ...]) -> None:
        self._plain = frozenset(t for t in templates if "{" not in t)
        self._patterns = [(t, _template_pattern(t)) for t in templates if "{" in t]

    def in_words(self, message: Any) -> Any:
        """``message`` in the reader's language when a template wrote it; any other value as
        it is. Lists and dicts of them are read through."""
        if isinstance(message, dict):
            return {key: self.in_words(item) for key, item in message.items()}
        if isinstance(message, list):
            return [self.in_words(item) for item in message]
        if not isinstance(message, str):
            return message
        if message in self._plain:
            return gettext(message)
        for template, pattern in self._patterns:
            found = pattern.fullmatch(message)
            if found:
                # gettext formats with %: the {names} are filled in here, after translation
                return gettext(template).format(**found.groupdict())
        return message


library_message_in_words = KnownMessages(LIBRARY_MESSAGES).in_words


def _field_errors(error: HTTPException) -> dict[str, Any]:
    """webargs puts messages under their location ({"json": {...}}); clients want the fields,
    in their language."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or {}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return library_message_in_words(flat)


def http_error_body(error: HTTPException) -> dict[str, Any]:
    status = error.code or 500
    errors = _field_errors(error)
    message = error.description if isinstance(error.description, str) else None
    if errors and status == 422:
        message = gettext("The input is not valid.")
    return {
        "status": status,
        "code": HTTP_CODES.get(status, "error"),
        "message": message or error.name,
        "errors": errors,
    }


def register_error_handlers(app: Flask) -> None:
    """Install the one mapping of errors to responses."""

    @app.errorhandler(StewardError)
    def _steward_error(error: StewardError):
        return error_response(error.to_dict(), error.status, error.headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        body = http_error_body(error)
        return error_response(body, body["status"])

    @app.errorhandler(StaleDataError)
    def _stale(error: StaleDataError):
        db.session.rollback()  # the failed flush left nothing to keep; the answer may read
        return error_response(StaleWrite().to_dict(), 412)

    @app.errorhandler(DataError)
    def _data_refused(error: DataError):
        # The database refused a value (out of range, too long): the input was bad, and
        # validation at the edge should have said so first. Logged so that gap gets closed.
        log.warning(
            "database refused a value on %s %s: %s",
            request.method,
            request.path,
            type(getattr(error, "orig", error)).__name__,
        )
        db.session.rollback()
        refused = ValidationFailed(_l("A value is out of the range Steward accepts."))
        return error_response(refused.to_dict(), refused.status)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        body = {
            "status": 500,
            "code": "internal_error",
            "message": gettext("An unexpected error occurred; it has been logged."),
            "errors": {},
        }
        return error_response(body, 500)
