"""deploy/metrics.txt, the alert and recording rules and the Grafana dashboard: every
metric they read is one the services export, and every query passes cheap PromQL checks."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_helpers import (
    BASE,
    DEPLOY,
    METRIC_TYPES,
    dashboard,
    dashboard_panels,
    known_series_names,
    load_yaml,
    metrics_table,
    promql_metric_names,
    promql_problems,
    recorded_names,
    rule_groups,
)

# The contract: metric families the services must export (name -> type).
CONTRACT = {
    "thaogo_build_info": "gauge",
    "thaogo_events_consumed_total": "counter",
    "thaogo_dlq_messages_total": "counter",
    "thaogo_consumer_lag_messages": "gauge",
    "thaogo_batch_duration_seconds": "histogram",
    "faststream_received_messages_total": "counter",
    "faststream_received_processed_messages_total": "counter",
    "thaogo_intake_submissions_total": "counter",
    "thaogo_intake_refusals_total": "counter",
    "thaogo_intake_request_duration_seconds": "histogram",
    "thaogo_outbox_backlog_rows": "gauge",
    "thaogo_outbox_oldest_unsent_age_seconds": "gauge",
    "thaogo_outbox_publish_duration_seconds": "histogram",
    "thaogo_status_updates_total": "counter",
    "thaogo_router_assignments_total": "counter",
    "thaogo_router_triage_total": "counter",
    "thaogo_router_decision_duration_seconds": "histogram",
    "thaogo_router_config_reloads_total": "counter",
    "thaogo_reporting_open_difficulties": "gauge",
    "thaogo_reporting_overdue_difficulties": "gauge",
    "thaogo_reporting_events_projected_total": "counter",
    "thaogo_reporting_projection_lag_seconds": "gauge",
    "thaogo_reporting_weekly_reports_published_total": "counter",
    "thaogo_reporting_last_weekly_report_timestamp_seconds": "gauge",
    "thaogo_reporting_weekly_cutoff_timestamp_seconds": "gauge",
    "thaogo_notify_messages_total": "counter",
    "thaogo_notify_delivery_duration_seconds": "histogram",
    "thaogo_notify_retry_queue_size": "gauge",
    "thaogo_notify_oldest_undelivered_age_seconds": "gauge",
}
REQUIRED_ALERTS = {
    "ThaogoServiceDown",
    "ThaogoConsumerLagGrowing",
    "ThaogoOutboxBacklogOld",
    "ThaogoDeadLetters",
    "ThaogoNotificationFailures",
    "ThaogoOverdueRising",
    "ThaogoWeeklyReportLate",
}
SEVERITIES = {"critical", "warning", "info"}


# --- metrics.txt -----------------------------------------------------------------------


def test_metrics_list_is_well_formed() -> None:
    table = metrics_table()
    for name, m in table.items():
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), name
        assert m["type"] in METRIC_TYPES, f"{name}: type {m['type']}"
        if m["type"] == "counter":
            assert name.endswith("_total"), f"counter {name} is listed by its _total family"
        if m["type"] == "histogram":
            assert not name.endswith(("_bucket", "_sum", "_count", "_total")), name
        assert "le" not in m["labels"] and "quantile" not in m["labels"]
        assert set(m["services"]) <= {"intake", "router", "reporting", "notify"}
        for label in m["labels"]:
            assert re.fullmatch(r"[a-z_][a-z0-9_]*", label), f"{name}: label {label}"
        # personal data never in labels (DESIGN: Guarantees)
        assert not {"email", "phone", "address", "name"} & set(m["labels"]), name


def test_metrics_list_has_the_contract() -> None:
    table = metrics_table()
    for name, mtype in CONTRACT.items():
        assert name in table, f"{name} missing from deploy/metrics.txt"
        assert table[name]["type"] == mtype, name
    assert table["thaogo_build_info"]["labels"] == ["service", "version"]
    assert table["thaogo_consumer_lag_messages"]["labels"] == ["group", "topic"]
    assert table["thaogo_notify_messages_total"]["labels"] == ["kind", "channel", "outcome"]
    for common in (
        "thaogo_build_info",
        "thaogo_events_consumed_total",
        "thaogo_dlq_messages_total",
    ):
        assert table[common]["services"] == ["intake", "router", "reporting", "notify"]


# --- the rules -------------------------------------------------------------------------


def all_rules() -> list[dict[str, Any]]:
    return [r for g in rule_groups() for r in g["rules"]]


def test_rule_file_shape() -> None:
    groups = rule_groups()
    names = [g["name"] for g in groups]
    assert len(names) == len(set(names))
    for r in all_rules():
        assert ("alert" in r) != ("record" in r), r
        assert isinstance(r["expr"], str) and r["expr"].strip()
        if "record" in r:
            assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+(:[a-z0-9_]+)?", r["record"]), (
                f"recording rule {r['record']} should be level:metric:operations"
            )
        else:
            assert r["labels"]["severity"] in SEVERITIES, r["alert"]
            for key in ("summary", "description", "runbook"):
                assert r["annotations"].get(key), f"{r['alert']}: annotation {key}"
            if "for" in r:
                assert re.fullmatch(r"\d+[smhd]", r["for"]), r["for"]
    alerts = [r["alert"] for r in all_rules() if "alert" in r]
    assert len(alerts) == len(set(alerts))
    assert set(alerts) >= REQUIRED_ALERTS


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.get("alert") or r.get("record"))
def test_rule_queries(rule: dict[str, Any]) -> None:
    expr = rule["expr"]
    assert promql_problems(expr) == []
    names = promql_metric_names(expr)
    assert names or "time()" in expr or "day_of_week()" in expr, f"{expr} reads no metric"
    unknown = names - known_series_names(recorded_names())
    assert not unknown, f"not in deploy/metrics.txt: {sorted(unknown)}"


def test_every_alert_has_a_runbook_section() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#{2,4}\s+(.+)$", readme, flags=re.M)
    }
    for r in all_rules():
        if "alert" in r:
            anchor = r["annotations"]["runbook"].split("#", 1)[1]
            assert anchor in headings, f"deploy/README.md has no section for {r['alert']}"


def test_weekly_report_alert_uses_the_cutoff_reporting_exports() -> None:
    # The cutoff moves off a holiday Friday (shared/calendar.py), which PromQL cannot know:
    # reporting exports it (tests/reporting/test_documents_db.py checks the value).
    rec = next(r for r in all_rules() if r.get("record") == "thaogo:seconds_since_weekly_cutoff")
    alert = next(r for r in all_rules() if r.get("alert") == "ThaogoWeeklyReportLate")
    assert rec["expr"] == "time() - max(thaogo_reporting_weekly_cutoff_timestamp_seconds)"
    assert "thaogo_reporting_last_weekly_report_timestamp_seconds" in alert["expr"]
    assert "thaogo:seconds_since_weekly_cutoff" in alert["expr"]
    assert ">= 300" in alert["expr"]  # five minutes after the cutoff


def test_prometheus_rule_carries_the_same_rules() -> None:
    rule = load_yaml(BASE / "monitoring" / "prometheusrule.yaml")
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == rule_groups(), (
        "run `python deploy/k8s/generate.py` after editing deploy/compose/prometheus/alerts.yml"
    )


# --- the dashboard ---------------------------------------------------------------------


def dashboard_exprs() -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in dashboard_panels() for t in p.get("targets", [])]


def test_dashboard_shape() -> None:
    d = dashboard()
    assert d["uid"] and d["title"]
    ids = [p["id"] for p in dashboard_panels()]
    assert len(ids) == len(set(ids))
    for p in dashboard_panels():
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}", p["title"]
            assert p["targets"], p["title"]
    exprs = " ".join(e for _, e in dashboard_exprs())
    # flow, lag per consumer group, latencies, errors
    for needle in (
        "thaogo_intake_submissions_total",
        "thaogo_router_assignments_total",
        'status="resolved"',
        "thaogo_reporting_overdue_difficulties",
        "thaogo_consumer_lag_messages",
        "histogram_quantile",
        "thaogo_dlq_messages_total",
        "thaogo_notify_messages_total",
    ):
        assert needle in exprs, needle


@pytest.mark.parametrize("title,expr", dashboard_exprs(), ids=lambda x: x[:40])
def test_dashboard_queries(title: str, expr: str) -> None:
    assert promql_problems(expr) == [], title
    unknown = promql_metric_names(expr) - known_series_names(recorded_names())
    assert not unknown, f"{title}: not in deploy/metrics.txt: {sorted(unknown)}"


def test_promql_helpers_catch_mistakes() -> None:
    assert promql_problems("sum(rate(x_total[5m])") != []
    assert promql_problems("rate(x_total[5])") != []
    assert promql_problems("sum(rat(x_total[5m]))") != []
    assert promql_metric_names(
        'histogram_quantile(0.95, sum by (le, job) (rate(a_bucket{job=~"x"}[5m]))) '
        "> on() group_left() b:c:d offset 1d and max without (x) (up)"
    ) == {"a_bucket", "b:c:d", "up"}
