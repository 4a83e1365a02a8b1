"""Checks for the Prometheus rules, promtool unit tests and Grafana dashboard in monitoring/.

The promtool tests run the real ``promtool`` (Debian package ``prometheus``). Without it they
are skipped, except when the ``CI`` environment variable is set, where they fail.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MONITORING = REPO_ROOT / "monitoring"
PROMETHEUS_CONFIG = MONITORING / "prometheus.yml"
RULES_DIR = MONITORING / "rules"
RULES_FILE = RULES_DIR / "steward.yml"
RULES_TEST_FILE = RULES_DIR / "steward_test.yml"
GRAFANA = MONITORING / "grafana"
DASHBOARDS_DIR = GRAFANA / "dashboards"
DASHBOARD_FILE = DASHBOARDS_DIR / "steward-overview.json"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"

_HISTOGRAMS = {
    "steward_http_request_duration_seconds",
    "steward_job_duration_seconds",
}

# The metric contract of the app: every ``steward_*`` series the monitoring may query.
# Histograms are expanded to the series Prometheus actually stores.
EXPORTED_METRICS = frozenset(
    {
        "steward_http_requests_total",
        "steward_jobs_total",
        "steward_outbox_pending_messages",
        "steward_outbox_oldest_pending_age_seconds",
        "steward_queue_jobs",
        "steward_queue_failed_jobs",
        "steward_tickets_open",
        "steward_tickets_breached_open",
        "steward_indicator_last_computed_timestamp_seconds",
        "steward_redis_up",
        "steward_queue_started_jobs",
        "steward_queue_abandoned_jobs",
        "steward_queue_scheduled_jobs",
        "steward_outbox_unfinished_messages",
        "steward_outbox_oldest_unfinished_age_seconds",
        "steward_outbox_given_up_messages",
        "steward_job_processes",
        "steward_periodic_job_last_success_timestamp_seconds",
        "steward_periodic_job_interval_seconds",
        "steward_calendar_holidays_end_timestamp_seconds",
        "steward_calendar_holidays_ending_soon",
    }
    | {f"{name}{suffix}" for name in _HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
)
# In the contract but not exported yet (none: the indicator snapshots now are).
NOT_YET_EXPORTED: frozenset[str] = frozenset()

REQUIRED_ALERTS = frozenset(
    {
        "StewardHighErrorRate",
        "StewardSlowRequests",
        "StewardOutboxBacklog",
        "StewardJobFailures",
        "StewardQueueBacklog",
        "StewardIndicatorsStale",
        "StewardP1Breached",
        "StewardDown",
        "StewardRedisDown",
        "StewardJobProcessMissing",
        "StewardJobsAbandoned",
        "StewardJobsUnfinished",
        "StewardOutboxMessagesGivenUp",
        "StewardPeriodicJobLate",
        "StewardCalendarHolidaysEndingSoon",
    }
)

REQUIRED_RECORDING_RULES = frozenset(
    {
        "steward:http_requests:rate5m",
        "steward:http_errors:ratio_rate5m",
        "steward:http_request_duration_seconds:p95_5m",
        "steward:jobs_failed:ratio_rate15m",
    }
)

# A name must not be glued to a preceding identifier character (or a colon).
_RAW_METRIC_RE = re.compile(r"(?<![A-Za-z0-9_:])steward_[A-Za-z0-9_]+")
_RECORDED_METRIC_RE = re.compile(r"(?<![A-Za-z0-9_:])steward:[A-Za-z0-9_:]+")
# Grafana variables are not PromQL; replace them before handing a query to promtool.
_GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}


# --- helpers ------------------------------------------------------------------------------


def _load_yaml(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _rules() -> list[dict]:
    return [rule for group in _load_yaml(RULES_FILE)["groups"] for rule in group["rules"]]


def _recording_rule_names() -> set[str]:
    return {rule["record"] for rule in _rules() if "record" in rule}


def _alert_rules() -> dict[str, dict]:
    return {rule["alert"]: rule for rule in _rules() if "alert" in rule}


def _dashboard() -> dict:
    with DASHBOARD_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)


def _walk_exprs(node) -> list[str]:
    """Every ``expr`` string anywhere in a JSON document (targets, nested row panels...)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_walk_exprs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_walk_exprs(item))
    return found


def _dashboard_exprs() -> list[str]:
    exprs: list[str] = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        with path.open(encoding="utf-8") as fh:
            exprs.extend(_walk_exprs(json.load(fh)))
    return exprs


