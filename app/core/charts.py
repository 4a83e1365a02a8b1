"""Charts drawn on the server (pygal), one look and one way out of the app.

A chart is an SVG shown as an ``<img>``: readable without JavaScript, and the page keeps its
strict Content-Security-Policy. Served on its own URL (``svg_response``) it carries a policy of
its own that allows its inline styles and nothing else; embedded in a page or a PDF it is a
``data:`` URI (``data_uri``). Either way pygal's script is taken out: an image runs none.
"""

from __future__ import annotations

import base64
import re

from flask import Response
from pygal.graph.graph import Graph
from pygal.style import Style

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
# the chart is an image of its own: its inline styles stay inside it, scripts are not allowed
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def chart_style(*colors: str) -> Style:
    """Steward's chart look, with the series in ``colors``."""
    return Style(
        background="white",
        plot_background="white",
        foreground="#333",
        foreground_strong="#111",
        foreground_subtle="#888",
        colors=colors,
        font_family="sans-serif",
    )


def render_svg(chart: Graph) -> str:
    """The chart's SVG, without pygal's script."""
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def svg_response(chart: Graph, *, cache_control: str) -> Response:
    """The chart as an ``image/svg+xml`` answer under its own narrow policy."""
    response = Response(render_svg(chart), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = CHART_POLICY
    response.headers["Cache-Control"] = cache_control
    return response


def data_uri(chart: Graph) -> str:
    """The chart as a ``data:`` URI for an ``<img>`` in a page or a PDF."""
    return "data:image/svg+xml;base64," + base64.b64encode(render_svg(chart).encode()).decode()
