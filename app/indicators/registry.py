"""The indicator registry: every indicator Steward measures, defined once, in code.

Each entry says what the number means (name, unit, formula in words), which dimensions it is
computed for, over which window, and whether a higher value is better. The API
(``GET /api/v1/indicators``), the generated ``docs/indicators.md``, the dashboards, targets and
governance objectives all read this registry; computation (``compute.py``) is keyed by the
same ``key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.core.errors import N_, NotFound


class Unit(StrEnum):
    COUNT = "count"
    SECONDS = "seconds"
    RATIO = "ratio"
    SCORE = "score"
    POINTS = "points"
    AMOUNT = "amount"


class Dimension(StrEnum):
    OVERALL = "overall"
    MODULE = "module"
    PRIORITY = "priority"


class Family(StrEnum):
    """The dashboard an indicator belongs to."""

    SUPPORT = "support"
    ADOPTION = "adoption"
    DELIVERY = "delivery"
    ACCESS = "access"
    GOVERNANCE = "governance"


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    unit: Unit
    formula: str
    family: Family
    window: str = "1 day"
    dimensions: tuple[Dimension, ...] = (Dimension.OVERALL, Dimension.MODULE)
    higher_is_better: bool = True

    @property
    def label(self) -> str:
        """The name in the reader's language (``name`` is the API's and the docs')."""
        return gettext(self.name)

    @property
    def formula_in_words(self) -> str:
        """The formula in the reader's language (``formula`` is the API's and the docs')."""
        return gettext(self.formula)


_REGISTRY: dict[str, Indicator] = {}


def register(*indicators: Indicator) -> None:
    """Add indicators to the registry (a key is defined once)."""
    for indicator in indicators:
        if indicator.key in _REGISTRY:
            raise ValueError(f"indicator {indicator.key!r} is already registered")
        _REGISTRY[indicator.key] = indicator


