"""Test data builders and clients, in one place: users with roles, modules, tickets, API and
browser clients, frozen time, and the small request helpers every domain's tests share.

Every request a test sends (``client``, ``api_client(user)``, ``signed_in(user)``) runs in an
application context of its own, hence its own database session and transaction, as in
production: a test cannot pass on state that a real request would not see (a missing commit).
After each request the test's own session is expired, so it reads what the request committed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from flask import Flask, has_app_context
from flask.testing import FlaskClient

from app.catalogue import service as catalogue
from app.catalogue.models import Module
from app.core.clock import utcnow
from app.core.db import db
from app.identity.models import User
from app.identity.service import issue_token, save_user

__all__ = [
    "RESOLUTION",
    "TICKET",
    "ApiClient",
    "OwnContext",
    "act",
    "act_ok",
    "admin",
    "agent",
    "alex",
    "api_client",
    "as_",
    "client",
    "comment",
    "etag_of",
    "finance",
    "frozen_clock",
    "history_of",
    "make_calendar",
    "make_module",
    "make_ticket",
    "make_user",
    "requester",
    "rita",
    "signed_in",
    "submit",
    "submitted",
    "tiny_png",
]

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


@pytest.fixture
def make_module(db_session) -> Callable[..., object]:
    def build(code: str = "FIN", name: str | None = None, calendar: str | None = None, **extra):
        existing = db_session.scalar(db.select(Module).where(Module.code == code))
        if existing is not None:
            return existing
        module = catalogue.create_module(
            db_session, None, code=code, name=name or code.title(), calendar=calendar, **extra
        )
        db_session.commit()
        return module

    return build


@pytest.fixture
def make_user(db_session, make_module) -> Callable[..., User]:
    """make_user(role="agent", module="FIN", password=None, email=None, ...) -> User."""

    def build(
        role: str | list[str] | None = "requester",
        module: str | None = None,
        *,
        email: str | None = None,
        name: str | None = None,
        password: str | None = None,
        department: str | None = "Finance",
        active: bool = True,
    ) -> User:
        roles = [role] if isinstance(role, str) else list(role or [])
        module_id = make_module(module).id if module else None
        n = next(_counter)
        user, _ = save_user(
            db_session,
            None,
            email=email or f"user{n}@example.com",
            name=name or f"User {n}",
            department=department,
            active=active,
            password=password,
            roles=[
                (r, module_id if r in {"key_user", "product_owner", "approver"} else None)
                for r in roles
            ],
        )
        db_session.commit()
        return user

    return build


def _expire_test_session() -> None:
    """Let the test's own session read what a request just committed."""
    if has_app_context():
        db.session.expire_all()


class OwnContext:
    """Sends each request in an app context of its own (own session and transaction)."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app, self.client = app, client

    def __getattr__(self, method: str):
        def send(*args, **kwargs):
            with self.app.app_context():
                response = getattr(self.client, method)(*args, **kwargs)
            _expire_test_session()
            return response

        return send


class ApiClient:
    """A client that sends a bearer token with every request, each in its own app context."""

    def __init__(self, app: Flask, client: FlaskClient, token: str) -> None:
        self.app = app
        self.client = client
        self.token = token

    def _call(self, method: str, url: str, headers: dict | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        with self.app.app_context():
            response = getattr(self.client, method)(url, headers=headers, **kwargs)
        _expire_test_session()
        return response

    def get(self, url, **kw):
        return self._call("get", url, **kw)

    def post(self, url, **kw):
        return self._call("post", url, **kw)

    def patch(self, url, **kw):
        return self._call("patch", url, **kw)

    def put(self, url, **kw):
        return self._call("put", url, **kw)

    def delete(self, url, **kw):
        return self._call("delete", url, **kw)


@pytest.fixture
def client(app) -> OwnContext:
    """An anonymous browser: cookies kept, each request in its own app context."""
    return OwnContext(app, app.test_client())


@pytest.fixture
def api_client(app, db_session) -> Callable[..., ApiClient]:
    """api_client(user, scopes=None): a bearer-token client for ``user``."""

    def build(user: User, scopes: list[str] | None = None) -> ApiClient:
        _, secret = issue_token(
            db_session,
            None,
            user,
            name="test",
            scopes=["*"] if scopes is None else scopes,
            expires_at=utcnow() + timedelta(days=3650),  # outlives any frozen clock of a test
        )
        db_session.commit()
        return ApiClient(app, app.test_client(), secret)

    return build


@pytest.fixture
def as_(api_client) -> Callable[..., ApiClient]:
    """as_(user): the API as ``user`` (shorthand used by the domain suites)."""
    return api_client


@pytest.fixture
def signed_in(app) -> Callable[[User], OwnContext]:
    """signed_in(user): a browser with that user's session (the user needs PASSWORD)."""

    def sign_in(user: User) -> OwnContext:
        browser = OwnContext(app, app.test_client())
        response = browser.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, f"sign-in of {user.email} failed"
        return browser

    return sign_in


