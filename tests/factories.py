"""Test data builders, in one place: users with roles, API clients, modules, frozen time."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
import time_machine
from flask.testing import FlaskClient

from app.catalogue import service as catalogue
from app.catalogue.models import Module
from app.core.db import db
from app.identity.models import User
from app.identity.service import issue_token, save_user

__all__ = [
    "ApiClient",
    "api_client",
    "frozen_clock",
    "make_calendar",
    "make_module",
    "make_ticket",
    "make_user",
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


class ApiClient:
    """A test client that sends a bearer token (and JSON) with every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.token = token

    def _call(self, method: str, url: str, headers: dict | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return getattr(self.client, method)(url, headers=headers, **kwargs)

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
def api_client(app, db_session) -> Callable[[User], ApiClient]:
    def build(user: User, scopes: list[str] | None = None) -> ApiClient:
        _, secret = issue_token(db_session, None, user, name="test", scopes=scopes)
        db_session.commit()
        return ApiClient(app.test_client(), secret)

    return build


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
