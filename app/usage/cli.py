"""``flask --app app usage ...``: back-fill usage events from a CSV file, prune old ones."""

from __future__ import annotations

import io
import os
import sys

import click
from flask.cli import AppGroup

from app.core.db import db
from app.core.errors import StewardError

usage_cli = AppGroup("usage", help="ERP usage events.")

REPORT_LINES = 50  # rejected lines printed; the import's page keeps more


@usage_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_usage(path: str) -> None:
    """Back-fill usage events from a CSV file (header: event_id,user,module,action,occurred_at).

    Streams the file, commits every few thousand events (resending is safe: a known event_id
    is a duplicate) and prints the rejected lines with their reasons.
    """
    from app.usage.backfill import import_csv
    from app.usage.service import record_import

    size = os.path.getsize(path)
    with (
        open(path, "rb") as binary,
        click.progressbar(length=size, label="importing", show_pos=True, file=sys.stderr) as bar,
    ):
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
        done = 0

        def progressed(_progress) -> None:
            nonlocal done
            db.session.commit()
            position = binary.tell()
            bar.update(position - done)
            done = position

        try:
            lines, result = import_csv(db.session, None, text, after_chunk=progressed)
        except StewardError as exc:
            db.session.rollback()
            raise click.ClickException(f"{exc.message} {exc.errors or ''}".strip()) from exc
        bar.update(size - done)
        record_import(db.session, None, os.path.basename(path), lines, result)
        db.session.commit()
    click.echo(
        f"{lines} lines: {result.accepted} accepted, {result.duplicates} duplicates, "
        f"{len(result.rejected)} rejected"
    )
    for rejection in result.rejected[:REPORT_LINES]:
        click.echo(f"  line {rejection.index}: {rejection.reason}")
    if len(result.rejected) > REPORT_LINES:
        click.echo(f"  ... and {len(result.rejected) - REPORT_LINES} more")


@usage_cli.command("prune")
def prune_usage() -> None:
    """Delete raw events older than USAGE_RETENTION_DAYS now (the periodic job does it hourly)."""
    from app.usage.jobs import prune_usage_events

    deleted = prune_usage_events(db.session)
    db.session.commit()
    click.echo(f"{deleted} raw usage events deleted")
