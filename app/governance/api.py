"""Governance API: objectives, committees and meetings (agenda, minutes, publication), action
items, risks, the run budget, pulse surveys and the governance report (JSON, CSV, PDF)."""

from __future__ import annotations

from datetime import date

from flask import Response, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.db import db
from app.core.errors import NotFound
from app.core.etag import check_if_match, etag_for
from app.core.permissions import Permission, guard_writes, require
from app.core.schemas import PageArgs
from app.governance import actions, budget, export, meetings, pulse, report, risks, service
from app.governance.models import ActionItem, Committee, Meeting, Objective, PulseSurvey, Risk
from app.governance.schemas import (
    ActionCreateSchema,
    ActionListArgs,
    ActionPage,
    ActionPatchSchema,
    ActionSchema,
    ActualsImportSchema,
    AgendaOrderSchema,
    AgendaPointCreateSchema,
    BudgetActualSchema,
    BudgetImportSchema,
    BudgetPlanSchema,
    BudgetYearSchema,
    CommitteeCreateSchema,
    CommitteePage,
    CommitteeSchema,
    MeetingCreateSchema,
    MeetingPage,
    MeetingSchema,
    MinutesSchema,
    ObjectiveCreateSchema,
    ObjectivePage,
    ObjectivePatchSchema,
    ObjectiveSchema,
    ReportArgs,
    ReportSchema,
    RiskCreateSchema,
    RiskListArgs,
    RiskPage,
    RiskPatchSchema,
    RiskSchema,
    SurveyAnswerSchema,
    SurveyCreateSchema,
    SurveyPage,
    SurveySchema,
)
from app.identity.auth import current_actor

blp = Blueprint("governance_api", __name__, description="Governance: the steering committee")


def blueprints() -> list[Blueprint]:
    return [blp]


guard_writes(
    blp,
    (
        Permission.GOVERNANCE_MANAGE,
        Permission.GOVERNANCE_ACTION_OWN,
        Permission.PULSE_ANSWER,
        Permission.PULSE_MANAGE,
    ),
)


def _today() -> date:
    return utcnow().date()


def _if_match(tag: str) -> None:
    check_if_match(request.headers.get("If-Match"), tag)


# --- dumps -----------------------------------------------------------------------------------


def objective_to_dict(objective: Objective) -> dict:
    kpis = service.objective_kpis(db.session, objective, _today())
    status, trend = service.objective_status(kpis)
    return {
        "id": objective.id,
        "title": objective.title,
        "description": objective.description,
        "owner": objective.owner.email,
        "due_date": objective.due_date,
        "status": status,
        "trend": trend,
        "indicators": [k.__dict__ for k in kpis],
        "version": objective.version,
    }


def committee_to_dict(committee: Committee) -> dict:
    return {
        "id": committee.id,
        "name": committee.name,
        "kind": committee.kind,
        "cadence": committee.cadence,
        "chair": committee.chair.email if committee.chair else None,
        "members": service.member_emails(committee),
        "next_meeting_at": committee.next_meeting_at,
        "version": committee.version,
    }


def meeting_to_dict(meeting: Meeting) -> dict:
    action_ids = db.session.scalars(
        select(ActionItem.id).where(ActionItem.meeting_id == meeting.id).order_by(ActionItem.id)
    )
    return {
        "id": meeting.id,
        "committee": meeting.committee_id,
        "committee_name": meeting.committee.name,
        "scheduled_at": meeting.scheduled_at,
        "status": meeting.status,
        "agenda": meeting.points,
        "attendees": meeting.attendees or [],
        "notes": meeting.notes,
        "decisions": [
            {
                "id": d.id,
                "text": d.text,
                "enhancement": d.enhancement.ref if d.enhancement else None,
                "outcome": d.outcome,
                "point": d.agenda_point_id,
                "decided_at": d.decided_at,
            }
            for d in meeting.decisions
        ],
        "actions": list(action_ids),
        "versions": meeting.versions,
        "published_at": meeting.published_at,
        "version": meeting.version,
    }


