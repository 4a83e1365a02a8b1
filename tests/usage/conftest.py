"""Usage fixtures: the ERP's service account and its client, modules, and sending batches."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from app.identity.service import save_user


@pytest.fixture
def modules(make_module) -> dict[str, object]:
    return {code: make_module(code) for code in ("FIN", "SAL", "HR")}


@pytest.fixture
def service_account(db_session):
    account, _ = save_user(
        db_session,
        None,
        email="erp-feed@example.com",
        name="ERP usage feed",
        roles=[],
        is_service_account=True,
    )
    db_session.commit()
    return account


@pytest.fixture
def erp(as_, service_account, modules):
    """The ERP: a service account whose token carries ``usage:ingest``."""
    return as_(service_account, scopes=["usage:ingest"])


def send(client, events: list, *, ndjson: bool = False):
    """POST a batch as a JSON array, or as NDJSON."""
    if ndjson:
        body = "\n".join(json.dumps(e) for e in events) + "\n"
        return client.post(
            "/api/v1/usage-events", data=body, headers={"Content-Type": "application/x-ndjson"}
        )
    return client.post("/api/v1/usage-events", json=events)


def event(n: int | str, **fields) -> dict:
    """An event that passes every check, with ``fields`` replaced."""
    base = {
        "event_id": f"e-{n}",
        "user": "alice@example.com",
        "module": "FIN",
        "action": "invoice.post",
        "occurred_at": "2026-11-30T10:00:00+00:00",
    }
    base.update(fields)
    return base


@pytest.fixture
def sent(erp) -> Callable[..., dict]:
    """sent(events, ndjson=False) -> the 200 answer's body."""

    def post(events: list, *, ndjson: bool = False) -> dict:
        response = send(erp, events, ndjson=ndjson)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return post
