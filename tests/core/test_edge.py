"""Hostile input never reaches a view: NUL bytes, lone surrogates, JSON nested thousands deep,
ids beyond the database's integers, forged cursors and oversized requests are 4xx answers in
the error contract, on the API and on the pages, never a 500 (which would also fire the
``StewardHighErrorRate`` alert for anyone who tries)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.factories import PASSWORD, RESOLUTION, TICKET, act_ok, comment, submitted

NUL = "a\x00b"
SURROGATE = "a\ud800b"
HUGE_ID = 99999999999999999999


@pytest.fixture
def rita_api(as_, requester):
    return as_(requester)


@pytest.fixture
def admin_api(as_, admin):
    return as_(admin)


@pytest.fixture
def ref(rita_api) -> str:
    return submitted(rita_api)["ref"]


def assert_refused(response, status: int = 422, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["status"] == status
    if field is not None:
        assert field in body["errors"], body
    return body


def raw_json(client, method: str, url: str, text: str):
    """Send ``text`` as the JSON body exactly (``json=`` would refuse a lone surrogate)."""
    return getattr(client, method)(url, data=text, content_type="application/json")


def forged_cursor(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- text: NUL and lone surrogates ----------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "description"])
@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_a_ticket_field_with_a_nul_or_a_lone_surrogate_is_422_naming_it(rita_api, field, bad):
    body = json.dumps({**TICKET, field: bad})  # json.dumps escapes both as \\u sequences

    response = raw_json(rita_api, "post", "/api/v1/tickets", body)

    assert_refused(response, 422, field)


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_a_comment_with_a_nul_or_a_lone_surrogate_is_422(rita_api, ref, bad):
    body = json.dumps({"body": bad})

    response = raw_json(rita_api, "post", f"/api/v1/tickets/{ref}/comments", body)

    assert_refused(response, 422, "body")


def test_a_transition_reason_with_a_nul_is_422(as_, agent, ref):
    body = json.dumps({"action": "triage", "priority": "P1", "reason": NUL})

    response = raw_json(as_(agent), "post", f"/api/v1/tickets/{ref}/transitions", body)

    assert_refused(response, 422, "reason")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tickets?q=%00",
        "/api/v1/tickets?assignee=a%00b",
        "/api/v1/tickets?module=F%00N",
        "/api/v1/audit-events?entity_id=%00",
        "/api/v1/users?q=%00",
    ],
)
def test_a_filter_with_a_nul_is_422(admin_api, url):
    response = admin_api.get(url)

    assert_refused(response, 422)


def test_a_nul_in_a_path_is_a_404(rita_api):
    response = rita_api.get("/api/v1/tickets/INC-%00")

    assert_refused(response, 404)


# --- JSON nested thousands of levels deep ---------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/tickets", "/api/v1/auth/tokens"])
def test_json_nested_5000_levels_deep_is_a_400(client, rita_api, url):
    deep = "[" * 5000 + "]" * 5000

    response = raw_json(rita_api, "post", url, deep)

    assert_refused(response, 400)


def test_json_nested_deeper_than_the_limit_inside_a_field_is_a_422(rita_api):
    nested: object = "x"
    for _ in range(40):
        nested = [nested]

    response = rita_api.post("/api/v1/tickets", json={**TICKET, "title": nested})

    body = assert_refused(response, 422, "title")
    assert "Nested deeper than 32 levels." in body["errors"]["title"]


# --- ids beyond the database's integers -----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tickets/INC-999999999999",
        f"/api/v1/users/{HUGE_ID}",
        "/api/v1/users/2147483648",
        f"/api/v1/tickets/INC-000001/attachments/{HUGE_ID}",
    ],
)
def test_an_id_beyond_the_database_range_is_a_404(admin_api, ref, url):
    response = admin_api.get(url)

    assert_refused(response, 404)


def test_revoking_a_token_beyond_the_database_range_is_a_404(admin_api):
    response = admin_api.delete(f"/api/v1/tokens/{HUGE_ID}")

    assert_refused(response, 404)


def test_the_openapi_document_bounds_path_ids(client):
    spec = client.get("/api/openapi.json").get_json()

    [param] = spec["paths"]["/api/v1/users/{user_id}"]["parameters"]

    assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


# --- forged cursors -------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["due", "created", "updated"])
def test_a_cursor_with_an_instant_beyond_the_calendar_is_422(admin_api, ref, sort):
    cursor = forged_cursor([{"t": "9999-12-31T23:59:59-14:00"}, 1])

    response = admin_api.get(f"/api/v1/tickets?sort={sort}&cursor={cursor}")

    assert_refused(response, 422, "cursor")


def test_a_cursor_with_an_id_beyond_the_id_column_is_422(admin_api, ref):
    cursor = forged_cursor([2**63 - 1])

    response = admin_api.get(f"/api/v1/tickets?sort=-created&cursor={cursor}")

    assert_refused(response, 422, "cursor")


def test_a_cursor_with_a_nul_in_a_text_key_is_422(admin_api):
    response = admin_api.get(f"/api/v1/users?cursor={forged_cursor([NUL, 1])}")

    assert_refused(response, 422, "cursor")


# --- sizes ----------------------------------------------------------------------------------


def test_a_url_longer_than_the_limit_is_a_json_414(app, rita_api):
    limit = app.config["MAX_URL_BYTES"]

    response = rita_api.get("/api/v1/tickets?q=" + "x" * limit)

    body = assert_refused(response, 414)
    assert body["code"] == "uri_too_long"


def test_headers_larger_than_the_limit_are_a_json_431(app, rita_api):
    limit = app.config["MAX_HEADER_BYTES"]

    response = rita_api.get("/api/v1/me", headers={"X-Padding": "x" * limit})

    body = assert_refused(response, 431)
    assert body["code"] == "request_header_fields_too_large"


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def rita(signed_in, requester):
    return signed_in(requester)


@pytest.fixture
def resolved(rita_api, as_, agent) -> str:
    ticket = submitted(rita_api)["ref"]
    alex = as_(agent)
    act_ok(alex, ticket, "triage")
    act_ok(alex, ticket, "resolve", **RESOLUTION)
    return ticket


def assert_page_refused(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"


def test_a_rating_in_superscript_digits_is_refused_on_the_page(rita, resolved):
    response = rita.post(f"/tickets/{resolved}/rating", data={"rating": "²"})

    assert response.status_code == 303  # back to the ticket, with what was typed
    page = rita.get(response.headers["Location"]).get_data(as_text=True)
    assert "From 1 to 5 stars" in page
    assert 'data-testid="rating-form"' in page  # nothing was rated


def test_a_comment_with_a_nul_is_refused_on_the_page(rita, ref):
    response = rita.post(f"/tickets/{ref}/comments", data={"body": NUL})

    assert_page_refused(response, 422)


def test_a_search_for_a_nul_is_refused_on_the_page(rita):
    assert_page_refused(rita.get("/tickets?q=%00"), 422)


def test_a_ticket_number_beyond_the_database_range_is_a_404_page(rita):
    assert_page_refused(rita.get("/tickets/INC-999999999999"), 404)


def test_an_sla_target_beyond_any_integer_column_is_no_server_error(signed_in, make_user):
    admin = signed_in(make_user("admin", password=PASSWORD))

    response = admin.post(
        "/admin/sla",
        data={"priority": "P3", "response_minutes": "60", "resolution_minutes": "99999999999"},
    )

    assert response.status_code < 500


def test_an_ordinary_comment_still_goes_through(rita_api, ref):
    response = comment(rita_api, ref, "Still failing with “période close” — ½ the invoices.")

    assert response.status_code == 201


@pytest.mark.parametrize(
    "query",
    [
        "since=9999-12-31T23:59:59-14:00",  # later than the last UTC instant
        "until=0001-01-01T00:00:00%2B14:00",  # earlier than the first one
    ],
)
def test_an_instant_with_no_utc_equivalent_is_422(admin_api, query):
    response = admin_api.get(f"/api/v1/audit-events?{query}")

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "validation_error"
