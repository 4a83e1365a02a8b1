"""The desk in French: a browser asking for French gets French pages from the first one."""

from __future__ import annotations

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

from app.demo import DEMO_PASSWORD
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, DEMO_ACCOUNTS


def test_a_french_browser_reads_the_desk_in_french(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="fr-FR")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.get_by_label("E-mail").fill(DEMO_ACCOUNTS["requester"])
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Connexion").click()

        expect(page.get_by_role("heading", level=1)).to_contain_text("Bienvenue")
        page.get_by_role("navigation", name="Principal").get_by_role(
            "link", name="Signaler un incident"
        ).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Signaler un incident")
        expect(page.get_by_label("Module ERP")).to_be_visible()
        expect(page.get_by_role("button", name="Envoyer le ticket")).to_be_visible()
    finally:
        context.close()