def action_to_dict(item: ActionItem) -> dict:
    return {
        "id": item.id,
        "title": item.title,
        "owner": item.owner.email,
        "owner_name": item.owner.name,
        "due_date": item.due_date,
        "status": item.status,
        "overdue": item.status == actions.ActionStatus.OPEN and item.due_date < _today(),
        "source": item.source,
        "meeting": item.meeting_id,
        "created_at": item.created_at,
        "closed_at": item.closed_at,
        "version": item.version,
    }


def risk_to_dict(risk: Risk, with_history: bool = False) -> dict:
    today, threshold = _today(), risks.alert_threshold()
    late = bool(risk.review_by and risk.review_by < today)
    live = risk.status in risks.LIVE
    return {
        "id": risk.id,
        "title": risk.title,
        "description": risk.description,
        "category": risk.category,
        "probability": risk.probability,
        "impact": risk.impact,
        "score": risk.score,
        "owner": risk.owner.email,
        "mitigation": risk.mitigation,
        "status": risk.status,
        "review_by": risk.review_by,
        "review_overdue": live and late,
        "alerting": live and (late or risk.score >= threshold),
        "last_reviewed_at": risk.last_reviewed_at,
        "history": risk.history if with_history else [],
        "version": risk.version,
    }


def figures_to_dict(figures: budget.BudgetFigures, tolerance: float) -> dict:
    return {
        "category": figures.category,
        "months": figures.months,
        "planned_year": figures.planned_year,
        "planned_to_date": figures.planned_to_date,
        "actual_to_date": figures.actual_to_date,
        "variance_to_date": figures.variance_to_date,
        "forecast": figures.forecast,
        "status": figures.status(tolerance),
        "version": figures.version,
    }


def budget_to_dict(year: budget.BudgetYear) -> dict:
    return {
        "year": year.year,
        "tolerance": year.tolerance,
        "status": year.status if year.categories else None,
        "categories": [figures_to_dict(c, year.tolerance) for c in year.categories],
        "total": figures_to_dict(year.total, year.tolerance),
    }


def survey_to_dict(survey: PulseSurvey, with_results: bool) -> dict:
    data = {
        "id": survey.id,
        "title": survey.title,
        "questions": survey.questions,
        "audience": survey.audience,
        "status": survey.status,
        "opened_at": survey.opened_at,
        "closes_on": survey.closes_on,
        "answers": None,
        "overall": None,
        "modules": {},
    }
    if with_results:
        results = pulse.results(db.session, None, survey)
        data |= {k: results[k] for k in ("answers", "overall", "modules")}
    return data


# --- objectives ------------------------------------------------------------------------------


def objective_etag(objective: Objective) -> str:
    return etag_for("objective", objective.id, objective.version)


@blp.route("/objectives")
class Objectives(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ObjectivePage)
    def get(self, args: dict):
        """Business objectives, each with its status (red/amber/green) from its indicators."""
        page = service.list_objectives(db.session, current_actor(), args["cursor"], args["limit"])
        return {
            "items": [objective_to_dict(o) for o in page.items],
            "next_cursor": page.next_cursor,
        }

    @blp.arguments(ObjectiveCreateSchema, example=ObjectiveCreateSchema.Meta.example)
    @blp.response(201, ObjectiveSchema)
    def post(self, body: dict):
        """Set an objective: an owner, a due date and the indicators that measure it."""
        objective = service.create_objective(db.session, current_actor(), **body)
        db.session.commit()
        return objective_to_dict(objective), 201, {"ETag": objective_etag(objective)}


@blp.route("/objectives/<int:objective_id>")
class ObjectiveItem(MethodView):
    @blp.response(200, ObjectiveSchema)
    def get(self, objective_id: int):
        """One objective with the latest value, target, status and trend of its indicators."""
        objective = service.get_objective(db.session, current_actor(), objective_id)
        return objective_to_dict(objective), 200, {"ETag": objective_etag(objective)}

    @blp.arguments(ObjectivePatchSchema)
    @blp.response(200, ObjectiveSchema)
    def patch(self, body: dict, objective_id: int):
        """Change an objective; needs If-Match (428 without, 412 if stale)."""
        actor = current_actor()
        objective = service.get_objective(db.session, actor, objective_id)
        require(actor, Permission.GOVERNANCE_MANAGE)
        _if_match(objective_etag(objective))
        service.update_objective(db.session, actor, objective, body)
        db.session.commit()
        return objective_to_dict(objective), 200, {"ETag": objective_etag(objective)}


