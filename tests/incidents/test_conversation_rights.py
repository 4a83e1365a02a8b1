"""Who takes part in the conversation on a ticket, by role, through the API and the page: the
requester on their own ticket, the support team and the module's key users on any ticket they
see, the support team alone in private (internal notes and files); the auditor reads only.
Files follow the rule of comments, closed tickets take neither, and staff emails stay with the
staff."""

from __future__ import annotations

import io
import re

import pytest

from tests.factories import PASSWORD, RESOLUTION, act_ok, comment, submitted, tiny_png

ROLES = {
    "reporter": ("requester", None),
    "other_requester": ("requester", None),
    "key_user": ("key_user", "FIN"),
    "key_user_elsewhere": ("key_user", "SAL"),
    "product_owner": ("product_owner", "FIN"),
    "approver": ("approver", "FIN"),
    "agent": ("agent", None),
    "admin": ("admin", None),
    "auditor": ("auditor", None),
}
# status of a public comment (or a file) on the reporter's Finance ticket; 404: cannot see it
PUBLIC = {
    "reporter": 201,
    "other_requester": 404,
    "key_user": 201,
    "key_user_elsewhere": 404,
    "product_owner": 403,
    "approver": 404,
    "agent": 201,
    "admin": 201,
    "auditor": 403,
}
INTERNAL = {
    "reporter": 403,
    "key_user": 403,
    "product_owner": 403,
    "agent": 201,
    "admin": 201,
    "auditor": 403,
}


class People(dict):
    """Each role's person, made the first time a test asks for them."""

    def __init__(self, make_user) -> None:
        super().__init__()
        self.make_user = make_user

    def __missing__(self, key: str):
        role, module = ROLES[key]
        self[key] = self.make_user(
            role, module=module, email=f"{key}@example.com", name=key.title(), password=PASSWORD
        )
        return self[key]


@pytest.fixture
def people(make_user, make_module):
    make_module("FIN", name="Finance")
    make_module("SAL", name="Sales")
    return People(make_user)


@pytest.fixture
def api(as_, people):
    clients: dict = {}

    def client_of(key: str):
        if key not in clients:
            clients[key] = as_(people[key])
        return clients[key]

    return client_of


@pytest.fixture
def ref(api) -> str:
    return submitted(api("reporter"), module="FIN")["ref"]


def upload(client, ref: str, public: bool = True):
    data = {"file": (io.BytesIO(tiny_png()), "screen.png", "image/png")}
    if not public:
        data["public"] = "false"
    return client.post(
        f"/api/v1/tickets/{ref}/attachments", data=data, content_type="multipart/form-data"
    )


# --- the API, role by role -------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(PUBLIC))
def test_who_may_answer_publicly_on_someone_elses_ticket(api, ref, role):
    response = comment(api(role), ref, "Seen the same in Sales.")

    assert response.status_code == PUBLIC[role], response.get_json()


@pytest.mark.parametrize("role", sorted(INTERNAL))
def test_who_may_write_an_internal_note(api, ref, role):
    response = comment(api(role), ref, "Looks like the period-close job.", public=False)

    assert response.status_code == INTERNAL[role], response.get_json()


@pytest.mark.parametrize("role", sorted(PUBLIC))
def test_who_may_attach_a_file_follows_the_same_rule(api, ref, role):
    response = upload(api(role), ref)

    assert response.status_code == PUBLIC[role], response.get_json()


@pytest.mark.parametrize("role", sorted(INTERNAL))
def test_who_may_attach_an_internal_file(api, ref, role):
    response = upload(api(role), ref, public=False)

    assert response.status_code == INTERNAL[role], response.get_json()


def test_the_auditors_refusal_names_the_missing_permission(api, ref):
    body = comment(api("auditor"), ref, "Noted.").get_json()

    assert body["code"] == "forbidden"
    assert "ticket:converse" in body["message"]


# --- the ticket page, role by role -----------------------------------------------------------

# (comment and upload forms shown, internal choice shown)
PAGE_FORMS = {
    "reporter": (True, False),
    "key_user": (True, False),
    "product_owner": (False, False),
    "agent": (True, True),
    "admin": (True, True),
    "auditor": (False, False),
}


