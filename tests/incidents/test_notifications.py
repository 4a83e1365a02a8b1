"""Who hears about a ticket, through the real pipeline.

Each story acts through the API (or the SLA scan), then a real RQ worker runs what the outbox
handed to the queue, and the mail arrives at a real SMTP server and the webhook at a real HTTP
receiver, both on loopback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.catalogue import service as catalogue
from app.core.outbox import OutboxMessage, dispatch_committed
from app.incidents.jobs import scan_sla
from app.incidents.notifications import EMAIL_JOB, WEBHOOK_JOB

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday morning
TEAM_EMAIL = "finance-support@example.com"
FIRST_RETRY = timedelta(seconds=11)  # just past the first backoff interval (10 s)


@pytest.fixture
def app_config(smtp_server, webhook_receiver) -> dict:
    return {
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": smtp_server.port,
        "WEBHOOK_URL": webhook_receiver.url,
    }


@pytest.fixture
def finance(db_session, make_module):
    """The Finance module, supported by a group with a shared mailbox (24x7 clock: no calendar)."""
    catalogue.create_group(
        db_session, None, code="FINSUP", name="Finance support", email=TEAM_EMAIL
    )
    db_session.commit()
    return make_module("FIN", name="Finance", support_group="FINSUP")


@pytest.fixture
def requester(make_user, finance):
    return make_user("requester", email="rita.requester@example.com", name="Rita")


@pytest.fixture
def agent(make_user):
    return make_user("agent", email="alex.agent@example.com", name="Alex")


@pytest.fixture
def frozen(frozen_clock):
    frozen_clock(T0)
    return frozen_clock


def submit(api, impact="medium", urgency="medium", title="Invoice posting fails") -> dict:
    response = api.post(
        "/api/v1/tickets",
        json={
            "title": title,
            "description": "Error 'period closed' when posting invoice 4711.",
            "module": "FIN",
            "impact": impact,
            "urgency": urgency,
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def act(api, ref: str, action: str, **params) -> dict:
    response = api.post(f"/api/v1/tickets/{ref}/transitions", json={"action": action, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def comment(api, ref: str, body: str, public: bool = True) -> None:
    response = api.post(f"/api/v1/tickets/{ref}/comments", json={"body": body, "public": public})
    assert response.status_code == 201, response.get_json()


def outbox(db_session, job: str) -> list[OutboxMessage]:
    db_session.commit()  # end any read snapshot: the worker wrote in its own transaction
    return list(
        db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.job == job).order_by(OutboxMessage.id)
        )
    )


def subjects(mails) -> list[str]:
    return [m.subject for m in mails]


# --- the requester hears ------------------------------------------------------------------


def test_submitting_a_ticket_emails_the_requester_its_reference(
    app, api_client, requester, smtp_server, run_jobs
):
    ticket = submit(api_client(requester))

    run_jobs(app)

    [mail] = smtp_server.to(requester.email)
    assert ticket["ref"] in mail.subject
    assert "Invoice posting fails" in mail.subject
    assert mail.message["To"] == requester.email
    assert f"/tickets/{ticket['ref']}" in mail.body


def test_a_public_answer_from_an_agent_emails_the_requester(
    app, api_client, requester, agent, smtp_server, run_jobs
):
    ticket = submit(api_client(requester))

    comment(api_client(agent), ticket["ref"], "Please try again: the period is open now.")
    run_jobs(app)

    [answer] = [m for m in smtp_server.to(requester.email) if "New answer" in m.subject]
    assert ticket["ref"] in answer.subject
    assert "Please try again: the period is open now." in answer.body


def test_an_internal_note_is_not_emailed_to_the_requester(
    app, api_client, requester, agent, smtp_server, run_jobs
):
    ticket = submit(api_client(requester))

    comment(api_client(agent), ticket["ref"], "Probably the closing job again.", public=False)
    run_jobs(app)

    assert subjects(smtp_server.to(requester.email)) == [
        f"{ticket['ref']} received: Invoice posting fails"
    ]
    assert not any("closing job" in m.body for m in smtp_server.messages)


def test_waiting_on_the_requester_asks_them_for_an_answer(
    app, api_client, requester, agent, smtp_server, run_jobs
):
    ticket = submit(api_client(requester))
    support = api_client(agent)
    act(support, ticket["ref"], "start")

    act(support, ticket["ref"], "wait")
    run_jobs(app)

    [question] = [m for m in smtp_server.to(requester.email) if "needs your answer" in m.subject]
    assert question.subject == f"{ticket['ref']} needs your answer: Invoice posting fails"


def test_resolving_tells_the_requester_what_was_done(
    app, api_client, requester, agent, smtp_server, run_jobs
):
    ticket = submit(api_client(requester))

    act(
        api_client(agent),
        ticket["ref"],
        "resolve",
        resolution_code="configuration",
        resolution_note="The posting period was reopened.",
    )
    run_jobs(app)

    [resolved] = [m for m in smtp_server.to(requester.email) if "is resolved" in m.subject]
    assert ticket["ref"] in resolved.subject
    assert "The posting period was reopened." in resolved.body


# --- the support team hears ---------------------------------------------------------------


def test_assigning_a_ticket_emails_the_assignee(
    app, api_client, make_user, requester, agent, smtp_server, run_jobs
):
    colleague = make_user("agent", email="bea.agent@example.com", name="Bea")
    ticket = submit(api_client(requester))

    act(api_client(agent), ticket["ref"], "triage", assignee=colleague.email)
    run_jobs(app)

    [assigned] = [m for m in smtp_server.to(colleague.email) if "assigned" in m.subject]
    assert assigned.subject == f"[P3] {ticket['ref']} assigned to you: Invoice posting fails"
    assert smtp_server.to(agent.email) == [], "the one who assigns is not told"


def test_a_p1_ticket_is_posted_to_the_webhook(
    app, api_client, requester, webhook_receiver, run_jobs
):
    ticket = submit(api_client(requester), impact="high", urgency="high")

    run_jobs(app)

    [body] = webhook_receiver.bodies
    assert body["event"] == "p1_created"
    assert body["ticket"] == ticket["ref"]
    assert body["priority"] == "P1"
    assert body["module"] == "FIN"


def test_a_lower_priority_ticket_is_not_posted_to_the_webhook(
    app, api_client, requester, webhook_receiver, smtp_server, run_jobs
):
    submit(api_client(requester), impact="high", urgency="medium")

    run_jobs(app)

    assert smtp_server.to(requester.email), "the worker did run"
    assert webhook_receiver.bodies == []


def test_an_sla_breach_reaches_the_team_and_the_webhook_once_though_the_scan_runs_twice(
    app, db_session, api_client, requester, frozen, smtp_server, webhook_receiver, run_jobs
):
    ticket = submit(api_client(requester), impact="high", urgency="medium")  # P2: respond in 1 h
    run_jobs(app)
    frozen(T0 + timedelta(hours=1, minutes=5))

    for _ in range(2):
        scan_sla(db_session)
        db_session.commit()
        dispatch_committed(app, db_session)
        run_jobs(app)

    [breach] = [m for m in smtp_server.to(TEAM_EMAIL) if "breached" in m.subject]
    assert breach.subject == f"[P2] {ticket['ref']} breached its first-response SLA"
    assert [(b["event"], b["ticket"]) for b in webhook_receiver.bodies] == [
        ("response_breach", ticket["ref"])
    ]


# --- failures never fail the request, and nothing is lost -----------------------------------


def test_with_the_mail_server_down_the_ticket_is_still_accepted_and_the_mail_kept(
    app, db_session, api_client, requester, frozen, smtp_server, run_jobs
):
    smtp_server.stop()

    ticket = submit(api_client(requester))
    run_jobs(app)

    assert smtp_server.messages == []
    receipt = next(m for m in outbox(db_session, EMAIL_JOB) if m.kwargs["event"] == "created")
    assert receipt.completed_at is None
    assert "Connection refused" in receipt.last_error
    assert ticket["ref"] in {
        t["ref"] for t in api_client(requester).get("/api/v1/tickets").get_json()["items"]
    }


def test_a_mail_that_failed_is_delivered_once_the_server_is_back(
    app, db_session, api_client, requester, frozen, smtp_server, run_jobs
):
    smtp_server.stop()
    ticket = submit(api_client(requester))
    run_jobs(app)

    smtp_server.start()
    frozen(T0 + FIRST_RETRY)
    run_jobs(app)

    [mail] = smtp_server.to(requester.email)
    assert ticket["ref"] in mail.subject
    receipt = next(m for m in outbox(db_session, EMAIL_JOB) if m.kwargs["event"] == "created")
    assert receipt.completed_at is not None
    assert receipt.last_error is None


def test_a_webhook_the_receiver_refused_is_posted_once_it_accepts_again(
    app, db_session, api_client, requester, frozen, webhook_receiver, run_jobs
):
    webhook_receiver.failing = True
    ticket = submit(api_client(requester), impact="high", urgency="high")
    run_jobs(app)
    [message] = outbox(db_session, WEBHOOK_JOB)
    assert message.completed_at is None
    assert "500" in message.last_error

    webhook_receiver.failing = False
    frozen(T0 + FIRST_RETRY)
    run_jobs(app)

    assert [(b["event"], b["ticket"]) for b in webhook_receiver.bodies] == [
        ("p1_created", ticket["ref"])
    ]
    [message] = outbox(db_session, WEBHOOK_JOB)
    assert message.completed_at is not None


def test_after_a_mail_outage_the_requester_gets_the_ticket_story_in_order(
    app, api_client, requester, agent, frozen, smtp_server, run_jobs
):
    smtp_server.stop()
    ticket = submit(api_client(requester))  # "received": fails, retried in 10 s
    support = api_client(agent)
    act(support, ticket["ref"], "start")
    act(support, ticket["ref"], "wait")  # "needs your answer": must wait for "received"
    run_jobs(app)
    smtp_server.start()
    frozen(T0 + timedelta(seconds=5))
    act(
        support,
        ticket["ref"],
        "resolve",
        resolution_code="configuration",
        resolution_note="The posting period was reopened.",
    )
    run_jobs(app)  # the server is back, but "resolved" must not overtake the others
    overtaken = subjects(smtp_server.to(requester.email))

    frozen(T0 + FIRST_RETRY)
    run_jobs(app)

    assert overtaken == []
    assert subjects(smtp_server.to(requester.email)) == [
        f"{ticket['ref']} received: Invoice posting fails",
        f"{ticket['ref']} needs your answer: Invoice posting fails",
        f"{ticket['ref']} is resolved: Invoice posting fails",
    ]


def test_the_support_team_hears_in_order_independently_of_the_requester(
    app, api_client, make_user, requester, agent, frozen, smtp_server, run_jobs
):
    colleague = make_user("agent", email="bea.agent@example.com", name="Bea")
    smtp_server.stop()
    ticket = submit(api_client(requester))
    run_jobs(app)  # "received" and "new ticket for the group" both fail
    smtp_server.start()
    frozen(T0 + timedelta(seconds=5))

    act(api_client(agent), ticket["ref"], "triage", assignee=colleague.email)
    run_jobs(app)
    before_retry = subjects(smtp_server.to(colleague.email))
    frozen(T0 + FIRST_RETRY)
    run_jobs(app)

    assert before_retry == [], "'assigned' waits for the group's 'new ticket' mail"
    assert subjects(smtp_server.to(TEAM_EMAIL)) == [
        f"[P3] New ticket {ticket['ref']} for Finance support: Invoice posting fails"
    ]
    assert subjects(smtp_server.to(colleague.email)) == [
        f"[P3] {ticket['ref']} assigned to you: Invoice posting fails"
    ]


# --- each reader gets the message in their language and time zone ------------------------


def test_a_french_requester_reads_the_message_in_french(
    app, db_session, api_client, requester, smtp_server, run_jobs
):
    requester.locale = "fr"
    db_session.commit()

    ticket = submit(api_client(requester))
    run_jobs(app)

    [mail] = smtp_server.to(requester.email)
    assert mail.subject == f"{ticket['ref']} reçu : Invoice posting fails"
    assert "Statut : nouveau" in mail.body
    assert "Ouvrir le ticket" in mail.body


def test_team_members_read_the_breach_in_their_own_language_and_zone(
    app, db_session, api_client, requester, make_user, frozen, smtp_server, run_jobs
):
    group = catalogue.create_group(db_session, None, code="HRSUP", name="HR support")
    db_session.commit()
    paris = make_user("agent", email="paris@example.com")
    paris.locale, paris.timezone = "fr", "Europe/Paris"
    denver = make_user("agent", email="denver@example.com")
    denver.locale, denver.timezone = "en", "America/Denver"
    catalogue.set_group_members(db_session, None, group, [paris, denver])
    db_session.commit()
    hr = catalogue.create_module(
        db_session, None, code="HR", name="Human resources", support_group="HRSUP"
    )
    db_session.commit()
    response = api_client(requester).post(
        "/api/v1/tickets",
        json={
            "title": "Payslips missing",
            "description": "No payslip for March.",
            "module": hr.code,
            "impact": "high",
            "urgency": "high",
        },
    )
    assert response.status_code == 201, response.get_json()
    ref = response.get_json()["ref"]
    run_jobs(app)
    frozen(T0 + timedelta(hours=10))

    scan_sla(db_session)
    db_session.commit()
    dispatch_committed(app, db_session)
    run_jobs(app)

    [french] = [m for m in smtp_server.to(paris.email) if "SLA de résolution" in m.subject]
    [english] = [m for m in smtp_server.to(denver.email) if "resolution SLA" in m.subject]
    assert french.subject.startswith(f"[P1] {ref} a dépassé")
    assert "CET" in french.body or "UTC+1" in french.body
    assert "Resolution due" in english.body and "MST" in english.body
    assert paris.email not in english.message["To"]
