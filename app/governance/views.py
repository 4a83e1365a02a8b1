"""Governance pages: the committee's home, committees and meetings (agenda, minutes,
publication), my actions, the risk register with its heat map, the run budget, pulse surveys
(the home page banner and the results) and the report with its PDF and CSV.

Every form answers with a redirect (Post/Redirect/Get, ``app.core.forms``); a refused one
comes back to its page with the message. Forms are shown only to those who may send them, and
every handler checks the permission of its action again through the services.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.catalogue.service import module_refs
from app.core import forms
from app.core.clock import utcnow
from app.core.db import db
from app.core.display import code_in_words
from app.core.edge import whole_number
from app.core.errors import (
    ValidationFailed,
)
from app.core.navigation import (
    EntityPage,
    HomePanel,
    NavItem,
    add_entity_page,
    add_home_panel,
    add_nav,
)
from app.core.permissions import Permission, can, require, require_any
from app.enhancements.models import Enhancement
from app.governance import (
    actions,
    budget,
    charts,
    export,
    meetings,
    pulse,
    report,
    risks,
    service,
)
from app.governance.models import ActionItem, Committee, Meeting, Objective
from app.identity.auth import current_actor
from app.identity.models import User
from app.indicators import registry

blueprint = Blueprint("governance", __name__)

add_nav(NavItem(_l("Governance"), "governance.home", Permission.GOVERNANCE_VIEW, order=60))
add_nav(
    NavItem(_l("My actions"), "governance.my_actions", Permission.GOVERNANCE_ACTION_OWN, order=61)
)
add_entity_page(
    EntityPage(
        "meeting",
        _l("Meeting"),
        "governance.meeting_page",
        Permission.GOVERNANCE_VIEW,
        argument="meeting_id",
    )
)
add_entity_page(
    EntityPage(
        "committee",
        _l("Committee"),
        "governance.committee_page",
        Permission.GOVERNANCE_VIEW,
        argument="committee_id",
    )
)
add_entity_page(
    EntityPage("risk", _l("Risk"), "governance.risks_page", Permission.GOVERNANCE_VIEW, anchor=True)
)
add_entity_page(EntityPage("action_item", _l("Action item"), "governance.my_actions"))
add_entity_page(
    EntityPage("objective", _l("Objective"), "governance.home", Permission.GOVERNANCE_VIEW)
)
add_entity_page(
    EntityPage("budget", _l("Run budget"), "governance.budget_page", Permission.GOVERNANCE_VIEW)
)
add_entity_page(
    EntityPage(
        "pulse_survey", _l("Pulse survey"), "governance.pulse_page", Permission.GOVERNANCE_VIEW
    )
)

OUTCOME_LABELS = {"approve": _l("Approve"), "reject": _l("Reject"), "defer": _l("Defer")}
STATUS_LABELS = {
    "draft": _l("in preparation"),
    "published": _l("minutes published"),
    "amending": _l("correction in progress"),
    "open": _l("open"),
    "done": _l("done"),
    "cancelled": _l("cancelled"),
    "mitigating": _l("mitigating"),
    "closed": _l("closed"),
    "accepted": _l("accepted"),
    "improving": _l("improving"),
    "worsening": _l("worsening"),
    "stable": _l("stable"),
}


# the access section of the report (``app.access.service.review_status``), in words
REPORT_MEASURES = {
    "open_campaigns": _l("Open access reviews"),
    "late_campaigns": _l("Access reviews past their deadline"),
    "undecided_items": _l("Grants not yet reviewed"),
    "overdue_review_items": _l("Grants overdue for review"),
    "open_sod_exceptions": _l("Segregation-of-duties exceptions in force"),
}


# the run budget's forecast against its plan (green/amber/red)
BUDGET_WORDS = {
    "green": _l("within plan"),
    "amber": _l("slightly over plan"),
    "red": _l("over plan"),
}
governance_label = code_in_words(STATUS_LABELS)  # a recorded status or trend
blueprint.add_app_template_filter(governance_label, "governance_label")
blueprint.add_app_template_filter(code_in_words(REPORT_MEASURES), "report_measure")
blueprint.add_app_template_filter(code_in_words(OUTCOME_LABELS), "decision_outcome")
blueprint.add_app_template_filter(code_in_words(BUDGET_WORDS), "budget_status")


def _today() -> date:
    return utcnow().date()


def _pulse_banner(user: User) -> dict[str, Any]:
    survey = pulse.survey_for(db.session, user, _today())
    return {"survey": survey}


def _my_open_actions(user: User) -> dict[str, Any]:
    rows = db.session.scalars(
        select(ActionItem)
        .where(ActionItem.owner_id == user.id, ActionItem.status == actions.ActionStatus.OPEN)
        .order_by(ActionItem.due_date, ActionItem.id)
        .limit(5)
    ).all()
    return {"actions": rows, "today": _today()}


add_home_panel(
    HomePanel(
        _l("Satisfaction pulse"),
        "governance/_panel_pulse.html",
        Permission.PULSE_ANSWER,
        _pulse_banner,
        order=1,
    )
)
add_home_panel(
    HomePanel(
        _l("My action items"),
        "governance/_panel_actions.html",
        Permission.GOVERNANCE_ACTION_OWN,
        _my_open_actions,
        order=30,
    )
)


def _change(page_url: Callable[[], str], work: Callable[[Any], str]) -> Response:
    """Run ``work(actor)``, commit, and go back to the page either way (PRG)."""
    actor = current_actor()
    return forms.commit_change(
        lambda: work(actor),
        target=page_url,
        stale=_(
            "Someone changed this meanwhile, so your change was not saved. Check the "
            "page as it is now and make your change again."
        ),
    )


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _date(name: str, required: bool = True) -> date | None:
    raw = _text(name)
    if not raw and not required:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            _("The date is not valid."), errors={name: [_("A date, like 2026-12-31.")]}
        ) from None


def _int(name: str, low: int, high: int) -> int:
    number = whole_number(_text(name))
    if number is None or not low <= number <= high:
        raise ValidationFailed(
            _("Not a valid number."),
            errors={name: [_("From %(low)s to %(high)s.", low=low, high=high)]},
        )
    return number


def _people() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.active, User.is_service_account.is_(False)).order_by(User.name)
        )
    )


# --- home ------------------------------------------------------------------------------------


@blueprint.get("/governance")
def home():
    actor = current_actor()
    require(actor, Permission.GOVERNANCE_VIEW)
    today = _today()
    board = []
    for objective in db.session.scalars(select(Objective).order_by(Objective.id)):
        kpis = service.objective_kpis(db.session, objective, today)
        status, trend = service.objective_status(kpis)
        board.append({"objective": objective, "kpis": kpis, "status": status, "trend": trend})
    threshold = risks.alert_threshold()
    top = risks.list_risks(db.session, actor, status=list(risks.LIVE), limit=5).items
    year = budget.budget_year(db.session, actor, today.year, today)
    committees = db.session.scalars(select(Committee).order_by(Committee.id)).all()
    mine = _my_open_actions(actor)["actions"]
    return render_template(
        "governance/home.html",
        board=board,
        next_meeting=meetings.next_meeting(db.session, today),
        committees=committees,
        top_risks=top,
        threshold=threshold,
        year=year,
        my_actions=mine,
        today=today,
        can_manage=can(actor, Permission.GOVERNANCE_MANAGE),
        people=_people() if can(actor, Permission.GOVERNANCE_MANAGE) else [],
        indicators=registry.all_indicators(),
        modules=module_refs(db.session),
        draft=forms.draft(),
    )


@blueprint.post("/governance/objectives")
@forms.returns_to("governance.home")
def create_objective():
    def work(actor):
        service.create_objective(
            db.session,
            actor,
            title=_text("title"),
            owner=_text("owner"),
            due_date=_date("due_date", required=False),
            indicators=[{"key": _text("indicator"), "module": _text("module") or None}],
        )
        return _("Objective set.")

    return _change(lambda: url_for("governance.home"), work)


@blueprint.post("/governance/committees")
@forms.returns_to("governance.home")
def create_committee():
    def work(actor):
        members = [e for e in request.form.getlist("members") if e]
        committee = service.create_committee(
            db.session, actor, name=_text("name"), cadence=_text("cadence"), members=members
        )
        return _("Committee %(name)s formed.", name=committee.name)

    return _change(lambda: url_for("governance.home"), work)


# --- committees and meetings -----------------------------------------------------------------


@blueprint.get("/governance/committees/<int:committee_id>")
def committee_page(committee_id: int):
    actor = current_actor()
    committee = service.get_committee(db.session, actor, committee_id)
    page = meetings.list_meetings(db.session, actor, committee, request.args.get("cursor"), 25)
    return render_template(
        "governance/committee.html",
        committee=committee,
        page=page,
        can_manage=can(actor, Permission.GOVERNANCE_MANAGE),
        draft=forms.draft(),
    )


@blueprint.post("/governance/committees/<int:committee_id>/meetings")
@forms.returns_to("governance.committee_page")
def schedule_meeting(committee_id: int):
    created: dict[str, int] = {}

    def work(actor):
        committee = service.get_committee(db.session, actor, committee_id)
        day = _date("day")
        at = _text("time") or "09:00"
        try:
            # typed in the viewer's zone, stored in UTC
            zone = ZoneInfo(str(get_timezone()))
            moment = datetime.combine(day, time.fromisoformat(at), zone).astimezone(UTC)
        except ValueError:
            raise ValidationFailed(
                _("The time is not valid."), errors={"time": [_("Like 09:00.")]}
            ) from None
        meeting = meetings.create_meeting(db.session, actor, committee, moment)
        created["id"] = meeting.id
        return _("Meeting scheduled; its agenda was drafted from the data.")

    return _change(lambda: url_for("governance.meeting_page", meeting_id=created["id"]), work)


@blueprint.get("/governance/meetings/<int:meeting_id>")
def meeting_page(meeting_id: int):
    actor = current_actor()
    meeting = meetings.get_meeting(db.session, actor, meeting_id)
    items = db.session.scalars(
        select(ActionItem).where(ActionItem.meeting_id == meeting.id).order_by(ActionItem.id)
    ).all()
    pending = {}
    for point in meeting.points:
        if point.source and point.source.startswith("enhancement:"):
            ref = point.source.split(":", 1)[1]
            number = whole_number(ref.removeprefix("ENH-"))
            found = db.session.get(Enhancement, number) if number else None
            if found is not None and found.status == "under_review":
                pending[point.id] = found
    return render_template(
        "governance/meeting.html",
        meeting=meeting,
        actions=items,
        pending=pending,
        members=[m.user for m in meeting.committee.members],
        people=_people(),
        outcomes=OUTCOME_LABELS,
        can_manage=can(actor, Permission.GOVERNANCE_MANAGE),
        today=_today(),
        draft=forms.draft(),
    )


def _meeting_change(meeting_id: int, work: Callable[[Any, Meeting], str]) -> Response:
    def run(actor):
        meeting = meetings.get_meeting(db.session, actor, meeting_id)
        forms.check_form_version("meeting", meeting.id, meeting.version)
        return work(actor, meeting)

    return _change(lambda: url_for("governance.meeting_page", meeting_id=meeting_id), run)


@blueprint.post("/governance/meetings/<int:meeting_id>/agenda")
@forms.returns_to("governance.meeting_page")
def agenda_change(meeting_id: int):
    def work(actor, meeting):
        what = _text("change")
        if what == "add":
            meetings.add_point(db.session, actor, meeting, title=_text("title"))
            return _("Point added.")
        point_id = whole_number(_text("point")) or 0
        if what == "remove":
            meetings.remove_point(db.session, actor, meeting, point_id)
            return _("Point removed.")
        meetings.move_point(db.session, actor, meeting, point_id, -1 if what == "up" else 1)
        return _("Agenda reordered.")

    return _meeting_change(meeting_id, work)


@blueprint.post("/governance/meetings/<int:meeting_id>/minutes")
@forms.returns_to("governance.meeting_page")
def minutes(meeting_id: int):
    def work(actor, meeting):
        points = [
            {"id": p.id, "notes": _text(f"notes_{p.id}") or None}
            for p in meeting.points
            if f"notes_{p.id}" in request.form
        ]
        meetings.record_minutes(
            db.session,
            actor,
            meeting,
            attendees=request.form.getlist("attendees"),
            notes=_text("notes"),
            points=points,
        )
        return _("Minutes saved.")

    return _meeting_change(meeting_id, work)


@blueprint.post("/governance/meetings/<int:meeting_id>/decisions")
@forms.returns_to("governance.meeting_page")
def decide(meeting_id: int):
    def work(actor, meeting):
        point = whole_number(_text("point")) if _text("point") else None
        meetings.record_minutes(
            db.session,
            actor,
            meeting,
            decisions=[
                {"text": _text("text"), "outcome": _text("outcome") or None, "point": point}
            ],
        )
        return _("Decision recorded.")

    return _meeting_change(meeting_id, work)


@blueprint.post("/governance/meetings/<int:meeting_id>/actions")
@forms.returns_to("governance.meeting_page")
def give_action(meeting_id: int):
    def work(actor, meeting):
        point = whole_number(_text("point")) if _text("point") else None
        meetings.record_minutes(
            db.session,
            actor,
            meeting,
            actions=[
                {
                    "title": _text("title"),
                    "owner": _text("owner"),
                    "due_date": _date("due_date"),
                    "point": point,
                }
            ],
        )
        return _("Action item given.")

    return _meeting_change(meeting_id, work)


@blueprint.post("/governance/meetings/<int:meeting_id>/publish")
@forms.returns_to("governance.meeting_page")
def publish(meeting_id: int):
    def work(actor, meeting):
        version = meetings.publish(db.session, actor, meeting)
        return _("Minutes published (version %(n)s) and sent to the members.", n=version.number)

    return _meeting_change(meeting_id, work)


# --- actions ---------------------------------------------------------------------------------


@blueprint.get("/governance/actions")
def my_actions():
    actor = current_actor()
    require_any(actor, [Permission.GOVERNANCE_ACTION_OWN, Permission.GOVERNANCE_VIEW])
    mine = db.session.scalars(
        select(ActionItem)
        .where(ActionItem.owner_id == actor.id)
        .order_by(ActionItem.status != "open", ActionItem.due_date, ActionItem.id)
    ).all()
    everyone = []
    if can(actor, Permission.GOVERNANCE_VIEW):
        everyone = db.session.scalars(
            select(ActionItem)
            .where(ActionItem.status == actions.ActionStatus.OPEN)
            .order_by(ActionItem.due_date, ActionItem.id)
            .limit(200)
        ).all()
    return render_template(
        "governance/actions.html",
        mine=mine,
        everyone=everyone,
        today=_today(),
        can_manage=can(actor, Permission.GOVERNANCE_MANAGE),
        draft=forms.draft(),
    )


@blueprint.post("/governance/actions/<int:action_id>")
@forms.returns_to("governance.my_actions")
def update_action(action_id: int):
    def work(actor):
        item = actions.get_action(db.session, actor, action_id)
        forms.check_form_version("action", item.id, item.version)
        status = _text("status")
        actions.update_action(db.session, actor, item, {"status": status})
        return _("Action item marked %(status)s.", status=governance_label(status))

    return _change(lambda: url_for("governance.my_actions"), work)


# --- risks -----------------------------------------------------------------------------------


@blueprint.get("/governance/risks")
def risks_page():
    actor = current_actor()
    require(actor, Permission.GOVERNANCE_VIEW)
    page = risks.list_risks(db.session, actor, cursor=request.args.get("cursor"), limit=100)
    return render_template(
        "governance/risks.html",
        page=page,
        grid=risks.heat_map(db.session),
        threshold=risks.alert_threshold(),
        today=_today(),
        can_manage=can(actor, Permission.GOVERNANCE_MANAGE),
        people=_people() if can(actor, Permission.GOVERNANCE_MANAGE) else [],
        statuses=[s.value for s in risks.RiskStatus],
        draft=forms.draft(),
    )


@blueprint.post("/governance/risks")
@forms.returns_to("governance.risks_page")
def create_risk():
    def work(actor):
        risks.create_risk(
            db.session,
            actor,
            title=_text("title"),
            category=_text("category") or "other",
            probability=_int("probability", 1, 5),
            impact=_int("impact", 1, 5),
            owner=_text("owner"),
            description=_text("description") or None,
            mitigation=_text("mitigation") or None,
            review_by=_date("review_by", required=False),
        )
        return _("Risk recorded.")

    return _change(lambda: url_for("governance.risks_page"), work)


@blueprint.post("/governance/risks/<int:risk_id>")
@forms.returns_to("governance.risks_page")
def review_risk(risk_id: int):
    def work(actor):
        risk = risks.get_risk(db.session, actor, risk_id)
        forms.check_form_version("risk", risk.id, risk.version)
        values: dict[str, Any] = {
            "probability": _int("probability", 1, 5),
            "impact": _int("impact", 1, 5),
            "status": _text("status") or risk.status,
        }
        if _text("review_by"):
            values["review_by"] = _date("review_by")
        if values["status"] not in [s.value for s in risks.RiskStatus]:
            raise ValidationFailed(_("Not a risk status."), errors={"status": [_("Choose one.")]})
        risks.update_risk(db.session, actor, risk, values)
        return _("Risk reviewed.")

    return _change(lambda: url_for("governance.risks_page"), work)


# --- budget ----------------------------------------------------------------------------------


@blueprint.get("/governance/budget")
def budget_page():
    actor = current_actor()
    today = _today()
    year_number = whole_number(request.args.get("year")) or today.year
    year_number = year_number if 2000 <= year_number <= 2999 else today.year
    year = budget.budget_year(db.session, actor, year_number, today)
    chart = charts.budget_chart(year.total.months, _("Run budget %(year)s", year=year_number))
    return render_template(
        "governance/budget.html",
        year=year,
        chart=chart,
        categories=budget.CATEGORIES,
        can_manage=can(actor, Permission.GOVERNANCE_MANAGE),
        draft=forms.draft(),
    )


@blueprint.post("/governance/budget/<int:year>/actuals")
@forms.returns_to("governance.budget_page")
def budget_actual(year: int):
    def work(actor):
        category = _text("category")
        if category not in budget.CATEGORIES:
            raise ValidationFailed(_("Choose a category."), errors={"category": [_("Choose one.")]})
        budget.record_actual(db.session, actor, year, category, _text("month"), _text("amount"))
        return _("Actual recorded.")

    return _change(lambda: url_for("governance.budget_page", year=year), work)


# --- pulse -----------------------------------------------------------------------------------


@blueprint.get("/governance/pulse")
def pulse_page():
    actor = current_actor()
    require(actor, Permission.GOVERNANCE_VIEW)
    from app.governance.models import PulseSurvey

    surveys = db.session.scalars(select(PulseSurvey).order_by(PulseSurvey.id.desc()).limit(20))
    return render_template(
        "governance/pulse.html",
        results=[pulse.results(db.session, actor, s) for s in surveys],
        can_open=can(actor, Permission.PULSE_MANAGE),
        draft=forms.draft(),
    )


@blueprint.post("/governance/pulse")
@forms.returns_to("governance.pulse_page")
def open_pulse():
    def work(actor):
        questions = [q for q in request.form.get("questions", "").splitlines() if q.strip()]
        pulse.open_survey(
            db.session,
            actor,
            title=_text("title"),
            questions=questions,
            audience=_text("audience") or "all",
        )
        return _("Survey opened; users see it on their home page.")

    return _change(lambda: url_for("governance.pulse_page"), work)


@blueprint.post("/governance/pulse/<int:survey_id>/close")
@forms.returns_to("governance.pulse_page")
def close_pulse(survey_id: int):
    def work(actor):
        pulse.close_survey(db.session, actor, pulse.get_survey(db.session, survey_id))
        return _("Survey closed.")

    return _change(lambda: url_for("governance.pulse_page"), work)


@blueprint.post("/governance/pulse/<int:survey_id>/answer")
@forms.returns_to("identity.home")
def answer_pulse(survey_id: int):
    def work(actor):
        survey = pulse.get_survey(db.session, survey_id)
        scores = [_int(f"score_{i}", 1, 5) for i in range(len(survey.questions))]
        pulse.answer(
            db.session,
            actor,
            survey,
            scores=scores,
            comment=_text("comment") or None,
            today=_today(),
        )
        return _("Thank you: your answer was recorded without your name.")

    return _change(lambda: url_for("identity.home"), work)


# --- report ----------------------------------------------------------------------------------


def _report() -> dict:
    return report.build_report(db.session, current_actor(), request.args.get("period"))


@blueprint.get("/governance/report")
def report_page():
    try:
        data = _report()
    except ValidationFailed as exc:
        data, error = report.build_report(db.session, current_actor(), None), exc.message
    else:
        error = None
    return render_template(
        "governance/report.html",
        report=data,
        error=error,
        sparklines=export.kpi_charts(db.session, data),
    )


@blueprint.get("/governance/report.pdf")
def report_pdf():
    data = _report()
    return Response(
        export.pdf(data, export.kpi_charts(db.session, data)),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{export.filename(data)}.pdf"'},
    )


@blueprint.get("/governance/report.csv")
def report_csv():
    data = _report()
    return Response(
        report.to_csv(data),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{export.filename(data)}.csv"'},
    )
