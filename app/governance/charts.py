"""Small SVG charts (pygal) for governance pages and the PDF: the budget's planned and actual
months, and an indicator's trend line. Each chart is returned as a ``data:`` URI for an
``<img>``: no script and no inline style reach the page (CSP), and WeasyPrint embeds it as is.
"""

from __future__ import annotations

import pygal

from app.core.charts import chart_style, data_uri

_STYLE = chart_style("#7a8fa6", "#1f5f99", "#c0392b")
MONTH_LABELS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def budget_chart(months: list[dict], title: str) -> str:
    """Planned bars and actual bars per month."""
    chart = pygal.Bar(
        style=_STYLE,
        js=[],
        width=720,
        height=280,
        title=title,
        legend_at_bottom=True,
        show_minor_x_labels=True,
        print_values=False,
    )
    chart.x_labels = MONTH_LABELS
    chart.add("Planned", [float(m["planned"]) for m in months])
    chart.add("Actual", [None if m["actual"] is None else float(m["actual"]) for m in months])
    return data_uri(chart)


def trend_chart(values: list[float | None], title: str) -> str:
    """A sparkline of an indicator's recent values."""
    chart = pygal.Line(
        style=_STYLE,
        js=[],
        width=240,
        height=60,
        show_legend=False,
        show_x_labels=False,
        show_y_labels=False,
        show_dots=False,
        explicit_size=True,
        margin=2,
        title=None,
    )
    chart.add(title, values or [None])
    return data_uri(chart)
