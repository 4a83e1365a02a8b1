"""Users, roles, passwords, login throttling, signed-in sessions and API tokens.

Passwords are argon2 hashes. API tokens are random 256-bit secrets shown once; only their
SHA-256 is stored (a fast hash is right for high-entropy secrets checked on every request).
Every token names its scopes and expires. Browser sessions live in the database too (the cookie
holds a random key, the table its hash), so that logging out, an idle timeout, a password
reset or a deactivation ends them on the server. A password reset or a deactivation also
revokes the person's tokens. Failed logins are recorded so throttling holds across all web
processes; it counts per account and source address, and per address alone.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import secrets
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, lazyload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from app.core import audit, cache
from app.core.clock import utcnow
from app.core.errors import (
    Conflict,
    NotFound,
    TooManyRequests,
    Unauthenticated,
    ValidationFailed,
)
from app.core.permissions import (
    ALL_SCOPES,
    MODULE_SCOPED_ROLES,
    SERVICE_SCOPES,
    Permission,
    Role,
    can,
    require,
    require_any,
)
from app.identity.models import ApiToken, LoginAttempt, RoleAssignment, User, UserSession

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
        raise NotFound(_l("No such user."))
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
                _l("Unknown role %(role)s.", role=repr(role)),
                errors={"roles": [_l("Must be one of: %(allowed)s.", allowed=allowed)]},
            ) from exc
        if module_id is not None and Role(role) not in MODULE_SCOPED_ROLES:
            raise ValidationFailed(
                _l("Role %(role)s cannot be scoped to a module.", role=repr(role)),
                errors={"roles": [_l("%(role)s applies to every module.", role=role)]},
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
    """Create the user with this email or update it (roles replaced); returns (user, created).

    Refuses (409) to leave Steward without an active administrator. A new password or a
    deactivation revokes the person's API tokens and ends their sessions.
    """
    email = normalise_email(email)
    wanted = set(_check_roles(roles))
    user = find_user_by_email(session, email)
    created = user is None
    if user is not None:
        _keep_an_administrator(session, user, active=active, roles=wanted)
    was_active = user is not None and user.active
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
    if not created and (password or (was_active and not user.active)):
        reason = "password_reset" if password else "deactivated"
        revoke_credentials(session, actor, user, reason=reason)
    return user, created


def _is_admin(user: User, roles: Iterable[tuple[str, int | None]] | None = None) -> bool:
    pairs = user.role_pairs() if roles is None else roles
    return (Role.ADMIN.value, None) in set(pairs)


def _keep_an_administrator(
    session: Session, user: User, *, active: bool, roles: set[tuple[str, int | None]]
) -> None:
    """Refuse a change that would leave no active administrator (nobody could fix it)."""
    if not (user.active and _is_admin(user)) or (active and _is_admin(user, roles)):
        return
    # Lock every active admin row in one order, so two admins demoting each other at the
    # same time are serialised rather than both seeing the other one still in place.
    admins = session.scalars(
        select(User.id)
        .where(
            User.active.is_(True),
            User.roles.any(
                and_(RoleAssignment.role == Role.ADMIN.value, RoleAssignment.module_id.is_(None))
            ),
        )
        .order_by(User.id)
        .with_for_update()
    ).all()
    if not [admin_id for admin_id in admins if admin_id != user.id]:
        message = (
            _l(
                "%(email)s is the last active administrator and cannot lose the admin role: "
                "make someone else an administrator first.",
                email=user.email,
            )
            if active
            else _l(
                "%(email)s is the last active administrator and cannot be deactivated: "
                "make someone else an administrator first.",
                email=user.email,
            )
        )
        raise Conflict(
            message,
            errors={
                "roles" if active else "active": [_l("Steward needs an active administrator.")]
            },
        )


def revoke_credentials(session: Session, actor: User | None, user: User, *, reason: str) -> None:
    """Revoke every API token of ``user`` and end every session they have open."""
    now = utcnow()
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
        audit.record(
            session,
            actor,
            "api_token",
            token.id,
            "revoked",
            {"revoked": [False, True]},
            reason=reason,
        )
    end_sessions(session, user, reason=reason)


@dataclass(frozen=True)
class LoginThrottle:
    """Failed logins allowed within ``window``: per account and address, and per address."""

    max_attempts: int
    window: timedelta
    address_max_attempts: int

    @classmethod
    def from_config(cls, config) -> LoginThrottle:
        return cls(
            max_attempts=config["LOGIN_MAX_ATTEMPTS"],
            window=timedelta(seconds=config["LOGIN_WINDOW_SECONDS"]),
            address_max_attempts=config["LOGIN_ADDRESS_MAX_ATTEMPTS"],
        )


def _same_address(remote_addr: str | None):
    if remote_addr is None:
        return LoginAttempt.remote_addr.is_(None)
    return LoginAttempt.remote_addr == remote_addr


def _wait_for(session: Session, where, limit: int, window: timedelta, now: datetime) -> float:
    """Seconds until fewer than ``limit`` failures matching ``where`` remain in the window."""
    oldest_counted = session.scalar(
        select(LoginAttempt.attempted_at)
        .where(*where, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > now - window)
        .order_by(LoginAttempt.attempted_at.desc())
        .offset(max(limit, 1) - 1)
        .limit(1)
    )
    return 0.0 if oldest_counted is None else (oldest_counted + window - now).total_seconds()


def login_wait_seconds(
    session: Session, email: str, remote_addr: str | None, throttle: LoginThrottle
) -> int:
    """Seconds before a login for ``email`` from ``remote_addr`` is heard again (0: now).

    Failures count per account *and* address (a success there starts the count again), so a
    stranger's guesses cannot lock the owner out from their own address; and per address
    alone, with a higher limit, so one address cannot guess its way through many accounts.
    """
    now = utcnow()
    email = normalise_email(email or "")
    pair = [LoginAttempt.email == email, _same_address(remote_addr)]
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(*pair, LoginAttempt.succeeded.is_(True))
    )
    if last_success is not None:
        pair.append(LoginAttempt.attempted_at > last_success)
    wait = max(
        _wait_for(session, pair, throttle.max_attempts, throttle.window, now),
        _wait_for(
            session,
            [_same_address(remote_addr)],
            throttle.address_max_attempts,
            throttle.window,
            now,
        ),
    )
    return math.ceil(wait) if wait > 0 else 0


def _wait_in_words(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    if seconds < 60:
        return f"{seconds} seconds"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    remote_addr: str | None,
    max_attempts: int,
    window_seconds: int,
    address_max_attempts: int | None = None,
) -> User:
    """The active user with these credentials; records the attempt and throttles guessing.

    Raises ``TooManyRequests`` (with the seconds to wait) once the failures within the window
    reach ``max_attempts`` for this account from this address, or ``address_max_attempts``
    from this address (ten times ``max_attempts`` unless given); ``Unauthenticated`` on wrong
    credentials. The caller must commit either way so that failed attempts are counted.
    """
    throttle = LoginThrottle(
        max_attempts=max_attempts,
        window=timedelta(seconds=window_seconds),
        address_max_attempts=address_max_attempts or max_attempts * 10,
    )
    email = normalise_email(email or "")
    wait = login_wait_seconds(session, email, remote_addr, throttle)
    if wait:
        raise TooManyRequests(
            _l("Too many failed logins; try again in %(value)s.", value=_wait_in_words(wait)),
            retry_after=wait,
        )
    user = find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password or "")
    ok = ok and user is not None and user.active and not user.is_service_account
    session.add(
        LoginAttempt(email=email, remote_addr=remote_addr, attempted_at=utcnow(), succeeded=ok)
    )
    if not ok:
        raise Unauthenticated(_l("Wrong email or password."))
    user.last_login_at = utcnow()
    return user


# --- browser sessions ----------------------------------------------------------------------


def start_session(session: Session, user: User, *, remote_addr: str | None) -> str:
    """Open a session for ``user``; returns the key the cookie carries (stored hashed)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            user_id=user.id,
            key_hash=_token_hash(key),
            created_at=now,
            last_seen_at=now,
            remote_addr=(remote_addr or "")[:64] or None,
        )
    )
    session.flush()
    return key


