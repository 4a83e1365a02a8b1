"""Users, roles, passwords, login throttling and API tokens.

Passwords are argon2 hashes. API tokens are random 256-bit secrets shown once; only their
SHA-256 is stored (a fast hash is right for high-entropy secrets checked on every request).
Failed logins are recorded so throttling holds across all web processes.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, lazyload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from app.core import audit, cache
from app.core.clock import utcnow
from app.core.errors import NotFound, TooManyRequests, Unauthenticated, ValidationFailed
from app.core.permissions import ALL_SCOPES, MODULE_SCOPED_ROLES, Permission, Role
from app.identity.models import ApiToken, LoginAttempt, RoleAssignment, User

_hasher = PasswordHasher()
# Verifying against a dummy hash keeps the response time the same for unknown emails.
_DUMMY_HASH = _hasher.hash("steward-timing-equaliser")
TOKEN_PREFIX = "stw_"
VALID_SCOPES = {ALL_SCOPES} | {p.value for p in Permission}
IDENTITY_CACHE = "identity"
for _model in (User, RoleAssignment, ApiToken):
    cache.watch(_model, IDENTITY_CACHE)
# A token's last use is written at most this often (per process, and across processes).
TOKEN_USE_INTERVAL = timedelta(minutes=1)
log = logging.getLogger(__name__)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def _check_roles(roles: Iterable[tuple[str, int | None]]) -> list[tuple[str, int | None]]:
    checked = []
    for role, module_id in roles:
        try:
            Role(role)
        except ValueError as exc:
            allowed = ", ".join(r.value for r in Role)
            raise ValidationFailed(
                f"Unknown role {role!r}.", errors={"roles": [f"Must be one of: {allowed}."]}
            ) from exc
        if module_id is not None and Role(role) not in MODULE_SCOPED_ROLES:
            raise ValidationFailed(
                f"Role {role!r} cannot be scoped to a module.",
                errors={"roles": [f"{role} applies to every module."]},
            )
        checked.append((role, module_id))
    return checked


def save_user(
    session: Session,
    actor: User | None,
    *,
    email: str,
    name: str,
    roles: Iterable[tuple[str, int | None]],
    password: str | None = None,
    department: str | None = None,
    active: bool = True,
    is_service_account: bool = False,
) -> tuple[User, bool]:
    """Create the user with this email or update it (roles replaced); returns (user, created)."""
    email = normalise_email(email)
    wanted = set(_check_roles(roles))
    user = find_user_by_email(session, email)
    created = user is None
    if user is None:
        user = User(email=email, name=name, department=department, active=active)
        user.is_service_account = is_service_account
        session.add(user)
        session.flush()
        changes = {"email": [None, email], "name": [None, name]}
    else:
        changes = audit.apply_changes(
            user, {"name": name, "department": department, "active": active}
        )
    if password:
        user.password_hash = hash_password(password)
        if not created:
            changes["password"] = ["***", "***"]
    current = {(r.role, r.module_id) for r in user.roles}
    if current != wanted:
        user.roles[:] = [r for r in user.roles if (r.role, r.module_id) in wanted]
        for role, module_id in sorted(wanted - current, key=str):
            user.roles.append(RoleAssignment(role=role, module_id=module_id))
        changes["roles"] = [sorted(map(list, current), key=str), sorted(map(list, wanted), key=str)]
        if not created:
            # Roles live in another table: make the users row change too, so that the version
            # (and with it the ETag) moves and a concurrent edit is detected.
            flag_modified(user, "name")
    session.flush()
    if created or changes:
        audit.record(session, actor, "user", user.id, "created" if created else "updated", changes)
    return user, created


def _recent_failures(session: Session, email: str, window: timedelta) -> int:
    since = utcnow() - window
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)
        )
    )
    if last_success and last_success > since:
        since = last_success
    return session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.email == email,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at > since,
        )
    )


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    remote_addr: str | None,
    max_attempts: int,
    window_seconds: int,
) -> User:
    """The active user with these credentials; records the attempt and throttles guessing.

    Raises ``TooManyRequests`` after ``max_attempts`` failures within the window (until the
    window passes), ``Unauthenticated`` on wrong credentials. The caller must commit either way
    so that failed attempts are counted.
    """
    email = normalise_email(email or "")
    if _recent_failures(session, email, timedelta(seconds=window_seconds)) >= max_attempts:
        raise TooManyRequests("Too many failed logins for this account; wait and try again.")
    user = find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password or "")
    ok = ok and user is not None and user.active and not user.is_service_account
    session.add(
        LoginAttempt(email=email, remote_addr=remote_addr, attempted_at=utcnow(), succeeded=ok)
    )
    if not ok:
        raise Unauthenticated("Wrong email or password.")
    user.last_login_at = utcnow()
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    actor: User | None,
    user: User,
    *,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token for ``user``; returns the row and the secret (shown only once)."""
    scopes = scopes or [ALL_SCOPES]
    unknown = sorted(set(scopes) - VALID_SCOPES)
    if unknown:
        raise ValidationFailed(
            "Unknown scopes.", errors={"scopes": [f"Unknown: {', '.join(unknown)}."]}
        )
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed(
            "The expiry is in the past.", errors={"expires_at": ["Must be in the future."]}
        )
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=prefix,
        token_hash=_token_hash(secret),
        scopes=scopes,
        created_at=utcnow(),
        expires_at=expires_at,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "api_token",
        token.id,
        "issued",
        {"user": [None, user.email], "scopes": [None, scopes]},
    )
    return token, secret


