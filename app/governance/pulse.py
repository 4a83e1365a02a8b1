"""Pulse surveys: a periodic product satisfaction check besides the per-ticket rating.

An admin opens a survey (a few 1-5 questions and a free comment) for every user, the key users,
or the users of one module; each user answers once, from a banner on their home page. What a
person answered is never linked to them: participation and answers are separate rows, and only
aggregates of at least ``MIN_ANSWERS`` answers (and their comments) are ever shown.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalogue.models import Module
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, PermissionDenied
from app.core.permissions import Permission, require
from app.governance.models import PulseAnswer, PulseParticipation, PulseSurvey
from app.governance.service import invalid, module_by_code
from app.identity.models import User

ENTITY = "pulse_survey"
MIN_ANSWERS = 5
AUDIENCES = ("all", "key_users", "module")
MAX_QUESTIONS = 10
COMMENT_MAX = 2000


def open_survey(
    session: Session,
    actor: User,
    *,
    title: str,
    questions: list[str],
    audience: str = "all",
    module: str | None = None,
    closes_on: date | None = None,
) -> PulseSurvey:
    """Open a survey for ``audience`` (a module's users need ``module``)."""
    require(actor, Permission.PULSE_MANAGE)
    questions = [q.strip() for q in questions if q and q.strip()]
    if not 1 <= len(questions) <= MAX_QUESTIONS:
        raise invalid(
            "questions", _l("From 1 to %(max_questions)s questions.", max_questions=MAX_QUESTIONS)
        )
    target = module_by_code(session, module)
    if audience == "module" and target is None:
        raise invalid("module", _l("A survey of a module's users names the module."))
    survey = PulseSurvey(
        title=title.strip(),
        questions=questions,
        audience=audience,
        module_id=target.id if target else None,
        opened_at=utcnow(),
        closes_on=closes_on,
        created_by_id=actor.id,
    )
    session.add(survey)
    session.flush()
    audit.record(session, actor, ENTITY, survey.id, "open", {"title": [None, survey.title]})
    return survey


def close_survey(session: Session, actor: User, survey: PulseSurvey) -> PulseSurvey:
    require(actor, Permission.PULSE_MANAGE)
    if survey.status == "closed":
        return survey
    survey.status, survey.closed_at = "closed", utcnow()
    session.flush()
    audit.record(session, actor, ENTITY, survey.id, "close", {"status": ["open", "closed"]})
    return survey


def get_survey(session: Session, survey_id: int) -> PulseSurvey:
    survey = session.get(PulseSurvey, survey_id)
    if survey is None:
        raise NotFound(_l("No such survey."))
    return survey


def _in_audience(user: User, survey: PulseSurvey) -> bool:
    pairs = list(user.role_pairs())
    if survey.audience == "key_users":
        return any(role == "key_user" for role, _ in pairs)
    if survey.audience == "module":
        return any(scope == survey.module_id for _, scope in pairs)
    return True


def _answered(session: Session, survey: PulseSurvey, user: User) -> bool:
    return (
        session.scalar(
            select(PulseParticipation.id).where(
                PulseParticipation.survey_id == survey.id, PulseParticipation.user_id == user.id
            )
        )
        is not None
    )


def survey_for(session: Session, user: User, today: date) -> PulseSurvey | None:
    """The open survey ``user`` is asked to answer and has not answered yet (the banner)."""
    if getattr(user, "is_service_account", False):
        return None
    surveys = session.scalars(
        select(PulseSurvey).where(PulseSurvey.status == "open").order_by(PulseSurvey.id.desc())
    )
    for survey in surveys:
        if survey.closes_on is not None and survey.closes_on < today:
            continue
        if _in_audience(user, survey) and not _answered(session, survey, user):
            return survey
    return None


def answer(
    session: Session,
    actor: User,
    survey: PulseSurvey,
    *,
    scores: list[int],
    comment: str | None = None,
    module: str | None = None,
    today: date,
) -> None:
    """Record ``actor``'s answer once; the answer itself keeps no trace of who gave it."""
    require(actor, Permission.PULSE_ANSWER)
    if survey.status != "open" or (survey.closes_on and survey.closes_on < today):
        raise Conflict(_l("This survey is closed."))
    if not _in_audience(actor, survey):
        raise PermissionDenied(_l("This survey is not meant for you."))
    if _answered(session, survey, actor):
        raise Conflict(_l("You answered this survey already."))
    if len(scores) != len(survey.questions) or any(not 1 <= s <= 5 for s in scores):
        raise invalid(
            "scores",
            _l(
                "One score from 1 to 5 for each of the %(count)s questions.",
                count=len(survey.questions),
            ),
        )
    target = module_by_code(session, module) if module else None
    if survey.audience == "module":
        target = session.get(Module, survey.module_id)
    session.add(PulseParticipation(survey_id=survey.id, user_id=actor.id))
    session.add(
        PulseAnswer(
            survey_id=survey.id,
            module_id=target.id if target else None,
            scores=list(scores),
            average=sum(scores) / len(scores),
            comment=(comment or "").strip()[:COMMENT_MAX] or None,
        )
    )
    session.flush()
    # the audit says that someone took part, never what they said
    audit.record(session, actor, ENTITY, survey.id, "answer")


def results(session: Session, actor: User | None, survey: PulseSurvey) -> dict:
    """Aggregates overall and per module, each shown only with at least ``MIN_ANSWERS``."""
    if actor is not None:
        require(actor, Permission.GOVERNANCE_VIEW)
    answers = list(session.scalars(select(PulseAnswer).where(PulseAnswer.survey_id == survey.id)))
    modules = dict(session.execute(select(Module.id, Module.code)).all())
    groups: dict[str, list[PulseAnswer]] = {}
    for a in answers:
        groups.setdefault(modules.get(a.module_id, "—"), []).append(a)
    return {
        "survey": survey,
        "answers": len(answers),
        "min_answers": MIN_ANSWERS,
        "overall": _aggregate(survey, answers),
        "modules": {code: _aggregate(survey, group) for code, group in sorted(groups.items())},
    }


def _aggregate(survey: PulseSurvey, answers: list[PulseAnswer]) -> dict:
    if len(answers) < MIN_ANSWERS:
        return {"shown": False, "count": None, "average": None, "questions": [], "comments": []}
    per_question = [
        round(sum(a.scores[i] for a in answers) / len(answers), 2)
        for i in range(len(survey.questions))
    ]
    return {
        "shown": True,
        "count": len(answers),
        "average": round(sum(a.average for a in answers) / len(answers), 2),
        "questions": list(zip(survey.questions, per_question, strict=True)),
        "comments": sorted(a.comment for a in answers if a.comment),
    }


def latest_average(session: Session) -> tuple[PulseSurvey | None, float | None]:
    """The last closed survey with enough answers and its average (for the indicator)."""
    row = session.execute(
        select(PulseSurvey, func.avg(PulseAnswer.average), func.count(PulseAnswer.id))
        .join(PulseAnswer, PulseAnswer.survey_id == PulseSurvey.id)
        .group_by(PulseSurvey.id)
        .having(func.count(PulseAnswer.id) >= MIN_ANSWERS)
        .order_by(PulseSurvey.opened_at.desc(), PulseSurvey.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, None
    return row[0], round(float(row[1]), 2)