# --- committees and meetings -----------------------------------------------------------------


@blp.route("/committees")
class Committees(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CommitteePage)
    def get(self, args: dict):
        """Committees with their members and next meeting."""
        page = service.list_committees(db.session, current_actor(), args["cursor"], args["limit"])
        return {
            "items": [committee_to_dict(c) for c in page.items],
            "next_cursor": page.next_cursor,
        }

    @blp.arguments(CommitteeCreateSchema, example=CommitteeCreateSchema.Meta.example)
    @blp.response(201, CommitteeSchema)
    def post(self, body: dict):
        """Form a committee (steering, operational) with its members and cadence."""
        committee = service.create_committee(db.session, current_actor(), **body)
        db.session.commit()
        return committee_to_dict(committee), 201


@blp.route("/committees/<int:committee_id>")
class CommitteeItem(MethodView):
    @blp.response(200, CommitteeSchema)
    def get(self, committee_id: int):
        """One committee."""
        return committee_to_dict(service.get_committee(db.session, current_actor(), committee_id))


def meeting_etag(meeting: Meeting) -> str:
    return etag_for("meeting", meeting.id, meeting.version)


def _meeting_response(meeting: Meeting, status: int = 200):
    return meeting_to_dict(meeting), status, {"ETag": meeting_etag(meeting)}


@blp.route("/committees/<int:committee_id>/meetings")
class CommitteeMeetings(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, MeetingPage)
    def get(self, args: dict, committee_id: int):
        """The committee's meetings, the latest first."""
        actor = current_actor()
        committee = service.get_committee(db.session, actor, committee_id)
        page = meetings.list_meetings(db.session, actor, committee, args["cursor"], args["limit"])
        return {"items": [meeting_to_dict(m) for m in page.items], "next_cursor": page.next_cursor}

    @blp.arguments(MeetingCreateSchema, example=MeetingCreateSchema.Meta.example)
    @blp.response(201, MeetingSchema)
    def post(self, body: dict, committee_id: int):
        """Schedule a meeting; its draft agenda is built from the data (each point's source)."""
        actor = current_actor()
        committee = service.get_committee(db.session, actor, committee_id)
        meeting = meetings.create_meeting(db.session, actor, committee, body["scheduled_at"])
        db.session.commit()
        return _meeting_response(meeting, 201)


@blp.route("/meetings/<int:meeting_id>")
class MeetingItem(MethodView):
    @blp.response(200, MeetingSchema)
    def get(self, meeting_id: int):
        """A meeting: agenda, minutes, decisions, actions and published versions."""
        return _meeting_response(meetings.get_meeting(db.session, current_actor(), meeting_id))


def _guarded_meeting(meeting_id: int) -> Meeting:
    """The meeting, checked against an optional If-Match (a stale agenda or minutes: 412)."""
    meeting = meetings.get_meeting(db.session, current_actor(), meeting_id)
    if request.headers.get("If-Match"):
        _if_match(meeting_etag(meeting))
    return meeting


@blp.route("/meetings/<int:meeting_id>/agenda")
class MeetingAgenda(MethodView):
    @blp.arguments(AgendaPointCreateSchema)
    @blp.response(201, MeetingSchema)
    def post(self, body: dict, meeting_id: int):
        """Add a point at the end of the agenda."""
        meeting = _guarded_meeting(meeting_id)
        meetings.add_point(db.session, current_actor(), meeting, **body)
        db.session.commit()
        return _meeting_response(meeting, 201)


@blp.route("/meetings/<int:meeting_id>/agenda/order")
class MeetingAgendaOrder(MethodView):
    @blp.arguments(AgendaOrderSchema)
    @blp.response(200, MeetingSchema)
    def post(self, body: dict, meeting_id: int):
        """Order the agenda (point ids, first to last)."""
        meeting = _guarded_meeting(meeting_id)
        meetings.order_points(db.session, current_actor(), meeting, body["order"])
        db.session.commit()
        return _meeting_response(meeting)