@dataclass(frozen=True)
class _Grant:
    """What a token grants, as cached: whose it is, its scopes, until when."""

    token_id: int
    user_id: int
    scopes: tuple[str, ...]
    expires_at: datetime | None
    revoked_at: datetime | None


def _load_grant(session: Session, digest: str) -> _Grant | None:
    row = session.execute(
        select(
            ApiToken.id,
            ApiToken.user_id,
            ApiToken.scopes,
            ApiToken.expires_at,
            ApiToken.revoked_at,
        ).where(ApiToken.token_hash == digest)
    ).one_or_none()
    if row is None:
        return None
    scopes = tuple(row.scopes or [ALL_SCOPES])
    return _Grant(row.id, row.user_id, scopes, row.expires_at, row.revoked_at)


def _load_user(session: Session, user_id: int) -> User | None:
    """A detached copy of the user and their roles, loaded in ``session``'s transaction but
    outside its identity map (the copy is shared by the process's requests)."""
    with Session(bind=session.connection()) as loader:
        user = loader.scalar(
            select(User)
            .where(User.id == user_id)
            .options(selectinload(User.roles).options(lazyload(RoleAssignment.module)))
        )
        if user is not None:
            loader.expunge(user)
    return user


def cached_user(session: Session, user_id: int) -> User | None:
    """The user ``user_id`` with their roles, attached to ``session``, read from the identity
    cache (no query while no user, role or token changed anywhere)."""
    present = session.identity_map.get(session.identity_key(User, user_id))
    if present is not None:
        return present
    copy = cache.cached(
        session, IDENTITY_CACHE, ("user", user_id), lambda: _load_user(session, user_id)
    )
    return session.merge(copy, load=False) if copy is not None else None


def user_for_token(session: Session, secret: str) -> User | None:
    """The active holder of a valid, unexpired, unrevoked token, with its scopes applied.

    The token and its holder come from the identity cache, and the token's last use is
    recorded outside the caller's transaction (see :func:`_record_token_use`): checking a
    token neither writes nor locks anything in the request's transaction.
    """
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = _token_hash(secret)
    grant = cache.cached(
        session, IDENTITY_CACHE, ("token", digest), lambda: _load_grant(session, digest)
    )
    now = utcnow()
    if grant is None or grant.revoked_at is not None:
        return None
    if grant.expires_at is not None and grant.expires_at <= now:
        return None
    user = cached_user(session, grant.user_id)
    if user is None or not user.active:
        return None
    _record_token_use(session, grant.token_id, now)
    user.token_scopes = list(grant.scopes)
    return user


_token_use_written: weakref.WeakKeyDictionary[Engine, dict[int, datetime]] = (
    weakref.WeakKeyDictionary()
)


def _record_token_use(session: Session, token_id: int, now: datetime) -> None:
    """Set the token's ``last_used_at``, at most once per ``TOKEN_USE_INTERVAL``, in a short
    transaction of its own (never the request's, which may not commit and must not hold the
    token row's lock). On PostgreSQL a row being written by another process is skipped, not
    waited for: that process is recording the same use."""
    engine = session.get_bind()
    engine = getattr(engine, "engine", engine)
    written = _token_use_written.setdefault(engine, {})
    last = written.get(token_id)
    if last is not None and abs(now - last) < TOKEN_USE_INTERVAL:
        return
    written[token_id] = now
    stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_USE_INTERVAL)
    free = (
        select(ApiToken.id)
        .where(ApiToken.id == token_id, stale)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    table = ApiToken.__table__
    try:
        with engine.begin() as connection:
            connection.execute(update(table).where(table.c.id == free).values(last_used_at=now))
    except SQLAlchemyError as exc:  # bookkeeping only: never fail the request for it
        log.warning("could not record the use of token %s: %s", token_id, exc)
        written.pop(token_id, None)


def revoke_token(session: Session, actor: User, token_id: int) -> ApiToken:
    """Revoke a token; revoking twice is harmless."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "api_token", token.id, "revoked", {"revoked": [False, True]})
    return token
