"""deploy/compose: the compose file, Prometheus' scrape configuration and Grafana's
provisioning, checked offline (there is no compose engine here)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_helpers import (
    COMPOSE_DIR,
    HTTP_PORTS,
    ROOT,
    SERVICES,
    dashboard,
    load_yaml,
)

COMPOSE = COMPOSE_DIR / "compose.yaml"
SCALABLE = ("router", "notify")
NOTIFY_SECRETS = [
    "THAOGO_NOTIFY_SMTP_HOST",
    "THAOGO_NOTIFY_SMTP_PORT",
    "THAOGO_NOTIFY_SMTP_USERNAME",
    "THAOGO_NOTIFY_SMTP_PASSWORD",
    "THAOGO_NOTIFY_SMTP_STARTTLS",
    "THAOGO_NOTIFY_SMTP_FROM",
    "THAOGO_NOTIFY_ZALO_ACCESS_TOKEN",
    "THAOGO_NOTIFY_ZALO_API_URL",
    "THAOGO_NOTIFY_WEBHOOK_SECRET",
]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(COMPOSE)
    return doc


def env_example() -> dict[str, str]:
    out = {}
    for line in (COMPOSE_DIR / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            k, sep, v = line.partition("=")
            assert sep, f".env.example: {line!r} is not NAME=value"
            out[k] = v
    return out


def as_dict(env: Any) -> dict[str, Any]:
    if isinstance(env, list):
        return dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return dict(env or {})


def test_interpolated_variables_have_a_default_or_are_in_env_example() -> None:
    text = COMPOSE.read_text().replace("$$", "")
    known = env_example()
    seen = set()
    for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)((:?[-?+])[^}]*)?\}|\$([A-Za-z_]\w*)", text):
        name = m.group(1) or m.group(4)
        op = m.group(3)
        seen.add(name)
        if op in (":-", "-"):
            continue
        assert name in known, f"${{{name}}} has no default and is not in .env.example"
    for name in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert name in seen and name in known


def test_references_are_defined(compose: dict[str, Any]) -> None:
    services = compose["services"]
    networks = set(compose.get("networks", {}))
    volumes = set(compose.get("volumes", {}))
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        for dep in deps if isinstance(deps, list) else deps.keys():
            assert dep in services, f"{name} depends on undefined {dep}"
        for net in svc.get("networks", []):
            assert net in networks, f"{name} uses undefined network {net}"
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0] if isinstance(vol, str) else vol["source"]
            if src.startswith((".", "/")):
                assert (COMPOSE_DIR / src).exists(), f"{name} mounts missing {src}"
            else:
                assert src in volumes, f"{name} uses undefined volume {src}"
        assert "container_name" not in svc, f"{name}: container_name prevents --scale"
        assert "image" in svc
        image = svc["image"]
        if not image.startswith("${THAOGO_IMAGE"):
            tag = image.rsplit(":", 1)[-1]
            assert ":" in image and tag != "latest" and re.match(r"^v?\d", tag), image


def test_backing_services(compose: dict[str, Any]) -> None:
    s = compose["services"]
    kafka = s["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = as_dict(kafka["environment"])
    assert "controller" in env["KAFKA_PROCESS_ROLES"] and "broker" in env["KAFKA_PROCESS_ROLES"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert any(v.endswith(env["KAFKA_LOG_DIRS"]) for v in kafka["volumes"])
    assert "kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    pg = s["postgres"]
    assert pg["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert any(v.endswith("/var/lib/postgresql/data") for v in pg["volumes"])
    for name in ("kafka", "postgres"):
        assert "healthcheck" in s[name]


def test_init_creates_topics_then_migrates(compose: dict[str, Any]) -> None:
    init = compose["services"]["init"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    script = " ".join(init["entrypoint"] + init["command"])
    assert script.index("thaogo topics") < script.index("thaogo migrate")
    assert "&&" in script
    assert init["build"]["context"] == "../.."
    assert init.get("restart", "no") == "no"


@pytest.mark.parametrize("service", SERVICES)
def test_thaogo_service(compose: dict[str, Any], service: str) -> None:
    svc = compose["services"][service]
    port = HTTP_PORTS[service]
    assert svc["command"] == ["run", service]
    assert svc["build"]["context"] == "../.." and svc["build"]["dockerfile"] == "Dockerfile"
    assert (COMPOSE_DIR / svc["build"]["context"] / "Dockerfile").resolve() == ROOT / "Dockerfile"
    assert svc["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert svc["restart"] in ("unless-stopped", "always", "on-failure")
    env = as_dict(svc["environment"])
    prefix = f"THAOGO_{service.upper()}_"
    assert env[prefix + "HTTP_HOST"] == "0.0.0.0"
    assert int(env[prefix + "HTTP_PORT"]) == port
    assert env["THAOGO_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["THAOGO_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["THAOGO_DATABASE_URL"]
    assert "THAOGO_LOG_LEVEL" in env
    assert "healthcheck" in svc and "healthcheck.py" in " ".join(svc["healthcheck"]["test"])
    deploy = svc["deploy"]
    assert "replicas" in deploy
    assert {"cpus", "memory"} <= set(deploy["resources"]["limits"])
    if service in SCALABLE:
        assert "ports" not in svc, f"{service} is scaled: no fixed host port"
    for p in svc.get("ports", []):
        assert str(p).endswith(f":{port}")
        assert str(deploy["replicas"]) == "1", f"{service} publishes a host port: one replica"
    if service == "notify":
        assert set(NOTIFY_SECRETS) <= set(env)
    if service in ("intake", "reporting"):
        assert prefix + "PUBLIC_BASE_URL" in env


def test_prometheus_scrapes_every_replica_by_dns(compose: dict[str, Any]) -> None:
    prom = load_yaml(COMPOSE_DIR / "prometheus" / "prometheus.yml")
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    for service in SERVICES:
        job = jobs[f"thaogo-{service}"]
        sd = job["dns_sd_configs"][0]
        assert sd["names"] == [service] and sd["type"] == "A"
        assert sd["port"] == HTTP_PORTS[service]
        assert job.get("metrics_path", "/metrics") == "/metrics"
    mounts = compose["services"]["prometheus"]["volumes"]
    mount = next(v for v in mounts if v.startswith("./prometheus:"))
    target = mount.split(":")[1]
    for rf in prom["rule_files"]:
        assert rf.startswith(target + "/")
        assert (COMPOSE_DIR / "prometheus" / rf[len(target) + 1 :]).is_file()


def test_grafana_provisioning(compose: dict[str, Any]) -> None:
    ds = load_yaml(COMPOSE_DIR / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    src = ds["datasources"][0]
    assert src["type"] == "prometheus" and src["url"] == "http://prometheus:9090"
    prov = load_yaml(COMPOSE_DIR / "grafana" / "provisioning" / "dashboards" / "thaogo.yml")
    path = prov["providers"][0]["options"]["path"]
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    var = next(v for v in dashboard()["templating"]["list"] if v["type"] == "datasource")
    assert var["current"]["value"] == src["uid"]
