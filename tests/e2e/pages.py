"""The main pages each demo role reaches: home, every link of its main navigation, a ticket it
may see, and its settings. Shared by the accessibility and the phone-width browser tests."""

from __future__ import annotations

import re

ROLES = ("admin", "agent", "requester", "keyuser", "po", "approver", "auditor")
TICKET_LINK = re.compile(r"^/tickets/INC-\d{6}$")


def main_pages(page) -> list[str]:
    """The paths of the signed-in user's main pages, in the order people meet them."""
    page.goto("/")
    paths = ["/"]
    links = page.eval_on_selector_all(
        "nav[aria-label=Main] a", "els => els.map(e => new URL(e.href).pathname)"
    )
    paths += [p for p in links if p not in paths]
    for listing in ("/tickets", "/queues", "/tickets/all", "/tickets/module"):
        if listing not in paths:
            continue
        page.goto(listing)
        refs = page.eval_on_selector_all(
            "main a[href^='/tickets/INC-']", "els => els.map(e => e.getAttribute('href'))"
        )
        ticket = next((r for r in refs if TICKET_LINK.match(r)), None)
        if ticket:
            paths.append(ticket)
            break
    if "/account/settings" not in paths:
        paths.append("/account/settings")
    return paths
