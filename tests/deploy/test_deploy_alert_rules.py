"""The alert rules under `promtool test rules` (deploy/compose/prometheus/alerts_test.yml):
each alert fires when it should and stays silent otherwise, the first event after a
deploy included; and the services export, from the start, the series at 0 that those
first-event cases assume."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_helpers import BASE, COMPOSE_DIR, load_yaml, rule_groups

RULES = COMPOSE_DIR / "prometheus" / "alerts.yml"
RULE_TESTS = COMPOSE_DIR / "prometheus" / "alerts_test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus; "
    "scripts/test installs it): the alert rules' unit tests did not run")


def alert_names() -> list[str]:
    return [r["alert"] for g in rule_groups() for r in g["rules"] if "alert" in r]


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    cases: dict[str, set[bool]] = {}
    for t in load_yaml(RULE_TESTS)["tests"]:
        for case in t.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], set()).add(bool(case.get("exp_alerts")))
    for name in alert_names():
        assert cases.get(name) == {True, False}, f"{name}: needs a firing and a silent case"
    assert set(cases) == set(alert_names())


@needs_promtool
def test_alert_rules_pass_their_unit_tests() -> None:
    checked = promtool("check", "rules", RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", RULE_TESTS)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


@needs_promtool
def test_the_prometheus_rule_passes_the_same_unit_tests(tmp_path: Path) -> None:
    """The PrometheusRule of Kubernetes, as Prometheus Operator hands its groups over."""
    rule: dict[str, Any] = load_yaml(BASE / "monitoring" / "prometheusrule.yaml")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}),
                                        encoding="utf-8")
    tests = load_yaml(RULE_TESTS)
    tests["rule_files"] = ["rules.yml"]
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests), encoding="utf-8")
    tested = promtool("test", "rules", tmp_path / "tests.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


# --- the series the first-event cases assume ----------------------------------------------


def started(service: str) -> Any:
    """The service as `build` wires it (nothing connects until it starts)."""
    main = importlib.import_module(f"services.{service}.main")
    settings = importlib.import_module(f"services.{service}.settings")
    cls: Any = getattr(settings, f"{service.capitalize()}Settings")
    app = main.build(cls(database_url="postgresql://nobody@127.0.0.1:1/none",
                         kafka_bootstrap="127.0.0.1:1"))
    return app.state.runtime


@pytest.mark.parametrize("service", ["intake", "router", "reporting", "notify"])
def test_dead_letter_counters_start_at_zero_for_every_consumed_topic(service: str) -> None:
    rt = started(service)
    consumed = {t for s in rt.broker.subscribers for t in s.topic_names}
    assert consumed
    sample = rt.registry.get_sample_value
    for topic in consumed:
        assert sample("thaogo_dlq_messages_total", {"topic": topic}) == 0, topic
        assert sample("thaogo_missing_topic_messages_total", {"topic": topic}) == 0, topic


def test_router_counters_start_at_zero_and_a_refused_edit_counts(tmp_path: Path) -> None:
    from shared.provinces import default_config_dir

    for f in default_config_dir().glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    main = importlib.import_module("services.router.main")
    settings = importlib.import_module("services.router.settings")
    rt = main.build(settings.RouterSettings(
        database_url="postgresql://nobody@127.0.0.1:1/none", kafka_bootstrap="127.0.0.1:1",
        config_dir=tmp_path)).state.runtime
    sample = rt.registry.get_sample_value
    reloads = "thaogo_router_config_reloads_total"
    assert sample(reloads, {"outcome": "refused"}) == 0
    assert sample(reloads, {"outcome": "applied"}) == 0
    assert sample("thaogo_router_triage_total", {"reason": "triage"}) == 0

    broken = tmp_path / "binh-duong.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nnot: [valid\n", encoding="utf-8")
    assert rt.state["config"].reload_if_changed() is False
    assert sample(reloads, {"outcome": "refused"}) == 1
    assert rt.state["config"].reload_if_changed() is False  # the same files: once
    assert sample(reloads, {"outcome": "refused"}) == 1


def test_notify_failure_counters_start_at_zero() -> None:
    from services.notify import logic
    from shared.provinces import Channel

    sample = started("notify").registry.get_sample_value
    for kind in logic.KINDS:
        for channel in Channel:
            labels = {"kind": kind, "channel": channel.value, "outcome": "failed"}
            assert sample("thaogo_notify_messages_total", labels) == 0, labels
