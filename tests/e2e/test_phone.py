"""At 390 px wide (a phone), no main page of any role scrolls sideways: lists become stacked
rows, forms fit the screen."""

from __future__ import annotations

import pytest

from tests.e2e.pages import ROLES, main_pages

PHONE = {"width": 390, "height": 844}


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth > window.innerWidth")


@pytest.mark.parametrize("role", ROLES)
def test_no_main_page_scrolls_sideways_on_a_phone(login_as, role):
    page = login_as(role)
    page.set_viewport_size(PHONE)

    wide = []
    for path in main_pages(page):
        page.goto(path)
        if scrolls_sideways(page):
            wide.append(path)

    assert wide == []


def test_the_queue_reads_as_stacked_rows_on_a_phone(login_as):
    page = login_as("agent")
    page.set_viewport_size(PHONE)
    page.goto("/queues?view=open")

    header_shown = page.evaluate(
        "(() => { const h = document.querySelector('table.tickets thead');"
        " return !!h && getComputedStyle(h).display !== 'none'; })()"
    )
    assert header_shown is False
    assert not scrolls_sideways(page)