def user_for_session(session: Session, key: str, *, idle: timedelta) -> User | None:
    """The active holder of an open session idle for less than ``idle``, or None.

    A session found idle too long is ended here. Activity is written at most once a minute
    (enough for an idle timeout counted in minutes), not on every request.
    """
    row = session.scalar(select(UserSession).where(UserSession.key_hash == _token_hash(key)))
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    if now - row.last_seen_at >= idle:
        row.ended_at, row.end_reason = row.last_seen_at + idle, "idle"
        return None
    user = cached_user(session, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at >= min(timedelta(minutes=1), idle / 10):
        row.last_seen_at = now
    return user


def end_session(session: Session, key: str, *, reason: str = "logout") -> None:
    """End the session with this key (logging out twice is harmless)."""
    row = session.scalar(select(UserSession).where(UserSession.key_hash == _token_hash(key)))
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = utcnow(), reason


def end_sessions(session: Session, user: User, *, reason: str) -> int:
    """End every open session of ``user``; returns how many were open."""
    rows = session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    ).all()
    now = utcnow()
    for row in rows:
        row.ended_at, row.end_reason = now, reason
    return len(rows)


# --- API tokens -----------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_lifetime_limit(holder: User, config) -> timedelta:
    """The longest life of a token issued by hand: long for service accounts, never endless."""
    days = config["SERVICE_TOKEN_MAX_DAYS"] if holder.is_service_account else None
    return timedelta(days=days or config["API_TOKEN_MAX_DAYS"])


