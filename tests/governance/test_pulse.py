"""Pulse surveys: answered once, anonymous, shown only from five answers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.governance.models import PulseAnswer

SURVEY = {"title": "How is the ERP?", "questions": ["It helps me", "Support helps me"]}


@pytest.fixture
def ada(as_, admin):
    return as_(admin)


def test_an_answer_is_given_once_and_keeps_no_name(ada, olga, db_session):
    survey = ada.post("/api/v1/pulse-surveys", json=SURVEY).get_json()
    url = f"/api/v1/pulse-surveys/{survey['id']}/answers"

    first = olga.post(url, json={"scores": [4, 5], "comment": "Fine."})
    again = olga.post(url, json={"scores": [1, 1]})

    assert first.status_code == 201
    assert again.status_code == 409
    answer = db_session.scalars(select(PulseAnswer)).one()
    assert not any("user" in column for column in PulseAnswer.__table__.columns.keys())  # noqa: SIM118
    assert answer.scores == [4, 5]


def test_results_are_hidden_below_five_answers(ada, as_, make_user, claire):
    survey = ada.post("/api/v1/pulse-surveys", json=SURVEY).get_json()
    url = f"/api/v1/pulse-surveys/{survey['id']}"
    people = [as_(make_user("requester")) for _ in range(5)]
    for client in people[:4]:
        client.post(f"{url}/answers", json={"scores": [4, 4], "comment": "ok"})

    hidden = claire.get(url).get_json()
    people[4].post(f"{url}/answers", json={"scores": [2, 2]})
    shown = claire.get(url).get_json()

    assert hidden["overall"]["shown"] is False and hidden["overall"]["comments"] == []
    assert shown["overall"]["shown"] is True
    assert shown["overall"]["average"] == pytest.approx(3.6)
    assert shown["overall"]["comments"] == ["ok"] * 4


def test_only_admins_open_surveys_and_a_wrong_score_count_is_refused(ada, claire, olga):
    assert claire.post("/api/v1/pulse-surveys", json=SURVEY).status_code == 403
    survey = ada.post("/api/v1/pulse-surveys", json=SURVEY).get_json()

    response = olga.post(f"/api/v1/pulse-surveys/{survey['id']}/answers", json={"scores": [3]})

    assert response.status_code == 422


def test_the_auditor_may_not_answer_nor_open(ada, audrey):
    survey = ada.post("/api/v1/pulse-surveys", json=SURVEY).get_json()
    assert (
        audrey.post(
            f"/api/v1/pulse-surveys/{survey['id']}/answers", json={"scores": [3, 3]}
        ).status_code
        == 403
    )
    assert audrey.post("/api/v1/pulse-surveys", json=SURVEY).status_code == 403
