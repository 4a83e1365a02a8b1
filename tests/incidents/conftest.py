"""Fixtures of the agents' desk tests: one person per role, and their API clients."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD

ROLES = {
    "requester": ("requester", None),
    "key_user": ("key_user", "FIN"),
    "agent": ("agent", None),
    "product_owner": ("product_owner", "FIN"),
    "auditor": ("auditor", None),
    "admin": ("admin", None),
}


@pytest.fixture
def desk_people(make_user, finance):
    return {
        name: make_user(
            role, module, email=f"{name}@example.com", name=name.title(), password=PASSWORD
        )
        for name, (role, module) in ROLES.items()
    }


@pytest.fixture
def desk_api(as_, desk_people):
    clients: dict = {}

    def client(name: str):
        if name not in clients:
            clients[name] = as_(desk_people[name])
        return clients[name]

    return client
