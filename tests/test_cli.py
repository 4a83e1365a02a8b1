"""The flask commands an operator types: create or update users, load the demo company."""

from __future__ import annotations

import sqlalchemy as sa

from app.demo import DEMO_LOGINS, DEMO_PASSWORD
from app.identity import service
from app.identity.models import User


def create_user(runner, *extra: str):
    return runner.invoke(
        args=["user", "create", "--email", "sam@example.com", "--name", "Sam Support", *extra]
    )


def users_named(session, email: str) -> list[User]:
    session.expire_all()
    return list(session.scalars(sa.select(User).where(User.email == email)))


def test_user_create_creates_a_user_who_can_sign_in(runner, db_session):
    result = create_user(runner, "--password", "a long password", "--role", "agent")

    assert result.exit_code == 0, result.output
    assert "created sam@example.com" in result.output
    [sam] = users_named(db_session, "sam@example.com")
    assert sam.role_pairs() == [("agent", None)]
    signed_in = service.authenticate(
        db_session,
        "sam@example.com",
        "a long password",
        remote_addr=None,
        max_attempts=5,
        window_seconds=900,
    )
    assert signed_in.id == sam.id


def test_user_create_again_replaces_the_roles_of_the_same_user(runner, db_session, make_module):
    fin = make_module("FIN")
    create_user(runner, "--role", "agent")

    result = create_user(runner, "--role", "requester", "--role", "key_user", "--module", "FIN")

    assert result.exit_code == 0, result.output
    assert "updated sam@example.com" in result.output
    [sam] = users_named(db_session, "sam@example.com")
    assert sorted(sam.role_pairs(), key=str) == [("key_user", fin.id), ("requester", None)]


def test_module_scopes_only_the_module_scoped_roles(runner, db_session, make_module):
    fin = make_module("FIN")

    result = create_user(runner, "--role", "agent", "--role", "approver", "--module", "fin")

    assert result.exit_code == 0, result.output
    [sam] = users_named(db_session, "sam@example.com")
    assert sorted(sam.role_pairs(), key=str) == [("agent", None), ("approver", fin.id)]


def test_an_unknown_module_fails_with_a_clear_message(runner, db_session):
    result = create_user(runner, "--role", "key_user", "--module", "NOPE")

    assert result.exit_code != 0
    assert "No module 'NOPE'" in result.output
    assert users_named(db_session, "sam@example.com") == []


def test_an_unknown_role_fails_with_a_clear_message_and_creates_nothing(runner, db_session):
    result = create_user(runner, "--role", "wizard")

    assert result.exit_code != 0
    assert "Unknown role 'wizard'" in result.output
    assert "requester" in result.output  # the message lists the valid roles
    assert users_named(db_session, "sam@example.com") == []


def test_an_unknown_role_next_to_a_module_gets_the_same_clear_message(
    runner, db_session, make_module
):
    make_module("FIN")

    result = create_user(runner, "--role", "wizard", "--module", "FIN")

    assert result.exit_code != 0
    assert "Unknown role 'wizard'" in result.output
    assert "Traceback" not in result.output


def test_demo_load_loads_then_reuses_the_data(runner, db_session):
    first = runner.invoke(args=["demo", "load", "--users", "30", "--months", "2"])
    users_after_first = db_session.scalar(sa.select(sa.func.count(User.id)))

    second = runner.invoke(args=["demo", "load", "--users", "30", "--months", "2"])

    assert first.exit_code == 0, first.output
    assert "demo data loaded" in first.output
    assert "modules=7" in first.output
    assert second.exit_code == 0, second.output
    assert "already present; reusing it" in second.output
    db_session.expire_all()
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == users_after_first


def test_demo_load_prints_the_logins_and_their_password(runner):
    result = runner.invoke(args=["demo", "load", "--users", "5", "--months", "0"])

    assert result.exit_code == 0, result.output
    assert f"password {DEMO_PASSWORD}" in result.output
    for email, _ in DEMO_LOGINS:
        assert email in result.output
