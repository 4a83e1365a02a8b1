"""Concurrent edits are detected, not lost: ETags, If-Match, and the version check underneath."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.catalogue.models import Module
from app.core.clock import utcnow
from app.core.db import db
from app.core.errors import PreconditionRequired, StaleWrite
from app.core.etag import check_if_match, etag_for


@pytest.fixture
def fin(make_module):
    return make_module("FIN", name="Finance")


@pytest.fixture
def admin_api(make_user, api_client):
    return api_client(make_user("admin"))


def module_name(session, code: str = "FIN") -> str:
    session.expire_all()
    return session.scalar(select(Module.name).where(Module.code == code))


# --- through the API ------------------------------------------------------------------------


def test_reading_a_module_gives_its_etag(admin_api, fin):
    response = admin_api.get("/api/v1/modules/FIN")

    assert response.status_code == 200
    assert response.headers["ETag"] == '"module-FIN-v1"'


def test_a_change_without_if_match_is_refused_with_428_and_nothing_changes(
    admin_api, fin, db_session
):
    response = admin_api.patch("/api/v1/modules/FIN", json={"name": "Finance & Control"})

    assert response.status_code == 428
    assert response.get_json()["code"] == "precondition_required"
    assert module_name(db_session) == "Finance"


def test_a_change_with_a_stale_etag_is_refused_with_412_and_nothing_changes(
    admin_api, fin, db_session
):
    response = admin_api.patch(
        "/api/v1/modules/FIN",
        json={"name": "Finance & Control"},
        headers={"If-Match": '"module-FIN-v0"'},
    )

    assert response.status_code == 412
    assert response.get_json()["code"] == "precondition_failed"
    assert module_name(db_session) == "Finance"


def test_a_change_with_the_current_etag_succeeds_and_gives_a_new_one(admin_api, fin, db_session):
    etag = admin_api.get("/api/v1/modules/FIN").headers["ETag"]

    response = admin_api.patch(
        "/api/v1/modules/FIN", json={"name": "Finance & Control"}, headers={"If-Match": etag}
    )

    assert response.status_code == 200
    assert response.get_json()["name"] == "Finance & Control"
    new_etag = response.headers["ETag"]
    assert new_etag != etag
    assert admin_api.get("/api/v1/modules/FIN").headers["ETag"] == new_etag
    assert module_name(db_session) == "Finance & Control"


def test_of_two_editors_who_read_the_same_version_the_second_is_told_412(
    make_user, api_client, fin, db_session
):
    alice, bob = api_client(make_user("admin")), api_client(make_user("admin"))
    etag_alice = alice.get("/api/v1/modules/FIN").headers["ETag"]
    etag_bob = bob.get("/api/v1/modules/FIN").headers["ETag"]

    first = alice.patch(
        "/api/v1/modules/FIN", json={"name": "Alice's name"}, headers={"If-Match": etag_alice}
    )
    second = bob.patch(
        "/api/v1/modules/FIN", json={"name": "Bob's name"}, headers={"If-Match": etag_bob}
    )

    assert (first.status_code, second.status_code) == (200, 412)
    assert module_name(db_session) == "Alice's name"


def test_a_write_that_lands_between_the_etag_check_and_the_save_is_still_detected(
    app, admin_api, fin, db_session, frozen_clock
):
    """The If-Match check passes, then another process commits first: the version check catches
    it when the request flushes, and the client gets a 412, not a silent overwrite."""
    frozen_clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    etag = admin_api.get("/api/v1/modules/FIN").headers["ETag"]
    # a recent last use: the PATCH's own transaction then writes nothing but the module
    db_session.execute(text("UPDATE api_tokens SET last_used_at = :now"), {"now": utcnow()})
    db_session.commit()

    def someone_else_commits_first(mapper, connection, target):
        with db.engine.connect() as other:
            other.execute(
                text("UPDATE modules SET name = 'Theirs', version = version + 1 WHERE code = 'FIN'")
            )
            other.commit()

    event.listen(Module, "before_update", someone_else_commits_first, once=True)
    try:
        response = admin_api.patch(
            "/api/v1/modules/FIN", json={"name": "Mine"}, headers={"If-Match": etag}
        )
    finally:
        if event.contains(Module, "before_update", someone_else_commits_first):
            event.remove(Module, "before_update", someone_else_commits_first)

    assert response.status_code == 412
    assert response.get_json()["code"] == "precondition_failed"
    assert module_name(db_session) == "Theirs"


def test_the_etag_wildcard_matches_any_version(admin_api, fin):
    response = admin_api.patch(
        "/api/v1/modules/FIN", json={"name": "Finance & Control"}, headers={"If-Match": "*"}
    )

    assert response.status_code == 200


# --- the version underneath -----------------------------------------------------------------


def test_two_sessions_saving_the_same_version_the_second_fails(app, fin, db_session):
    with Session(db.engine) as first, Session(db.engine) as second:
        mine = first.scalar(select(Module).where(Module.code == "FIN"))
        theirs = second.scalar(select(Module).where(Module.code == "FIN"))
        mine.name = "Mine"
        first.commit()

        theirs.name = "Theirs"
        with pytest.raises(StaleDataError):
            second.commit()

    assert module_name(db_session) == "Mine"


def test_each_saved_change_bumps_the_version(fin, db_session):
    fin.name = "Finance & Control"
    db_session.commit()
    fin.description = "General ledger"
    db_session.commit()

    assert fin.version == 3


# --- the header rules -----------------------------------------------------------------------


def test_an_etag_names_the_kind_the_key_and_the_version_in_quotes():
    assert etag_for("module", "FIN", 3) == '"module-FIN-v3"'


@pytest.mark.parametrize(
    "if_match",
    ['"module-FIN-v3"', 'W/"module-FIN-v3"', '"module-FIN-v2", "module-FIN-v3"', "*"],
)
def test_if_match_accepts_the_current_tag_among_others_weak_or_wildcard(if_match):
    check_if_match(if_match, '"module-FIN-v3"')


@pytest.mark.parametrize("if_match", ['"module-FIN-v2"', "module-FIN-v3", '"module-SAL-v3"'])
def test_if_match_refuses_any_other_tag(if_match):
    with pytest.raises(StaleWrite):
        check_if_match(if_match, '"module-FIN-v3"')


@pytest.mark.parametrize("if_match", [None, ""])
def test_if_match_is_required(if_match):
    with pytest.raises(PreconditionRequired):
        check_if_match(if_match, '"module-FIN-v3"')
