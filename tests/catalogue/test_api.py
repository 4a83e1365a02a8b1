"""The catalogue API: administrators describe the ERP modules, the support groups that serve
them and the business calendars their SLA clocks run on; everyone may read it."""

from __future__ import annotations

from datetime import date

import pytest

FRANCE_HOURS = {str(d): [["09:00", "12:30"], ["13:30", "17:30"]] for d in range(5)}


@pytest.fixture
def admin(make_user, api_client):
    return api_client(make_user("admin"))


@pytest.fixture
def paris(admin):
    response = admin.post(
        "/api/v1/calendars",
        json={
            "code": "EU_OFFICE",
            "name": "European office hours",
            "timezone": "Europe/Paris",
            "working_hours": FRANCE_HOURS,
            "country": "FR",
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- modules ---------------------------------------------------------------------------------


def test_admin_creates_a_module_then_it_is_listed(admin):
    created = admin.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"})

    assert created.status_code == 201
    assert created.get_json()["code"] == "FIN"
    assert created.headers["ETag"]
    listed = admin.get("/api/v1/modules").get_json()
    assert [(m["code"], m["name"]) for m in listed["items"]] == [("FIN", "Finance")]
    assert listed["next_cursor"] is None


def test_a_duplicate_module_code_is_409(admin):
    admin.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"})

    response = admin.post("/api/v1/modules", json={"code": "FIN", "name": "Finance again"})

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "conflict"
    assert body["errors"] == {"code": ["Already used."]}


def test_a_lower_case_code_is_stored_upper_case(admin):
    response = admin.post("/api/v1/modules", json={"code": "sal", "name": "Sales"})

    assert response.status_code == 201
    assert response.get_json()["code"] == "SAL"
    assert admin.get("/api/v1/modules/sal").get_json()["code"] == "SAL"


def test_a_lower_case_duplicate_is_still_a_duplicate(admin):
    admin.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"})

    assert admin.post("/api/v1/modules", json={"code": "fin", "name": "F"}).status_code == 409


@pytest.mark.parametrize("code", ["F", "1FIN", "FI-N", "FIN SALES", "ABCDEFGHIJKLMNOPQ"])
def test_a_malformed_code_is_422(admin, code):
    response = admin.post("/api/v1/modules", json={"code": code, "name": "Bad"})

    assert response.status_code == 422
    assert "code" in response.get_json()["errors"]


def test_a_requester_may_read_modules_but_not_create_them(admin, make_user, api_client):
    admin.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"})
    requester = api_client(make_user("requester"))

    created = requester.post("/api/v1/modules", json={"code": "SAL", "name": "Sales"})
    listed = requester.get("/api/v1/modules")

    assert created.status_code == 403
    assert created.get_json()["code"] == "forbidden"
    assert listed.status_code == 200
    assert [m["code"] for m in listed.get_json()["items"]] == ["FIN"]


def test_anonymous_callers_cannot_read_modules(client):
    assert client.get("/api/v1/modules").status_code == 401


def test_a_module_names_its_owner_by_email(admin, make_user):
    make_user("approver", email="owner@example.com")

    response = admin.post(
        "/api/v1/modules", json={"code": "FIN", "name": "Finance", "owner": "Owner@Example.com"}
    )

    assert response.status_code == 201
    assert response.get_json()["owner"] == "owner@example.com"


def test_an_unknown_owner_is_422_and_creates_nothing(admin):
    response = admin.post(
        "/api/v1/modules", json={"code": "FIN", "name": "Finance", "owner": "ghost@example.com"}
    )

    assert response.status_code == 422
    assert response.get_json()["errors"] == {"owner": ["No such user."]}
    assert admin.get("/api/v1/modules").get_json()["items"] == []


def test_an_unknown_calendar_or_group_is_422(admin):
    calendar = admin.post(
        "/api/v1/modules", json={"code": "FIN", "name": "Finance", "calendar": "MOON"}
    )
    group = admin.post(
        "/api/v1/modules", json={"code": "FIN", "name": "Finance", "support_group": "NOBODY"}
    )

    assert calendar.status_code == 422
    assert "calendar" in calendar.get_json()["errors"]
    assert group.status_code == 422
    assert "support_group" in group.get_json()["errors"]


def test_a_module_runs_on_a_calendar_and_is_served_by_a_group(admin, paris):
    admin.post("/api/v1/support-groups", json={"code": "FIN_SUP", "name": "Finance support"})

    response = admin.post(
        "/api/v1/modules",
        json={
            "code": "FIN",
            "name": "Finance",
            "calendar": "eu_office",
            "support_group": "FIN_SUP",
        },
    )

    assert response.status_code == 201
    assert response.get_json()["calendar"] == "EU_OFFICE"
    assert response.get_json()["support_group"] == "FIN_SUP"


def test_a_module_change_needs_the_current_etag(admin):
    etag = admin.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"}).headers["ETag"]

    missing = admin.patch("/api/v1/modules/FIN", json={"name": "Finance & Control"})
    current = admin.patch(
        "/api/v1/modules/FIN", json={"name": "Finance & Control"}, headers={"If-Match": etag}
    )
    stale = admin.patch("/api/v1/modules/FIN", json={"active": False}, headers={"If-Match": etag})

    assert (missing.status_code, current.status_code, stale.status_code) == (428, 200, 412)
    assert admin.get("/api/v1/modules/FIN").get_json()["name"] == "Finance & Control"


def test_a_module_change_is_audited_with_before_and_after(admin):
    etag = admin.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"}).headers["ETag"]

    admin.patch(
        "/api/v1/modules/FIN", json={"name": "Finance & Control"}, headers={"If-Match": etag}
    )

    events = admin.get("/api/v1/audit-events?entity_type=module&entity_id=FIN").get_json()["items"]
    assert events[0]["action"] == "updated"
    assert events[0]["changes"] == {"name": ["Finance", "Finance & Control"]}


def test_an_unknown_module_is_404(admin):
    assert admin.get("/api/v1/modules/NOPE").status_code == 404


# --- calendars -------------------------------------------------------------------------------


def test_admin_creates_a_calendar_with_zone_and_working_hours(admin, paris):
    assert paris["code"] == "EU_OFFICE"
    assert paris["timezone"] == "Europe/Paris"
    assert paris["working_hours"] == FRANCE_HOURS
    listed = admin.get("/api/v1/calendars").get_json()["items"]
    assert [c["code"] for c in listed] == ["EU_OFFICE"]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/paris", "posix/Europe/Paris", ""])
def test_a_time_zone_that_is_not_an_iana_name_is_422(admin, zone):
    response = admin.post(
        "/api/v1/calendars", json={"code": "MARS", "name": "Mars", "timezone": zone}
    )

    assert response.status_code == 422
    assert "timezone" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("hours", "why"),
    [
        ({"0": [["09:00", "25:00"]]}, "an hour past 23"),
        ({"0": [["17:00", "09:00"]]}, "start after end"),
        ({"0": [["09:00", "09:00"]]}, "start equal to end"),
        ({"9": [["09:00", "17:00"]]}, "a weekday outside 0-6"),
        ({"01": [["09:00", "17:00"]]}, "a weekday not written 0-6"),
        ({"0": [["09:00"]]}, "an interval that is not a pair"),
        ({"0": [["09:00", "13:00"], ["12:00", "17:00"]]}, "overlapping intervals"),
        ({"0": [["nine", "five"]]}, "text that is no time"),
        ({"0": [["09:00+01:00", "17:00"]]}, "a time with its own offset"),
    ],
)
def test_invalid_working_hours_are_422(admin, hours, why):
    response = admin.post(
        "/api/v1/calendars",
        json={"code": "BAD", "name": "Bad", "timezone": "UTC", "working_hours": hours},
    )

    assert response.status_code == 422, why
    assert "working_hours" in response.get_json()["errors"], why


def test_a_calendar_without_hours_gets_office_hours_monday_to_friday(admin):
    response = admin.post(
        "/api/v1/calendars", json={"code": "PLAIN", "name": "Plain", "timezone": "UTC"}
    )

    assert response.status_code == 201
    assert sorted(response.get_json()["working_hours"]) == ["0", "1", "2", "3", "4"]


def test_a_duplicate_calendar_code_is_409(admin, paris):
    response = admin.post(
        "/api/v1/calendars", json={"code": "eu_office", "name": "Again", "timezone": "UTC"}
    )

    assert response.status_code == 409


def test_a_calendar_change_validates_the_zone_and_needs_if_match(admin, paris):
    etag = admin.get("/api/v1/calendars/EU_OFFICE").headers["ETag"]

    bad = admin.patch(
        "/api/v1/calendars/EU_OFFICE", json={"timezone": "Nowhere/City"}, headers={"If-Match": etag}
    )
    good = admin.patch(
        "/api/v1/calendars/EU_OFFICE",
        json={"timezone": "Europe/Berlin"},
        headers={"If-Match": etag},
    )

    assert bad.status_code == 422
    assert good.status_code == 200
    assert good.get_json()["timezone"] == "Europe/Berlin"


def test_admin_adds_a_holiday(admin, paris):
    response = admin.post(
        "/api/v1/calendars/EU_OFFICE/holidays", json={"day": "2026-12-24", "name": "Christmas Eve"}
    )

    assert response.status_code == 201
    assert {"day": "2026-12-24", "name": "Christmas Eve"} in response.get_json()["holidays"]


def test_the_same_holiday_twice_is_409(admin, paris):
    holiday = {"day": "2026-12-24", "name": "Christmas Eve"}
    admin.post("/api/v1/calendars/EU_OFFICE/holidays", json=holiday)

    response = admin.post("/api/v1/calendars/EU_OFFICE/holidays", json=holiday)

    assert response.status_code == 409


def test_public_holidays_are_imported_from_the_holidays_package(admin, paris):
    response = admin.post(
        "/api/v1/calendars/EU_OFFICE/holidays/import", json={"country": "FR", "years": [2026]}
    )

    assert response.status_code == 200
    days = {h["day"] for h in response.get_json()["holidays"]}
    assert date(2026, 7, 14).isoformat() in days  # Fête nationale
    assert date(2026, 12, 25).isoformat() in days
    assert all(day.startswith("2026-") for day in days)


def test_importing_the_same_year_again_adds_nothing(admin, paris):
    url = "/api/v1/calendars/EU_OFFICE/holidays/import"
    first = admin.post(url, json={"country": "FR", "years": [2026]}).get_json()["holidays"]

    second = admin.post(url, json={"country": "fr", "years": [2026]}).get_json()["holidays"]

    assert second == first


def test_importing_an_unknown_country_is_422(admin, paris):
    response = admin.post(
        "/api/v1/calendars/EU_OFFICE/holidays/import", json={"country": "XX", "years": [2026]}
    )

    assert response.status_code == 422
    assert "country" in response.get_json()["errors"]


def test_a_requester_cannot_change_calendars(paris, make_user, api_client):
    requester = api_client(make_user("requester"))

    response = requester.post(
        "/api/v1/calendars/EU_OFFICE/holidays", json={"day": "2026-12-24", "name": "Eve"}
    )

    assert response.status_code == 403


# --- support groups --------------------------------------------------------------------------


def test_admin_creates_a_support_group_with_members(admin, make_user):
    make_user("agent", email="sam@example.com", name="Sam Support")
    make_user("agent", email="ada@example.com", name="Ada Agent")

    response = admin.post(
        "/api/v1/support-groups",
        json={
            "code": "FIN_SUP",
            "name": "Finance support",
            "email": "fin-support@example.com",
            "members": ["sam@example.com", "ADA@example.com"],
        },
    )

    assert response.status_code == 201
    listed = admin.get("/api/v1/support-groups").get_json()["items"]
    assert listed == [
        {
            "code": "FIN_SUP",
            "name": "Finance support",
            "email": "fin-support@example.com",
            "members": ["ada@example.com", "sam@example.com"],
            "member_names": ["Ada Agent", "Sam Support"],
        }
    ]


def test_an_unknown_member_is_422_and_creates_no_group(admin, make_user):
    make_user("agent", email="sam@example.com")

    response = admin.post(
        "/api/v1/support-groups",
        json={
            "code": "FIN_SUP",
            "name": "Finance",
            "members": ["sam@example.com", "x@example.com"],
        },
    )

    assert response.status_code == 422
    assert response.get_json()["errors"] == {"members": ["No user x@example.com."]}
    assert admin.get("/api/v1/support-groups").get_json()["items"] == []


# --- every list takes a cursor and a limit ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "create", "key"),
    [
        ("/api/v1/modules", lambda code: {"code": code, "name": code.title()}, "code"),
        ("/api/v1/support-groups", lambda code: {"code": code, "name": code.title()}, "code"),
        (
            "/api/v1/calendars",
            lambda code: {"code": code, "name": code.title(), "timezone": "Europe/Paris"},
            "code",
        ),
    ],
)
def test_a_catalogue_list_pages_with_cursor_and_limit(admin, path, create, key):
    for code in ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO"):
        assert admin.post(path, json=create(code)).status_code == 201

    first = admin.get(path, query_string={"limit": 2}).get_json()
    second = admin.get(path, query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    last = admin.get(path, query_string={"limit": 2, "cursor": second["next_cursor"]}).get_json()

    assert [i[key] for i in first["items"]] == ["ALPHA", "BRAVO"]
    assert [i[key] for i in second["items"]] == ["CHARLIE", "DELTA"]
    assert [i[key] for i in last["items"]] == ["ECHO"]
    assert last["next_cursor"] is None


def test_the_sla_policies_page_with_cursor_and_limit(admin):
    first = admin.get("/api/v1/sla-policies", query_string={"limit": 2}).get_json()
    rest = admin.get(
        "/api/v1/sla-policies", query_string={"limit": 5, "cursor": first["next_cursor"]}
    ).get_json()

    assert [p["priority"] for p in first["items"]] == ["P1", "P2"]
    assert [p["priority"] for p in rest["items"]] == ["P3", "P4", "P5"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1000}, {"cursor": "not-a-cursor"}])
