"""Governance: objectives, committees and their meetings, decisions, action items, risks, the
run budget, pulse surveys and the governance report.

The two indicators governance feeds (the run budget consumed against plan, product
satisfaction from the pulse surveys) are registered here, once, beside the others.
"""

from __future__ import annotations

from app.core.errors import N_
from app.indicators import registry

_INDICATORS = (
    registry.Indicator(
        "budget_consumption_ratio",
        N_("Run budget consumed against plan"),
        registry.Unit.RATIO,
        N_(
            "Actual run costs to date / planned run costs to date for the current year (all "
            "categories); 1.0 is on plan, above is over budget."
        ),
        registry.Family.GOVERNANCE,
        window="year to date",
        dimensions=(registry.Dimension.OVERALL,),
        higher_is_better=False,
    ),
    registry.Indicator(
        "product_satisfaction_average",
        N_("Product satisfaction (pulse)"),
        registry.Unit.SCORE,
        N_("Mean score (1-5) of the answers to the latest pulse survey with at least 5 answers."),
        registry.Family.GOVERNANCE,
        window="latest survey",
        dimensions=(registry.Dimension.OVERALL,),
    ),
)

registry.register(
    *(i for i in _INDICATORS if i.key not in {known.key for known in registry.all_indicators()})
)
