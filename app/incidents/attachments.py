"""Ticket attachments: size-limited, type-checked, stored on disk outside the database.

The declared content type must be on the allow-list and agree with the file's first bytes for
the formats that have a signature, so a renamed executable is refused. Files are stored under
random names; only people who can see the ticket can download them. Who may attach is the rule
of the conversation (``conversation.check_may_converse``), comments and files alike; an
internal file, like an internal note, is seen by the support team only.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from app.core import audit
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.identity.models import User
from app.incidents.conversation import check_may_converse
from app.incidents.models import Attachment, Ticket
from app.incidents.service import sees_internal

ALLOWED_TYPES = {
    "application/pdf": (b"%PDF",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "text/plain": (),
    "text/csv": (),
    "application/zip": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
}
MAX_PER_TICKET = 20
_CHUNK = 64 * 1024


def storage_root() -> Path:
    return Path(current_app.config["ATTACHMENT_DIR"])


def _size_text(size: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"


def _looks_like(content_type: str, head: bytes) -> bool:
    signatures = ALLOWED_TYPES[content_type]
    if signatures:
        return any(head.startswith(sig) for sig in signatures)
    try:  # text types: must decode as UTF-8 and hold no NUL bytes
        head.decode("utf-8")
    except UnicodeDecodeError:
        # the sample may cut a multi-byte character at its end
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return b"\x00" not in head


def store_attachment(
    session: Session,
    actor: User,
    ticket: Ticket,
    *,
    stream: IO[bytes],
    filename: str,
    content_type: str,
    public: bool = True,
) -> Attachment:
    """Check and store one uploaded file for ``ticket``; nothing is kept if a check fails."""
    check_may_converse(actor, ticket, public=public)
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type not in ALLOWED_TYPES:
        raise ValidationFailed(
            _l("This kind of file is not accepted."),
            errors={"file": [_l("PDF, images, text, CSV, Office documents or ZIP only.")]},
        )
    name = secure_filename(filename or "") or "attachment"
    full = session.scalar(
        select(Attachment.id)
        .where(Attachment.ticket_id == ticket.id)
        .order_by(Attachment.id)
        .offset(MAX_PER_TICKET - 1)
        .limit(1)
    )
    if full is not None:
        raise Conflict(
            _l(
                "A ticket holds at most %(max_per_ticket)s attachments.",
                max_per_ticket=MAX_PER_TICKET,
            )
        )
    limit = int(current_app.config["ATTACHMENT_MAX_BYTES"])
    key = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"
    path = storage_root() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with open(path, "wb") as out:
            while chunk := stream.read(_CHUNK):
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed(
                        _l("The file is too large."),
                        errors={"file": [_l("At most %(value)s.", value=_size_text(limit))]},
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed(_l("The file is empty."), errors={"file": [_l("Empty file.")]})
        if not _looks_like(content_type, head):
            raise ValidationFailed(
                _l("The file's content does not match its type."),
                errors={
                    "file": [
                        _l("This is not a valid %(content_type)s file.", content_type=content_type)
                    ]
                },
            )
    except Exception:
        path.unlink(missing_ok=True)
        raise
    attachment = Attachment(
        ticket_id=ticket.id,
        uploaded_by_id=actor.id,
        filename=name[:255],
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        storage_key=key,
        public=public,
    )
    session.add(attachment)
    session.flush()
    audit.record(
        session,
        actor,
        "ticket",
        ticket.ref,
        "attachment_added" if public else "internal_attachment_added",
        {"attachment": [None, name]},
        public=public,
        attachment_id=attachment.id,
    )
    return attachment


def attachments_of(session: Session, actor: User, ticket: Ticket) -> list[Attachment]:
    """The files of ``ticket`` that ``actor`` may see (internal ones for the support team)."""
    stmt = select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)
    if not sees_internal(actor, ticket):
        stmt = stmt.where(Attachment.public.is_(True))
    return list(session.scalars(stmt))


def attachment_path(
    session: Session, actor: User, ticket: Ticket, attachment_id: int
) -> tuple[Attachment, str]:
    """The attachment of ``ticket`` and its file path (404 if it belongs to another ticket, or
    is internal and ``actor`` is not of the support team)."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise NotFound(_l("No such attachment."))
    if not attachment.public and not sees_internal(actor, ticket):
        raise NotFound(_l("No such attachment."))
    path = storage_root() / attachment.storage_key
    if not os.path.isfile(path):
        raise NotFound(_l("The file is missing from storage."))
    return attachment, str(path)