@blp.route("/meetings/<int:meeting_id>/agenda/<int:point_id>")
class MeetingAgendaPoint(MethodView):
    @blp.response(200, MeetingSchema)
    def delete(self, meeting_id: int, point_id: int):
        """Remove a point from the agenda."""
        meeting = _guarded_meeting(meeting_id)
        meetings.remove_point(db.session, current_actor(), meeting, point_id)
        db.session.commit()
        return _meeting_response(meeting)


@blp.route("/meetings/<int:meeting_id>/minutes")
class MeetingMinutes(MethodView):
    @blp.arguments(MinutesSchema, example=MinutesSchema.Meta.example)
    @blp.response(200, MeetingSchema)
    @blp.alt_response(409, description="An enhancement decision not possible in its state")
    def post(self, body: dict, meeting_id: int):
        """Record the minutes: attendees, notes, decisions (an enhancement decision lands in
        its decision log) and action items. After publication, this prepares a correction."""
        meeting = _guarded_meeting(meeting_id)
        meetings.record_minutes(db.session, current_actor(), meeting, **body)
        db.session.commit()
        return _meeting_response(meeting)


@blp.route("/meetings/<int:meeting_id>/publish")
class MeetingPublish(MethodView):
    @blp.response(200, MeetingSchema)
    @blp.alt_response(409, description="Already published with no correction since")
    def post(self, meeting_id: int):
        """Publish the minutes: frozen as the next version and sent to the members."""
        meeting = _guarded_meeting(meeting_id)
        meetings.publish(db.session, current_actor(), meeting)
        db.session.commit()
        return _meeting_response(meeting)


# --- action items ----------------------------------------------------------------------------


def action_etag(item: ActionItem) -> str:
    return etag_for("action", item.id, item.version)


@blp.route("/actions")
class Actions(MethodView):
    @blp.arguments(ActionListArgs, location="query")
    @blp.response(200, ActionPage)
    def get(self, args: dict):
        """Action items (the committee sees all, others their own), filtered."""
        page = actions.list_actions(
            db.session,
            current_actor(),
            today=_today(),
            owner=args.get("owner"),
            status=args.get("status"),
            overdue=args.get("overdue"),
            cursor=args["cursor"],
            limit=args["limit"],
        )
        return {"items": [action_to_dict(a) for a in page.items], "next_cursor": page.next_cursor}

    @blp.arguments(ActionCreateSchema, example=ActionCreateSchema.Meta.example)
    @blp.response(201, ActionSchema)
    def post(self, body: dict):
        """Give someone an action item, from a meeting point, a risk or an objective."""
        item = actions.create_action(db.session, current_actor(), **body)
        db.session.commit()
        return action_to_dict(item), 201, {"ETag": action_etag(item)}


@blp.route("/actions/<int:action_id>")
class ActionResource(MethodView):
    @blp.response(200, ActionSchema)
    def get(self, action_id: int):
        """One action item."""
        item = actions.get_action(db.session, current_actor(), action_id)
        return action_to_dict(item), 200, {"ETag": action_etag(item)}

    @blp.arguments(ActionPatchSchema)
    @blp.response(200, ActionSchema)
    def patch(self, body: dict, action_id: int):
        """Change an action item (its owner may close or reopen it); needs If-Match."""
        actor = current_actor()
        item = actions.get_action(db.session, actor, action_id)
        _if_match(action_etag(item))
        actions.update_action(db.session, actor, item, body)
        db.session.commit()
        return action_to_dict(item), 200, {"ETag": action_etag(item)}


# --- risks -----------------------------------------------------------------------------------


def risk_etag(risk: Risk) -> str:
    return etag_for("risk", risk.id, risk.version)


