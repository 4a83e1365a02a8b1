"""Indicators: one registry of what is measured, daily snapshots computed by workers, targets.

Pages, the API, ``/metrics`` and the governance workspace read snapshots; nothing computes an
indicator at read time.
"""
