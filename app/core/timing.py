"""``Server-Timing`` on every response in development: database time and statement count.

A browser's developer tools (or ``curl -i``) then show what a page cost in the database, so a
page that starts sending one query per row is noticed while it is being written. On when
``STEWARD_ENV`` is ``development``, or when ``SERVER_TIMING`` says so; off in production by
default. Counts cover the request's own application context (what the outbox hands over after
the response, in a context of its own, is not in them).
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

_STATS = "_server_timing"
_STARTED = "steward.statement_started"


def _statement_started(conn, cursor, statement, parameters, context, executemany) -> None:
    conn.info[_STARTED] = time.perf_counter()


def _statement_finished(conn, cursor, statement, parameters, context, executemany) -> None:
    started = conn.info.pop(_STARTED, None)
    if started is None:
        return
    elapsed = time.perf_counter() - started
    if has_app_context():
        stats = g.get(_STATS)
        if stats is not None:
            stats[0] += 1
            stats[1] += elapsed


def init_server_timing(app: Flask) -> None:
    """Add ``Server-Timing: db;dur=..;desc="N statements", app;dur=..`` when enabled."""
    enabled = app.config.get("SERVER_TIMING")
    if enabled is None:
        enabled = app.config.get("ENV") == "development"
    if not enabled:
        return
    if not event.contains(Engine, "before_cursor_execute", _statement_started):
        event.listen(Engine, "before_cursor_execute", _statement_started)
        event.listen(Engine, "after_cursor_execute", _statement_finished)

    @app.before_request
    def _start_counting() -> None:
        g.setdefault(_STATS, [0, 0.0, time.perf_counter()])

    @app.after_request
    def _add_header(response: Response) -> Response:
        stats = g.get(_STATS)
        if stats is not None:
            count, db_seconds, started = stats
            total = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = (
                f'db;dur={db_seconds * 1000:.2f};desc="{count} statements", app;dur={total:.2f}'
            )
        return response
