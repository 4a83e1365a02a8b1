"""The menu, the home page and the links to an entity's page, assembled from what each domain
registers.

A domain adds its menu entries, home-page panels and entity pages here; the layout shows each
one only to users whose permissions allow it, so navigation follows the permission policy by
construction. A menu entry may step aside for users holding a broader permission (the auditor's
"All tickets" is the support team's "Queues"), so nobody gets two entries for one list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import url_for

from app.core.permissions import Permission, can


@dataclass(frozen=True)
class NavItem:
    label: Any  # str or a lazy translation
    endpoint: str
    permission: Permission | None
    order: int = 50
    unless: Permission | None = None  # hidden from users who also hold this one


@dataclass(frozen=True)
class HomePanel:
    """A box on the home page: a template fragment and the data it shows."""

    title: Any
    template: str
    permission: Permission
    context: Callable[[Any], dict[str, Any]]
    order: int = 50


@dataclass(frozen=True)
class EntityPage:
    """What an audited entity (``entity_type`` in the audit log) is called, where it is shown
    (if anywhere) and to whom."""

    entity_type: str
    label: Any
    endpoint: str | None = None
    permission: Permission | None = None  # None: the page itself decides who sees what
    argument: str | None = None  # the URL argument that takes the entity id
    anchor: bool = False  # the page lists several: link to the entity's own section


_NAV: list[NavItem] = []
_PANELS: list[HomePanel] = []
_ENTITY_PAGES: dict[str, EntityPage] = {}


def add_nav(item: NavItem) -> None:
    if item not in _NAV:
        _NAV.append(item)


def add_home_panel(panel: HomePanel) -> None:
    if all(str(p.title) != str(panel.title) for p in _PANELS):
        _PANELS.append(panel)


def add_entity_page(page: EntityPage) -> None:
    _ENTITY_PAGES[page.entity_type] = page


def _shown(user: Any, item: NavItem) -> bool:
    if item.permission is not None and not can(user, item.permission):
        return False
    return item.unless is None or not can(user, item.unless)


def nav_for(user: Any) -> list[NavItem]:
    items = [i for i in _NAV if _shown(user, i)]
    return sorted(items, key=lambda i: (i.order, str(i.label)))


def panels_for(user: Any) -> list[HomePanel]:
    return sorted(
        (p for p in _PANELS if can(user, p.permission)), key=lambda p: (p.order, str(p.title))
    )


def entity_label(entity_type: str) -> str:
    page = _ENTITY_PAGES.get(entity_type)
    return str(page.label) if page else entity_type.replace("_", " ")


def entity_types() -> list[str]:
    return sorted(_ENTITY_PAGES)


def entity_url(user: Any, entity_type: str, entity_id: str) -> str | None:
    """The page showing this entity, if there is one and ``user`` may open it."""
    page = _ENTITY_PAGES.get(entity_type)
    if page is None or page.endpoint is None:
        return None
    if page.permission is not None and not can(user, page.permission):
        return None
    if page.anchor:
        return url_for(page.endpoint, _anchor=f"{entity_type}-{entity_id}")
    if page.argument:
        return url_for(page.endpoint, **{page.argument: entity_id})
    return url_for(page.endpoint)
