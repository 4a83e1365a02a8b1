"""The identity service on its own: saving users is idempotent on the email, logins check the
right things, and every change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.clock import utcnow
from app.core.errors import Unauthenticated, ValidationFailed
from app.identity import service
from app.identity.models import LoginAttempt, User
from tests.factories import PASSWORD


def IN_A_DAY():
    return utcnow() + timedelta(days=1)


def login(session, email, password=PASSWORD):
    return service.authenticate(
        session, email, password, remote_addr="127.0.0.1", max_attempts=5, window_seconds=900
    )


def user_count(session) -> int:
    return session.scalar(sa.select(sa.func.count(User.id)))


def test_saving_the_same_email_twice_updates_roles_instead_of_duplicating(db_session, make_module):
    fin = make_module("FIN")
    first, created_first = service.save_user(
        db_session, None, email="kim@example.com", name="Kim", roles=[("agent", None)]
    )

    second, created_second = service.save_user(
        db_session,
        None,
        email="kim@example.com",
        name="Kim",
        roles=[("requester", None), ("key_user", fin.id)],
    )

    assert (created_first, created_second) == (True, False)
    assert second.id == first.id
    assert user_count(db_session) == 1
    assert sorted(second.role_pairs(), key=str) == [("key_user", fin.id), ("requester", None)]


def test_emails_are_stored_trimmed_and_lower_case(db_session):
    user, _ = service.save_user(
        db_session, None, email="  Kim.Keyuser@Example.COM ", name="Kim", roles=[]
    )

    assert user.email == "kim.keyuser@example.com"


def test_an_email_in_another_case_finds_the_same_user(db_session):
    service.save_user(db_session, None, email="kim@example.com", name="Kim", roles=[])

    _, created = service.save_user(db_session, None, email="KIM@example.com", name="Kim", roles=[])

    assert not created
    assert user_count(db_session) == 1
    assert service.find_user_by_email(db_session, "Kim@Example.com") is not None


def test_saving_unchanged_values_writes_no_audit_event(db_session):
    service.save_user(db_session, None, email="kim@example.com", name="Kim", roles=[])
    before = db_session.scalar(sa.select(sa.func.count(AuditEvent.id)))

    service.save_user(db_session, None, email="kim@example.com", name="Kim", roles=[])

    assert db_session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before


def test_an_unknown_role_is_refused(db_session):
    with pytest.raises(ValidationFailed) as refused:
        service.save_user(db_session, None, email="x@example.com", name="X", roles=[("boss", None)])

    assert "boss" in refused.value.message


def test_a_module_scope_on_a_global_role_is_refused(db_session, make_module):
    fin = make_module("FIN")

    with pytest.raises(ValidationFailed):
        service.save_user(
            db_session, None, email="x@example.com", name="X", roles=[("admin", fin.id)]
        )


def test_the_right_password_signs_in_and_records_the_attempt(db_session, make_user):
    make_user(email="ana@example.com", password=PASSWORD)

    user = login(db_session, "ANA@example.com")

    assert user.email == "ana@example.com"
    assert user.last_login_at is not None
    attempt = db_session.scalar(sa.select(LoginAttempt))
    assert (attempt.email, attempt.succeeded) == ("ana@example.com", True)


def test_a_wrong_password_is_refused(db_session, make_user):
    make_user(email="ana@example.com", password=PASSWORD)

    with pytest.raises(Unauthenticated):
        login(db_session, "ana@example.com", "not the password")


def test_an_unknown_email_is_refused_like_a_wrong_password(db_session):
    with pytest.raises(Unauthenticated) as refused:
        login(db_session, "ghost@example.com")

    assert refused.value.message == "Wrong email or password."


def test_an_inactive_user_cannot_sign_in(db_session, make_user):
    make_user(email="ana@example.com", password=PASSWORD, active=False)

    with pytest.raises(Unauthenticated):
        login(db_session, "ana@example.com")


def test_a_service_account_cannot_sign_in_with_a_password(db_session):
    service.save_user(
        db_session,
        None,
        email="erp@example.com",
        name="ERP usage feed",
        password=PASSWORD,
        roles=[],
        is_service_account=True,
    )

    with pytest.raises(Unauthenticated):
        login(db_session, "erp@example.com")


def test_a_user_without_a_password_cannot_sign_in_with_an_empty_one(db_session, make_user):
    make_user(email="sso@example.com", password=None)

    with pytest.raises(Unauthenticated):
        login(db_session, "sso@example.com", "")


def test_a_token_resolves_to_its_holder_with_its_scopes(db_session, make_user):
    agent = make_user("agent")
    _, secret = service.issue_token(
        db_session, None, agent, name="cli", scopes=["ticket:create"], expires_at=IN_A_DAY()
    )

    holder = service.user_for_token(db_session, secret)

    assert holder.id == agent.id
    assert holder.token_scopes == ["ticket:create"]


def test_a_tampered_token_resolves_to_nobody(db_session, make_user):
    _, secret = service.issue_token(
        db_session, None, make_user("agent"), name="cli", scopes=["*"], expires_at=IN_A_DAY()
    )

    assert (
        service.user_for_token(db_session, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
        is None
    )
