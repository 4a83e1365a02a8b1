"""French is complete: every message of the code and templates has its translation.

The catalogue is extracted from the sources the way ``make translations`` does; a new string
without a French translation (or with a fuzzy one) fails here, naming the string.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.factories import PASSWORD

APP = Path(__file__).resolve().parents[2] / "app"
CATALOGUE = APP / "translations" / "fr" / "LC_MESSAGES" / "messages"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}


def _extracted() -> set[str | tuple[str, ...]]:
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(APP), METHODS, keywords=KEYWORDS
        )
        if message
    }


def _key(message: str | tuple[str, ...]) -> str:
    return message[0] if isinstance(message, tuple) else message


def _plain(string: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    return tuple(string) if isinstance(string, list | tuple) else string


@pytest.fixture(scope="module")
def french():
    with CATALOGUE.with_suffix(".po").open("rb") as po:
        return read_po(po, locale="fr")


def test_every_message_has_a_french_translation(french):
    missing = []
    for message in _extracted():
        entry = french.get(_key(message))
        strings = entry.string if entry is not None else None
        translated = all(strings) if isinstance(strings, list | tuple) else bool(strings)
        if entry is None or entry.fuzzy or not translated:
            missing.append(_key(message))

    assert not missing, "no French translation for:\n" + "\n".join(sorted(missing))


def test_french_keeps_every_placeholder(french):
    import re

    # gettext's %(name)s, and the {name} of the validators' own messages
    placeholder = re.compile(r"%\([a-z_]+\)[sd]|%\([a-z_]+\)0?\d*d|\{[a-z_]+\}")
    wrong = [
        message.id
        for message in french
        if message.id
        and isinstance(message.id, str)
        and message.string
        and sorted(placeholder.findall(message.id)) != sorted(placeholder.findall(message.string))
    ]

    assert not wrong, f"placeholders differ in: {wrong}"


def test_the_compiled_catalogue_matches_its_source(french):
    with CATALOGUE.with_suffix(".mo").open("rb") as mo:
        compiled = {_plain(m.id): _plain(m.string) for m in read_mo(mo) if m.id}
    source = {_plain(m.id): _plain(m.string) for m in french if m.id and not m.fuzzy}

    assert compiled == source, "run `make translations` to compile the French catalogue"


def test_pages_speak_the_browsers_language(client):
    french = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})

    assert "Se connecter à Steward" in french.get_data(as_text=True)
    assert 'lang="fr"' in french.get_data(as_text=True)
    assert "Sign in to Steward" in english.get_data(as_text=True)


def test_the_users_language_setting_wins_over_the_browser(db_session, make_user, signed_in):
    user = make_user(password=PASSWORD)
    user.locale = "fr"
    db_session.commit()

    page = signed_in(user).get("/", headers={"Accept-Language": "en"})

    assert "Bienvenue" in page.get_data(as_text=True)


def test_an_api_error_speaks_the_callers_language(french, make_user, as_):
    """Services raise in English words; the answer reads them in the caller's language."""
    caller = as_(make_user("agent"))
    wanted = french.get("No ticket %(ref)s.").string % {"ref": "'INC-999999'"}

    in_french = caller.get("/api/v1/tickets/INC-999999", headers={"Accept-Language": "fr"})
    in_english = caller.get("/api/v1/tickets/INC-999999", headers={"Accept-Language": "en"})

    assert in_french.status_code == in_english.status_code == 404
    assert in_french.get_json()["message"] == wanted
    assert in_english.get_json()["message"] == "No ticket 'INC-999999'."


def test_a_refused_move_names_the_thing_and_its_state_in_the_callers_language(
    french, requester, as_
):
    from tests.factories import submitted

    caller = as_(requester)
    ref = submitted(caller)["ref"]

    refused = caller.post(
        f"/api/v1/tickets/{ref}/transitions",
        json={"action": "reopen"},
        headers={"Accept-Language": "fr"},
    )

    assert refused.status_code == 409
    assert refused.get_json()["message"] == french.get(
        "Cannot %(action)s a %(noun)s that is %(value)s."
    ).string % {"action": "reopen", "noun": "ticket", "value": "nouveau"}
    assert french.get("new").string == "nouveau"


def test_the_validators_own_messages_speak_the_callers_language(french, requester, as_):
    caller = as_(requester)
    body = {"title": "x" * 1000, "impact": "huge", "surprise": 1}

    in_french = caller.post("/api/v1/tickets", json=body, headers={"Accept-Language": "fr"})
    in_english = caller.post("/api/v1/tickets", json=body, headers={"Accept-Language": "en"})

    assert in_french.status_code == in_english.status_code == 422
    english, french_errors = in_english.get_json()["errors"], in_french.get_json()["errors"]
    assert english["description"] == ["Missing data for required field."]
    assert french_errors["description"] == [french.get("Missing data for required field.").string]
    assert english["surprise"] == ["Unknown field."]
    assert french_errors["surprise"] == ["Champ inconnu."]
    assert english["title"] == ["Length must be between 1 and 200."]
    assert french_errors["title"] == ["La longueur doit être comprise entre 1 et 200."]
    assert english["impact"] == ["Must be one of: high, medium, low."]
    assert french_errors["impact"] == ["Doit être l'une des valeurs suivantes : high, medium, low."]


def test_a_message_the_validators_did_not_write_is_left_as_it_is(app):
    from app.core.errors import library_message_in_words

    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert library_message_in_words(["Must be one of our partners."]) == [
            "Must be one of our partners."
        ]
        assert library_message_in_words({"n": ["Must be less than 10."], "k": 3}) == {
            "n": ["Doit être inférieur à 10."],
            "k": 3,
        }


def test_field_errors_speak_the_users_language(db_session, make_user, as_, french):
    user = make_user("agent")
    user.locale = "fr"
    db_session.commit()

    refused = as_(user).get("/api/v1/tickets?cursor=forged", headers={"Accept-Language": "en"})

    body = refused.get_json()
    assert refused.status_code == 422
    assert body["message"] == french.get("The cursor is not valid.").string
    assert body["errors"] == {"cursor": [french.get("Not a cursor from this list.").string]}


def test_the_sign_out_notice_speaks_the_browsers_language(client, make_user):
    make_user(email="ana@example.com", password=PASSWORD)
    french = {"Accept-Language": "fr"}
    client.post("/login", data={"email": "ana@example.com", "password": PASSWORD}, headers=french)

    client.post("/logout", headers=french)

    assert "Vous êtes déconnecté." in client.get("/login", headers=french).get_data(as_text=True)
