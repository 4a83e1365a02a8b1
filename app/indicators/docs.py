"""``docs/indicators.md``, written from the registry so the definitions cannot drift apart."""

from __future__ import annotations

from pathlib import Path

from app.indicators.registry import Family, all_indicators

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"

_INTRO = """\
# Indicators

Generated from `app/indicators/registry.py` by `flask --app app indicators docs`; do not edit
by hand (a test fails when this file and the registry differ).

Every indicator is computed by the workers once per UTC calendar day and dimension (overall,
per module, per priority where listed) and stored as a snapshot with the time it was computed;
pages, the API (`GET /api/v1/indicators`, `GET /api/v1/indicators/<key>/series`) and
`/metrics` read the snapshots. Ratios and means keep their numerator and denominator. Durations
of tickets are business seconds of the SLA clock (the module's calendar, pauses excluded).
A target (`PUT /api/v1/targets/<key>`) gives each point a status: green, amber or red.
"""


def render() -> str:
    """The Markdown page of every registered indicator, grouped by dashboard."""
    lines = [_INTRO]
    for family in Family:
        members = [i for i in all_indicators() if i.family == family]
        if not members:
            continue
        lines.append(f"## {family.value.capitalize()}\n")
        lines.append("| key | name | unit | window | dimensions | better | formula |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
        for i in members:
            dims = ", ".join(d.value for d in i.dimensions)
            better = "higher" if i.higher_is_better else "lower"
            lines.append(
                f"| `{i.key}` | {i.name} | {i.unit.value} | {i.window} | {dims} | {better} "
                f"| {i.formula} |"
            )
        lines.append("")
    return "\n".join(lines)


def write(path: Path = DOCS_PATH) -> Path:
    """Write the page; returns where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path