def _unit_test_exprs() -> list[str]:
    """Input series and PromQL expressions of the promtool unit tests."""
    exprs: list[str] = []
    for case in _load_yaml(RULES_TEST_FILE)["tests"]:
        exprs.extend(series["series"] for series in case.get("input_series", []))
        for check in case.get("promql_expr_test", []):
            exprs.append(check["expr"])
            exprs.extend(sample["labels"] for sample in check.get("exp_samples", []))
    return exprs


def _all_queries() -> dict[str, list[str]]:
    return {
        "monitoring/rules/steward.yml": [rule["expr"] for rule in _rules()],
        "monitoring/rules/steward_test.yml": _unit_test_exprs(),
        "monitoring/grafana/dashboards/*.json": _dashboard_exprs(),
    }


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        reason = (
            "promtool is not on PATH; install it with `apt-get install prometheus` "
            "(Debian/Ubuntu) or from a Prometheus release tarball"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error)")
        pytest.skip(reason)
    return path


def _run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [_promtool(), *args]
    result = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, (
        f"`{' '.join(cmd)}` exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    return result


# --- promtool -----------------------------------------------------------------------------


def test_promtool_check_config():
    _run_promtool("check", "config", str(PROMETHEUS_CONFIG.relative_to(REPO_ROOT)))


def test_promtool_check_rules():
    _run_promtool("check", "rules", str(RULES_FILE.relative_to(REPO_ROOT)))


def test_promtool_test_rules():
    _run_promtool("test", "rules", str(RULES_TEST_FILE.relative_to(REPO_ROOT)))


def test_dashboard_queries_are_valid_promql(tmp_path):
    """Feed every dashboard query to ``promtool check rules`` as a recording rule."""
    exprs = _dashboard_exprs()
    assert exprs, "no queries found in the dashboards"
    for placeholder, value in _GRAFANA_VARIABLES.items():
        exprs = [expr.replace(placeholder, value) for expr in exprs]
    rules_file = tmp_path / "dashboard_queries.yml"
    rules_file.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "dashboard_queries",
                        "rules": [
                            {"record": f"dashboard_query_{i}", "expr": expr}
                            for i, expr in enumerate(exprs)
                        ],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    _run_promtool("check", "rules", str(rules_file))


# --- metric names -------------------------------------------------------------------------


def test_exported_metrics_contract():
    assert len(EXPORTED_METRICS) == 27
    assert "steward_http_request_duration_seconds" not in EXPORTED_METRICS


def test_the_app_exports_every_metric_the_monitoring_may_query(app, client):
    """The contract is kept by the code: a scrape of a real app shows each name (a gauge's
    family even without samples; counters and histograms once a request and a job ran)."""
    from prometheus_client.parser import text_string_to_metric_families

    from app.core.runner import run_job

    client.get("/healthz")
    run_job("app.core.jobs.sweep_outbox")
    exposition = client.get("/metrics").get_data(as_text=True)
    names = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)

    assert EXPORTED_METRICS - names == NOT_YET_EXPORTED


def test_queries_only_use_exported_metrics_and_defined_recording_rules():
    recorded = _recording_rule_names()
    problems: list[str] = []
    seen_raw: set[str] = set()
    for source, exprs in _all_queries().items():
        assert exprs, f"no queries found in {source}"
        for expr in exprs:
            for name in _RAW_METRIC_RE.findall(expr):
                seen_raw.add(name)
                if name not in EXPORTED_METRICS:
                    problems.append(f"{source}: unknown metric {name!r} in: {expr}")
            for name in _RECORDED_METRIC_RE.findall(expr):
                if name not in recorded:
                    problems.append(f"{source}: undefined recording rule {name!r} in: {expr}")
    assert not problems, "\n".join(problems)
    # The extraction itself must find names, or the check above proves nothing.
    assert "steward_http_requests_total" in seen_raw


def test_metric_name_extraction():
    expr = (
        'sum by (job) (rate(steward_http_requests_total{status=~"5.."}[5m]))'
        " / steward:http_requests:rate5m + steward_queue_jobs"
    )
    assert _RAW_METRIC_RE.findall(expr) == ["steward_http_requests_total", "steward_queue_jobs"]
    assert _RECORDED_METRIC_RE.findall(expr) == ["steward:http_requests:rate5m"]


# --- rules --------------------------------------------------------------------------------