@blp.route("/risks")
class Risks(MethodView):
    @blp.arguments(RiskListArgs, location="query")
    @blp.response(200, RiskPage)
    def get(self, args: dict):
        """The risk register, highest score first."""
        page = risks.list_risks(
            db.session,
            current_actor(),
            status=args.get("status"),
            min_score=args.get("min_score"),
            cursor=args["cursor"],
            limit=args["limit"],
        )
        return {"items": [risk_to_dict(r) for r in page.items], "next_cursor": page.next_cursor}

    @blp.arguments(RiskCreateSchema, example=RiskCreateSchema.Meta.example)
    @blp.response(201, RiskSchema)
    def post(self, body: dict):
        """Record a risk; its score is probability x impact."""
        risk = risks.create_risk(db.session, current_actor(), **body)
        db.session.commit()
        return risk_to_dict(risk, True), 201, {"ETag": risk_etag(risk)}


@blp.route("/risks/<int:risk_id>")
class RiskItem(MethodView):
    @blp.response(200, RiskSchema)
    def get(self, risk_id: int):
        """One risk with the history of its score."""
        risk = risks.get_risk(db.session, current_actor(), risk_id)
        return risk_to_dict(risk, True), 200, {"ETag": risk_etag(risk)}

    @blp.arguments(RiskPatchSchema)
    @blp.response(200, RiskSchema)
    def patch(self, body: dict, risk_id: int):
        """Review a risk (any change, even none, counts as its review); needs If-Match."""
        actor = current_actor()
        risk = risks.get_risk(db.session, actor, risk_id)
        require(actor, Permission.GOVERNANCE_MANAGE)
        _if_match(risk_etag(risk))
        risks.update_risk(db.session, actor, risk, body)
        db.session.commit()
        return risk_to_dict(risk, True), 200, {"ETag": risk_etag(risk)}


# --- budget ----------------------------------------------------------------------------------


def _year(year: int) -> int:
    if not 2000 <= year <= 2999:
        raise NotFound(_l("No budget for that year."))
    return year


def _category(category: str) -> str:
    if category not in budget.CATEGORIES:
        raise NotFound(
            _l(
                "No budget category '%(category)s' (%(value)s).",
                category=category,
                value=", ".join(budget.CATEGORIES),
            )
        )
    return category


def plan_etag(year: int, category: str, version: int) -> str:
    return etag_for("budget", f"{year}-{category}", version)


@blp.route("/budget/<int:year>")
class BudgetYearResource(MethodView):
    @blp.response(200, BudgetYearSchema)
    def get(self, year: int):
        """Per category and month: planned, actual, variance; to date, forecast and status."""
        figures = budget.budget_year(db.session, current_actor(), _year(year), _today())
        return budget_to_dict(figures)


@blp.route("/budget/<int:year>/<category>")
class BudgetCategory(MethodView):
    @blp.arguments(BudgetPlanSchema)
    @blp.response(200, BudgetYearSchema)
    def put(self, body: dict, year: int, category: str):
        """Set the planned months of a category. Changing an existing plan needs If-Match
        (its ETag is in ``GET /budget/<year>``'s answer and this one's header)."""
        actor = current_actor()
        require(actor, Permission.GOVERNANCE_MANAGE)
        year, category = _year(year), _category(category)
        existing = budget.get_plan(db.session, year, category)
        if existing is not None:
            _if_match(plan_etag(year, category, existing.version))
        plan = budget.set_planned(db.session, actor, year, category, body["planned"])
        db.session.commit()
        figures = budget.budget_year(db.session, actor, year, _today())
        return budget_to_dict(figures), 200, {"ETag": plan_etag(year, category, plan.version)}


@blp.route("/budget/<int:year>/<category>/actuals")
class BudgetActuals(MethodView):
    @blp.arguments(BudgetActualSchema, example=BudgetActualSchema.Meta.example)
    @blp.response(201, BudgetYearSchema)
    def post(self, body: dict, year: int, category: str):
        """Enter what a month cost for the category."""
        actor = current_actor()
        year, category = _year(year), _category(category)
        budget.record_actual(db.session, actor, year, category, body["month"], body["amount"])
        db.session.commit()
        return budget_to_dict(budget.budget_year(db.session, actor, year, _today())), 201


