"""The users API, for administrators: create users with (module-scoped) roles, change them
without losing a concurrent edit, and find them again. Every change lands in the audit log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.identity.models import User
from tests.factories import PASSWORD


@pytest.fixture
def admin(make_user, api_client):
    return api_client(make_user("admin", email="root@example.com"))


def by_role(roles: list[dict]) -> list[dict]:
    return sorted(roles, key=lambda r: (r["role"], r["module"] or ""))


def test_admin_creates_a_user_with_a_module_scoped_role(admin, make_module):
    make_module("FIN")

    response = admin.post(
        "/api/v1/users",
        json={
            "email": "kim@example.com",
            "name": "Kim Keyuser",
            "department": "Finance",
            "roles": [{"role": "requester"}, {"role": "key_user", "module": "FIN"}],
        },
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["email"] == "kim@example.com"
    assert by_role(body["roles"]) == [
        {"role": "key_user", "module": "FIN"},
        {"role": "requester", "module": None},
    ]
    assert response.headers["ETag"]
    again = admin.get(f"/api/v1/users/{body['id']}")
    assert by_role(again.get_json()["roles"]) == by_role(body["roles"])


def test_a_role_for_an_unknown_module_is_422(admin, db_session):
    response = admin.post(
        "/api/v1/users",
        json={
            "email": "kim@example.com",
            "name": "Kim",
            "roles": [{"role": "key_user", "module": "NOPE"}],
        },
    )

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert "NOPE" in body["errors"]["roles"][0]
    assert db_session.scalar(sa.select(User).where(User.email == "kim@example.com")) is None


def test_a_module_on_a_role_that_applies_everywhere_is_422(admin, make_module):
    make_module("FIN")

    response = admin.post(
        "/api/v1/users",
        json={
            "email": "sam@example.com",
            "name": "Sam",
            "roles": [{"role": "agent", "module": "FIN"}],
        },
    )

    assert response.status_code == 422
    assert "agent" in response.get_json()["message"]


def test_an_unknown_role_is_422(admin):
    response = admin.post(
        "/api/v1/users",
        json={"email": "sam@example.com", "name": "Sam", "roles": [{"role": "wizard"}]},
    )

    assert response.status_code == 422
    assert "roles" in response.get_json()["errors"]


def test_a_non_admin_cannot_create_users(make_user, api_client):
    agent = api_client(make_user("agent"))

    response = agent.post("/api/v1/users", json={"email": "x@example.com", "name": "X"})

    assert response.status_code == 403


def test_passwords_are_stored_as_argon2_hashes(admin, db_session):
    response = admin.post(
        "/api/v1/users",
        json={"email": "ana@example.com", "name": "Ana", "password": PASSWORD, "roles": []},
    )

    assert response.status_code == 201
    assert PASSWORD not in response.get_data(as_text=True)
    stored = db_session.scalar(sa.select(User.password_hash).where(User.email == "ana@example.com"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_too_short_password_is_422(admin):
    response = admin.post(
        "/api/v1/users", json={"email": "ana@example.com", "name": "Ana", "password": "short"}
    )

    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]


def test_patch_without_if_match_is_428(admin, make_user):
    user = make_user("requester")

    response = admin.patch(f"/api/v1/users/{user.id}", json={"name": "New Name"})

    assert response.status_code == 428
    assert response.get_json()["code"] == "precondition_required"


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(admin, make_user, db_session):
    user = make_user("requester", name="Old Name")
    first = admin.get(f"/api/v1/users/{user.id}").headers["ETag"]
    assert (
        admin.patch(
            f"/api/v1/users/{user.id}", json={"name": "Second"}, headers={"If-Match": first}
        ).status_code
        == 200
    )

    response = admin.patch(
        f"/api/v1/users/{user.id}", json={"name": "Lost Update"}, headers={"If-Match": first}
    )

    assert response.status_code == 412
    assert response.get_json()["code"] == "precondition_failed"
    assert admin.get(f"/api/v1/users/{user.id}").get_json()["name"] == "Second"


def test_patch_with_the_current_etag_applies_and_sends_a_new_one(admin, make_user):
    user = make_user("requester")
    etag = admin.get(f"/api/v1/users/{user.id}").headers["ETag"]

    response = admin.patch(
        f"/api/v1/users/{user.id}",
        json={"department": "Sales", "active": False},
        headers={"If-Match": etag},
    )

    assert response.status_code == 200
    assert response.get_json()["department"] == "Sales"
    assert response.get_json()["active"] is False
    assert response.headers["ETag"] != etag


def test_a_role_only_change_also_makes_the_old_etag_stale(admin, make_user, make_module):
    make_module("FIN")
    user = make_user("requester")
    etag = admin.get(f"/api/v1/users/{user.id}").headers["ETag"]

    changed = admin.patch(
        f"/api/v1/users/{user.id}",
        json={"roles": [{"role": "requester"}, {"role": "approver", "module": "FIN"}]},
        headers={"If-Match": etag},
    )
    stale = admin.patch(f"/api/v1/users/{user.id}", json={"roles": []}, headers={"If-Match": etag})

    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert stale.status_code == 412


def test_a_role_change_is_audited_with_before_and_after(admin, make_user, make_module):
    fin = make_module("FIN")
    user = make_user("requester")
    etag = admin.get(f"/api/v1/users/{user.id}").headers["ETag"]

    admin.patch(
        f"/api/v1/users/{user.id}",
        json={"roles": [{"role": "key_user", "module": "FIN"}]},
        headers={"If-Match": etag},
    )

    events = admin.get(f"/api/v1/audit-events?entity_type=user&entity_id={user.id}").get_json()[
        "items"
    ]
    latest = events[0]
    assert latest["action"] == "updated"
    assert latest["actor"] == "root@example.com"
    assert latest["changes"]["roles"] == [[["requester", None]], [["key_user", fin.id]]]
    assert events[-1]["action"] == "created"


def test_a_password_change_is_audited_without_the_password(admin, make_user):
    user = make_user("requester", password=PASSWORD)
    etag = admin.get(f"/api/v1/users/{user.id}").headers["ETag"]

    admin.patch(
        f"/api/v1/users/{user.id}",
        json={"password": "a brand new secret"},
        headers={"If-Match": etag},
    )

    audit = admin.get(f"/api/v1/audit-events?entity_type=user&entity_id={user.id}")
    assert audit.get_json()["items"][0]["changes"]["password"] == ["***", "***"]
    assert "a brand new secret" not in audit.get_data(as_text=True)


def test_a_changed_password_is_the_one_that_signs_in(admin, make_user, client):
    user = make_user("requester", email="ana@example.com", password=PASSWORD)
    etag = admin.get(f"/api/v1/users/{user.id}").headers["ETag"]
    admin.patch(
        f"/api/v1/users/{user.id}",
        json={"password": "a brand new secret"},
        headers={"If-Match": etag},
    )

    old = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    new = client.post(
        "/api/v1/auth/tokens", json={"email": user.email, "password": "a brand new secret"}
    )

    assert (old.status_code, new.status_code) == (401, 201)


def test_list_filters_by_role(admin, make_user):
    make_user("agent", email="sam@example.com")
    make_user("requester", email="rita@example.com")

    response = admin.get("/api/v1/users?role=agent")

    assert response.status_code == 200
    assert [u["email"] for u in response.get_json()["items"]] == ["sam@example.com"]


def test_list_filters_by_text_in_email_or_name(admin, make_user):
    make_user(email="sam@example.com", name="Sam Support")
    make_user(email="rita@example.com", name="Rita Requester")
    make_user(email="zed@example.com", name="Samantha Zed")

    by_email = admin.get("/api/v1/users?q=RITA").get_json()["items"]
    by_name = admin.get("/api/v1/users?q=sam").get_json()["items"]

    assert [u["email"] for u in by_email] == ["rita@example.com"]
    assert [u["email"] for u in by_name] == ["sam@example.com", "zed@example.com"]


def test_list_pages_with_a_cursor_in_email_order(admin, make_user):
    for local in ("d", "b", "c", "a"):
        make_user(email=f"{local}@example.com")

    first = admin.get("/api/v1/users?limit=3").get_json()
    second = admin.get(f"/api/v1/users?limit=3&cursor={first['next_cursor']}").get_json()

    emails = [u["email"] for u in first["items"] + second["items"]]
    assert emails == sorted(emails)
    assert set(emails) == {"a@example.com", "b@example.com", "c@example.com", "d@example.com"} | {
        "root@example.com"
    }
    assert second["next_cursor"] is None


def test_an_unknown_user_is_404(admin):
    response = admin.get("/api/v1/users/999999")

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"
