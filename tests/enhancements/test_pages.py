"""The enhancement pages: what each role sees and may send, forms that redirect, plain words."""

from __future__ import annotations

import pytest

from tests.enhancements.helpers import ROLES, act, ok, submitted

CHANGED = 303


def post(browser, url: str, **form):
    return browser.post(url, data=form)


def follow(browser, response) -> str:
    """The page a form's redirect leads to, as text."""
    assert response.status_code == CHANGED, response.status_code
    return browser.get(response.headers["Location"]).get_data(as_text=True)


def status_of(api, ref: str) -> str:
    return ok(api["requester"].get(f"/api/v1/enhancements/{ref}"))["status"]


def test_a_user_submits_a_request_through_the_page(web, api):
    response = post(
        web["requester"],
        "/enhancements/new",
        form="new",
        title="Auto-match invoices",
        problem="By hand today.",
        benefit="Two days a week.",
        module="FIN",
        incidents="",
    )

    page = follow(web["requester"], response)
    assert "ENH-000001" in page
    assert "submitted" in page
    assert status_of(api, "ENH-000001") == "submitted"


def test_a_refused_submission_comes_back_with_what_was_typed(web):
    response = post(web["requester"], "/enhancements/new", form="new", title="Only this")

    page = follow(web["requester"], response)
    assert "Only this" in page
    assert "Describe the problem to solve" in page


def test_the_browse_page_lists_requests_with_their_votes_in_plain_words(web, api, under_review):
    ok(api["agent"].post(f"/api/v1/enhancements/{under_review}/votes"))

    page = web["other_requester"].get("/enhancements?sort=votes").get_data(as_text=True)

    assert under_review in page
    assert "under review" in page
    assert ">under_review<" not in page  # the state in words, never its code
    assert 'data-action="vote"' in page


def test_voting_from_the_list_counts_once(web, api, under_review):
    for _ in range(2):
        response = post(
            web["other_requester"], f"/enhancements/{under_review}/vote", vote="vote", back="list"
        )
        assert response.status_code == CHANGED
        assert response.headers["Location"].endswith("/enhancements")

    assert ok(api["requester"].get(f"/api/v1/enhancements/{under_review}"))["votes"] == 1


def test_the_request_page_offers_only_the_viewers_actions(web, under_review):
    requester = web["requester"].get(f"/enhancements/{under_review}").get_data(as_text=True)
    committee = web["committee_member"].get(f"/enhancements/{under_review}").get_data(as_text=True)
    auditor = web["auditor"].get(f"/enhancements/{under_review}").get_data(as_text=True)

    assert 'data-action="withdraw"' in requester
    assert 'data-testid="decision-form"' not in requester
    assert 'data-testid="decision-form"' in committee
    assert 'data-action="withdraw"' not in committee
    for form in ("decision-form", "comment-form", "edit-form"):
        assert f'data-testid="{form}"' not in auditor
    assert 'data-action="vote"' not in auditor


def test_internal_notes_are_shown_to_the_product_owner_and_committee_only(web, api, under_review):
    ok(
        api["product_owner"].post(
            f"/api/v1/enhancements/{under_review}/comments",
            json={"body": "Secret budget remark", "public": False},
        ),
        201,
    )

    assert "Secret budget remark" in web["committee_member"].get(
        f"/enhancements/{under_review}"
    ).get_data(as_text=True)
    assert "Secret budget remark" not in web["requester"].get(
        f"/enhancements/{under_review}"
    ).get_data(as_text=True)


def test_the_product_owner_qualifies_through_the_form(web, api, under_review):
    version = ok(api["requester"].get(f"/api/v1/enhancements/{under_review}"))["version"]

    response = post(
        web["product_owner"],
        f"/enhancements/{under_review}/qualification",
        form="qualify",
        version=str(version),
        business_value="8",
        time_criticality="5",
        risk_reduction="3",
        job_size="5",
    )

    assert "3.20" in follow(web["product_owner"], response)
    assert ok(api["requester"].get(f"/api/v1/enhancements/{under_review}"))["wsjf"] == 3.2


def test_a_score_off_the_scale_comes_back_to_the_form(web, api, under_review):
    version = ok(api["requester"].get(f"/api/v1/enhancements/{under_review}"))["version"]

    response = post(
        web["product_owner"],
        f"/enhancements/{under_review}/qualification",
        form="qualify",
        version=str(version),
        business_value="4",
        time_criticality="5",
        risk_reduction="3",
        job_size="5",
    )

    assert response.headers["Location"].split("?")[0].endswith("/qualification")
    assert "One of 1, 2, 3, 5, 8, 13, 20" in follow(web["product_owner"], response)


