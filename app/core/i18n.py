"""Language and time zone of the viewer, and how pages show times, dates and durations.

Flask-Babel translates (``_()`` in templates, ``gettext`` / ``lazy_gettext`` in Python). The
language is the user's setting, else the browser's ``Accept-Language``, else English; the time
zone is the user's setting, else the calendar of the module they hold a role in, else
``DEFAULT_TIMEZONE``. Every page shows instants through the
filters registered here, so a time is always read in the viewer's zone and language:

- ``{{ t.created_at|local_dt }}``: "Dec 1, 2026, 15:05" / "1 déc. 2026, 15:05";
  ``|local_dt(zone=True)`` adds the zone ("CET") where it matters (SLA due times);
- ``{{ day|local_date }}``: "Dec 1, 2026";
- ``{{ seconds|business_duration }}``: business time in hours and minutes ("27 h 30 min"),
  never in 24-hour days, since a business day is not 24 hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import DateTimePattern, match_skeleton, parse_pattern
from babel.numbers import format_decimal
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, get_timezone, get_translations

from app.core.actor import current_actor

LANGUAGES = ("en", "fr")
babel = Babel()
# the zone of the person a message is written for (``speaking_to``), outside any request
_RECIPIENT_ZONE: ContextVar[str | None] = ContextVar("steward_recipient_zone", default=None)


def _viewer_setting(*names: str) -> Any:
    """The first of the caller's settings ``names`` that is set, if there is a caller.

    The caller is whoever this request is from (signed in, or by API token); core knows users
    only by their attributes. Read while an error is answered too, when the session may have
    failed: a setting that cannot be read then is simply not used.
    """
    if not has_request_context():
        return None
    try:
        viewer = current_actor()
        return next((v for v in (getattr(viewer, n, None) for n in names) if v), None)
    except Exception:  # nobody authenticated (yet), a failed session, or a bare test app
        return None


def select_locale() -> str:
    chosen = _viewer_setting("locale")
    if chosen in LANGUAGES:
        return chosen
    if has_request_context():
        return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]
    return LANGUAGES[0]


def select_timezone() -> str:
    # ``display_timezone``: the person's own zone, or a default their roles imply
    chosen = _viewer_setting("display_timezone", "timezone")
    return valid_timezone(chosen) or current_app.config.get("DEFAULT_TIMEZONE", "UTC")


def valid_timezone(name: Any) -> str | None:
    """``name`` if it is an IANA time zone, else None."""
    if not isinstance(name, str) or not name or "\x00" in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def language_of(person: Any) -> str:
    """The language a message to ``person`` is written in: their setting, else English."""
    chosen = getattr(person, "locale", None)
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


def zone_of(person: Any) -> str:
    """The time zone a message to ``person`` shows times in."""
    return valid_timezone(getattr(person, "timezone", None)) or current_app.config.get(
        "DEFAULT_TIMEZONE", "UTC"
    )


@contextmanager
def speaking_to(language: str, zone: str) -> Iterator[None]:
    """Write what is rendered inside (an email) in ``language`` and with times in ``zone``,
    whoever triggered it: a message is read by its recipient, not by the request's user."""
    token = _RECIPIENT_ZONE.set(zone)
    kept = g.pop(_SPEECH_KEY, None) if has_app_context() else None
    try:
        with force_locale(language):
            yield
    finally:
        _RECIPIENT_ZONE.reset(token)
        if has_app_context():
            g.pop(_SPEECH_KEY, None)
            if kept is not None:
                setattr(g, _SPEECH_KEY, kept)


def _zone() -> Any:
    forced = _RECIPIENT_ZONE.get()
    return ZoneInfo(forced) if forced else get_timezone()


@lru_cache(maxsize=32)
def _formats(language: str) -> tuple[Locale, DateTimePattern, DateTimePattern, str]:
    """A language's day and clock patterns (what ``format_skeleton`` would look up for
    "yMMMd" and "Hm" on every call) and its way of joining them."""
    locale = Locale.parse(language)
    skeletons = locale.datetime_skeletons
    day, clock = (parse_pattern(skeletons[match_skeleton(k, skeletons)]) for k in ("yMMMd", "Hm"))
    return locale, day, clock, str(locale.datetime_formats["medium"])


@lru_cache(maxsize=256)
def _zone_info(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_dt(value: datetime | str | None, zone: bool = False) -> str:
    """An instant (or its ISO 8601 text, as exports keep it) in the viewer's zone and
    language; "—" for none."""
    if not value:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    speech = _speech()
    tz, (locale, day, clock, joined) = speech.zone, speech.formats
    local = value.astimezone(tz)
    text = joined.format(clock.apply(local, locale), day.apply(local, locale))
    if zone:
        text += " " + (value.astimezone(_zone_info(str(tz))).tzname() or str(tz))
    return text


def local_number(value: float | int | None, digits: int = 0, sign: bool = False) -> str:
    """A number in the viewer's language (grouping and decimal marks), with ``digits``
    decimals; ``sign`` shows "+" on a positive one (a variance); "—" for none."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    if sign:
        pattern = f"+{pattern};-{pattern}"
    return format_decimal(value, format=pattern, locale=_speech().formats[0])


def local_date(value: date | datetime | str | None) -> str:
    """A day (or an instant's day in the viewer's zone, or either as ISO 8601 text) in the
    viewer's language; "—" for none."""
    if not value:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    speech = _speech()
    locale, day = speech.formats[0], speech.formats[1]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(speech.zone)
    return day.apply(value, locale)


def business_duration(seconds: int | float | None) -> str:
    """Business time as hours and minutes ("27 h 30 min"); a business day is not 24 h."""
    if seconds is None:
        return "—"
    minutes = int(abs(seconds)) // 60
    hours, minutes = divmod(minutes, 60)
    if hours:
        text = translations().ugettext("%(hours)s h %(minutes)02d min")
        return text % {"hours": hours, "minutes": minutes}
    return translations().ugettext("%(minutes)s min") % {"minutes": minutes}


_SPEECH_KEY = "_steward_speech"


class _Speech:
    """How this request (or the message ``speaking_to`` writes) speaks, looked up once: a
    page asks for hundreds of strings and times."""

    __slots__ = ("formats", "translations", "zone")

    def __init__(self) -> None:
        self.translations = get_translations()
        self.formats = _formats(str(get_locale() or LANGUAGES[0]))
        self.zone = _zone()


def _speech() -> _Speech:
    try:
        return getattr(g, _SPEECH_KEY)
    except AttributeError:
        speech = _Speech()
        setattr(g, _SPEECH_KEY, speech)
        return speech
    except RuntimeError:  # no application context
        return _Speech()


def translations() -> Any:
    """Flask-Babel's translations for the language spoken now (looked up once per request)."""
    return _speech().translations


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters.update(
        local_dt=local_dt,
        local_date=local_date,
        business_duration=business_duration,
        number=local_number,
    )
