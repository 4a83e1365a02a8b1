"""The access state machines, cell by cell: who may take which action from which state."""

from __future__ import annotations

import pytest

from app.access.lifecycle import (
    GRANT_MACHINE,
    REQUEST_MACHINE,
    GrantParty,
    GrantStatus,
    RequestParty,
    RequestStatus,
)
from app.core.errors import InvalidTransition

RQ, AP, AD = RequestParty.REQUESTER, RequestParty.APPROVER, RequestParty.ADMIN
REQUESTS = {
    "needs_exception": {
        "file_exception": ("pending_approval", {RQ, AD}),
        "reject": ("rejected", {AP, AD}),
        "cancel": ("cancelled", {RQ}),
    },
    "pending_approval": {
        "approve": ("approved", {AP, AD}),
        "reject": ("rejected", {AP, AD}),
        "cancel": ("cancelled", {RQ}),
    },
    "approved": {},
    "rejected": {},
    "cancelled": {},
}
GA, GP, GR, GS = GrantParty.ADMIN, GrantParty.PROVISIONER, GrantParty.REVIEWER, GrantParty.SYSTEM
GRANTS = {
    "pending_provisioning": {
        "provision": ("active", {GA, GP}),
        "expire": ("expired", {GS}),
        "revoke": ("revoked", {GA, GR, GS}),
    },
    "active": {"expire": ("expired", {GS}), "revoke": ("revoked", {GA, GR, GS})},
    "expired": {},
    "revoked": {},
}


def test_every_status_is_in_the_tables():
    assert set(REQUESTS) == {s.value for s in RequestStatus}
    assert set(GRANTS) == {s.value for s in GrantStatus}


@pytest.mark.parametrize(
    "machine, table, parties",
    [(REQUEST_MACHINE, REQUESTS, RequestParty), (GRANT_MACHINE, GRANTS, GrantParty)],
    ids=["request", "grant"],
)
def test_each_cell(machine, table, parties):
    actions = {t.action.value for t in machine.transitions}
    for status, allowed in table.items():
        for action in actions:
            for party in parties:
                target, who = allowed.get(action, (None, set()))
                if party in who:
                    assert machine.transition_for(status, action, {party}).target == target
                else:
                    with pytest.raises(InvalidTransition):
                        machine.transition_for(status, action, {party})
