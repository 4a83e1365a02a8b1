"""The governance report rendered: the HTML of its page body and the PDF printed from it.

The page (``views.report_page``) and the PDF share one template, ``governance/_report.html``,
so the PDF holds exactly the report's text.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import Module
from app.governance import charts
from app.indicators import service as indicators


def filename(report: dict) -> str:
    label = report["period"]["label"]
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)
    return f"governance-report-{safe}"


def kpi_charts(session: Session, report: dict) -> dict[str, str]:
    """A trend sparkline per KPI of the report (key@module -> data URI)."""
    end = date.fromisoformat(report["period"]["end"])
    codes = dict(session.execute(select(Module.code, Module.id)).all())
    found = {}
    for kpi in report["kpis"]:
        module_id = codes.get(kpi["module"]) if kpi["module"] else None
        points = indicators.series(
            session, kpi["key"], module_id=module_id, start=end - timedelta(days=60), end=end
        )
        found[f"{kpi['key']}@{kpi['module']}"] = charts.trend_chart(
            [p.value for p in points], kpi["name"]
        )
    return found


def html(report: dict, sparklines: dict[str, str] | None = None) -> str:
    """The standalone HTML the PDF is printed from."""
    return render_template("governance/report_pdf.html", report=report, sparklines=sparklines or {})


PDF_STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "report_pdf.css"


def pdf(report: dict, sparklines: dict[str, str] | None = None) -> bytes:
    """The report printed to A4; its stylesheet is a file, as no template holds inline style."""
    from weasyprint import CSS, HTML

    return HTML(string=html(report, sparklines)).write_pdf(
        stylesheets=[CSS(filename=PDF_STYLESHEET)]
    )
