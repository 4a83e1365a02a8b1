"""Governance work the workers run: reminders and escalations of action items, risk alerts,
the monthly report to each committee, the governance indicators, and the mails themselves.

Each periodic job may run any number of times: what it sends is keyed in the outbox (one
reminder per action and due date, one alert per risk state, one report per committee and
month) and what it stores is one snapshot per indicator and day, rewritten.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.mail import send_email
from app.core.schedule import Periodic
from app.governance import notifications, pulse, risks
from app.governance.actions import ActionStatus, overdue_clause
from app.governance.budget import budget_year
from app.governance.models import ActionItem, Committee, Meeting, MinutesVersion, Risk
from app.governance.report import build_report
from app.governance.service import member_emails
from app.identity.models import User
from app.indicators.models import IndicatorSnapshot, dimension_of

# a reminder goes this many days before the due date
REMIND_DAYS_BEFORE = 2
SATISFACTION_KEY = "product_satisfaction_average"
BUDGET_KEY = "budget_consumption_ratio"


def remind_and_escalate_actions(session: Session) -> dict[str, int]:
    """Remind owners of open actions due soon; escalate overdue ones to the chair."""
    today = utcnow().date()
    soon = today + timedelta(days=REMIND_DAYS_BEFORE)
    reminded = escalated = 0
    due_soon = session.scalars(
        select(ActionItem).where(
            ActionItem.status == ActionStatus.OPEN,
            ActionItem.due_date >= today,
            ActionItem.due_date <= soon,
        )
    )
    for item in due_soon:
        reminded += notifications.action_reminder(session, item)
    for item in session.scalars(select(ActionItem).where(overdue_clause(today))):
        escalated += notifications.action_escalation(session, item)
    return {"reminded": reminded, "escalated": escalated}


def alert_risks(session: Session) -> int:
    """Tell the owner of each risk above the threshold or past its review date, once."""
    today, threshold = utcnow().date(), risks.alert_threshold()
    sent = 0
    for risk in risks.needing_attention(session, today, threshold):
        if risk.score >= threshold:
            sent += notifications.risk_alert(session, risk, "score")
        if risk.review_by is not None and risk.review_by < today:
            sent += notifications.risk_alert(session, risk, "review")
    return sent


def email_monthly_report(session: Session) -> int:
    """Once a month, the previous month's report to every committee."""
    today = utcnow().date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    sent = 0
    for committee_id in session.scalars(select(Committee.id).order_by(Committee.id)):
        sent += notifications.report_ready(session, committee_id, last_month)
    return sent


def _store(session: Session, key: str, day: date, value: float | None) -> None:
    row = session.scalar(
        select(IndicatorSnapshot).where(
            IndicatorSnapshot.key == key,
            IndicatorSnapshot.day == day,
            IndicatorSnapshot.dimension == dimension_of(None),
        )
    )
    if row is None:
        row = IndicatorSnapshot(key=key, day=day, dimension=dimension_of(None))
        session.add(row)
    row.value, row.computed_at = value, utcnow()


def record_governance_indicators(session: Session) -> dict[str, float | None]:
    """Today's budget consumption (actual / planned to date) and product satisfaction."""
    today = utcnow().date()
    year = budget_year(session, None, today.year, today)
    planned = year.total.planned_to_date
    ratio = float(year.total.actual_to_date / planned) if planned > 0 else None
    _, satisfaction = pulse.latest_average(session)
    _store(session, BUDGET_KEY, today, None if ratio is None else round(ratio, 4))
    _store(session, SATISFACTION_KEY, today, satisfaction)
    session.flush()
    return {BUDGET_KEY: ratio, SATISFACTION_KEY: satisfaction}


# --- the mails -------------------------------------------------------------------------------


def _url(path: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}{path}"