def get(key: str) -> Indicator:
    """The indicator called ``key``; 404 when there is none."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise NotFound(_l("No indicator '%(key)s'.", key=key)) from None


def all_indicators() -> list[Indicator]:
    """Every registered indicator, in registration order."""
    return list(_REGISTRY.values())


_OM = (Dimension.OVERALL, Dimension.MODULE)
_OMP = (Dimension.OVERALL, Dimension.MODULE, Dimension.PRIORITY)
_O = (Dimension.OVERALL,)

register(
    # support, from the tickets and the SLA clock (business seconds)
    Indicator(
        "tickets_opened",
        N_("Tickets opened"),
        Unit.COUNT,
        N_("Tickets created during the day."),
        Family.SUPPORT,
        dimensions=_OMP,
        higher_is_better=False,
    ),
    Indicator(
        "tickets_resolved",
        N_("Tickets resolved"),
        Unit.COUNT,
        N_(
            "Tickets whose latest resolution fell during the day (a ticket reopened and resolved "
            "again counts on the day of its last resolution)."
        ),
        Family.SUPPORT,
        dimensions=_OMP,
    ),
    Indicator(
        "backlog_open",
        N_("Open backlog"),
        Unit.COUNT,
        N_("Tickets not resolved nor closed at the end of the day."),
        Family.SUPPORT,
        dimensions=_OMP,
        higher_is_better=False,
    ),
    Indicator(
        "mtta_seconds",
        N_("Mean time to acknowledge"),
        Unit.SECONDS,
        N_(
            "Mean business seconds from creation to the first response, over tickets first "
            "responded to during the day."
        ),
        Family.SUPPORT,
        dimensions=_OMP,
        higher_is_better=False,
    ),
    Indicator(
        "mttr_seconds",
        N_("Mean time to resolve"),
        Unit.SECONDS,
        N_(
            "Mean business seconds from creation to resolution (pauses excluded), over "
            "tickets resolved during the day."
        ),
        Family.SUPPORT,
        dimensions=_OMP,
        higher_is_better=False,
    ),
    Indicator(
        "sla_response_compliance_ratio",
        N_("SLA response compliance"),
        Unit.RATIO,
        N_(
            "Tickets resolved during the day whose response target was met / tickets "
            "resolved during the day."
        ),
        Family.SUPPORT,
        dimensions=_OMP,
    ),
    Indicator(
        "sla_resolution_compliance_ratio",
        N_("SLA resolution compliance"),
        Unit.RATIO,
        N_(
            "Tickets resolved during the day whose resolution target was met / tickets "
            "resolved during the day."
        ),
        Family.SUPPORT,
        dimensions=_OMP,
    ),
    Indicator(
        "fcr_ratio",
        N_("First contact resolution"),
        Unit.RATIO,
        N_(
            "Tickets resolved during the day with no reopen and at most one public agent "
            "reply / tickets resolved during the day."
        ),
        Family.SUPPORT,
        dimensions=_OMP,
    ),
    Indicator(
        "reopen_ratio",
        N_("Reopen rate"),
        Unit.RATIO,
        N_(
            "Tickets resolved during the day that were reopened at least once / tickets "
            "resolved during the day."
        ),
        Family.SUPPORT,
        dimensions=_OMP,
        higher_is_better=False,
    ),
    Indicator(
        "csat_average",
        N_("Satisfaction (average)"),
        Unit.SCORE,
        N_("Mean rating (1 to 5) of the ratings given during the day."),
        Family.SUPPORT,
    ),
    Indicator(
        "csat_satisfied_ratio",
        N_("Satisfied requesters"),
        Unit.RATIO,
        N_("Ratings of 4 or 5 given during the day / ratings given during the day."),
        Family.SUPPORT,
    ),
    # adoption, from the ERP's usage events (a day is a UTC calendar day)
    Indicator(
        "dau",
        N_("Daily active users"),
        Unit.COUNT,
        N_("Distinct ERP accounts with at least one event during the day."),
        Family.ADOPTION,
    ),
    Indicator(
        "wau",
        N_("Weekly active users"),
        Unit.COUNT,
        N_("Distinct ERP accounts with at least one event in the 7 days ending that day."),
        Family.ADOPTION,
        window="7 days",
    ),
    Indicator(
        "mau",
        N_("Monthly active users"),
        Unit.COUNT,
        N_("Distinct ERP accounts with at least one event in the 30 days ending that day."),
        Family.ADOPTION,
        window="30 days",
    ),
    Indicator(
        "stickiness_ratio",
        N_("Stickiness"),
        Unit.RATIO,
        N_("DAU / MAU of the day (none when MAU is 0)."),
        Family.ADOPTION,
        window="30 days",
    ),
    Indicator(
        "license_utilisation_ratio",
        N_("Licence utilisation"),
        Unit.RATIO,
        N_("MAU of a module / users holding an active access grant on it."),
        Family.ADOPTION,
        window="30 days",
    ),
    Indicator(
        "activation_ratio",
        N_("Activation"),
        Unit.RATIO,
        N_(
            "Grants that started in the 30 days ending 14 days before that day and were "
            "used within 14 days of their start / those grants."
        ),
        Family.ADOPTION,
        window="30 days",
    ),
    Indicator(
        "tickets_per_100_mau",
        N_("Tickets per 100 active users"),
        Unit.RATIO,
        N_("Tickets opened in the 30 days ending that day * 100 / MAU (none when MAU is 0)."),
        Family.ADOPTION,
        window="30 days",
        higher_is_better=False,
    ),
    # access rights
    Indicator(
        "dormant_grants",
        N_("Dormant grants"),
        Unit.COUNT,
        N_("Active grants whose holder has no usage event in the module for the dormancy period."),
        Family.ACCESS,
        higher_is_better=False,
    ),
    Indicator(
        "pending_access_requests",
        N_("Pending access requests"),
        Unit.COUNT,
        N_("Access requests waiting for approval or an exception at the end of the day."),
        Family.ACCESS,
        higher_is_better=False,
    ),
    # delivery
    Indicator(
        "enhancement_lead_time_seconds",
        N_("Enhancement lead time"),
        Unit.SECONDS,
        N_(
            "Mean seconds from submission to release, over requests released in the 30 "
            "days ending that day."
        ),
        Family.DELIVERY,
        window="30 days",
        higher_is_better=False,
    ),
    Indicator(
        "velocity_points",
        N_("Velocity"),
        Unit.POINTS,
        N_("Mean done points of the last three sprints closed on or before that day."),
        Family.DELIVERY,
        window="3 sprints",
    ),
    Indicator(
        "predictability_ratio",
        N_("Predictability"),
        Unit.RATIO,
        N_(
            "Done points / committed points of the last three sprints closed on or before that day."
        ),
        Family.DELIVERY,
        window="3 sprints",
    ),
)
