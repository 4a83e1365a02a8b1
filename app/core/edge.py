"""Validation at the edge: what every request must satisfy before any view reads it.

One place for the rules no field schema should have to repeat, applied to every request:

- text (path, query string, form fields, JSON keys and values) holds no NUL character and no
  lone UTF-16 surrogate: no database stores them and no reader can use them;
- a JSON body nests at most ``MAX_JSON_DEPTH`` levels (deeper would exhaust the parser);
- the request line and headers stay within ``MAX_URL_BYTES`` and ``MAX_HEADER_BYTES``, which
  sit below the limits of gunicorn (``gunicorn.conf.py``), so that Steward answers them in the
  error contract (414, 431) instead of the server's bare HTML;
- ids fit the database's integer columns: the ``int`` URL converter stops at ``MAX_DB_ID``
  (a larger id matches no route: 404), ``fits_db_id`` and ``whole_number`` serve identifiers
  and numbers parsed from text, ``int_range_of`` bounds values decoded from cursors.

A field at fault answers 422 naming it, a path 404, a malformed body 400.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Integer, SmallInteger
from sqlalchemy.types import TypeEngine
from werkzeug.routing import IntegerConverter

from app.core.errors import HeadersTooLarge, NotFound, StewardError, UriTooLong, ValidationFailed
from app.core.jsonio import loads

MAX_DB_ID = 2**31 - 1  # ids are INTEGER columns (32-bit signed on PostgreSQL)
MAX_JSON_DEPTH = 32
NOT_ALLOWED = _l("Contains a character that is not allowed (NUL or a lone surrogate).")
_DIGITS = re.compile(r"[0-9]{1,10}")


class MalformedBody(StewardError):
    status, code = 400, "bad_request"
    default_message = _l("The request body is not valid JSON.")


def is_clean_text(value: str) -> bool:
    """No NUL and no lone surrogate (which strict UTF-8 cannot encode)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fits_db_id(number: int) -> bool:
    """Whether ``number`` can be an id of a row (a positive INTEGER)."""
    return 0 < number <= MAX_DB_ID


def whole_number(text: str | None, *, maximum: int = MAX_DB_ID) -> int | None:
    """The non-negative whole number written in ``text`` (ASCII digits only), or None.

    ``int()`` alone accepts other scripts' digits and any size; a form field must not.
    """
    raw = (text or "").strip()
    if not _DIGITS.fullmatch(raw):
        return None
    number = int(raw)
    return number if number <= maximum else None


_INT_RANGES = {
    SmallInteger: (-(2**15), 2**15 - 1),
    BigInteger: (-(2**63), 2**63 - 1),
    Integer: (-(2**31), 2**31 - 1),
}


def int_range_of(sql_type: TypeEngine) -> tuple[int, int]:
    """The values an integer column of ``sql_type`` holds on every supported database."""
    for kind, bounds in _INT_RANGES.items():  # most specific first: BigInteger is an Integer
        if isinstance(sql_type, kind):
            return bounds
    return _INT_RANGES[BigInteger]


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in routes: a number beyond the id columns matches nothing (404)."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DB_ID)
        super().__init__(map, *args, **kwargs)


# --- the checks run before every request ---------------------------------------------------


def _raw_url_length() -> int:
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("PATH_INFO", "")) + (len(query) + 1 if query else 0)


def _check_size() -> None:
    limit = current_app.config["MAX_URL_BYTES"]
    if _raw_url_length() > limit:
        raise UriTooLong(_l("The request URL is longer than %(limit)s bytes.", limit=limit))
    header_limit = current_app.config["MAX_HEADER_BYTES"]
    size = sum(len(name) + len(value) + 4 for name, value in request.headers.items())
    if size > header_limit:
        raise HeadersTooLarge(
            _l("The request headers exceed %(header_limit)s bytes.", header_limit=header_limit)
        )


def _check_path() -> None:
    values = [request.path, *(str(v) for v in (request.view_args or {}).values())]
    if not all(is_clean_text(v) for v in values):
        raise NotFound(_l("No such resource."))


def _check_fields(fields: Any, where: str) -> None:
    bad = sorted(
        {
            key if is_clean_text(key) else where
            for key, value in fields.items(multi=True)
            if not (is_clean_text(key) and is_clean_text(value))
        }
    )
    if bad:
        raise ValidationFailed(
            _l("The input is not valid."), errors={k: [NOT_ALLOWED] for k in bad}
        )


def _json_problem(value: Any) -> tuple[str, str] | None:
    """The first (field path, message) wrong in a parsed JSON document, walking iteratively."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return path or "json", _l("Nested deeper than %(depth)s levels.", depth=MAX_JSON_DEPTH)
        if isinstance(node, str):
            if not is_clean_text(node):
                return path or "json", NOT_ALLOWED
        elif isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{path}.{key}" if path else str(key)
                if not is_clean_text(key):
                    return path or "json", NOT_ALLOWED
                stack.append((child, child_path, depth + 1))
        elif isinstance(node, list):
            stack.extend((child, path or "json", depth + 1) for child in node)
    return None


def _nested_too_deep(value: Any) -> bool:
    """Whether anything sits deeper than ``MAX_JSON_DEPTH`` levels (containers only walked:
    a quick answer for a large, flat document)."""
    level, depth = [value], 1
    while level:
        below: list[Any] = []
        for node in level:
            if type(node) is dict:
                children = node.values()
            elif type(node) is list:
                children = node
            else:
                continue
            if depth == MAX_JSON_DEPTH and children:
                return True
            below.extend([child for child in children if type(child) in (dict, list)])
        level, depth = below, depth + 1
    return False


def _strings_clean(raw: bytes) -> bool:
    """Whether no string of this JSON text can hold a NUL or a lone surrogate: plain ASCII
    without escapes of the form \\uXXXX (the only way JSON writes either)."""
    return raw.isascii() and b"\\u" not in raw


_NOT_READ = object()
_JSON_BODY_KEY = "steward.json_body"


def json_body() -> Any:
    """This request's JSON body as the edge checked it (read once per request); raises
    ``ValueError`` or ``RecursionError`` as ``json.loads`` would."""
    # kept in the WSGI environ: the request's own (g may outlive a request in tests)
    document = request.environ.get(_JSON_BODY_KEY, _NOT_READ)
    if document is _NOT_READ:
        document = loads(request.get_data(cache=True))
        request.environ[_JSON_BODY_KEY] = document
    return document


def _check_json() -> None:
    if not request.is_json or not request.content_length:
        return
    try:
        document = json_body()
    except RecursionError as exc:
        raise MalformedBody(
            _l(
                "The JSON body nests deeper than %(max_json_depth)s levels.",
                max_json_depth=MAX_JSON_DEPTH,
            )
        ) from exc
    except ValueError:
        return  # not JSON at all: the view's parser answers 400 as usual
    if _strings_clean(request.get_data(cache=True)) and not _nested_too_deep(document):
        return  # the usual body: the full walk would find nothing
    problem = _json_problem(document)
    if problem is not None:
        field, message = problem
        raise ValidationFailed(_l("The input is not valid."), errors={field: [message]})


def check_request() -> None:
    """Refuse what no view should see (registered first, before CSRF and authentication)."""
    _check_size()
    _check_path()
    _check_fields(request.args, "query")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            _check_fields(request.form, "form")
        _check_json()


def init_edge(app: Flask) -> None:
    """Install the bounded id converter and the request checks (before any route or hook)."""
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.setdefault("MAX_URL_BYTES", 4096)
    app.config.setdefault("MAX_HEADER_BYTES", 16384)
    app.before_request(check_request)
