"""The demo company: the same seed always gives the same company, it covers the ERP modules,
its logins work with the documented password, and a second run leaves everything as it is."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.catalogue.models import BusinessCalendar, Module, SupportGroup
from app.core.audit import AuditEvent
from app.core.db import db
from app.demo import DEMO_LOGINS, DEMO_PASSWORD, generate
from app.identity import service
from app.identity.models import User
from tests.conftest import _base_config, _truncate_all

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# A month of history replays ~140 tickets; people and catalogue need none (months=0).
WITH_HISTORY = {"user_count": 40, "months": 1, "now": NOW}
PEOPLE_ONLY = {"user_count": 40, "months": 0, "now": NOW}


def company(session) -> dict:
    """Everything the generator decided, in a form two databases can be compared by."""
    session.expire_all()
    users = session.scalars(sa.select(User).order_by(User.email)).all()
    modules = session.scalars(sa.select(Module).order_by(Module.code)).all()
    groups = session.scalars(sa.select(SupportGroup).order_by(SupportGroup.code)).all()
    calendars = session.scalars(sa.select(BusinessCalendar).order_by(BusinessCalendar.code)).all()
    return {
        "users": [
            (
                u.email,
                u.name,
                u.department,
                u.created_at,
                sorted((r.role, r.module.code if r.module else "") for r in u.roles),
            )
            for u in users
        ],
        "modules": [
            (m.code, m.name, m.description, m.support_group.code, m.calendar.code) for m in modules
        ],
        "groups": [(g.code, sorted(u.email for u in g.members)) for g in groups],
        "calendars": [(c.code, c.timezone, [h.day for h in c.holidays]) for c in calendars],
    }


def row_counts(session) -> dict[str, int]:
    session.expire_all()
    return {
        model.__name__: session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (User, Module, SupportGroup, BusinessCalendar, AuditEvent)
    }


@pytest.fixture
def another_fresh_app(backend, request, tmp_path):
    """A second empty, migrated database on the test's backend (call after using the first)."""
    made: list[Flask] = []

    def build() -> Flask:
        folder = tmp_path / "second"
        folder.mkdir()
        if backend == "sqlite":
            path = folder / "steward.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = request.getfixturevalue("postgres_url")
        second = create_app(_base_config(url, folder))
        if backend == "postgresql":
            _truncate_all(second)  # the suite's one PostgreSQL database, emptied
        made.append(second)
        return second

    yield build
    for second in made:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()


def generated_company(flask_app: Flask, seed: int, size: dict) -> dict:
    with flask_app.app_context():
        try:
            summary = generate(db.session, seed=seed, **size)
            db.session.commit()
            return {"summary": summary, **company(db.session)}
        finally:
            db.session.remove()  # no open transaction may block the next database's TRUNCATE


def test_the_same_seed_gives_the_same_company_in_two_fresh_databases(
    app, another_fresh_app, frozen_clock
):
    # The named demo logins are stamped with the clock, not with ``now``: freeze it.
    frozen_clock(NOW)
    first = generated_company(app, seed=7, size=WITH_HISTORY)

    second = generated_company(another_fresh_app(), seed=7, size=WITH_HISTORY)

    assert first["summary"]["tickets"] > 0
    assert second == first


def test_another_seed_gives_other_people(app, another_fresh_app, frozen_clock):
    frozen_clock(NOW)
    first = generated_company(app, seed=7, size=PEOPLE_ONLY)

    second = generated_company(another_fresh_app(), seed=8, size=PEOPLE_ONLY)

    assert second["modules"] == first["modules"]
    assert second["users"] != first["users"]


def test_the_company_covers_at_least_six_modules_each_supported_and_on_a_calendar(db_session):
    summary = generate(db_session, seed=42, **PEOPLE_ONLY)

    modules = db_session.scalars(sa.select(Module)).all()
    assert summary["modules"] == len(modules) >= 6
    assert {"FIN", "SAL", "PUR", "INV", "HR"} <= {m.code for m in modules}
    assert all(m.support_group is not None and m.support_group.members for m in modules)
    assert all(m.calendar is not None and m.calendar.holidays for m in modules)


def test_the_company_has_the_requested_number_of_people_plus_the_demo_logins(db_session):
    summary = generate(db_session, seed=42, **PEOPLE_ONLY)

    people = db_session.scalar(sa.select(sa.func.count(User.id)))
    assert people == PEOPLE_ONLY["user_count"] + len(DEMO_LOGINS)
    assert summary["users"] >= PEOPLE_ONLY["user_count"]


def test_every_demo_login_signs_in_with_the_demo_password_and_has_its_role(db_session):
    generate(db_session, seed=42, **PEOPLE_ONLY)
    db_session.commit()

    for email, label in DEMO_LOGINS:
        user = service.authenticate(
            db_session, email, DEMO_PASSWORD, remote_addr=None, max_attempts=5, window_seconds=900
        )
        assert label.split(" ")[0] in {r.role for r in user.roles}, email


def test_the_key_user_login_is_key_user_of_finance(db_session):
    generate(db_session, seed=42, **PEOPLE_ONLY)

    keyuser = service.find_user_by_email(db_session, DEMO_LOGINS[3][0])

    assert ("key_user", "FIN") in {
        (r.role, r.module.code if r.module else None) for r in keyuser.roles
    }


def test_a_second_run_returns_none_and_changes_nothing(db_session):
    generate(db_session, seed=42, **WITH_HISTORY)
    db_session.commit()
    before_counts, before_company = row_counts(db_session), company(db_session)

    again = generate(db_session, seed=99, **WITH_HISTORY)
    db_session.commit()

    assert again is None
    assert row_counts(db_session) == before_counts
    assert company(db_session) == before_company