def test_a_bad_cursor_or_limit_is_422(admin, query):
    response = admin.get("/api/v1/modules", query_string=query)

    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


# --- a created module is really there ---------------------------------------------------------


def test_a_created_module_is_read_back_by_the_next_request(admin):
    admin.post("/api/v1/modules", json={"code": "HR", "name": "Human resources"})

    response = admin.get("/api/v1/modules/HR")  # its own app context, session and transaction

    assert response.status_code == 200
    assert response.get_json()["name"] == "Human resources"


# --- changing SLA targets and calendars: who, and with which version --------------------------


@pytest.mark.parametrize("role", ["requester", "agent", "key_user", "auditor", "product_owner"])
def test_only_administrators_change_sla_targets(make_user, api_client, role):
    caller = api_client(make_user(role, module="FIN"))
    etag = caller.get("/api/v1/sla-policies/P3").headers["ETag"]

    response = caller.patch(
        "/api/v1/sla-policies/P3", json={"response_minutes": 60}, headers={"If-Match": etag}
    )

    assert response.status_code == 403
    assert caller.get("/api/v1/sla-policies/P3").get_json()["response_minutes"] == 240


def test_a_sla_change_without_if_match_is_428(admin):
    admin.get("/api/v1/sla-policies/P3")

    response = admin.patch("/api/v1/sla-policies/P3", json={"response_minutes": 60})

    assert response.status_code == 428
    assert response.get_json()["code"] == "precondition_required"
    assert admin.get("/api/v1/sla-policies/P3").get_json()["response_minutes"] == 240


