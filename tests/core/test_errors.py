"""Every API error has one JSON shape; pages get an HTML error page; nothing leaks a traceback."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from app.core.db import db
from app.core.errors import InvalidTransition
from tests.factories import PASSWORD

ERROR_KEYS = {"status", "code", "message", "errors"}
SECRET = "s3cr3t-internal-detail"


def assert_error(response, status: int, code: str, extra: set[str] = frozenset()) -> dict:
    """The response is the JSON error body of the contract, with nothing more than ``extra``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    body = response.get_json()
    assert set(body) == ERROR_KEYS | extra, body
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["errors"], dict)
    return body


@pytest.fixture
def throwaway_routes(app: Flask) -> Flask:
    """Views that fail on purpose, registered before the app serves its first request."""

    def boom():
        raise RuntimeError(f"kaboom {SECRET}")

    def bad_sql():
        db.session.execute(text(f"SELECT * FROM no_such_table_{SECRET.replace('-', '_')}"))

    def refuse_transition():
        raise InvalidTransition("A new ticket cannot be closed.", allowed=["triage", "cancel"])

    app.add_url_rule("/api/v1/test/boom", "test_api_boom", boom)
    app.add_url_rule("/api/v1/test/bad-sql", "test_api_bad_sql", bad_sql)
    app.add_url_rule("/api/v1/test/transition", "test_transition", refuse_transition)
    app.add_url_rule("/test/boom", "test_page_boom", boom)
    return app


@pytest.fixture
def admin_api(make_user, api_client):
    return api_client(make_user("admin"))


# --- the shapes, one per status -------------------------------------------------------------


def test_an_unknown_api_path_is_a_json_404(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_a_missing_resource_is_a_json_404_naming_it(admin_api):
    body = assert_error(admin_api.get("/api/v1/modules/NOPE"), 404, "not_found")

    assert "NOPE" in body["message"]


def test_a_method_the_resource_does_not_have_is_a_json_405(admin_api):
    assert_error(admin_api.delete("/api/v1/me"), 405, "method_not_allowed")


def test_invalid_input_is_a_422_with_errors_per_field(admin_api):
    body = assert_error(
        admin_api.post("/api/v1/modules", json={"code": "F"}), 422, "validation_error"
    )

    assert set(body["errors"]) == {"code", "name"}
    assert all(isinstance(messages, list) for messages in body["errors"].values())


def test_a_rule_broken_in_a_service_is_a_422_with_the_field(admin_api):
    body = assert_error(
        admin_api.post("/api/v1/modules", json={"code": "9X", "name": "Nine"}),
        422,
        "validation_error",
    )

    assert list(body["errors"]) == ["code"]


def test_a_body_that_is_not_json_is_a_json_400(client):
    response = client.post("/api/v1/auth/tokens", data="{", content_type="application/json")

    assert_error(response, 400, "bad_request")


def test_no_credentials_is_a_json_401(client):
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")


def test_a_malformed_authorization_header_is_a_json_401(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Basic YWRhOnB3"})

    assert_error(response, 401, "unauthorized")


def test_an_unknown_token_is_a_json_401(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer stw_0000_forged"})

    assert_error(response, 401, "unauthorized")


def test_a_missing_permission_is_a_json_403_naming_it(make_user, api_client):
    body = assert_error(api_client(make_user("requester")).get("/api/v1/users"), 403, "forbidden")

    assert "user:view" in body["message"]


def test_a_duplicate_is_a_json_409(admin_api):
    admin_api.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"})

    body = assert_error(
        admin_api.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"}), 409, "conflict"
    )

    assert list(body["errors"]) == ["code"]


def test_a_change_without_if_match_is_a_json_428(admin_api, make_module):
    make_module("FIN")

    response = admin_api.patch("/api/v1/modules/FIN", json={"name": "Finance"})

    assert_error(response, 428, "precondition_required")


def test_a_stale_if_match_is_a_json_412(admin_api, make_module):
    make_module("FIN")

    response = admin_api.patch(
        "/api/v1/modules/FIN", json={"name": "Finance"}, headers={"If-Match": '"module-FIN-v0"'}
    )

    assert_error(response, 412, "precondition_failed")


def test_too_many_failed_logins_is_a_json_429(app, client, make_user):
    app.config["LOGIN_MAX_ATTEMPTS"] = 1
    make_user(email="ana@example.com", password=PASSWORD)
    client.post("/api/v1/auth/tokens", json={"email": "ana@example.com", "password": "wrong"})

    response = client.post(
        "/api/v1/auth/tokens", json={"email": "ana@example.com", "password": PASSWORD}
    )

    body = assert_error(response, 429, "rate_limited", extra={"retry_after"})
    assert response.headers["Retry-After"] == str(body["retry_after"])


def test_an_invalid_transition_is_a_409_that_lists_the_allowed_ones(throwaway_routes, client):
    response = client.get("/api/v1/test/transition")

    assert response.status_code == 409
    body = response.get_json()
    assert set(body) == ERROR_KEYS | {"allowed"}
    assert body["code"] == "invalid_transition"
    assert body["message"] == "A new ticket cannot be closed."
    assert body["allowed"] == ["cancel", "triage"]


# --- the unexpected -------------------------------------------------------------------------


def test_an_unexpected_exception_under_the_api_is_a_json_500_without_details(
    throwaway_routes, client
):
    response = client.get("/api/v1/test/boom")

    body = assert_error(response, 500, "internal_error")
    raw = response.get_data(as_text=True)
    assert SECRET not in raw
    assert "Traceback" not in raw
    assert "RuntimeError" not in raw
    assert body["errors"] == {}


def test_a_database_error_under_the_api_is_a_json_500_without_the_sql(throwaway_routes, client):
    response = client.get("/api/v1/test/bad-sql")

    assert_error(response, 500, "internal_error")
    raw = response.get_data(as_text=True)
    assert "no_such_table" not in raw
    assert "SELECT" not in raw


def test_an_unexpected_exception_on_a_page_is_an_html_500_without_details(throwaway_routes, client):
    response = client.get("/test/boom")

    assert response.status_code == 500
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert "500" in page
    assert SECRET not in page
    assert "Traceback" not in page


def test_an_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert "404" in response.get_data(as_text=True)


# --- the contract, as the OpenAPI document states it ----------------------------------------


def test_the_openapi_document_declares_the_real_error_body(client):
    spec = client.get("/api/openapi.json").get_json()

    error = spec["components"]["schemas"]["Error"]

    assert error["properties"]["status"]["type"] == "integer"
    assert error["properties"]["code"]["type"] == "string"
    assert error["properties"]["message"]["type"] == "string"
    assert error["properties"]["errors"]["type"] == "object"
    assert set(error["required"]) == ERROR_KEYS
    assert error["additionalProperties"] is True  # "allowed", "missing_scopes", ...


def test_every_operation_declares_its_errors_with_that_body(client):
    spec = client.get("/api/openapi.json").get_json()
    error_ref = "#/components/schemas/Error"
    responses = spec["components"]["responses"]

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            default = operation["responses"]["default"]["$ref"].rsplit("/", 1)[1]
            body = responses[default]["content"]["application/json"]["schema"]
            assert body == {"$ref": error_ref}, (method, path)


def test_a_body_beyond_the_size_limit_is_a_json_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024

    response = client.post("/api/v1/auth/tokens", data="x" * 2048, content_type="application/json")

    body = assert_error(response, 413, "payload_too_large")
    assert body["errors"] == {}
