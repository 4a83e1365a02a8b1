"""Following a ticket: a requester joins a ticket someone else reported instead of filing a
duplicate, an agent follows one they care about; both hear of its public updates only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.outbox import OutboxMessage
from app.incidents.jobs import send_ticket_email
from app.incidents.notifications import EMAIL_JOB
from tests.factories import PASSWORD, RESOLUTION, act_ok, comment, submitted


@pytest.fixture
def colleague(make_user, finance):
    return make_user(
        "requester", email="carl@example.com", name="Carl Colleague", password=PASSWORD
    )


@pytest.fixture
def carl(as_, colleague):
    return as_(colleague)


@pytest.fixture
def auditor(make_user):
    return make_user(
        "auditor", email="audrey@example.com", name="Audrey Auditor", password=PASSWORD
    )


def watcher_mails(db_session) -> list[dict]:
    rows = db_session.scalars(select(OutboxMessage).where(OutboxMessage.job == EMAIL_JOB)).all()
    return [r.kwargs for r in rows if r.kwargs.get("audience") == "watchers"]


def test_a_colleague_follows_an_open_ticket_of_the_module_and_then_reads_it(rita, carl):
    ref = submitted(rita)["ref"]
    assert carl.get(f"/api/v1/tickets/{ref}").status_code == 404  # not theirs

    response = carl.put(f"/api/v1/tickets/{ref}/watchers/me")

    assert response.status_code == 200
    assert response.get_json() == {
        "watching": True,
        "items": [{"name": "Carl Colleague", "email": "carl@example.com"}],  # one's own
    }
    assert carl.get(f"/api/v1/tickets/{ref}").status_code == 200
    listed = carl.get("/api/v1/tickets").get_json()["items"]
    assert [t["ref"] for t in listed] == [ref]


def test_following_twice_is_harmless_and_unfollowing_hides_the_ticket_again(rita, carl):
    ref = submitted(rita)["ref"]
    carl.put(f"/api/v1/tickets/{ref}/watchers/me")
    again = carl.put(f"/api/v1/tickets/{ref}/watchers/me")
    assert [w["name"] for w in again.get_json()["items"]] == ["Carl Colleague"]

    assert carl.delete(f"/api/v1/tickets/{ref}/watchers/me").status_code == 204

    assert carl.get(f"/api/v1/tickets/{ref}").status_code == 404


def test_a_follower_may_not_answer_on_someone_elses_ticket(rita, carl):
    ref = submitted(rita)["ref"]
    carl.put(f"/api/v1/tickets/{ref}/watchers/me")

    assert comment(carl, ref, "Me too!").status_code == 403


def test_a_closed_ticket_of_someone_else_cannot_be_followed(rita, carl, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "cancel", reason="Wrong module.")

    assert carl.put(f"/api/v1/tickets/{ref}/watchers/me").status_code == 404


def test_the_auditor_cannot_follow(rita, as_, auditor):
    ref = submitted(rita)["ref"]

    response = as_(auditor).put(f"/api/v1/tickets/{ref}/watchers/me")

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_the_support_team_sees_follower_emails_requesters_only_names(rita, carl, alex):
    ref = submitted(rita)["ref"]
    carl.put(f"/api/v1/tickets/{ref}/watchers/me")

    assert alex.get(f"/api/v1/tickets/{ref}/watchers").get_json() == {
        "watching": False,
        "items": [{"name": "Carl Colleague", "email": "carl@example.com"}],
    }
    assert rita.get(f"/api/v1/tickets/{ref}/watchers").get_json()["items"] == [
        {"name": "Carl Colleague"}
    ]


def test_followers_hear_of_public_answers_not_internal_notes(rita, carl, alex, db_session):
    ref = submitted(rita)["ref"]
    carl.put(f"/api/v1/tickets/{ref}/watchers/me")

    comment(alex, ref, "Blame the month-end job.", public=False)
    assert watcher_mails(db_session) == []
    comment(alex, ref, "We are looking into it.")

    [mail] = watcher_mails(db_session)
    assert mail["event"] == "public_comment"
    recipients = send_ticket_email(db_session, **mail)
    assert recipients == ["carl@example.com"]


def test_followers_hear_when_work_starts_and_when_it_is_resolved(rita, carl, alex, db_session):
    ref = submitted(rita)["ref"]
    carl.put(f"/api/v1/tickets/{ref}/watchers/me")

    act_ok(alex, ref, "start")
    act_ok(alex, ref, "wait")  # a question for the requester: not the followers' business
    act_ok(alex, ref, "resume")
    act_ok(alex, ref, "resolve", **RESOLUTION)

    assert [m["event"] for m in watcher_mails(db_session)] == ["started", "resolved"]


def test_a_ticket_nobody_follows_sends_no_follower_mail(rita, alex, db_session):
    ref = submitted(rita)["ref"]
    comment(alex, ref, "We are looking into it.")
    act_ok(alex, ref, "start")

    assert watcher_mails(db_session) == []


def test_an_inactive_follower_gets_no_mail(rita, carl, alex, colleague, db_session):
    ref = submitted(rita)["ref"]
    carl.put(f"/api/v1/tickets/{ref}/watchers/me")
    colleague.active = False
    db_session.commit()
    comment(alex, ref, "We are looking into it.")

    [mail] = watcher_mails(db_session)
    assert send_ticket_email(db_session, **mail) == []


def test_similar_open_tickets_of_the_module_are_suggested(rita, carl, alex, make_module):
    make_module("HR")
    posting = submitted(rita, title="Invoice posting fails with period closed")["ref"]
    submitted(rita, title="Invoice posting fails", module="HR")  # another module
    closed = submitted(rita, title="Invoice posting slow")["ref"]
    act_ok(alex, closed, "cancel", reason="Gone.")
    submitted(rita, title="Payroll export empty")

    found = carl.get("/api/v1/tickets/similar?module=FIN&title=posting+invoice+error")

    assert found.status_code == 200
    assert found.get_json()["items"] == [
        {
            "ref": posting,
            "title": "Invoice posting fails with period closed",
            "status": "new",
            "updated_at": found.get_json()["items"][0]["updated_at"],
            "watching": False,
            "mine": False,
        }
    ]


def test_similar_tickets_rank_the_most_shared_words_first(rita, carl):
    one = submitted(rita, title="Invoice report slow")["ref"]
    two = submitted(rita, title="Invoice posting fails on closed period")["ref"]

    items = carl.get("/api/v1/tickets/similar?module=FIN&title=invoice+posting+period").get_json()

    assert [t["ref"] for t in items["items"]] == [two, one]


@pytest.mark.parametrize("query", ["module=FIN&title=a", "module=NOPE&title=invoice", ""])
def test_similar_with_nothing_to_match_answers_an_empty_list_or_a_422(carl, query):
    response = carl.get(f"/api/v1/tickets/similar?{query}")

    if query:
        assert response.status_code == 200
        assert response.get_json() == {"items": []}
    else:
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) >= {"module", "title"}


# --- pages ---------------------------------------------------------------------------------------


def test_the_follow_button_on_the_ticket_page(rita, colleague, signed_in, make_ticket, requester):
    ticket = make_ticket(reporter=requester)
    browser = signed_in(colleague)

    response = browser.post(f"/tickets/{ticket.ref}/follow")

    assert response.status_code == 303
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "You follow INC-" in page
    assert "Stop following" in page
    assert "1 follower" in page


def test_unfollowing_someone_elses_ticket_goes_back_to_my_tickets(
    colleague, signed_in, make_ticket, requester
):
    ticket = make_ticket(reporter=requester)
    browser = signed_in(colleague)
    browser.post(f"/tickets/{ticket.ref}/follow")

    response = browser.post(f"/tickets/{ticket.ref}/unfollow")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/tickets")
    assert browser.get(f"/tickets/{ticket.ref}").status_code == 404


def test_the_auditor_sees_no_follow_button_and_cannot_post_one(
    auditor, signed_in, make_ticket, requester
):
    ticket = make_ticket(reporter=requester)
    browser = signed_in(auditor)

    page = browser.get(f"/tickets/{ticket.ref}").get_data(as_text=True)
    assert "Follow this ticket" not in page
    assert browser.post(f"/tickets/{ticket.ref}/follow").status_code == 403


def test_the_report_form_suggests_similar_tickets_without_javascript(
    colleague, signed_in, make_ticket, requester
):
    ticket = make_ticket(reporter=requester, title="Invoice posting fails")
    browser = signed_in(colleague)

    response = browser.post(
        "/tickets/new",
        data={"title": "posting of invoices fails", "module": "FIN", "check_similar": "1"},
    )

    assert response.status_code == 303
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert ticket.ref in page
    assert "Follow it instead" in page
    assert 'value="posting of invoices fails"' in page  # what was typed is kept


def test_the_similar_json_for_the_report_form(colleague, signed_in, make_ticket, requester):
    ticket = make_ticket(reporter=requester, title="Invoice posting fails")

    body = signed_in(colleague).get("/tickets/new/similar?module=FIN&title=invoice").get_json()

    assert [t["ref"] for t in body["items"]] == [ticket.ref]
    assert body["items"][0]["follow_url"] == f"/tickets/{ticket.ref}/follow"
