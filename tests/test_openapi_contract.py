"""The API keeps the contract its OpenAPI document states, under fuzzing: schemathesis generates
requests for every operation of ``/api/openapi.json`` (valid and invalid ones), as an admin and
as a requester, and every answer must be no server error, with a documented status code,
content type and body schema. A property-based test throws hostile values (NUL, lone
surrogates, numbers beyond any column, forged instants, deep JSON) at every parameter of every
operation: never a server error. Operations added later are fuzzed without a change here.

The seed is fixed and the examples per operation bounded, so a run is repeatable and takes a
bounded time on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from app.identity.models import ApiToken
from app.incidents.canned import create_canned
from app.incidents.saved_views import create_view
from tests.factories import RESOLUTION, TICKET, act_ok, tiny_png

SEED = 20260302
# requests per operation and generation mode: aimed at existing things, and with generated
# path parameters (which mostly find nothing, so fewer)
AIMED_EXAMPLES, UNAIMED_EXAMPLES = 15, 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Desk:
    """The data a run starts from, and the client of the role under test."""

    caller: object
    values: dict[str, object]  # existing things to aim path parameters at

    def aims(self, path: str) -> list[tuple[dict | None, int]]:
        """(path parameters, examples) to fuzz ``path`` with; None: generated ones."""
        if "{" not in path:
            return [(None, AIMED_EXAMPLES)]
        return [(self.path_parameters(path), AIMED_EXAMPLES), (None, UNAIMED_EXAMPLES)]

    def path_parameters(self, path: str) -> dict[str, object]:
        wanted = set(re.findall(r"{(\w+)}", path))
        values = dict(self.values)
        values["code"] = "OFFICE" if path.startswith("/api/v1/calendars/") else "FIN"
        # a parameter with no existing thing to aim at is generated (its domain's own contract
        # test aims at it)
        return {name: values[name] for name in wanted if name in values}


@pytest.fixture(params=["admin", "requester"])
def desk(request, make_user, make_module, make_calendar, as_, db_session) -> Desk:
    """A desk with something in it (modules, a calendar, tickets in several states, a comment,
    a file, someone else's token), and the API client of the role under test."""
    make_module("FIN", name="Finance")
    make_calendar("OFFICE")
    requester = make_user("requester", email="rita@example.com", name="Rita")
    agent = make_user("agent", email="alex@example.com", name="Alex")
    rita, alex = as_(requester), as_(agent)
    refs = [rita.post("/api/v1/tickets", json=TICKET).get_json()["ref"] for _ in range(3)]
    act_ok(alex, refs[1], "triage")
    act_ok(alex, refs[2], "triage")
    act_ok(alex, refs[2], "resolve", **RESOLUTION)
    rita.post(f"/api/v1/tickets/{refs[0]}/comments", json={"body": "Still failing."})
    attachment = rita.post(
        f"/api/v1/tickets/{refs[0]}/attachments",
        data={"file": (io.BytesIO(tiny_png()), "screen.png", "image/png")},
        content_type="multipart/form-data",
    ).get_json()
    alexs_token = db_session.scalar(select(ApiToken.id).where(ApiToken.user_id == agent.id))
    ada = make_user("admin", email="ada@example.com", name="Ada")
    # the agents' desk: a canned response and a saved view to aim at
    canned = create_canned(db_session, ada, title="Hello", body="Hello {{requester_name}}.")
    view = create_view(db_session, ada, name="Open", filters={"view": "open"})
    db_session.commit()
    caller = as_(ada)
    sprint = caller.post(
        "/api/v1/sprints",
        json={
            "name": "S1",
            "start_date": "2026-03-02",
            "end_date": "2026-03-13",
            "capacity_points": 20,
            "module": "FIN",
        },
    ).get_json()
    item = caller.post(
        f"/api/v1/sprints/{sprint['id']}/items", json={"ref": refs[1], "points": 3}
    ).get_json()
    task = caller.post(
        f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/tasks",
        json={"title": "Fix", "estimate_days": 1},
    ).get_json()
    if request.param == "requester":
        caller = rita
    values = {
        "ref": refs[0],
        "attachment_id": attachment["id"],
        "user_id": requester.id,  # never the caller: a password reset would revoke its token
        "token_id": alexs_token,
        "priority": "P3",
        "key": "mttr_seconds",  # an indicator of the registry
        "sprint_id": sprint["id"],
        "item_id": item["id"],
        "task_id": task["id"],
        "canned_id": canned.id,
        "view_id": view.id,
    }
    return Desk(caller=caller, values=values)


def fuzz(
    operation, mode: GenerationMode, headers: dict, path_parameters: dict | None, examples: int
) -> None:
    """Run ``examples`` generated requests of one operation through the checks."""

    @seed(SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: a bounded run
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_every_operation_keeps_the_contract(app, desk):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {desk.caller.token}"}
    failures: list[str] = []
    operations = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for path_parameters, examples in desk.aims(operation.path):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz(operation, mode, headers, path_parameters, examples)
                except (Exception, BaseExceptionGroup) as exc:  # all reported together
                    failures.append(f"{operation.label} {path_parameters} ({mode.value}): {exc}")

    assert operations >= 30
    assert not failures, "\n\n".join(failures)


# --- hostile values at every operation: never a server error --------------------------------

HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "INC-\x00",
            "\ud800",
            "a\udfffb",
            "INC-999999999999",
            "99999999999999999999",
            str(2**63),
            "-1",
            "²",
            "١٢٣",
            "9999-12-31T23:59:59-14:00",
            "0000-00-00",
            "' OR 1=1 --",
            "%00",
            "\u202e",
            "x" * 3000,
        ]
    ),
    st.text(st.characters(codec=None), max_size=30),  # any code point, surrogates included
)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# a URL carries bytes: a lone surrogate cannot be sent there, only inside a JSON string
URL_TEXT = HOSTILE_TEXT.filter(_encodable)
PATH_TEXT = URL_TEXT.filter(lambda text: not set(text) & set("?#/"))  # one path segment
HOSTILE = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.lists(HOSTILE_TEXT, max_size=3),
)


