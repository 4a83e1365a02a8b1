"""The menu and the home page, assembled from what each domain registers.

A domain adds its menu entries and home-page panels here; the layout shows each one only to
users whose permissions allow it, so navigation follows the permission policy by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.permissions import Permission, can


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    permission: Permission | None
    order: int = 50


@dataclass(frozen=True)
class HomePanel:
    """A box on the home page: a template fragment and the data it shows."""

    title: str
    template: str
    permission: Permission
    context: Callable[[Any], dict[str, Any]]
    order: int = 50


_NAV: list[NavItem] = []
_PANELS: list[HomePanel] = []


def add_nav(item: NavItem) -> None:
    if item not in _NAV:
        _NAV.append(item)


def add_home_panel(panel: HomePanel) -> None:
    if all(p.title != panel.title for p in _PANELS):
        _PANELS.append(panel)


def nav_for(user: Any) -> list[NavItem]:
    items = [i for i in _NAV if i.permission is None or can(user, i.permission)]
    return sorted(items, key=lambda i: (i.order, i.label))


def panels_for(user: Any) -> list[HomePanel]:
    return sorted((p for p in _PANELS if can(user, p.permission)), key=lambda p: (p.order, p.title))
