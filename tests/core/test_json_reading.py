"""The quick paths of reading JSON bodies answer exactly as the careful ones they skip.

``jsonio.loads`` reads with orjson and falls back to ``json``: whatever the text, it gives what
``json.loads`` gives (or raises what it raises). A large, flat body of plain ASCII is checked
for depth only (``_nested_too_deep``): its verdict must be the full walk's.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import edge, jsonio

ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
documents = st.recursive(
    st.none() | st.booleans() | st.integers() | ascii_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(ascii_text, children, max_size=3)
    ),
    max_leaves=60,
)


def _nest(value: object, levels: int) -> object:
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


@settings(max_examples=300, deadline=None)
@given(documents, st.integers(min_value=0, max_value=edge.MAX_JSON_DEPTH + 3))
def test_the_depth_check_agrees_with_the_full_walk(document, levels):
    nested = _nest(document, levels)

    assert edge._nested_too_deep(nested) == (edge._json_problem(nested) is not None)


@pytest.mark.parametrize("levels", [edge.MAX_JSON_DEPTH - 1, edge.MAX_JSON_DEPTH])
@pytest.mark.parametrize("inner", ["x", [], {}, [[]]])
def test_the_depth_check_draws_the_line_where_the_walk_does(levels, inner):
    document = _nest(inner, levels)
    innermost_depth = levels + 1 + (inner == [[]])

    assert edge._nested_too_deep(document) is (innermost_depth > edge.MAX_JSON_DEPTH)
    assert (edge._json_problem(document) is not None) is (innermost_depth > edge.MAX_JSON_DEPTH)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [true, null, "x"]}',
        '{"a": 1, "a": 2}',  # the last of a repeated key
        "[NaN, Infinity, -Infinity]",
        "123456789012345678901234567890",  # beyond 64 bits
        "[-9223372036854775809, 18446744073709551616, 0.12345678901234567890123]",
        '"\\ud800"',  # an escaped lone surrogate
        '"\\u0000"',
        "1.5e400",
        "[" * 2000 + "]" * 2000,
        '{"a": }',
        "",
        "\ufeff[]",
    ],
)
def test_loads_answers_as_the_standard_library(text):
    raw = text.encode()
    try:
        expected = json.loads(raw)
    except (ValueError, RecursionError) as error:
        with pytest.raises(type(error)):
            jsonio.loads(raw)
        return

    got = jsonio.loads(raw)

    assert repr(got) == repr(expected)


@pytest.mark.parametrize(
    "raw, clean",
    [
        (b'{"title": "plain"}', True),
        (b'{"title": "a\\u0000b"}', False),
        (b'{"title": "\\ud800"}', False),
        ('{"title": "caf\u00e9"}'.encode(), False),
    ],
)
def test_only_plain_ascii_without_escapes_skips_the_string_checks(raw, clean):
    assert edge._strings_clean(raw) is clean


def test_a_page_is_written_as_the_standard_library_would_write_it(app):
    from datetime import UTC, date, datetime, timedelta, timezone

    from flask_babel import lazy_gettext

    data = {
        "items": [
            {
                "at": datetime(2026, 11, 2, 9, 15, 30, 123456, tzinfo=UTC),
                "local": datetime(2026, 11, 2, 9, 15, tzinfo=timezone(timedelta(hours=1))),
                "day": date(2026, 11, 2),
                "title": "Facture refusée \u2014 \U0001f4b6",
                "n": 2**53 + 1,
                "ratio": 0.1,
                "none": None,
            }
        ],
        7: "int key",
    }
    with app.test_request_context():
        data["label"] = lazy_gettext("Priority")
        expected = json.loads(
            json.dumps(
                data,
                default=lambda v: v.isoformat() if isinstance(v, date) else str(v),
            )
        )

        response = jsonio.json_response(data, 201, {"ETag": '"1"'})

    assert response.status_code == 201 and response.headers["ETag"] == '"1"'
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == expected