def hostile_cases(operation, aim: dict | None):
    """A valid request for ``operation``, with one path, query or body value made hostile."""

    @st.composite
    def build(draw):
        case = draw(operation.as_strategy(path_parameters=aim))
        targets = [("path", name) for name in case.path_parameters or {}]
        targets += [("query", parameter.name) for parameter in operation.query]
        if isinstance(case.body, dict):
            targets += [("body", name) for name in case.body]
        if not targets:
            return case
        where, name = draw(st.sampled_from(targets))
        if where == "path":
            case.path_parameters[name] = draw(PATH_TEXT)
        elif where == "query":
            case.query = {**(case.query or {}), name: draw(URL_TEXT)}
        elif case.media_type == "application/json":
            case.body[name] = draw(HOSTILE)
        else:  # a form: text fields only, and bytes again
            case.body[name] = draw(URL_TEXT)
        return case

    return build()


def test_hostile_values_at_every_operation_are_never_a_server_error(app, desk):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {desk.caller.token}"}
    server_errors: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        for aim, examples in desk.aims(operation.path):

            @seed(SEED)
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=hostile_cases(operation, aim))
            def throw(case) -> None:
                response = case.call(headers=headers)
                assert response.status_code < 500, (case.as_curl_command(), response.text[:300])

            try:
                throw()
            except AssertionError as exc:
                server_errors.append(f"{operation.label} {aim}: {exc}")

    assert not server_errors, "\n\n".join(server_errors)


def test_json_nested_5000_deep_is_a_400_at_every_operation_that_reads_json(app, desk, client):
    spec = client.get("/api/openapi.json").get_json()
    deep = "[" * 5000 + "]" * 5000
    headers = {"Authorization": f"Bearer {desk.caller.token}"}
    answered = {}

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            if "application/json" not in str(operation.get("requestBody", {}).get("content")):
                continue
            # the body is refused before any lookup: a parameter with nothing to aim at is 1
            unaimed = dict.fromkeys(re.findall(r"{(\w+)}", path), 1)
            url = path.format(**(unaimed | desk.path_parameters(path)))
            response = getattr(client, method)(
                url, data=deep, content_type="application/json", headers=headers
            )
            answered[f"{method.upper()} {path}"] = response.status_code

    assert len(answered) >= 15
    assert set(answered.values()) == {400}, answered
