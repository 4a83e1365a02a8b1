"""The people of the enhancement stories: one per role, through the API or signed in."""

from __future__ import annotations

import pytest

from tests.enhancements.helpers import act, decide, ok, qualify, submitted
from tests.factories import PASSWORD

EMAILS = {
    "requester": ("rita@example.com", None),
    "other_requester": ("otto@example.com", None),
    "key_user": ("kim@example.com", "FIN"),
    "agent": ("alex@example.com", None),
    "product_owner": ("paula@example.com", "FIN"),
    "approver": ("arno@example.com", "FIN"),
    "committee_member": ("carla@example.com", None),
    "auditor": ("audrey@example.com", None),
    "admin": ("ada@example.com", None),
}


class Cast(dict):
    """people["role"]: the person of that role (module-scoped roles in Finance), made the
    first time a test asks for them, so a test pays only for the people in its story."""

    def __init__(self, build) -> None:
        super().__init__()
        self.build = build

    def __missing__(self, role: str):
        value = self[role] = self.build(role)
        return value


@pytest.fixture
def people(make_user, finance, make_module):
    make_module("HR", name="Human resources")

    def build(role: str):
        email, module = EMAILS[role]
        name = email.split("@")[0].title()
        kind = "requester" if role == "other_requester" else role
        return make_user(kind, module=module, email=email, name=name, password=PASSWORD)

    return Cast(build)


@pytest.fixture
def api(people, as_):
    """api["role"]: the API as the person of that role."""
    return Cast(lambda role: as_(people[role]))


@pytest.fixture
def web(people, signed_in):
    """web["role"]: a browser signed in as the person of that role."""
    return Cast(lambda role: signed_in(people[role]))


@pytest.fixture
def under_review(api) -> str:
    """A request of Rita's, reviewed by the product owner."""
    ref = submitted(api["requester"])["ref"]
    ok(act(api["product_owner"], ref, "review"))
    return ref


@pytest.fixture
def approved(api, under_review) -> str:
    ok(qualify(api["product_owner"], under_review))
    ok(decide(api["committee_member"], under_review))
    return under_review