def test_a_sla_change_on_a_stale_etag_is_412(admin):
    etag = admin.get("/api/v1/sla-policies/P3").headers["ETag"]
    admin.patch(
        "/api/v1/sla-policies/P3", json={"response_minutes": 120}, headers={"If-Match": etag}
    )

    response = admin.patch(
        "/api/v1/sla-policies/P3", json={"response_minutes": 60}, headers={"If-Match": etag}
    )

    assert response.status_code == 412
    assert admin.get("/api/v1/sla-policies/P3").get_json()["response_minutes"] == 120


def test_a_sla_target_beyond_a_year_is_422(admin):
    etag = admin.get("/api/v1/sla-policies/P5").headers["ETag"]

    response = admin.patch(
        "/api/v1/sla-policies/P5", json={"resolution_minutes": 525_601}, headers={"If-Match": etag}
    )

    assert response.status_code == 422
    assert "resolution_minutes" in response.get_json()["errors"]


def test_a_calendar_change_without_if_match_is_428(admin, paris):
    response = admin.patch("/api/v1/calendars/EU_OFFICE", json={"timezone": "Europe/Berlin"})

    assert response.status_code == 428
    assert admin.get("/api/v1/calendars/EU_OFFICE").get_json()["timezone"] == "Europe/Paris"


def test_a_calendar_change_on_a_stale_etag_is_412(admin, paris):
    etag = admin.get("/api/v1/calendars/EU_OFFICE").headers["ETag"]
    admin.patch(
        "/api/v1/calendars/EU_OFFICE", json={"name": "Paris office"}, headers={"If-Match": etag}
    )

    response = admin.patch(
        "/api/v1/calendars/EU_OFFICE",
        json={"timezone": "Europe/Berlin"},
        headers={"If-Match": etag},
    )

    assert response.status_code == 412
    assert admin.get("/api/v1/calendars/EU_OFFICE").get_json()["timezone"] == "Europe/Paris"
