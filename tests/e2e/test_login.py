"""Signing in and out, and what the menu shows each role."""

from __future__ import annotations

import re

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

from app.demo import DEMO_DOMAIN
from tests.e2e.conftest import login

REQUESTER_EMAIL = f"requester@{DEMO_DOMAIN}"
REQUESTER_NAME = "Rita Requester"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_requester_lands_on_home_greeted_by_name(login_as, tmp_path):
    page = login_as("requester")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {REQUESTER_NAME}")
    expect(page.get_by_test_id("roles")).to_have_text("Requester")
    expect(page.get_by_test_id("current-user")).to_have_text(REQUESTER_NAME)
    home = main_nav(page).get_by_role("link", name="Home")
    expect(home).to_be_visible()
    expect(home).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    shot = tmp_path / "home.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    assert shot.read_bytes()[:8] == PNG_SIGNATURE


def test_sign_out_returns_to_login_and_home_needs_login_again(login_as):
    page = login_as("requester")

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Sign in to Steward")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.get_by_role("heading", name="Sign in to Steward")).to_be_visible()
    expect(main_nav(page)).to_have_count(0)


def test_wrong_password_shows_error_and_keeps_email(page, live_server):
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        login(page, live_server, REQUESTER_EMAIL, "not-the-password")

    assert answer.value.status == 401
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(REQUESTER_EMAIL)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_admin_sees_admin_menu_and_opens_audit_log(login_as):
    page = login_as("admin")
    nav = main_nav(page)

    expect(nav.get_by_role("link", name="Modules")).to_be_visible()
    audit = nav.get_by_role("link", name="Audit log")
    expect(audit).to_be_visible()

    audit.click()

    expect(page).to_have_url(re.compile(r"/audit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(audit).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("table")).to_be_visible()


def test_requester_has_no_admin_menu_and_is_refused_the_audit_log(login_as):
    page = login_as("requester")
    nav = main_nav(page)

    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    expect(nav.get_by_role("link", name="Modules")).to_have_count(0)

    response = page.goto("/audit")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this")
    expect(page.get_by_text("ask an administrator")).to_be_visible()
    assert "permission" not in page.content()
    expect(page.get_by_role("link", name="Back to home")).to_be_visible()
