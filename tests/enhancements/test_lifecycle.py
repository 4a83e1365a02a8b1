"""The enhancement request state machine, cell by cell: who may do what from which state."""

from __future__ import annotations

import pytest

from app.core.errors import InvalidTransition
from app.enhancements.lifecycle import Action, Party, Status, allowed_actions, transition_for

R, P, C, S = Party.REQUESTER, Party.PRODUCT_OWNER, Party.COMMITTEE, Party.SYSTEM
# status -> {action: (target, parties allowed)}; every other (status, action, party) is refused
EXPECTED: dict[str, dict[str, tuple[str, set[Party]]]] = {
    "submitted": {"review": ("under_review", {P}), "withdraw": ("withdrawn", {R})},
    "under_review": {
        "approve": ("approved", {C}),
        "reject": ("rejected", {C}),
        "defer": ("deferred", {C}),
        "withdraw": ("withdrawn", {R}),
    },
    "deferred": {"reconsider": ("under_review", {P, C})},
    "approved": {"plan": ("planned", {P, S})},
    "planned": {"start": ("in_progress", {P, S}), "unplan": ("approved", {P, S})},
    "in_progress": {"done": ("done", {P, S}), "unplan": ("approved", {P, S})},
    "done": {"release": ("released", {P, S})},
    "rejected": {},
    "released": {},
    "withdrawn": {},
}

CELLS = [
    pytest.param(party, status, action, id=f"{party.value}-{status.value}-{action.value}")
    for party in Party
    for status in Status
    for action in Action
]


def test_every_status_is_in_the_table():
    assert set(EXPECTED) == {s.value for s in Status}


@pytest.mark.parametrize(("party", "status", "action"), CELLS)
def test_each_action_from_each_status_is_allowed_or_refused_as_the_table_says(
    party, status, action
):
    rule = EXPECTED[status.value].get(action.value)

    if rule is not None and party in rule[1]:
        assert transition_for(status.value, action.value, {party}).target == rule[0]
    else:
        with pytest.raises(InvalidTransition) as refused:
            transition_for(status.value, action.value, {party})
        mine = sorted(a for a, (_, parties) in EXPECTED[status.value].items() if party in parties)
        assert refused.value.extra["allowed"] == mine


def test_a_product_owner_who_requested_it_too_may_review_or_withdraw():
    assert allowed_actions("submitted", {R, P}) == ["review", "withdraw"]
