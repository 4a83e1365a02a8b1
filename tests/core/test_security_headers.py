"""Every response carries the security headers: a strict Content-Security-Policy that forbids
framing (no clickjacking of the ticket forms), nosniff (downloads are never run as something
else), a referrer policy, and HSTS under production. The templates hold nothing the policy
would block."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from app import create_app
from tests.factories import TICKET, tiny_png

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


def csp_of(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def assert_protected(response) -> None:
    csp = csp_of(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_login_page_is_protected(client):
    assert_protected(client.get("/login"))


def test_a_signed_in_page_is_protected(signed_in, requester):
    assert_protected(signed_in(requester).get("/tickets/new"))


def test_an_api_answer_is_protected(as_, requester):
    assert_protected(as_(requester).get("/api/v1/me"))


def test_error_answers_are_protected(client):
    assert_protected(client.get("/no/such/page"))
    assert_protected(client.get("/api/v1/no-such-thing"))


def test_a_downloaded_attachment_says_nosniff(as_, requester):
    rita = as_(requester)
    ref = rita.post("/api/v1/tickets", json=TICKET).get_json()["ref"]
    url = rita.post(
        f"/api/v1/tickets/{ref}/attachments",
        data={"file": (io.BytesIO(tiny_png()), "screen.png", "image/png")},
        content_type="multipart/form-data",
    ).get_json()["url"]

    response = rita.get(url)

    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_hsts_under_production(tmp_path):
    production = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "a-real-secret-for-this-test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "TESTING": True,
        }
    )

    response = production.test_client().get("/healthz")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_no_template_holds_what_the_policy_blocks(template):
    source = template.read_text()

    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", source)
    assert inline_scripts == []
    assert not re.search(r"\sstyle=", source)
    assert not re.search(r"<style[\s>]", source)
    assert not re.search(r"\son[a-z]+=", source)  # onclick=... is inline script too
