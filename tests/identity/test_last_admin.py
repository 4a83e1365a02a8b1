"""Steward always keeps an active administrator: the last one can neither drop the role nor be
deactivated (409 with a clear message), through the API or the command line."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD


@pytest.fixture
def root(make_user):
    return make_user("admin", email="root@example.com", password=PASSWORD)


@pytest.fixture
def root_api(api_client, root):
    return api_client(root)


def patch_user(api, user, **changes):
    etag = api.get(f"/api/v1/users/{user.id}").headers["ETag"]
    return api.patch(f"/api/v1/users/{user.id}", json=changes, headers={"If-Match": etag})


def roles_of(api, user) -> list[str]:
    return [r["role"] for r in api.get(f"/api/v1/users/{user.id}").get_json()["roles"]]


def test_the_last_admin_cannot_drop_their_admin_role(root_api, root):
    response = patch_user(root_api, root, roles=[{"role": "agent"}])

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "conflict"
    assert "last active administrator" in body["message"]
    assert roles_of(root_api, root) == ["admin"]


def test_the_last_admin_cannot_deactivate_themself(root_api, root):
    response = patch_user(root_api, root, active=False)

    assert response.status_code == 409
    assert "last active administrator" in response.get_json()["message"]
    assert root_api.get("/api/v1/me").status_code == 200


def test_an_admin_may_step_down_once_another_is_active(root_api, root, make_user):
    make_user("admin", email="second@example.com")

    response = patch_user(root_api, root, roles=[{"role": "agent"}])

    assert response.status_code == 200
    assert roles_of(root_api, root) == ["agent"]


def test_an_inactive_admin_does_not_count(root_api, root, make_user):
    make_user("admin", email="gone@example.com", active=False)

    response = patch_user(root_api, root, active=False)

    assert response.status_code == 409


def test_another_admin_can_be_removed_while_one_remains(root_api, make_user):
    other = make_user("admin", email="second@example.com")

    response = patch_user(root_api, other, active=False)

    assert response.status_code == 200


def test_the_command_line_refuses_to_demote_the_last_admin(runner, root):
    result = runner.invoke(
        args=["user", "create", "--email", root.email, "--name", "Root", "--role", "agent"]
    )

    assert result.exit_code != 0
    assert "last active administrator" in result.output