def test_required_recording_rules_and_alerts_exist():
    assert _recording_rule_names() >= REQUIRED_RECORDING_RULES
    assert set(_alert_rules()) == REQUIRED_ALERTS


def test_recording_rule_names_follow_convention():
    for name in _recording_rule_names():
        assert re.fullmatch(r"steward:[a-z0-9_]+:[a-z0-9_]+", name), name


def test_alerts_have_severity_annotations_and_for():
    for name, rule in _alert_rules().items():
        assert rule.get("labels", {}).get("severity") in {"critical", "warning"}, name
        annotations = rule.get("annotations", {})
        assert annotations.get("summary"), f"{name} has no summary"
        assert annotations.get("description"), f"{name} has no description"
        assert rule.get("for"), f"{name} has no 'for:'"


def test_every_alert_is_unit_tested_firing_and_not_firing():
    firing: set[str] = set()
    not_firing: set[str] = set()
    for case in _load_yaml(RULES_TEST_FILE)["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else not_firing).add(check["alertname"])
    alerts = set(_alert_rules())
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - not_firing == set(), "alerts never tested not firing"


def test_at_least_two_recording_rules_are_tested_with_values():
    recorded = _recording_rule_names()
    tested: set[str] = set()
    for case in _load_yaml(RULES_TEST_FILE)["tests"]:
        for check in case.get("promql_expr_test", []):
            if check.get("exp_samples"):
                tested.update(
                    n for n in _RECORDED_METRIC_RE.findall(check["expr"]) if n in recorded
                )
    assert len(tested) >= 2, tested


def test_prometheus_loads_every_rule_file():
    """Rule files are listed explicitly (the unit tests share the directory)."""
    config = _load_yaml(PROMETHEUS_CONFIG)
    loaded: set[Path] = set()
    for pattern in config.get("rule_files", []):
        loaded.update(Path(p).resolve() for p in glob.glob(str(PROMETHEUS_CONFIG.parent / pattern)))
    rule_files = {p.resolve() for p in RULES_DIR.glob("*.yml") if not p.name.endswith("_test.yml")}
    test_files = {p.resolve() for p in RULES_DIR.glob("*_test.yml")}
    assert rule_files, "no rule files found"
    assert loaded == rule_files, "prometheus.yml rule_files must load every rule file, no test file"
    assert not loaded & test_files
    tested = {
        (RULES_TEST_FILE.parent / p).resolve() for p in _load_yaml(RULES_TEST_FILE)["rule_files"]
    }
    assert tested == rule_files, "steward_test.yml must load every rule file"


def test_prometheus_scrapes_steward():
    config = _load_yaml(PROMETHEUS_CONFIG)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    steward = jobs["steward"]
    assert steward.get("metrics_path", "/metrics") == "/metrics"
    assert steward["scrape_interval"] == "15s"
    targets = [t for sc in steward["static_configs"] for t in sc["targets"]]
    assert targets == ["web:8000"]


# --- Grafana ------------------------------------------------------------------------------


def _panels(dashboard: dict) -> list[dict]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def test_dashboard_structure():
    dashboard = _dashboard()
    assert 36 <= dashboard["schemaVersion"] <= 41
    panels = _panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    rows = {p["title"] for p in panels if p["type"] == "row"}
    assert {"HTTP", "Jobs and queues", "Support", "Indicators"} <= rows
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat"}, panel["title"]
        assert panel["datasource"]["uid"] == "prometheus", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "prometheus", panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_grafana_provisioning_points_at_prometheus_and_dashboards():
    datasources = _load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    (ds,) = datasources["datasources"]
    assert ds["uid"] == "prometheus"
    assert ds["url"] == "http://prometheus:9090"
    providers = _load_yaml(GRAFANA / "provisioning" / "dashboards" / "steward.yml")
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_compose_mounts_monitoring_files():
    if not COMPOSE_FILE.exists():
        pytest.skip("docker-compose.yml not present")
    services = _load_yaml(COMPOSE_FILE)["services"]
    prometheus_volumes = " ".join(services["prometheus"]["volumes"])
    assert "./monitoring/prometheus.yml:/etc/prometheus/prometheus.yml" in prometheus_volumes
    assert "./monitoring/rules:/etc/prometheus/rules" in prometheus_volumes
    grafana_volumes = " ".join(services["grafana"]["volumes"])
    assert "./monitoring/grafana/provisioning:/etc/grafana/provisioning" in grafana_volumes
    assert "./monitoring/grafana/dashboards:/var/lib/grafana/dashboards" in grafana_volumes