@pytest.mark.parametrize("role", sorted(PAGE_FORMS))
def test_the_ticket_page_shows_each_role_only_the_forms_it_may_use(signed_in, people, ref, role):
    page = signed_in(people[role]).get(f"/tickets/{ref}").get_data(as_text=True)

    may_converse, may_go_internal = PAGE_FORMS[role]
    assert (f"/tickets/{ref}/comments" in page) is may_converse
    assert (f'/tickets/{ref}/attachments"' in page) is may_converse
    assert ('value="internal"' in page) is may_go_internal


def assert_refused_by_role(browser, response) -> None:
    """A page form refused by the permission policy goes back to its page, which says why."""
    assert response.status_code == 303
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your role does not allow this change." in page


@pytest.mark.parametrize("role", ["auditor", "product_owner"])
def test_a_comment_posted_on_the_page_by_a_reader_is_refused(signed_in, people, api, ref, role):
    browser = signed_in(people[role])

    response = browser.post(f"/tickets/{ref}/comments", data={"body": "Hello"})

    assert_refused_by_role(browser, response)
    assert api("agent").get(f"/api/v1/tickets/{ref}/comments").get_json()["items"] == []


def test_a_file_posted_on_the_page_by_the_auditor_is_refused(signed_in, people, api, ref):
    browser = signed_in(people["auditor"])

    response = browser.post(
        f"/tickets/{ref}/attachments",
        data={"file": (io.BytesIO(tiny_png()), "screen.png", "image/png")},
        content_type="multipart/form-data",
    )

    assert_refused_by_role(browser, response)
    assert api("agent").get(f"/api/v1/tickets/{ref}/attachments").get_json()["items"] == []


def test_an_internal_note_posted_on_the_page_by_a_key_user_is_refused(signed_in, people, ref):
    browser = signed_in(people["key_user"])

    response = browser.post(
        f"/tickets/{ref}/comments", data={"body": "psst", "visibility": "internal"}
    )

    assert_refused_by_role(browser, response)


# --- internal files --------------------------------------------------------------------------


def test_an_internal_file_is_hidden_from_the_requester(api, ref):
    upload(api("agent"), ref, public=False)

    listed = api("reporter").get(f"/api/v1/tickets/{ref}/attachments").get_json()["items"]

    assert listed == []
    [seen] = api("agent").get(f"/api/v1/tickets/{ref}/attachments").get_json()["items"]
    assert seen["public"] is False


def test_an_internal_file_cannot_be_downloaded_by_the_requester(api, ref):
    url = upload(api("agent"), ref, public=False).get_json()["url"]

    assert api("reporter").get(url).status_code == 404
    assert api("agent").get(url).status_code == 200
    assert api("auditor").get(url).status_code == 200


def test_an_internal_files_name_stays_out_of_the_requesters_history(api, ref):
    upload(api("agent"), ref, public=False)

    history = api("reporter").get(f"/api/v1/tickets/{ref}/history").get_json()["items"]

    assert "screen.png" not in str(history)
    agents = api("agent").get(f"/api/v1/tickets/{ref}/history").get_json()["items"]
    assert "screen.png" in str(agents)


def test_a_public_file_of_an_agent_is_shown_to_the_requester(api, ref):
    upload(api("agent"), ref)

    [listed] = api("reporter").get(f"/api/v1/tickets/{ref}/attachments").get_json()["items"]

    assert listed["filename"] == "screen.png"
    assert listed["public"] is True


def test_an_internal_file_is_left_off_the_requesters_page(signed_in, people, api, ref):
    upload(api("agent"), ref, public=False)

    page = signed_in(people["reporter"]).get(f"/tickets/{ref}").get_data(as_text=True)

    assert "screen.png" not in page


def test_the_page_makes_a_file_internal_when_asked(signed_in, people, api, ref):
    browser = signed_in(people["agent"])

    response = browser.post(
        f"/tickets/{ref}/attachments",
        data={"file": (io.BytesIO(tiny_png()), "notes.png", "image/png"), "visibility": "internal"},
        content_type="multipart/form-data",
    )

    assert response.status_code == 303
    assert api("reporter").get(f"/api/v1/tickets/{ref}/attachments").get_json()["items"] == []


