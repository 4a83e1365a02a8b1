"""Page forms: Post/Redirect/Get, with what a person typed kept across the redirect.

Every page form answers its POST with a redirect (303), whether it was accepted or refused,
so Reload and Back never send it twice. A refused form (invalid input, a stale version, an
expired form token, a file over the size limit) keeps what was typed, the field errors and the
message as a *draft* in the database (a session cookie could not hold a 20,000-character
description) and sends the browser back to the form's page with the draft's token in the URL
(``?draft=...``); the page shows the form as it was typed, with the errors beside the fields.
A form accepted afterwards discards the drafts of its page, so Back after a success shows an
empty form rather than an invitation to send it again.

A view that handles a page form names its page with ``@returns_to("endpoint")`` (the page gets
the view's URL arguments); the handlers installed by ``init_forms`` use it to bring an expired
form token or an oversized upload back to that page with the typed fields instead of an error
page. Secrets (passwords, the form token) are never kept.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import JSON, Index, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from werkzeug.wrappers import Response
from werkzeug.wsgi import get_input_stream

from app.core.clock import utcnow
from app.core.db import Base, db
from app.core.errors import (
    PermissionDenied,
    PreconditionRequired,
    StaleWrite,
    StewardError,
    error_response,
    http_error_body,
    wants_json,
)
from app.core.etag import check_if_match, etag_for

DRAFT_ARG = "draft"
DRAFT_LIFETIME = timedelta(days=1)
MAX_FIELDS = 60
MAX_VALUE_CHARS = 50_000
SECRET_FIELDS = ("csrf_token", DRAFT_ARG)
# An oversized upload is read to its end (so the browser sees our answer, not a reset
# connection) and its text fields kept, up to this many bytes; beyond, the rest is dropped.
MAX_DRAIN_BYTES = 256 * 1024 * 1024
_CHUNK = 64 * 1024

View = TypeVar("View", bound=Callable[..., Any])


class FormDraft(Base):
    """What was typed into a refused page form, until the person sends it again (a day)."""

    __tablename__ = "form_drafts"
    __table_args__ = (Index("ix_form_drafts_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None]
    page: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)


@dataclass
class Draft:
    """A refused form as its page shows it again."""

    token: str
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None
    form: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def for_form(self, name: str) -> dict[str, str]:
        """The typed values if ``name`` is the form that was refused, else nothing."""
        return self.values if self.form == name else {}


# --- which page a form belongs to ------------------------------------------------------------


def returns_to(endpoint: str) -> Callable[[View], View]:
    """Mark a view as the handler of a form shown on the page ``endpoint``."""

    def mark(view: View) -> View:
        view.form_page = endpoint  # type: ignore[attr-defined]
        return view

    return mark


def form_page_url() -> str | None:
    """The page of the form this request posts (None when the view names none)."""
    view = current_app.view_functions.get(request.endpoint or "")
    target = getattr(view, "form_page", None)
    if target is None:
        return None
    return url_for(target, **(request.view_args or {}))


def _viewer_id() -> int | None:
    from flask_login import current_user

    try:
        return int(current_user.id) if current_user.is_authenticated else None
    except Exception:  # no login manager (a bare app) or no user loaded
        return None


# --- drafts ------------------------------------------------------------------------------------


def typed_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The fields of a posted form worth giving back: no secrets, bounded in number and size."""
    values: dict[str, str] = {}
    for name, value in form.items():
        if len(values) >= MAX_FIELDS:
            break
        if name in SECRET_FIELDS or "password" in name.lower() or not isinstance(value, str):
            continue
        values[str(name)[:100]] = value[:MAX_VALUE_CHARS]
    return values


