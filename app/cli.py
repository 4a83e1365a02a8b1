"""``flask --app app ...`` commands, grouped by subject: users, demo data, jobs."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.core.db import db
from app.core.errors import StewardError

user_cli = AppGroup("user", help="Manage users.")
demo_cli = AppGroup("demo", help="Demo data.")
jobs_cli = AppGroup("jobs", help="Run jobs by hand.")


@user_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--password", default=None, help="Web/API password (omit for SSO-less service users)."
)
@click.option("--role", "roles", multiple=True, help="Role; repeat for several.")
@click.option("--module", "module_code", default=None, help="Module code scoping module roles.")
@click.option("--department", default=None)
def create_user(email, name, password, roles, module_code, department) -> None:
    """Create a user, or update the one with this email (roles are replaced)."""
    from app.catalogue.service import get_module
    from app.core.permissions import MODULE_SCOPED_ROLES
    from app.identity.service import save_user

    try:
        module_id = get_module(db.session, module_code).id if module_code else None
        # An unknown role is left for save_user to refuse, with the list of valid ones.
        pairs = [
            (role, module_id if module_id and role in MODULE_SCOPED_ROLES else None)
            for role in roles
        ]
        user, created = save_user(
            db.session,
            None,
            email=email,
            name=name,
            password=password,
            roles=pairs,
            department=department,
        )
        db.session.commit()
    except (StewardError, ValueError) as exc:
        db.session.rollback()
        message = exc.message if isinstance(exc, StewardError) else str(exc)
        details = getattr(exc, "errors", {})
        raise click.ClickException(f"{message} {details or ''}".strip()) from exc
    click.echo(f"{'created' if created else 'updated'} {user.email} roles={sorted(roles)}")


@demo_cli.command("load")
@click.option("--seed", default=42, show_default=True)
@click.option("--users", default=300, show_default=True)
@click.option("--months", default=6, show_default=True)
def load_demo(seed: int, users: int, months: int) -> None:
    """Load the deterministic demo company (skipped if it is already there)."""
    from app.demo import DEMO_PASSWORD, generate

    summary = generate(db.session, seed=seed, user_count=users, months=months)
    db.session.commit()
    if summary is None:
        click.echo("demo data already present; reusing it")
    else:
        click.echo("demo data loaded: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    click.echo(f"demo logins (password {DEMO_PASSWORD}):")
    from app.demo import DEMO_LOGINS

    for email, role in DEMO_LOGINS:
        click.echo(f"  {role:<14} {email}")


@jobs_cli.command("run")
@click.argument("job")
def run_job_now(job: str) -> None:
    """Run a periodic job now, e.g. app.core.jobs.sweep_outbox."""
    from app.core.runner import bind_app, run_job

    bind_app(current_app._get_current_object())
    click.echo(f"{job}: {run_job(job)}")


indicators_cli = AppGroup("indicators", help="Indicator snapshots and their documentation.")


@indicators_cli.command("recompute")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None)
def recompute_indicators(first, last) -> None:
    """Recompute the snapshots of every day from --from to --to (default: today), now."""
    from app.core.clock import utcnow
    from app.indicators.compute import days_between, recompute

    today = utcnow().date()
    last_day = last.date() if last else today
    first_day = first.date() if first else last_day
    if first_day > last_day:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    days = days_between(first_day, last_day)
    with click.progressbar(days, label="indicators") as bar:
        snapshots = 0
        for day in bar:
            snapshots += recompute(db.session, [day], reason="manual").snapshots
            db.session.commit()
    click.echo(f"recomputed {len(days)} day(s), {snapshots} snapshot(s)")


@indicators_cli.command("docs")
def write_indicator_docs() -> None:
    """Write docs/indicators.md from the indicator registry."""
    from app.indicators.docs import write

    click.echo(f"wrote {write()}")


def register(app: Flask) -> None:
    from app.usage.cli import usage_cli

    for group in (user_cli, demo_cli, jobs_cli, usage_cli, indicators_cli):
        app.cli.add_command(group)