# --- closed tickets take neither comments nor files ------------------------------------------


@pytest.mark.parametrize("ending", [["start", "resolve", "close"], ["cancel"]])
def test_a_closed_or_cancelled_ticket_takes_no_more_files(api, ref, ending):
    for action in ending:
        act_ok(api("agent"), ref, action, **(RESOLUTION if action == "resolve" else {}))

    response = upload(api("reporter"), ref)

    assert response.status_code == 409
    assert response.get_json()["current_status"] in {"closed", "cancelled"}
    assert api("reporter").get(f"/api/v1/tickets/{ref}/attachments").get_json()["items"] == []


def test_a_closed_ticket_page_offers_no_upload(signed_in, people, api, ref):
    act_ok(api("agent"), ref, "cancel")

    page = signed_in(people["reporter"]).get(f"/tickets/{ref}").get_data(as_text=True)

    assert f'/tickets/{ref}/attachments"' not in page


# --- staff emails stay with the staff --------------------------------------------------------


@pytest.fixture
def staffed(api, people, ref, db_session) -> str:
    """The ticket triaged to the agent, who answered; Finance owned and supported by staff."""
    from app.catalogue import service as catalogue
    from app.catalogue.models import Module

    admin, _ = api("admin"), people["agent"]
    admin.post(
        "/api/v1/support-groups",
        json={"code": "FIN_SUP", "name": "Finance support", "members": ["agent@example.com"]},
    )
    module = db_session.scalar(db_session.query(Module).filter_by(code="FIN").statement)
    catalogue.update_module(
        db_session, None, module, owner="admin@example.com", support_group="FIN_SUP"
    )
    db_session.commit()
    act_ok(api("agent"), ref, "triage", assignee="agent@example.com")
    comment(api("agent"), ref, "We are on it.")
    return ref


def test_a_requester_sees_the_support_groups_members_by_name_only(api, staffed):
    [group] = api("reporter").get("/api/v1/support-groups").get_json()["items"]

    assert group["member_names"] == ["Agent"]
    assert "members" not in group
    assert "agent@example.com" not in str(group)


def test_a_requester_sees_the_module_owner_by_name_only(api, staffed):
    modules = api("reporter").get("/api/v1/modules").get_json()["items"]

    [finance] = [m for m in modules if m["code"] == "FIN"]
    assert finance["owner_name"] == "Admin"
    assert "admin@example.com" not in str(modules)


def test_a_requester_sees_the_assignee_author_and_history_by_name_only(api, staffed):
    rita = api("reporter")
    ticket = rita.get(f"/api/v1/tickets/{staffed}").get_json()
    comments = rita.get(f"/api/v1/tickets/{staffed}/comments").get_json()["items"]
    history = rita.get(f"/api/v1/tickets/{staffed}/history").get_json()["items"]

    assert ticket["assignee"] == {"name": "Agent"}
    assert comments[0]["author"] == {"name": "Agent"}
    assert "Agent" in [e["actor_name"] for e in history]
    assert "agent@example.com" not in str([ticket, comments, history])
    assert ticket["reporter"]["email"] == "reporter@example.com"  # their own address


def test_the_support_team_sees_staff_emails(api, staffed):
    agent = api("agent")

    [group] = agent.get("/api/v1/support-groups").get_json()["items"]
    ticket = agent.get(f"/api/v1/tickets/{staffed}").get_json()

    assert group["members"] == ["agent@example.com"]
    assert ticket["assignee"]["email"] == "agent@example.com"


def test_the_requesters_page_shows_no_staff_email(signed_in, people, staffed):
    page = signed_in(people["reporter"]).get(f"/tickets/{staffed}").get_data(as_text=True)

    assert "Agent" in page
    assert "agent@example.com" not in page


def test_the_auditors_ticket_page_holds_no_form_but_signing_out(signed_in, people, ref):
    page = signed_in(people["auditor"]).get(f"/tickets/{ref}").get_data(as_text=True)

    actions = re.findall(r'<form[^>]*action="([^"]+)"', page)

    assert actions == ["/logout"]