def keep(
    session: Session,
    *,
    page: str,
    user_id: int | None,
    values: Mapping[str, Any],
    errors: Mapping[str, Any] | None = None,
    message: str | None = None,
    form: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Store a refused form for ``page``; returns the draft's token. Old drafts go meanwhile."""
    now = utcnow()
    session.execute(delete(FormDraft).where(FormDraft.created_at < now - DRAFT_LIFETIME))
    token = secrets.token_urlsafe(24)
    session.add(
        FormDraft(
            id=token,
            user_id=user_id,
            page=page[:512],
            created_at=now,
            payload={
                "values": typed_values(values),
                "errors": {str(k): _messages(v) for k, v in (errors or {}).items()},
                "message": message,
                "form": form,
                "extra": dict(extra or {}),
            },
        )
    )
    return token


def _messages(value: Any) -> list[str]:
    if isinstance(value, dict):  # nested schema errors: flatten to sentences
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, list | tuple):
        return [str(m) for m in value]
    return [str(value)]


def find(session: Session, token: str | None, *, page: str, user_id: int | None) -> Draft | None:
    """The draft ``token`` of ``page`` if the viewer may read it (their own, or anonymous)."""
    if not token or len(token) > 64:
        return None
    row = session.scalar(select(FormDraft).where(FormDraft.id == token))
    if row is None or row.page != page or row.created_at < utcnow() - DRAFT_LIFETIME:
        return None
    if row.user_id is not None and row.user_id != user_id:
        return None
    payload = row.payload or {}
    return Draft(
        token=row.id,
        values=dict(payload.get("values") or {}),
        errors=dict(payload.get("errors") or {}),
        message=payload.get("message"),
        form=payload.get("form"),
        extra=dict(payload.get("extra") or {}),
    )


def discard(session: Session, *, page: str, user_id: int | None) -> None:
    """Forget the viewer's drafts of ``page`` (its form was just accepted)."""
    if user_id is None:
        return
    session.execute(delete(FormDraft).where(FormDraft.page == page, FormDraft.user_id == user_id))


# --- what views call ---------------------------------------------------------------------------


def draft() -> Draft | None:
    """The draft this page request names (``?draft=``), if any."""
    return find(db.session, request.args.get(DRAFT_ARG), page=request.path, user_id=_viewer_id())


def _with_draft(url: str, token: str) -> str:
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode({DRAFT_ARG: token})}"


def refuse(
    error: StewardError | None = None,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, Any] | None = None,
    message: str | None = None,
    form: str | None = None,
    page: str | None = None,
) -> Response:
    """Keep the refused form of this request and send the browser back to its page (303).

    The caller has rolled back its own changes; the draft is committed here on its own.
    """
    target = page or form_page_url() or request.path
    typed = request.form if values is None else values
    extra: dict[str, Any] = {}
    if error is not None:
        extra = {k: v for k, v in error.extra.items() if k == "allowed"}
        extra["status"] = error.status
        if isinstance(error, PermissionDenied) and message is None:
            # the policy names permissions for developers; a person is told what it means
            message = _("Your role does not allow this change.")
    token = keep(
        db.session,
        page=urlsplit(target).path,
        user_id=_viewer_id(),
        values=typed,
        errors=errors if errors is not None else (error.errors if error else None),
        message=message or (error.message if error else None),
        form=form if form is not None else typed.get("form"),
        extra=extra,
    )
    db.session.commit()
    return redirect(_with_draft(target, token), 303)


def accepted(target: str, message: str | None = None, *, page: str | None = None) -> Response:
    """The form was accepted and committed: drop its page's drafts, say so, go to ``target``."""
    form_page = page or form_page_url() or request.path
    discard(db.session, page=urlsplit(form_page).path, user_id=_viewer_id())
    db.session.commit()
    if message:
        flash(message, "success")
    return redirect(target, 303)


def commit_change(
    work: Callable[[], Any],
    *,
    target: str | Callable[[], str],
    stale: str | None = None,
    page: str | None = None,
) -> Response:
    """Run ``work()`` (it returns the message to show), commit, and answer the form (PRG): go
    to ``target`` saying so (a callable target is asked after the work, e.g. for what it
    created), or, on a refusal, roll back and bring the form back with why and what was typed.
    A stale write is told with ``stale`` when given ("someone changed it").
    """
    try:
        message = work()
        db.session.commit()
    except (StaleWrite, PreconditionRequired) as exc:
        db.session.rollback()
        if stale is None:
            return refuse(exc, page=page)
        return refuse(message=str(stale), errors={}, form="", page=page)
    except StewardError as exc:
        db.session.rollback()
        return refuse(exc, page=page)
    where = target() if callable(target) else target
    return accepted(where, None if message is None else str(message), page=page)


