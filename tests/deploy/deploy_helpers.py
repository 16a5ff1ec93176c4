"""Shared helpers of tests/deploy: paths, the metrics list, PromQL checks, schemas."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAYS = K8S / "overlays"
SCHEMAS = HERE / "schemas"
SHIPPED_PROVINCES = ROOT / "shared" / "data" / "provinces"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVICES = ("intake", "router", "reporting", "notify")
HTTP_PORTS = {"intake": 8001, "router": 8002, "reporting": 8003, "notify": 8004}
GROUPS = {
    "intake": "thaogo-intake-assignments",
    "router": "thaogo-router",
    "reporting": "thaogo-reporting",
    "notify": "thaogo-notify",
}
K8S_VERSION = "1.33.0"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def generate_module() -> ModuleType:
    """deploy/k8s/generate.py, imported (deploy is not a package)."""
    spec = importlib.util.spec_from_file_location("thaogo_deploy_generate", K8S / "generate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --- metrics.txt -----------------------------------------------------------------------

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
METRIC_TYPES = {"counter", "gauge", "histogram"}


@functools.cache
def metrics_table() -> dict[str, dict[str, Any]]:
    """deploy/metrics.txt: name -> {type, labels, services}."""
    out: dict[str, dict[str, Any]] = {}
    for lineno, line in enumerate((DEPLOY / "metrics.txt").read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        cols = line.split()
        assert len(cols) == 4, f"metrics.txt:{lineno}: expected 4 columns, got {cols}"
        name, mtype, labels, services = cols
        assert name not in out, f"metrics.txt:{lineno}: {name} listed twice"
        out[name] = {
            "type": mtype,
            "labels": [] if labels == "-" else labels.split(","),
            "services": list(SERVICES) if services == "all" else services.split(","),
            "line": lineno,
        }
    return out


def known_series_names(recorded: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """Every series name a query may use: families, histogram series, `up`, recordings."""
    names = {"up", "scrape_duration_seconds", "scrape_samples_scraped"} | set(recorded)
    for name, m in metrics_table().items():
        names.add(name)
        if m["type"] == "histogram":
            names |= {name + s for s in HISTOGRAM_SUFFIXES}
    return names


# --- PromQL, checked without Prometheus --------------------------------------------------

PROMQL_FUNCTIONS = {
    "abs",
    "absent",
    "absent_over_time",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "count_over_time",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "delta",
    "deriv",
    "exp",
    "floor",
    "histogram_quantile",
    "histogram_count",
    "histogram_sum",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max_over_time",
    "min_over_time",
    "minute",
    "month",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "time",
    "timestamp",
    "vector",
    "year",
}
PROMQL_AGGREGATIONS = {
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
}
PROMQL_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
    "atan2",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def promql_problems(expr: str) -> list[str]:
    """Cheap checks: balanced brackets, known functions, well-formed ranges and matchers."""
    problems: list[str] = []
    text = _STRING.sub('""', expr)
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for ch in text:
        if ch in "([{":
            stack.append(ch)
        elif ch in ")]}" and (not stack or stack.pop() != pairs[ch]):
            problems.append(f"unbalanced {ch!r}")
            break
    if stack:
        problems.append(f"unclosed {stack[-1]!r}")
    for rng in re.findall(r"\[([^\]]*)\]", text):
        parts = rng.split(":")
        if not all(_DURATION.match(p.strip()) for p in parts if p.strip()) or not parts[0].strip():
            problems.append(f"bad range [{rng}]")
    for m in re.finditer(r"\{([^}]*)\}", text):
        body = m.group(1).strip()
        if body and not re.fullmatch(
            r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*""\s*(,\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*""\s*)*,?\s*',
            body,
        ):
            problems.append(f"bad label matchers {{{body}}}")
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", text):
        word = m.group(1)
        if word in PROMQL_KEYWORDS:
            continue
        if word not in PROMQL_FUNCTIONS | PROMQL_AGGREGATIONS:
            problems.append(f"unknown function {word}()")
    return problems


def promql_metric_names(expr: str) -> set[str]:
    """The series names a query reads (identifiers that are not functions, keywords,
    label names in matchers or grouping clauses, durations or numbers)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1 ", text)
    text = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", text)
    names: set[str] = set()
    for m in _IDENT.finditer(text):
        word = m.group(0)
        start, end = m.span()
        if start > 0 and (text[start - 1].isdigit() or text[start - 1] == "."):
            continue  # part of a number such as 1e3
        rest = text[end:].lstrip()
        if rest.startswith("("):
            continue  # a function or aggregation
        if word in PROMQL_KEYWORDS or word.lower() in ("inf", "nan"):
            continue
        if word in PROMQL_AGGREGATIONS and re.match(r"\s*(by|without)\b", text[end:]):
            continue
        names.add(word)
    return names


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = load_yaml(COMPOSE_DIR / "prometheus" / "alerts.yml")["groups"]
    return groups


def recorded_names() -> set[str]:
    return {r["record"] for g in rule_groups() for r in g["rules"] if "record" in r}


def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (COMPOSE_DIR / "grafana" / "dashboards" / "thaogo.json").read_text()
    )
    return doc


def dashboard_panels() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in dashboard()["panels"]:
        out.append(p)
        out += p.get("panels", [])
    return out


# --- Kubernetes builds -----------------------------------------------------------------


def kubectl() -> str | None:
    return shutil.which("kubectl")


def identity(doc: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name): what tells two objects of a build apart."""
    md = doc.get("metadata", {})
    return (doc["kind"], md.get("namespace", ""), md["name"])


def kubectl_build(directory: Path) -> list[dict[str, Any]]:
    exe = kubectl()
    assert exe
    out = subprocess.run(
        [exe, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


# --- schemas of custom resources ---------------------------------------------------------


def _strict(schema: Any) -> Any:
    """Refuse unknown fields in a schema made from models whose extra fields are ignored."""
    if isinstance(schema, dict):
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and "(?i)" in pattern[1:]:
            # Go's regexp allows an inline flag anywhere; Python only at the start
            schema["pattern"] = "(?i)" + pattern.replace("(?i)", "")
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for v in schema.values():
            _strict(v)
    elif isinstance(schema, list):
        for v in schema:
            _strict(v)
    return schema


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON schema for the custom resources the manifests use.

    KEDA and Prometheus Operator: made from the `cloudcoil-models-keda` and
    `cloudcoil-models-prometheus-operator` packages (models generated from the upstream
    CRDs), made strict. Strimzi: no offline package has its CRDs, so a minimal schema of
    the fields used is vendored in tests/deploy/schemas/.
    """
    from cloudcoil.models.keda import v1alpha1 as keda
    from cloudcoil.models.prometheus_operator import v1 as promop

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for api, kind, model in (
        ("keda.sh/v1alpha1", "ScaledObject", keda.ScaledObject),
        ("keda.sh/v1alpha1", "TriggerAuthentication", keda.TriggerAuthentication),
        ("monitoring.coreos.com/v1", "ServiceMonitor", promop.ServiceMonitor),
        ("monitoring.coreos.com/v1", "PrometheusRule", promop.PrometheusRule),
    ):
        out[(api, kind)] = _strict(model.model_json_schema(by_alias=True))
    for f in sorted(SCHEMAS.glob("*.json")):
        s = json.loads(f.read_text())
        out[(s["x-api-version"], s["x-kind"])] = s
    return out