def test_the_committee_decides_from_its_page_and_the_log_shows_it(web, api, under_review):
    page = web["committee_member"].get("/enhancements/decisions").get_data(as_text=True)
    assert under_review in page

    response = post(
        web["committee_member"],
        f"/enhancements/decisions/{under_review}",
        form="decide",
        ref=under_review,
        decision="defer",
        rationale="Next budget year.",
    )

    follow(web["committee_member"], response)
    assert status_of(api, under_review) == "deferred"
    log = web["requester"].get("/enhancements/decisions/log").get_data(as_text=True)
    assert "Next budget year." in log
    assert "deferred" in log


def test_a_decision_without_rationale_is_refused_on_the_page(web, api, under_review):
    response = post(
        web["committee_member"],
        f"/enhancements/{under_review}/decision",
        form="decide",
        decision="approve",
        rationale=" ",
    )

    assert "Say why" in follow(web["committee_member"], response)
    assert status_of(api, under_review) == "under_review"


def test_the_backlog_page_moves_a_request_up(web, api):
    refs = []
    for size in (1, 20):
        ref = submitted(api["requester"], title=f"Size {size}")["ref"]
        ok(act(api["product_owner"], ref, "review"))
        ok(
            api["product_owner"].post(
                f"/api/v1/enhancements/{ref}/qualification",
                json={
                    "business_value": 8,
                    "time_criticality": 5,
                    "risk_reduction": 3,
                    "job_size": size,
                },
            )
        )
        ok(
            api["committee_member"].post(
                f"/api/v1/enhancements/{ref}/decision",
                json={"decision": "approve", "rationale": "Yes."},
            )
        )
        refs.append(ref)
    page = web["product_owner"].get("/enhancements/backlog").get_data(as_text=True)
    assert page.index(refs[0]) < page.index(refs[1])

    response = post(
        web["product_owner"], f"/enhancements/{refs[1]}/rank", form="rank", position="1"
    )

    page = follow(web["product_owner"], response)
    assert page.index(refs[1]) < page.index(refs[0].replace("ENH", "ENH"))
    backlog = ok(api["product_owner"].get("/api/v1/backlog?module=FIN"))["items"]
    assert [(i["ref"], i["wsjf_rank"]) for i in backlog] == [(refs[1], 2), (refs[0], 1)]


@pytest.mark.parametrize("role", ROLES)
def test_the_navigation_follows_the_role(web, role):
    page = web[role].get("/enhancements").get_data(as_text=True)

    assert ('href="/enhancements/backlog"' in page) == (role in ("product_owner", "admin"))
    assert ('href="/enhancements/decisions"' in page) == (role in ("committee_member", "admin"))
    assert ('href="/enhancements/new"' in page) == (role != "auditor")


# --- every write through the pages, as every role ------------------------------------------------

# (form path, fields, the roles whose post changes something), sent in this order on one
# request under review: the withdrawal and the decision end the review, so they come last and
# the decision is sent on a request of its own
PAGE_WRITES = (
    ("vote", {"vote": "vote"}, set(ROLES) - {"auditor"}),
    ("comments", {"body": "A comment."}, set(ROLES) - {"auditor"}),
    (
        "comments",
        {"body": "A note.", "visibility": "internal"},
        {"product_owner", "committee_member", "admin"},
    ),
    ("act", {"action": "withdraw"}, {"requester"}),
)
DECISION_ROLES = {"committee_member", "admin"}


def _state(api, ref: str) -> tuple:
    body = ok(api["admin"].get(f"/api/v1/enhancements/{ref}"))
    comments = ok(api["admin"].get(f"/api/v1/enhancements/{ref}/comments"))["items"]
    return body["status"], body["votes"], len(comments)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_write_as_every_role(web, api, under_review, role):
    for path, form, allowed in PAGE_WRITES:
        before = _state(api, under_review)

        response = post(web[role], f"/enhancements/{under_review}/{path}", form="w", **form)

        assert response.status_code == CHANGED
        assert (_state(api, under_review) != before) == (role in allowed), (role, path, form)

    other = submitted(api["requester"], title="To decide")["ref"]
    ok(act(api["product_owner"], other, "review"))
    post(web[role], f"/enhancements/{other}/decision", decision="approve", rationale="Yes.")
    assert (status_of(api, other) == "approved") == (role in DECISION_ROLES), role
