"""The quick check of a usage event answers exactly as the careful one, for any event."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.usage.service import _check_carefully, check_event

MODULES = {"FIN": 1, "SAL": 2}
# Each field's accepted spellings (the first lines of each list) and refused ones.
ACCEPTED = {
    "event_id": ["evt-1", " evt-2 ", "e" * 128, "caf\u00e9"],
    "user": ["rita@example.com", "Rita@Example.COM ", "ERP-42", "u" * 320],
    "module": ["FIN", "fin", " SAL "],
    "action": ["screen.open", " report.run ", "a" * 120],
    "occurred_at": [
        "2026-11-02T09:15:00+01:00",
        " 2026-11-02 09:15:00Z ",
        "9999-12-31T22:30:00-01:00",
    ],
}
REFUSED = {
    "event_id": ["e" * 129],
    "user": ["u" * 321],
    "module": ["HR", "F" * 17],
    "action": ["a" * 121],
    "occurred_at": [
        "2026-11-02T09:15:00",
        "0001-01-01T00:30:00+01:00",
        "2026-02-30T10:00:00+00:00",
    ],
}
ODD = st.sampled_from([None, 7, "", "  ", "a\x00b", "a\ud800b"]) | st.text(max_size=6)


@st.composite
def events(draw):
    """An accepted event, then (most times) one or two of its fields spoilt or left out."""
    event = {name: draw(st.sampled_from(choices)) for name, choices in ACCEPTED.items()}
    for name in draw(st.lists(st.sampled_from(sorted(ACCEPTED)), max_size=2, unique=True)):
        spoilt = draw(st.sampled_from(["refused", "odd", "missing"]))
        if spoilt == "missing":
            del event[name]
        else:
            event[name] = draw(st.sampled_from(REFUSED[name]) if spoilt == "refused" else ODD)
    return event


@settings(max_examples=500, deadline=None)
@given(events() | st.lists(st.integers(), max_size=2) | st.text(max_size=3))
def test_the_quick_check_answers_as_the_careful_one(item):
    assert check_event(item, MODULES) == _check_carefully(item, MODULES)
