"""The pages satisfy the strict Content-Security-Policy in a real browser: nothing they need is
blocked (no inline script, no inline style), and the API docs still render."""

from __future__ import annotations

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

PAGES_BY_ROLE = {
    "requester": ["/", "/tickets", "/tickets/new", "/account/tokens"],
    "agent": ["/", "/queues", "/tickets/INC-000001", "/account/tokens"],
    "admin": ["/", "/catalogue/modules", "/catalogue/calendars", "/admin/sla", "/audit"],
}


def watch_csp(page) -> list[str]:
    """Console messages a CSP violation leaves, collected from here on."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


@pytest.mark.parametrize("role", sorted(PAGES_BY_ROLE))
def test_no_page_breaks_the_content_security_policy(login_as, role):
    page = login_as(role)
    violations = watch_csp(page)

    for path in PAGES_BY_ROLE[role]:
        response = page.goto(path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]

    assert violations == []


def test_the_api_docs_render_under_the_policy(page):
    violations = watch_csp(page)

    page.goto("/api/docs")

    expect(page.get_by_text("Steward API").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations == []


def test_a_framing_page_cannot_show_steward(page, live_server):
    page.set_content(f'<iframe id="steward" src="{live_server}/login"></iframe>')
    frame = page.frame_locator("#steward")

    expect(frame.get_by_label("Email")).to_have_count(0)
