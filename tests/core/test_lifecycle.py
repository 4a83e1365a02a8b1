"""The state machine mechanism every domain's lifecycle uses."""

from __future__ import annotations

from enum import StrEnum

import pytest

from app.core.errors import InvalidTransition
from app.core.lifecycle import StateMachine, transition


class Door(StrEnum):
    OPEN = "open"
    SHUT = "shut"
    LOCKED = "locked"


class Move(StrEnum):
    SHUT = "shut"
    OPEN = "open"
    LOCK = "lock"


class Who(StrEnum):
    GUEST = "guest"
    OWNER = "owner"


DOOR = StateMachine(
    "door",
    [
        transition(Move.SHUT, [Door.OPEN], Door.SHUT, Who.GUEST, Who.OWNER),
        transition(Move.OPEN, [Door.SHUT], Door.OPEN, Who.GUEST, Who.OWNER),
        transition(Move.LOCK, [Door.SHUT], Door.LOCKED, Who.OWNER),
    ],
)


def test_a_party_is_offered_only_what_it_may_do_from_the_state():
    assert DOOR.allowed("shut", {Who.GUEST}) == ["open"]
    assert DOOR.allowed("shut", {Who.OWNER}) == ["lock", "open"]
    assert DOOR.allowed("locked", {Who.OWNER}) == []


def test_any_of_several_parties_suffices():
    assert DOOR.transition_for("shut", "lock", {Who.GUEST, Who.OWNER}).target == Door.LOCKED


def test_actions_can_be_left_out_of_what_is_offered():
    assert DOOR.allowed("shut", {Who.OWNER}, without=(Move.LOCK,)) == ["open"]


def test_a_refused_move_names_the_entity_and_lists_what_is_allowed():
    with pytest.raises(InvalidTransition) as refused:
        DOOR.transition_for("shut", "lock", {Who.GUEST})

    assert refused.value.message == "Cannot lock a door that is shut."
    assert refused.value.extra["allowed"] == ["open"]
    assert refused.value.extra["current_status"] == "shut"
    assert refused.value.status == 409
