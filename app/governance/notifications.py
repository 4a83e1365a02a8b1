"""Who hears about what in governance. Only decides and enqueues (through the outbox); the
sending is ``jobs.py``. Every message has a dedupe key, so a job or a publication run twice
sends nothing twice: one mail per published minutes version, one reminder per action item and
due date, one escalation per action item and due date, one alert per risk state.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.outbox import enqueue
from app.governance.models import ActionItem, Meeting, MinutesVersion, Risk

EMAIL_JOB = "app.governance.jobs.send_governance_email"


def minutes_published(session: Session, meeting: Meeting, version: MinutesVersion) -> None:
    enqueue(
        session,
        EMAIL_JOB,
        dedupe_key=f"governance:minutes:{meeting.id}:v{version.number}",
        ordering_key=f"governance:meeting:{meeting.id}",
        event="minutes_published",
        meeting_id=meeting.id,
        number=version.number,
    )


def action_reminder(session: Session, item: ActionItem) -> bool:
    return (
        enqueue(
            session,
            EMAIL_JOB,
            dedupe_key=f"governance:action-reminder:{item.id}:{item.due_date.isoformat()}",
            event="action_reminder",
            action_id=item.id,
        )
        is not None
    )


def action_escalation(session: Session, item: ActionItem) -> bool:
    return (
        enqueue(
            session,
            EMAIL_JOB,
            dedupe_key=f"governance:action-escalation:{item.id}:{item.due_date.isoformat()}",
            event="action_escalation",
            action_id=item.id,
        )
        is not None
    )


def risk_alert(session: Session, risk: Risk, reason: str) -> bool:
    """Tell the owner once per reason and state (a new score or review date alerts again)."""
    state = f"{risk.score}" if reason == "score" else f"{risk.review_by}"
    return (
        enqueue(
            session,
            EMAIL_JOB,
            dedupe_key=f"governance:risk-{reason}:{risk.id}:{state}",
            event=f"risk_{reason}",
            risk_id=risk.id,
        )
        is not None
    )


def report_ready(session: Session, committee_id: int, period: str) -> bool:
    return (
        enqueue(
            session,
            EMAIL_JOB,
            queue="low",
            dedupe_key=f"governance:report:{committee_id}:{period}",
            event="report",
            committee_id=committee_id,
            period=period,
        )
        is not None
    )