def _minutes_text(version: MinutesVersion) -> str:
    content = version.content
    lines = [f"Minutes of {content['committee']}, {content['scheduled_at'][:10]}"]
    if version.number > 1:
        lines.append(f"(correction: version {version.number})")
    lines += ["", "Attendees: " + (", ".join(content["attendees"]) or "—"), ""]
    if content.get("notes"):
        lines += [content["notes"], ""]
    for point in content["points"]:
        lines.append(f"{point['position']}. {point['title']}")
        if point.get("notes"):
            lines.append(f"   {point['notes']}")
    if content["decisions"]:
        lines += ["", "Decisions:"]
        lines += [f"- {d['text']}" for d in content["decisions"]]
    if content["actions"]:
        lines += ["", "Actions:"]
        lines += [f"- {a['title']} ({a['owner']}, by {a['due_date']})" for a in content["actions"]]
    lines += ["", f"Open the meeting: {_url(f'/governance/meetings/{version.meeting_id}')}"]
    return "\n".join(lines)


def _chair_email(session: Session, item: ActionItem) -> list[str]:
    meeting = session.get(Meeting, item.meeting_id) if item.meeting_id else None
    chairs = [meeting.committee.chair] if meeting and meeting.committee.chair else []
    if not chairs:  # an action given outside a meeting: escalate to whoever gave it
        creator = session.get(User, item.created_by_id) if item.created_by_id else None
        chairs = [creator] if creator else []
    return [c.email for c in chairs if c.active]


def send_governance_email(session: Session, *, event: str, **ids) -> list[str]:
    """Send one governance mail; returns the recipients (none when the subject is gone)."""
    config = current_app.config
    if event == "minutes_published":
        version = session.scalar(
            select(MinutesVersion).where(
                MinutesVersion.meeting_id == ids["meeting_id"],
                MinutesVersion.number == ids["number"],
            )
        )
        if version is None:
            return []
        to = member_emails(version.meeting.committee)
        subject = f"Minutes: {version.content['committee']} {version.content['scheduled_at'][:10]}"
        send_email(config, to, subject, _minutes_text(version))
        return to
    if event in ("action_reminder", "action_escalation"):
        item = session.get(ActionItem, ids["action_id"])
        if item is None or item.status != ActionStatus.OPEN:
            return []
        if event == "action_reminder":
            to = [item.owner.email] if item.owner.active else []
            subject = f"Action due {item.due_date.isoformat()}: {item.title}"
        else:
            to = _chair_email(session, item)
            subject = f"Overdue action ({item.owner.name}): {item.title}"
        body = f"{item.title}\nOwner: {item.owner.name}\nDue: {item.due_date.isoformat()}\n\n"
        send_email(config, to, subject, body + _url("/governance/actions"))
        return to
    if event in ("risk_score", "risk_review"):
        risk = session.get(Risk, ids["risk_id"])
        if risk is None or risk.status not in risks.LIVE:
            return []
        to = [risk.owner.email] if risk.owner.active else []
        why = f"score {risk.score}" if event == "risk_score" else f"review due {risk.review_by}"
        send_email(
            config,
            to,
            f"Risk needs attention ({why}): {risk.title}",
            f"{risk.title}\n{risk.mitigation or ''}\n\n{_url('/governance/risks')}",
        )
        return to
    if event == "report":
        committee = session.get(Committee, ids["committee_id"])
        if committee is None:
            return []
        report = build_report(session, None, ids["period"])
        to = member_emails(committee)
        lines = [f"Governance report {report['period']['label']}", ""]
        lines += [f"- {o['title']}: {o['status'] or 'no target'}" for o in report["objectives"]]
        lines += ["", f"Overdue actions: {report['actions']['overdue']}"]
        lines += ["", _url(f"/governance/report?period={ids['period']}")]
        send_email(config, to, f"Governance report {ids['period']}", "\n".join(lines))
        return to
    return []


PERIODIC = (
    Periodic("app.governance.jobs.remind_and_escalate_actions", 3600),
    Periodic("app.governance.jobs.alert_risks", 3600),
    Periodic("app.governance.jobs.email_monthly_report", 6 * 3600),
    Periodic("app.governance.jobs.record_governance_indicators", 3600),
)
