"""Indicator pages: the support, adoption, delivery and access dashboards, and the targets.

Every chart is read from the snapshots: an SVG drawn on the server (pygal) and served as an
image of its own, so the page keeps its strict Content-Security-Policy; under it, the same
numbers as a table, and a CSV download. Targets are set by admins through a form that
redirects (Post/Redirect/Get) and checks the version it was shown (stale edits are refused).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

import pygal
from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.catalogue.service import module_refs
from app.core import forms
from app.core.charts import chart_style, svg_response
from app.core.clock import utcnow
from app.core.db import db
from app.core.display import code_in_words
from app.core.edge import whole_number
from app.core.errors import NotFound, PreconditionRequired, StaleWrite, StewardError
from app.core.i18n import local_number
from app.core.navigation import NavItem, add_nav
from app.core.permissions import Permission, can, require
from app.identity.auth import current_actor
from app.indicators import registry, service
from app.indicators.hotspots import hotspots
from app.indicators.registry import Family, Unit

blueprint = Blueprint("indicators", __name__)

add_nav(NavItem(_l("Indicators"), "indicators.dashboard", Permission.INDICATOR_VIEW, order=60))
add_nav(NavItem(_l("Targets"), "indicators.targets_page", Permission.INDICATOR_MANAGE, order=84))

PERIODS = (30, 90, 180, 365)
STATUS_WORDS = {"green": _l("on target"), "amber": _l("close to target"), "red": _l("off target")}


# a point's status against its target (green/amber/red) in words
blueprint.add_app_template_filter(code_in_words(STATUS_WORDS), "indicator_status")


@dataclass(frozen=True)
class Chart:
    title: object
    keys: tuple[str, ...]


DASHBOARDS: dict[str, tuple[object, tuple[Chart, ...]]] = {
    Family.SUPPORT.value: (
        _l("Support"),
        (
            Chart(_l("Inflow and outflow"), ("tickets_opened", "tickets_resolved")),
            Chart(_l("Open backlog"), ("backlog_open",)),
            Chart(_l("Time to acknowledge and resolve"), ("mtta_seconds", "mttr_seconds")),
            Chart(
                _l("SLA compliance"),
                ("sla_response_compliance_ratio", "sla_resolution_compliance_ratio"),
            ),
            Chart(_l("First contact and reopens"), ("fcr_ratio", "reopen_ratio")),
            Chart(_l("Satisfaction"), ("csat_average",)),
            Chart(_l("Satisfied requesters"), ("csat_satisfied_ratio",)),
        ),
    ),
    Family.ADOPTION.value: (
        _l("Adoption"),
        (
            Chart(_l("Active users"), ("dau", "wau", "mau")),
            Chart(_l("Stickiness"), ("stickiness_ratio",)),
            Chart(_l("Licence utilisation"), ("license_utilisation_ratio",)),
            Chart(_l("Activation"), ("activation_ratio",)),
            Chart(_l("Tickets per 100 active users"), ("tickets_per_100_mau",)),
        ),
    ),
    Family.DELIVERY.value: (
        _l("Delivery"),
        (
            Chart(_l("Velocity"), ("velocity_points",)),
            Chart(_l("Predictability"), ("predictability_ratio",)),
            Chart(_l("Enhancement lead time"), ("enhancement_lead_time_seconds",)),
        ),
    ),
    Family.ACCESS.value: (
        _l("Access"),
        (
            Chart(_l("Pending access requests"), ("pending_access_requests",)),
            Chart(_l("Dormant grants"), ("dormant_grants",)),
        ),
    ),
}


def _period() -> int:
    days = whole_number(request.args.get("days"))
    return days if days in PERIODS else 90


def _module() -> tuple[int | None, str | None]:
    code = (request.args.get("module") or "").strip()
    if not code:
        return None, None
    try:
        module_id = service.module_id_of(db.session, code)
    except StewardError:
        abort(404)
    return module_id, code.upper()


def _keys() -> list[str]:
    keys = request.args.getlist("key")
    if not keys or len(keys) > 4:
        abort(404)
    for key in keys:
        try:
            registry.get(key)
        except NotFound:
            abort(404)
    return keys


def _rows(keys: list[str], module_id: int | None, days: int) -> tuple[list[date], dict]:
    """The days of the period and, per key, the value of each day (None when missing)."""
    end = utcnow().date()
    start = end - timedelta(days=days - 1)
    values: dict[str, dict[date, float | None]] = {}
    seen: set[date] = set()
    for key in keys:
        points = service.series(db.session, key, module_id=module_id, start=start, end=end)
        values[key] = {p.day: p.value for p in points}
        seen.update(values[key])
    return sorted(seen), values


def display_value(value: float | None, unit: Unit) -> str:
    """A snapshot value in plain words: hours for durations, per cent for ratios."""
    if value is None:
        return "—"
    if unit == Unit.SECONDS:
        return _("%(hours)s h", hours=local_number(value / 3600, 1))
    if unit == Unit.RATIO:
        return local_number(value, 1) if value > 1.5 else f"{local_number(100 * value)} %"
    if unit == Unit.SCORE:
        return local_number(value, 2)
    return local_number(value, 0 if float(value).is_integer() else 1)


@blueprint.app_template_filter("indicator_name")
def indicator_name(key: str) -> str:
    """The name of the indicator ``key`` in the reader's language."""
    return registry.get(key).label


@blueprint.app_template_filter("indicator_value")
def indicator_value(value: float | None, key: str) -> str:
    """A value of the indicator ``key`` in plain words (``display_value`` in its unit)."""
    return display_value(value, registry.get(key).unit)