@pytest.fixture
def frozen_clock() -> Iterator[Callable[[datetime], None]]:
    """frozen_clock(instant) freezes time there; call again to move it."""
    travellers: list[time_machine.travel] = []

    def freeze(instant: datetime) -> None:
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(instant, tick=False)
        traveller.start()
        travellers.append(traveller)

    yield freeze
    while travellers:
        travellers.pop().stop()


@pytest.fixture
def make_calendar(db_session) -> Callable[..., object]:
    """make_calendar(code="OFFICE", timezone="Europe/Paris", hours=None, holidays=())."""

    def build(
        code: str = "OFFICE",
        timezone: str = "Europe/Paris",
        hours: dict | None = None,
        holidays: tuple = (),
    ):
        calendar = catalogue.create_calendar(
            db_session,
            None,
            code=code,
            name=f"{code} hours",
            timezone=timezone,
            working_hours=hours or {str(d): [["09:00", "17:00"]] for d in range(5)},
        )
        for day in holidays:
            catalogue.add_holiday(db_session, None, calendar, day, "Holiday")
        db_session.commit()
        return calendar

    return build


@pytest.fixture
def make_ticket(db_session, make_user, make_module) -> Callable[..., object]:
    """make_ticket(reporter=None, module="FIN", impact="medium", urgency="medium", title=...)."""
    from app.incidents.service import create_ticket

    def build(
        reporter: User | None = None,
        module: str = "FIN",
        impact: str = "medium",
        urgency: str = "medium",
        title: str = "Invoice posting fails",
        description: str = "Error 'period closed' when posting.",
    ):
        make_module(module)
        reporter = reporter or make_user("requester")
        ticket = create_ticket(
            db_session,
            reporter,
            title=title,
            description=description,
            module=module,
            impact=impact,
            urgency=urgency,
        )
        db_session.commit()
        return ticket

    return build


# --- people and places most suites need -------------------------------------------------------


@pytest.fixture
def finance(make_module):
    """The Finance module (FIN), with no calendar (24x7 clock)."""
    return make_module("FIN", name="Finance")


@pytest.fixture
def requester(make_user, finance):
    return make_user("requester", email="rita@example.com", name="Rita Ruiz", password=PASSWORD)


@pytest.fixture
def agent(make_user):
    return make_user("agent", email="alex@example.com", name="Alex Agent", password=PASSWORD)


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.com", name="Ada Admin", password=PASSWORD)


@pytest.fixture
def rita(as_, requester):
    """The requester, through the API."""
    return as_(requester)


@pytest.fixture
def alex(as_, agent):
    """The agent, through the API."""
    return as_(agent)


# --- request helpers ---------------------------------------------------------------------------

TICKET = {
    "title": "Invoice posting fails",
    "description": "Error 'period closed' when posting invoice 4711.",
    "module": "FIN",
    "impact": "medium",
    "urgency": "medium",
}


RESOLUTION = {"resolution_code": "configuration", "resolution_note": "Period reopened."}


def submit(client, **fields):
    """POST a ticket (TICKET overridden by ``fields``); the raw response."""
    return client.post("/api/v1/tickets", json={**TICKET, **fields})


def submitted(client, **fields) -> dict:
    """POST a ticket that must be accepted; its JSON."""
    response = submit(client, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def act(client, ref: str, action: str, **params):
    return client.post(f"/api/v1/tickets/{ref}/transitions", json={"action": action, **params})


def act_ok(client, ref: str, action: str, **params) -> dict:
    response = act(client, ref, action, **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def comment(client, ref: str, body: str, public: bool = True):
    return client.post(f"/api/v1/tickets/{ref}/comments", json={"body": body, "public": public})


def etag_of(client, ref: str) -> str:
    return client.get(f"/api/v1/tickets/{ref}").headers["ETag"]


def history_of(client, ref: str) -> list[dict]:
    response = client.get(f"/api/v1/tickets/{ref}/history")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def tiny_png() -> bytes:
    """The smallest valid PNG (1x1), for uploads."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