def check_form_version(kind: str, key: object, current: int) -> None:
    """A page form's hidden ``version`` plays the part of the API's If-Match, with the same
    check: 428 when it is missing, 412 when someone saved another version meanwhile."""
    typed = (request.form.get("version") or "").strip()
    given = etag_for(kind, key, typed) if typed else None
    check_if_match(given, etag_for(kind, key, current))


# --- refusals that happen before the view runs --------------------------------------------------


def _page_post() -> bool:
    return request.method == "POST" and not wants_json()


def _same_page_url() -> str | None:
    """This URL, if a GET on it shows a page (a form that posts to its own page)."""
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return None
    try:
        adapter.match(request.path, method="GET")
    except HTTPException:
        return None
    return request.full_path.rstrip("?")


def _expired_form(error: CSRFError):
    if not _page_post():
        return error_response(http_error_body(error), 400)
    message = _(
        "This form had expired (pages left open a long time do), so nothing was sent. "
        "What you typed is below: check it and send it again."
    )
    page = form_page_url()
    if page is not None:
        return refuse(message=message, values=request.form)
    back = _same_page_url()
    if back is None:
        return error_response(http_error_body(error), 400)
    flash(_("This form had expired, so nothing was sent. Please fill it in again."), "error")
    return redirect(back, 303)


def _size_text(size: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"


def upload_limit_text() -> str:
    """The largest file a page accepts, as people read it ("10 MiB")."""
    config = current_app.config
    return _size_text(int(config.get("ATTACHMENT_MAX_BYTES") or config["MAX_CONTENT_LENGTH"]))


def _fields_of_oversized_form() -> tuple[MultiDict, bool]:
    """The text fields of a multipart body too large to parse whole (file contents dropped),
    and whether it carried a file."""
    kind, options = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary")
    fields: MultiDict = MultiDict()
    had_file = False
    if kind != "multipart/form-data" or not boundary:
        return fields, had_file
    stream = get_input_stream(request.environ, max_content_length=None)
    decoder = MultipartDecoder(boundary.encode(), max_parts=MAX_FIELDS * 2)
    name: str | None = None
    buffer = bytearray()
    read = 0
    try:
        while read <= MAX_DRAIN_BYTES:
            chunk = stream.read(_CHUNK)
            read += len(chunk)
            decoder.receive_data(chunk or None)
            event = decoder.next_event()
            while not isinstance(event, NeedData | Epilogue):
                if isinstance(event, Field):
                    name, buffer = event.name, bytearray()
                elif isinstance(event, File):
                    name, had_file = None, True
                elif isinstance(event, Data) and name is not None:
                    if len(buffer) < MAX_VALUE_CHARS * 4:
                        buffer += event.data
                    if not event.more_data:
                        fields.add(name, buffer.decode("utf-8", "replace"))
                        name = None
                event = decoder.next_event()
            if isinstance(event, Epilogue) or not chunk:
                break
    except (ValueError, RequestEntityTooLarge):  # malformed body: keep what was understood
        pass
    return fields, had_file


def _too_large(error: RequestEntityTooLarge):
    if not _page_post():
        return error_response(http_error_body(error), 413)
    page = form_page_url() or _same_page_url()
    if page is None:
        return error_response(http_error_body(error), 413)
    limit = upload_limit_text()
    fields, had_file = _fields_of_oversized_form()
    if not had_file:  # a text field beyond what a form may hold
        return refuse(
            values=fields,
            errors={},
            message=_("This form was too large to be sent: shorten the longest text."),
            page=page,
        )
    return refuse(
        values=fields,
        errors={"file": [_("The file is larger than %(limit)s.", limit=limit)]},
        message=_("The file was not sent: a file may be at most %(limit)s.", limit=limit),
        page=page,
    )


def init_forms(app: Flask) -> None:
    """Bring expired and oversized page forms back to their page instead of an error page."""
    app.register_error_handler(CSRFError, _expired_form)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