def _table(keys: list[str], module_id: int | None, days: int) -> dict:
    day_list, values = _rows(keys, module_id, days)
    indicators = [registry.get(k) for k in keys]
    return {
        "indicators": indicators,
        "rows": [
            (day, [display_value(values[i.key].get(day), i.unit) for i in indicators])
            for day in reversed(day_list)
        ],
    }


@blueprint.route("/indicators")
def dashboard():
    """The menu's entry: the support dashboard, the one every reader of indicators starts at."""
    return family_page(Family.SUPPORT.value)


@blueprint.route("/indicators/<family>")
def family_page(family: str):
    actor = current_actor()
    require(actor, Permission.INDICATOR_VIEW)
    if family not in DASHBOARDS:
        abort(404)
    title, charts = DASHBOARDS[family]
    module_id, code = _module()
    days = _period()
    cards = []
    for chart in charts:
        keys = list(chart.keys)
        cards.append(
            {
                "chart": chart,
                "args": {"key": keys, "module": code or "", "days": days},
                "table": _table(keys, module_id, days),
                "latest": [
                    (registry.get(k), service.latest(db.session, k, module_id)) for k in keys
                ],
            }
        )
    return render_template(
        "indicators/dashboard.html",
        family=family,
        title=title,
        dashboards=[(k, v[0]) for k, v in DASHBOARDS.items()],
        cards=cards,
        modules=module_refs(db.session),
        module=code,
        days=days,
        periods=PERIODS,
        hotspots=hotspots(db.session) if family == Family.SUPPORT.value and not code else None,
        last_computed=service.last_computed_at(db.session),
        display_value=display_value,
        can_manage=can(actor, Permission.INDICATOR_MANAGE),
    )


_CHART_STYLE = chart_style("#2563eb", "#dc2626", "#16a34a", "#9333ea")


@blueprint.route("/indicators/chart.svg")
def chart_svg():
    require(current_actor(), Permission.INDICATOR_VIEW)
    keys = _keys()
    module_id, _code = _module()
    days = _period()
    day_list, values = _rows(keys, module_id, days)
    chart = pygal.Line(
        style=_CHART_STYLE,
        width=640,
        height=300,
        show_dots=len(day_list) <= 45,
        x_label_rotation=30,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(day_list) // 6),
        legend_at_bottom=True,
        js=[],  # an image runs no script: no tooltips
        disable_xml_declaration=False,
        no_data_text=_("No data yet"),
    )
    chart.x_labels = [d.isoformat() for d in day_list]
    for key in keys:
        indicator = registry.get(key)
        scale = 1 / 3600 if indicator.unit == Unit.SECONDS else 1
        label = indicator.label + (" (h)" if indicator.unit == Unit.SECONDS else "")
        chart.add(
            label,
            [None if values[key].get(d) is None else values[key][d] * scale for d in day_list],
        )
    return svg_response(chart, cache_control="private, max-age=60")


@blueprint.route("/indicators/series.csv")
def series_csv():
    require(current_actor(), Permission.INDICATOR_VIEW)
    keys = _keys()
    module_id, code = _module()
    days = _period()
    day_list, values = _rows(keys, module_id, days)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", *keys])
    for day in day_list:
        cells = [values[k].get(day) for k in keys]
        writer.writerow([day.isoformat(), *["" if v is None else v for v in cells]])
    name = f"{'-'.join(keys)}-{code or 'all'}-{days}d.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- targets ------------------------------------------------------------------------------

FIELD_LABELS = {
    "key": _l("Indicator"),
    "module": _l("Module"),
    "target": _l("Target"),
    "amber": _l("Amber band"),
    "direction": _l("Good when the value is"),
}


@blueprint.route("/indicators/targets", methods=["GET", "POST"])
@forms.returns_to("indicators.targets_page")
def targets_page():
    actor = current_actor()
    require(actor, Permission.INDICATOR_VIEW)
    if request.method == "POST":
        require(actor, Permission.INDICATOR_MANAGE)
        return _save_target(actor)
    modules = {m.id: m.code for m in module_refs(db.session)}
    return render_template(
        "indicators/targets.html",
        targets=[(t, modules.get(t.module_id)) for t in service.list_targets(db.session)],
        indicators=registry.all_indicators(),
        modules=module_refs(db.session),
        draft=forms.draft(),
        labels=FIELD_LABELS,
        can_manage=can(actor, Permission.INDICATOR_MANAGE),
    )


def _number(raw: str | None, name: str, errors: dict) -> float | None:
    try:
        value = float((raw or "").strip().replace(",", "."))
    except ValueError:
        errors[name] = [_("A number, please.")]
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors[name] = [_("A number, please.")]
        return None
    return value


def _save_target(actor):
    form = request.form
    key = (form.get("key") or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        registry.get(key)
        module_id = service.module_id_of(db.session, form.get("module"))
    except StewardError as exc:
        return forms.refuse(exc, errors={"key": [exc.message]} if not exc.errors else exc.errors)
    existing = service.own_target(db.session, key, module_id)
    if existing is not None:
        try:
            forms.check_form_version("target", f"{key}-{existing.dimension}", existing.version)
        except (StaleWrite, PreconditionRequired):
            db.session.rollback()
            return forms.refuse(
                message=_(
                    "Someone changed this target while you were editing it, so your change "
                    "was not saved. Check the current target and save again."
                ),
                errors={},
            )
    target = _number(form.get("target"), "target", errors)
    amber = _number(form.get("amber") or "0", "amber", errors)
    if errors or target is None or amber is None:
        return forms.refuse(message=_("The target was not saved."), errors=errors)
    try:
        service.set_target(
            db.session,
            actor,
            key,
            module_id,
            target=target,
            amber=amber,
            direction=form.get("direction") or "",
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, errors=exc.errors)
    return forms.accepted(
        url_for("indicators.targets_page"),
        _("The target of %(name)s is saved.", name=registry.get(key).label),
    )
