"""Reproducible benchmarks for Steward, run with ``python -m benchmarks``.

Each benchmark is a module with ``main(argv) -> int``; it measures against a baseline run
beside it and reports ratios (never absolute time targets), writing its results under
``benchmarks/results/``. See ``benchmarks/README.md``.
"""

BENCHMARKS = ("queue_scale", "desk_load", "job_throughput", "usage_ingest", "indicators_recompute")