@blp.route("/budget/<int:year>/actuals/import")
class BudgetImport(MethodView):
    @blp.arguments(BudgetImportSchema)
    @blp.response(200, ActualsImportSchema)
    def post(self, body: dict, year: int):
        """Import actuals from CSV (``category,month,amount``); all lines or none."""
        count = budget.import_actuals(db.session, current_actor(), _year(year), body["csv"])
        db.session.commit()
        return {"imported": count}


# --- pulse surveys ---------------------------------------------------------------------------


@blp.route("/pulse-surveys")
class Surveys(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SurveyPage)
    def get(self, args: dict):
        """Pulse surveys with their results (only aggregates of at least 5 answers)."""
        require(current_actor(), Permission.GOVERNANCE_VIEW)
        from app.core.pagination import SortKey, paginate

        page = paginate(
            db.session,
            select(PulseSurvey),
            [SortKey(PulseSurvey.id, lambda s: s.id, descending=True)],
            args["cursor"],
            args["limit"],
        )
        return {
            "items": [survey_to_dict(s, True) for s in page.items],
            "next_cursor": page.next_cursor,
        }

    @blp.arguments(SurveyCreateSchema)
    @blp.response(201, SurveySchema)
    def post(self, body: dict):
        """Open a pulse survey (admins)."""
        survey = pulse.open_survey(db.session, current_actor(), **body)
        db.session.commit()
        return survey_to_dict(survey, False), 201


@blp.route("/pulse-surveys/<int:survey_id>")
class SurveyItem(MethodView):
    @blp.response(200, SurveySchema)
    def get(self, survey_id: int):
        """One survey and its results."""
        require(current_actor(), Permission.GOVERNANCE_VIEW)
        return survey_to_dict(pulse.get_survey(db.session, survey_id), True)


@blp.route("/pulse-surveys/<int:survey_id>/close")
class SurveyClose(MethodView):
    @blp.response(200, SurveySchema)
    def post(self, survey_id: int):
        """Close a survey (admins)."""
        actor = current_actor()
        require(actor, Permission.PULSE_MANAGE)
        survey = pulse.close_survey(db.session, actor, pulse.get_survey(db.session, survey_id))
        db.session.commit()
        return survey_to_dict(survey, False)


@blp.route("/pulse-surveys/<int:survey_id>/answers")
class SurveyAnswers(MethodView):
    @blp.arguments(SurveyAnswerSchema)
    @blp.response(201, SurveySchema)
    @blp.alt_response(409, description="Answered already, or closed")
    def post(self, body: dict, survey_id: int):
        """Answer a survey once; the answer is kept without your name."""
        actor = current_actor()
        require(actor, Permission.PULSE_ANSWER)
        survey = pulse.get_survey(db.session, survey_id)
        pulse.answer(db.session, actor, survey, today=_today(), **body)
        db.session.commit()
        return survey_to_dict(survey, False), 201


# --- report ----------------------------------------------------------------------------------


@blp.route("/governance/report")
class Report(MethodView):
    @blp.arguments(ReportArgs, location="query")
    @blp.response(200, ReportSchema)
    def get(self, args: dict):
        """The governance report of a month, an ISO week or a meeting."""
        return report.build_report(db.session, current_actor(), args.get("period"))


@blp.route("/governance/report.csv")
class ReportCsv(MethodView):
    @blp.arguments(ReportArgs, location="query")
    @blp.response(200, description="text/csv: section,item,measure,value")
    def get(self, args: dict):
        """The governance report as CSV."""
        data = report.build_report(db.session, current_actor(), args.get("period"))
        return Response(
            report.to_csv(data),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{export.filename(data)}.csv"'},
        )


@blp.route("/governance/report.pdf")
class ReportPdf(MethodView):
    @blp.arguments(ReportArgs, location="query")
    @blp.response(200, description="application/pdf: the report page, printed")
    def get(self, args: dict):
        """The governance report as PDF, rendered from the report page's HTML."""
        data = report.build_report(db.session, current_actor(), args.get("period"))
        return Response(
            export.pdf(data, export.kpi_charts(db.session, data)),
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{export.filename(data)}.pdf"'},
        )
