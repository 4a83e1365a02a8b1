"""Request helpers the enhancement tests share: submit, act, qualify, decide, and what the
audit log and the outbox hold."""

from __future__ import annotations

from sqlalchemy import select

from app.core.audit import AuditEvent
from app.core.outbox import OutboxMessage
from app.enhancements.notifications import EMAIL_JOB

REQUEST = {
    "title": "Match supplier invoices to receipts",
    "problem": "Clerks match 400 invoices a week by hand; mistakes delay payments.",
    "benefit": "Two days a week saved; fewer late-payment fees.",
    "module": "FIN",
}
SCORES = {"business_value": 8, "time_criticality": 5, "risk_reduction": 3, "job_size": 5}
ROLES = (
    "requester",
    "other_requester",
    "key_user",
    "agent",
    "product_owner",
    "approver",
    "committee_member",
    "auditor",
    "admin",
)


def submit(client, **fields):
    return client.post("/api/v1/enhancements", json={**REQUEST, **fields})


def submitted(client, **fields) -> dict:
    response = submit(client, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def act(client, ref: str, action: str, **headers):
    return client.post(
        f"/api/v1/enhancements/{ref}/transitions", json={"action": action}, headers=headers
    )


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def qualify(client, ref: str, **scores):
    return client.post(f"/api/v1/enhancements/{ref}/qualification", json={**SCORES, **scores})


def decide(client, ref: str, decision: str = "approve", rationale: str | None = "Worth it."):
    body = {"decision": decision}
    if rationale is not None:
        body["rationale"] = rationale
    return client.post(f"/api/v1/enhancements/{ref}/decision", json=body)


def audit_of(db_session, ref: str) -> list[AuditEvent]:
    return list(
        db_session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "enhancement", AuditEvent.entity_id == ref)
            .order_by(AuditEvent.id)
        )
    )


def mails(db_session) -> list[dict]:
    """The enhancement emails waiting in the outbox: their event and audience."""
    rows = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.job == EMAIL_JOB).order_by(OutboxMessage.id)
    )
    return [{"event": m.kwargs["event"], "audience": m.kwargs["audience"]} for m in rows]
