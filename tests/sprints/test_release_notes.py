"""Releasing done items: release notes per module in plain words, and the announcement to the
requesters and voters (real SMTP) and the channel (real webhook) through the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.audit import AuditEvent
from app.core.outbox import OutboxMessage
from app.enhancements.models import Enhancement
from app.sprints.notifications import EMAIL_JOB, WEBHOOK_JOB
from tests.sprints.conftest import created, planned, posted


@pytest.fixture
def app_config(smtp_server, webhook_receiver) -> dict:
    return {
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": smtp_server.port,
        "WEBHOOK_URL": webhook_receiver.url,
    }


@pytest.fixture
def delivered(pat, approved, make_user, make_ticket, monday):
    """A running Finance sprint with a done request (one voter) and a done ticket fix."""
    asker = make_user("requester", email="asker@example.com")
    voter = make_user("requester", email="voter@example.com")
    reporter = make_user("requester", email="reporter@example.com")
    request = approved(
        "Post recurring journals automatically",
        requester=asker,
        voters=[voter],
        benefit="Saves two days at every month-end close.",
    )
    ticket = make_ticket(reporter=reporter, title="VAT report totals differ from ledger")
    sprint = created(pat)
    items = [planned(pat, sprint["id"], request.ref, 5), planned(pat, sprint["id"], ticket.ref, 2)]
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    for item in items:
        posted(pat, f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/transitions", action="done")
    return sprint, items, request, ticket


def test_releasing_a_sprint_writes_release_notes_per_module_in_plain_words(
    pat, delivered, db_session, make_module
):
    sprint, _items, request, ticket = delivered
    make_module("HR")

    result = posted(pat, f"/api/v1/sprints/{sprint['id']}/release")

    [note] = result["notes"]
    assert (note["module"], note["sprint"], note["sprint_name"]) == (
        "FIN",
        sprint["id"],
        "Sprint 1",
    )
    assert note["body"] == (
        "What changed in Finance:\n"
        f"- Post recurring journals automatically. Saves two days at every month-end close. "
        f"({request.ref})\n"
        f"- Fixed: VAT report totals differ from ledger. ({ticket.ref})"
    )
    assert [i["ref"] for i in note["items"]] == [request.ref, ticket.ref]
    assert db_session.get(Enhancement, request.id).status == "released"
    listed = pat.get(f"/api/v1/release-notes?sprint={sprint['id']}&module=FIN").get_json()
    assert [n["id"] for n in listed["items"]] == [note["id"]]
    assert pat.get("/api/v1/release-notes?module=HR").get_json()["items"] == []
    assert pat.get("/api/v1/release-notes?module=NOPE").status_code == 422


def test_releasing_one_item_releases_only_that_one(pat, delivered, db_session):
    sprint, items, request, ticket = delivered

    item = posted(
        pat, f"/api/v1/sprints/{sprint['id']}/items/{items[1]['id']}/transitions", action="release"
    )

    assert item["status"] == "released" and item["released_at"]
    [note] = pat.get("/api/v1/release-notes").get_json()["items"]
    assert [i["ref"] for i in note["items"]] == [ticket.ref]
    assert db_session.get(Enhancement, request.id).status == "done"


def test_a_release_is_announced_once_to_requesters_voters_and_the_channel(
    app, pat, delivered, db_session, smtp_server, webhook_receiver, run_jobs
):
    sprint, _, request, ticket = delivered

    posted(pat, f"/api/v1/sprints/{sprint['id']}/release")
    run_jobs(app)

    jobs = db_session.scalars(select(OutboxMessage.job).order_by(OutboxMessage.id)).all()
    assert [j for j in jobs if j.startswith("app.sprints")] == [EMAIL_JOB, WEBHOOK_JOB]
    [mail] = [m for m in smtp_server.messages if m.subject.startswith("Released")]
    assert sorted(mail.rcpt_tos) == [
        "asker@example.com",
        "reporter@example.com",
        "voter@example.com",
    ]
    assert "Saves two days at every month-end close." in mail.body
    [hook] = [b for b in webhook_receiver.bodies if b.get("event") == "release"]
    assert hook["items"] == [request.ref, ticket.ref] and hook["module"] == "FIN"


def test_nothing_done_means_nothing_to_release(pat, approved, monday):
    sprint = created(pat)
    planned(pat, sprint["id"], approved().ref, 3)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")

    refused = pat.post(f"/api/v1/sprints/{sprint['id']}/release")

    assert refused.status_code == 409


def test_done_items_can_still_be_released_after_the_close(pat, delivered):
    sprint, _items, _, _ = delivered
    posted(pat, f"/api/v1/sprints/{sprint['id']}/close", carry_over="backlog")

    result = posted(pat, f"/api/v1/sprints/{sprint['id']}/release")

    assert len(result["notes"]) == 1


def test_a_release_is_audited_with_its_note(pat, delivered, db_session):
    sprint, _, request, ticket = delivered

    posted(pat, f"/api/v1/sprints/{sprint['id']}/release")

    [event] = db_session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "release_note")
    ).all()
    assert event.changes == {"items": [None, [request.ref, ticket.ref]]}
    released = db_session.scalars(
        select(AuditEvent.entity_id).where(
            AuditEvent.entity_type == "sprint_item", AuditEvent.action == "release"
        )
    ).all()
    assert len(released) == 2
