"""Shapes of governance resources in the API (with OpenAPI examples), and their dumps."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList

from app.core.schemas import Instant, PageArgs
from app.governance.actions import ActionStatus
from app.governance.meetings import OUTCOMES
from app.governance.pulse import AUDIENCES, MAX_QUESTIONS
from app.governance.risks import RiskStatus
from app.governance.service import CADENCES, COMMITTEE_KINDS, TEXT_MAX, TITLE_MAX

Email = fields.Str(required=True, validate=validate.Length(min=3, max=320))
Title = validate.Length(min=1, max=TITLE_MAX)
Text = validate.Length(max=TEXT_MAX)
SOURCE = {"description": "meeting:<id>, point:<id>, risk:<id> or objective:<id>"}
STATUS = {"enum": ["green", "amber", "red"], "description": "none without a target or value"}


# --- objectives ------------------------------------------------------------------------------


class IndicatorLinkSchema(Schema):
    key = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    module = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=16),
        metadata={"description": "module code; null for the overall value"},
    )


class KpiSchema(Schema):
    key = fields.Str()
    name = fields.Str()
    module = fields.Str(allow_none=True)
    value = fields.Float(allow_none=True)
    target = fields.Float(allow_none=True)
    status = fields.Str(allow_none=True, metadata=STATUS)
    trend = fields.Str(allow_none=True, metadata={"enum": ["improving", "worsening", "stable"]})


class ObjectiveCreateSchema(Schema):
    title = fields.Str(required=True, validate=Title)
    description = fields.Str(load_default=None, allow_none=True, validate=Text)
    owner = Email
    due_date = fields.Date(load_default=None, allow_none=True)
    indicators = fields.List(
        fields.Nested(IndicatorLinkSchema), required=True, validate=validate.Length(min=1, max=10)
    )

    class Meta:
        example = {
            "title": "Close the books in 5 days",
            "owner": "cfo@example.com",
            "due_date": "2027-06-30",
            "indicators": [{"key": "mttr_seconds", "module": "FIN"}],
        }


class ObjectivePatchSchema(Schema):
    title = fields.Str(validate=Title)
    description = fields.Str(allow_none=True, validate=Text)
    owner = fields.Str(validate=validate.Length(min=3, max=320))
    due_date = fields.Date(allow_none=True)
    indicators = fields.List(
        fields.Nested(IndicatorLinkSchema), validate=validate.Length(min=1, max=10)
    )


class ObjectiveSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    description = fields.Str(allow_none=True)
    owner = fields.Str(metadata={"description": "email"})
    due_date = fields.Date(allow_none=True)
    status = fields.Str(allow_none=True, metadata=STATUS)
    trend = fields.Str(allow_none=True)
    indicators = fields.List(fields.Nested(KpiSchema))
    version = fields.Int()


class ObjectivePage(Schema):
    items = fields.List(fields.Nested(ObjectiveSchema))
    next_cursor = fields.Str(allow_none=True)


# --- committees and meetings -----------------------------------------------------------------


class CommitteeCreateSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    cadence = fields.Str(required=True, validate=validate.OneOf(CADENCES))
    kind = fields.Str(load_default="steering", validate=validate.OneOf(COMMITTEE_KINDS))
    members = fields.List(
        fields.Str(validate=validate.Length(min=3, max=320)),
        load_default=list,
        validate=validate.Length(max=100),
    )
    chair = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=320))
    next_meeting_at = Instant(load_default=None, allow_none=True)

    class Meta:
        example = {
            "name": "Steering committee",
            "cadence": "monthly",
            "members": ["cfo@example.com", "cio@example.com"],
        }


class CommitteeSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    kind = fields.Str()
    cadence = fields.Str()
    chair = fields.Str(allow_none=True)
    members = fields.List(fields.Str())
    next_meeting_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class CommitteePage(Schema):
    items = fields.List(fields.Nested(CommitteeSchema))
    next_cursor = fields.Str(allow_none=True)


class MeetingCreateSchema(Schema):
    scheduled_at = Instant(required=True)

    class Meta:
        example = {"scheduled_at": "2026-12-08T09:00:00+00:00"}


class AgendaPointSchema(Schema):
    id = fields.Int()
    position = fields.Int()
    kind = fields.Str()
    title = fields.Str()
    source = fields.Str(allow_none=True)
    notes = fields.Str(allow_none=True)


class AgendaPointCreateSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    kind = fields.Str(load_default="other", validate=validate.Length(min=1, max=32))
    source = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))


class AgendaOrderSchema(Schema):
    order = fields.List(fields.Int(), required=True, validate=validate.Length(max=500))


class DecisionInSchema(Schema):
    text = fields.Str(required=True, validate=validate.Length(min=1, max=TEXT_MAX))
    enhancement = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"example": "ENH-000045"},
    )
    outcome = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(OUTCOMES))
    point = fields.Int(load_default=None, allow_none=True, metadata={"description": "point id"})


class MeetingDecisionSchema(Schema):
    id = fields.Int()
    text = fields.Str()
    enhancement = fields.Str(allow_none=True)
    outcome = fields.Str(allow_none=True)
    point = fields.Int(allow_none=True)
    decided_at = fields.DateTime()


class ActionInSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    owner = Email
    due_date = fields.Date(required=True)
    point = fields.Int(load_default=None, allow_none=True, metadata={"description": "point id"})


class PointNotesSchema(Schema):
    id = fields.Int(required=True)
    notes = fields.Str(required=True, allow_none=True, validate=Text)


class MinutesSchema(Schema):
    attendees = fields.List(
        fields.Str(validate=validate.Length(min=3, max=320)), validate=validate.Length(max=100)
    )
    notes = fields.Str(allow_none=True, validate=Text)
    points = fields.List(fields.Nested(PointNotesSchema), validate=validate.Length(max=200))
    decisions = fields.List(fields.Nested(DecisionInSchema), validate=validate.Length(max=50))
    actions = fields.List(fields.Nested(ActionInSchema), validate=validate.Length(max=50))

    class Meta:
        example = {
            "attendees": ["cfo@example.com"],
            "notes": "Budget on track; MTTR worsening in Finance.",
            "decisions": [
                {"text": "Approved for Q1.", "enhancement": "ENH-000045", "outcome": "approve"}
            ],
            "actions": [
                {
                    "title": "Staff the Finance queue",
                    "owner": "cio@example.com",
                    "due_date": "2026-12-20",
                }
            ],
        }


class MinutesVersionSchema(Schema):
    number = fields.Int()
    published_at = fields.DateTime()
    content = fields.Dict()


class MeetingSchema(Schema):
    id = fields.Int()
    committee = fields.Int()
    committee_name = fields.Str()
    scheduled_at = fields.DateTime()
    status = fields.Str(metadata={"enum": ["draft", "published", "amending"]})
    agenda = fields.List(fields.Nested(AgendaPointSchema))
    attendees = fields.List(fields.Str())
    notes = fields.Str(allow_none=True)
    decisions = fields.List(fields.Nested(MeetingDecisionSchema))
    actions = fields.List(fields.Int(), metadata={"description": "ids of its action items"})
    versions = fields.List(fields.Nested(MinutesVersionSchema))
    published_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class MeetingPage(Schema):
    items = fields.List(fields.Nested(MeetingSchema))
    next_cursor = fields.Str(allow_none=True)


# --- action items ----------------------------------------------------------------------------


class ActionCreateSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    owner = Email
    due_date = fields.Date(required=True)
    source = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(max=64), metadata=SOURCE
    )

    class Meta:
        example = {
            "title": "Renegotiate the licence count",
            "owner": "cio@example.com",
            "due_date": "2026-12-31",
            "source": "risk:3",
        }


class ActionPatchSchema(Schema):
    title = fields.Str(validate=validate.Length(min=1, max=300))
    owner = fields.Str(validate=validate.Length(min=3, max=320))
    due_date = fields.Date()
    status = fields.Str(validate=validate.OneOf([s.value for s in ActionStatus]))
    source = fields.Str(allow_none=True, validate=validate.Length(max=64), metadata=SOURCE)


class ActionSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    owner = fields.Str(metadata={"description": "email"})
    owner_name = fields.Str()
    due_date = fields.Date()
    status = fields.Str(metadata={"enum": [s.value for s in ActionStatus]})
    overdue = fields.Bool()
    source = fields.Str(allow_none=True)
    meeting = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class ActionPage(Schema):
    items = fields.List(fields.Nested(ActionSchema))
    next_cursor = fields.Str(allow_none=True)


class ActionListArgs(PageArgs):
    owner = fields.Str(validate=validate.Length(max=320), metadata={"description": "email"})
    status = DelimitedList(fields.Str(validate=validate.OneOf([s.value for s in ActionStatus])))
    overdue = fields.Bool()


# --- risks -----------------------------------------------------------------------------------

Level = validate.Range(min=1, max=5)


class RiskCreateSchema(Schema):
    title = fields.Str(required=True, validate=Title)
    description = fields.Str(load_default=None, allow_none=True, validate=Text)
    category = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    probability = fields.Int(required=True, validate=Level)
    impact = fields.Int(required=True, validate=Level)
    owner = Email
    mitigation = fields.Str(load_default=None, allow_none=True, validate=Text)
    review_by = fields.Date(load_default=None, allow_none=True)
    status = fields.Str(load_default="open", validate=validate.OneOf([s.value for s in RiskStatus]))

    class Meta:
        example = {
            "title": "Key user turnover in Finance",
            "description": "Two of three key users leave in Q1.",
            "category": "people",
            "probability": 4,
            "impact": 4,
            "owner": "cfo@example.com",
            "mitigation": "Train two back-ups.",
            "review_by": "2027-01-15",
        }


class RiskPatchSchema(Schema):
    title = fields.Str(validate=Title)
    description = fields.Str(allow_none=True, validate=Text)
    category = fields.Str(validate=validate.Length(min=1, max=64))
    probability = fields.Int(validate=Level)
    impact = fields.Int(validate=Level)
    owner = fields.Str(validate=validate.Length(min=3, max=320))
    mitigation = fields.Str(allow_none=True, validate=Text)
    review_by = fields.Date(allow_none=True)
    status = fields.Str(validate=validate.OneOf([s.value for s in RiskStatus]))


class ScoreChangeSchema(Schema):
    probability = fields.Int()
    impact = fields.Int()
    score = fields.Int()
    changed_at = fields.DateTime()


class RiskSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    description = fields.Str(allow_none=True)
    category = fields.Str()
    probability = fields.Int()
    impact = fields.Int()
    score = fields.Int()
    owner = fields.Str()
    mitigation = fields.Str(allow_none=True)
    status = fields.Str(metadata={"enum": [s.value for s in RiskStatus]})
    review_by = fields.Date(allow_none=True)
    review_overdue = fields.Bool()
    alerting = fields.Bool(metadata={"description": "at or above the alert score, or late"})
    last_reviewed_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Nested(ScoreChangeSchema))
    version = fields.Int()


class RiskPage(Schema):
    items = fields.List(fields.Nested(RiskSchema))
    next_cursor = fields.Str(allow_none=True)


class RiskListArgs(PageArgs):
    status = DelimitedList(fields.Str(validate=validate.OneOf([s.value for s in RiskStatus])))
    min_score = fields.Int(validate=validate.Range(min=1, max=25))


# --- budget ----------------------------------------------------------------------------------

Amount = fields.Float(
    required=True, allow_nan=False, validate=validate.Range(min=0, max=999_999_999_999)
)
MONTHS = [f"{m:02d}" for m in range(1, 13)]


class BudgetPlanSchema(Schema):
    planned = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(MONTHS)),
        values=fields.Float(allow_nan=False, validate=validate.Range(min=0, max=999_999_999_999)),
        required=True,
        metadata={"example": {"01": 1000.0, "02": 1000.0}},
    )


class BudgetActualSchema(Schema):
    month = fields.Str(required=True, validate=validate.OneOf(MONTHS))
    amount = Amount

    class Meta:
        example = {"month": "03", "amount": 1250.0}


class BudgetMonthSchema(Schema):
    month = fields.Str()
    planned = fields.Float()
    actual = fields.Float(allow_none=True)
    variance = fields.Float(allow_none=True)


class BudgetFiguresSchema(Schema):
    category = fields.Str()
    months = fields.List(fields.Nested(BudgetMonthSchema))
    planned_year = fields.Float()
    planned_to_date = fields.Float()
    actual_to_date = fields.Float()
    variance_to_date = fields.Float()
    forecast = fields.Float(metadata={"description": "year end, from the run rate"})
    status = fields.Str(metadata=STATUS)
    version = fields.Int()


class BudgetYearSchema(Schema):
    year = fields.Int()
    tolerance = fields.Float()
    status = fields.Str(allow_none=True, metadata=STATUS)
    categories = fields.List(fields.Nested(BudgetFiguresSchema))
    total = fields.Nested(BudgetFiguresSchema)


class BudgetImportSchema(Schema):
    csv = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=200_000),
        metadata={"description": "category,month,amount lines", "example": "support,03,1250"},
    )


class ActualsImportSchema(Schema):
    imported = fields.Int()


# --- pulse surveys ---------------------------------------------------------------------------


class SurveyCreateSchema(Schema):
    title = fields.Str(required=True, validate=Title)
    questions = fields.List(
        fields.Str(validate=validate.Length(min=1, max=300)),
        required=True,
        validate=validate.Length(min=1, max=MAX_QUESTIONS),
    )
    audience = fields.Str(load_default="all", validate=validate.OneOf(AUDIENCES))
    module = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=16))
    closes_on = fields.Date(load_default=None, allow_none=True)


class SurveyAnswerSchema(Schema):
    scores = fields.List(
        fields.Int(validate=validate.Range(min=1, max=5)),
        required=True,
        validate=validate.Length(min=1, max=MAX_QUESTIONS),
    )
    comment = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    module = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=16))


class AggregateSchema(Schema):
    shown = fields.Bool(metadata={"description": "false below the minimum number of answers"})
    count = fields.Int(allow_none=True)
    average = fields.Float(allow_none=True)
    questions = fields.List(fields.List(fields.Raw()))
    comments = fields.List(fields.Str())


class SurveySchema(Schema):
    id = fields.Int()
    title = fields.Str()
    questions = fields.List(fields.Str())
    audience = fields.Str()
    status = fields.Str(metadata={"enum": ["open", "closed"]})
    opened_at = fields.DateTime()
    closes_on = fields.Date(allow_none=True)
    answers = fields.Int(allow_none=True)
    overall = fields.Nested(AggregateSchema, allow_none=True)
    modules = fields.Dict(keys=fields.Str(), values=fields.Nested(AggregateSchema))


class SurveyPage(Schema):
    items = fields.List(fields.Nested(SurveySchema))
    next_cursor = fields.Str(allow_none=True)


# --- report ----------------------------------------------------------------------------------


class ReportArgs(Schema):
    period = fields.Str(
        load_default=None,
        validate=validate.Length(max=24),
        metadata={"description": "2026-11, 2026-W45 or meeting:<id>; this month by default"},
    )


class ReportSchema(Schema):
    period = fields.Dict()
    generated_at = fields.Str()
    objectives = fields.List(fields.Dict())
    kpis = fields.List(fields.Nested(KpiSchema))
    hotspots = fields.List(fields.Nested(KpiSchema))
    decisions = fields.List(fields.Dict())
    sprints = fields.List(fields.Dict(), allow_none=True)
    access = fields.Dict(allow_none=True)
    risks = fields.List(fields.Dict())
    budget = fields.Dict()
    actions = fields.Dict()
    satisfaction = fields.Dict()
