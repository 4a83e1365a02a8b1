"""The governance operations keep the contract their OpenAPI document states, under the same
fuzzing as every other operation (``tests/test_openapi_contract.py``), aimed at existing
objectives, committees, meetings, actions, risks, budgets and surveys, as the committee and as
a requester."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from schemathesis import GenerationMode

from app.core.clock import utcnow
from app.governance import actions, budget, meetings, pulse, risks, service
from tests.test_openapi_contract import fuzz

PREFIXES = (
    "/api/v1/objectives",
    "/api/v1/committees",
    "/api/v1/meetings",
    "/api/v1/actions",
    "/api/v1/risks",
    "/api/v1/budget",
    "/api/v1/pulse-surveys",
    "/api/v1/governance",
)
AIMED, UNAIMED = 8, 3


@pytest.fixture(params=["committee_member", "requester"])
def governance_desk(request, db_session, make_user, make_module, as_):
    make_module("FIN", name="Finance")
    chair = make_user("committee_member", email="chair@example.com")
    admin = make_user("admin", email="ada@example.com")
    owner = make_user("requester", email="olga@example.com")
    objective = service.create_objective(
        db_session, chair, title="Fast", owner=owner.email, indicators=[{"key": "mttr_seconds"}]
    )
    committee = service.create_committee(
        db_session, chair, name="Steering", cadence="monthly", members=[owner.email]
    )
    meeting = meetings.create_meeting(db_session, chair, committee, utcnow())
    point = meetings.add_point(db_session, chair, meeting, title="AOB")
    action = actions.create_action(
        db_session, chair, title="Do", owner=owner.email, due_date=date(2026, 12, 20)
    )
    risk = risks.create_risk(
        db_session, chair, title="R", category="x", probability=2, impact=3, owner=owner.email
    )
    budget.set_planned(db_session, chair, 2026, "support", {"01": 100})
    survey = pulse.open_survey(db_session, admin, title="Pulse", questions=["Q"])
    db_session.commit()
    caller = as_(chair if request.param == "committee_member" else owner)
    values = {
        "objective_id": objective.id,
        "committee_id": committee.id,
        "meeting_id": meeting.id,
        "point_id": point.id,
        "action_id": action.id,
        "risk_id": risk.id,
        "year": 2026,
        "category": "support",
        "survey_id": survey.id,
    }
    return caller, values


def test_every_governance_operation_keeps_the_contract(app, governance_desk):
    caller, values = governance_desk
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {caller.token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(PREFIXES):
            continue
        operations += 1
        aim = {k: v for k, v in values.items() if "{" + k + "}" in operation.path}
        targets = [(aim, AIMED), (None, UNAIMED)] if aim else [(None, AIMED)]
        for path_parameters, examples in targets:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz(operation, mode, headers, path_parameters, examples)
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(f"{operation.label} {path_parameters} ({mode.value}): {exc}")

    assert operations >= 20
    assert not failures, "\n\n".join(failures)
