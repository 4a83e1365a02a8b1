"""Request helpers of the access-rights suites (the people are in conftest.py)."""

from __future__ import annotations

from sqlalchemy import select

from app.access.models import AccessGrant
from app.core.audit import AuditEvent
from app.core.outbox import OutboxMessage
from app.identity.models import User


def ask(client, roles: list[str], user: str | None = None, **extra):
    body = {"roles": roles, "justification": "Needed for month-end closing.", **extra}
    if user:
        body["user"] = user
    return client.post("/api/v1/access/requests", json=body)


def asked(client, roles: list[str], user: str | None = None, **extra) -> dict:
    response = ask(client, roles, user, **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def decide(client, ref: str, decision: str = "approve", comment: str | None = "ok"):
    return client.post(
        f"/api/v1/access/requests/{ref}/approvals", json={"decision": decision, "comment": comment}
    )


def approved(api: dict, roles: list[str], approvers=("fiona",), user: str | None = None) -> dict:
    """A request by Rita (or for ``user``) approved by ``approvers``."""
    data = asked(api["rita"] if user is None else api["ada"], roles, user)
    for name in approvers:
        response = decide(api[name], data["ref"])
        assert response.status_code == 201, response.get_json()
        data = response.get_json()
    assert data["status"] == "approved", data
    return data


def grants_of(db_session, email: str) -> list[AccessGrant]:
    return list(
        db_session.scalars(
            select(AccessGrant)
            .join(User, User.id == AccessGrant.user_id)
            .where(User.email == email)
            .order_by(AccessGrant.id)
        )
    )


def audit_actions(db_session, entity_type: str, entity_id) -> list[str]:
    return list(
        db_session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id)
        )
    )


def outbox_of(db_session, job_suffix: str) -> list[dict]:
    return [
        m.kwargs
        for m in db_session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.job.endswith(job_suffix))
            .order_by(OutboxMessage.id)
        )
    ]