def issue_token(
    session: Session,
    actor: User | None,
    user: User,
    *,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
    max_lifetime: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token for ``user``; returns the row and the secret (shown only once).

    ``scopes`` must name at least one permission (``*``: all of the holder's); asking for
    none grants none, so it is refused. Every token expires, within ``max_lifetime``.
    """
    scopes = list(scopes or [])
    if not scopes:
        raise ValidationFailed(
            _l("A token needs at least one scope."),
            errors={"scopes": [_l("Name the permissions the token is for ('*' for all yours).")]},
        )
    unknown = sorted(set(scopes) - VALID_SCOPES)
    if unknown:
        raise ValidationFailed(
            _l("Unknown scopes."),
            errors={"scopes": [_l("Unknown: %(value)s.", value=", ".join(unknown))]},
        )
    reserved = sorted(set(scopes) & {str(scope) for scope in SERVICE_SCOPES})
    if reserved and not user.is_service_account:
        raise ValidationFailed(
            _l("Only a service account may hold these scopes."),
            errors={
                "scopes": [_l("For service accounts only: %(value)s.", value=", ".join(reserved))]
            },
        )
    now = utcnow()
    if expires_at is None:
        raise ValidationFailed(
            _l("Every token expires."), errors={"expires_at": [_l("Give the token an expiry.")]}
        )
    if expires_at <= now:
        raise ValidationFailed(
            _l("The expiry is in the past."), errors={"expires_at": [_l("Must be in the future.")]}
        )
    if max_lifetime is not None and expires_at > now + max_lifetime:
        raise ValidationFailed(
            _l("The expiry is too far away."),
            errors={"expires_at": [_l("At most %(days)s days from now.", days=max_lifetime.days)]},
        )
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=prefix,
        token_hash=_token_hash(secret),
        scopes=scopes,
        created_at=now,
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
    expires_at: datetime
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
    scopes = tuple(row.scopes or ())  # a stored empty list grants nothing
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
    if grant is None or grant.revoked_at is not None or grant.expires_at <= now:
        return None
    user = cached_user(session, grant.user_id)
    if user is None or not user.active:
        return None
    _record_token_use(session, grant.token_id, now)
    user.token_scopes = list(grant.scopes)  # no scope grants nothing
    return user


def tokens_of(session: Session, actor: User):
    """The statement listing ``actor``'s own tokens (each person may list theirs)."""
    require_any(actor, [Permission.TOKEN_SELF])
    return select(ApiToken).where(ApiToken.user_id == actor.id)


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
    """Revoke a token: one's own, or anyone's for token managers. Revoking twice is harmless.

    Someone else's token is "not found" to a person who may not manage tokens.
    """
    require_any(actor, [Permission.TOKEN_SELF, Permission.TOKEN_MANAGE])
    token = session.get(ApiToken, token_id)
    own = token is not None and token.user_id == actor.id
    allowed = can(actor, Permission.TOKEN_MANAGE) or (own and can(actor, Permission.TOKEN_SELF))
    if token is None or not allowed:
        raise NotFound(_l("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "api_token", token.id, "revoked", {"revoked": [False, True]})
    return token


# --- personal settings ---------------------------------------------------------------------

LANGUAGES = ("en", "fr")


def update_settings(
    session: Session,
    actor: User,
    *,
    timezone: str | None = ...,
    locale: str | None = ...,  # type: ignore[assignment]
) -> User:
    """Change one's own display time zone and language (None: follow the defaults).

    Every signed-in person may (it changes how pages read, nothing of anyone's records); a
    read-only token may not, since it writes.
    """
    require_any(actor, [Permission.TOKEN_SELF])
    values: dict[str, str | None] = {}
    errors: dict[str, list[str]] = {}
    if timezone is not ...:
        zone = (timezone or "").strip() or None
        if zone is not None and zone not in zones():
            errors["timezone"] = [_l("An IANA time zone, like Europe/Paris.")]
        values["timezone"] = zone
    if locale is not ...:
        language = (locale or "").strip() or None
        if language is not None and language not in LANGUAGES:
            errors["locale"] = [_l("One of: %(value)s.", value=", ".join(LANGUAGES))]
        values["locale"] = language
    if errors:
        raise ValidationFailed(_l("The settings were not saved."), errors=errors)
    changes = audit.apply_changes(actor, values)
    if changes:
        session.flush()
        audit.record(session, actor, "user", actor.id, "settings_changed", changes)
    return actor


@functools.cache
def zones() -> frozenset[str]:
    """Every IANA time zone a person may choose."""
    return frozenset(available_timezones() | {"UTC"})


def effective_timezone(user: User, config) -> str:
    """The zone pages show ``user`` times in: their own setting, else the calendar of a module
    they hold a role in, else ``DEFAULT_TIMEZONE``."""
    return user.display_timezone or config.get("DEFAULT_TIMEZONE", "UTC")


# --- desk settings -----------------------------------------------------------------------------

REPLY_MODES = ("public", "internal")


def desk_settings(user: User) -> dict[str, object]:
    """The support desk's settings of ``user``: the reply box's default mode, and away."""
    return {"reply_mode": user.reply_mode or "public", "absent": bool(user.absent)}


def update_desk_settings(
    session: Session, actor: User, user: User, values: dict[str, object]
) -> dict[str, object]:
    """Change the caller's desk settings (support team only: nobody else has a desk).

    ``reply_mode``: how the reply box opens on a ticket (``public`` or ``internal``);
    ``absent``: away, so round-robin assignment skips them.
    """
    require(actor, Permission.TICKET_WORK)
    if "reply_mode" in values and values["reply_mode"] not in REPLY_MODES:
        raise ValidationFailed(
            _l("Unknown reply mode."),
            errors={"reply_mode": [_l("One of: %(value)s.", value=", ".join(REPLY_MODES))]},
        )
    wanted = {k: values[k] for k in ("reply_mode", "absent") if k in values}
    changes = audit.apply_changes(user, wanted)
    if changes:
        session.flush()
        audit.record(session, actor, "user", user.id, "settings", changes)
    return desk_settings(user)
