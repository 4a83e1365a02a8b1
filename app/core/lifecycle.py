"""State machines, the one mechanism: a table of transitions, and the two questions asked of it.

A domain's ``lifecycle.py`` declares its states, actions and parties (who acts) as enums and a
tuple of ``Transition`` rows, then wraps them in a ``StateMachine``. Everything that changes a
state anywhere (API, pages, jobs) asks ``transition_for``, which refuses with
``InvalidTransition`` (409) listing the actions allowed from the current state; answers carry
``allowed`` for the caller so that pages offer only what would be accepted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from app.core.errors import InvalidTransition


@dataclass(frozen=True)
class Transition:
    """``action`` moves an entity from any of ``sources`` to ``target``, for ``parties``."""

    action: StrEnum
    sources: frozenset[StrEnum]
    target: StrEnum
    parties: frozenset[StrEnum]


def transition(
    action: StrEnum, sources: Iterable[StrEnum], target: StrEnum, *parties: StrEnum
) -> Transition:
    """One row of a transition table."""
    return Transition(action, frozenset(sources), target, frozenset(parties))


class StateMachine:
    """The transitions of one kind of entity (``noun``, as users read it: "ticket").

    ``states`` gives the states in words (lazily translated), for the refusal a reader gets in
    their language; a state without one reads as its code with spaces.
    """

    def __init__(
        self,
        noun: Any,
        transitions: Iterable[Transition],
        *,
        states: Mapping[str, Any] | None = None,
    ) -> None:
        self.noun = noun
        self.transitions = tuple(transitions)
        self.states = dict(states or {})

    def allowed(
        self, status: str, parties: Collection[StrEnum], *, without: Collection[str] = ()
    ) -> list[str]:
        """The actions any of ``parties`` may take from ``status`` (less ``without``), sorted."""
        return sorted(
            {
                t.action.value
                for t in self.transitions
                if status in t.sources and t.parties & set(parties) and t.action not in without
            }
        )

    def transition_for(self, status: str, action: str, parties: Collection[StrEnum]) -> Transition:
        """The transition ``action`` from ``status`` for ``parties``, or ``InvalidTransition``."""
        for candidate in self.transitions:
            if (
                candidate.action == action
                and status in candidate.sources
                and candidate.parties & set(parties)
            ):
                return candidate
        raise InvalidTransition(
            _l(
                "Cannot %(action)s a %(noun)s that is %(value)s.",
                action=action,
                noun=self.noun,
                value=self.states.get(status, status.replace("_", " ")),
            ),
            allowed=self.allowed(status, parties),
            current_status=status,
        )
