"""deploy/k8s: the base and the overlays build, every object validates offline against
the Kubernetes schemas (kubernetes-validate) or its custom resource's schema, and the
manifests keep the contract (probes, ports, groups, topics, ACLs, secrets by name)."""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.http import parse_networks

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kubernetes_validate
from deploy_helpers import (
    BASE,
    DEPLOY,
    GROUPS,
    HTTP_PORTS,
    K8S_VERSION,
    OVERLAYS,
    SERVICES,
    SHIPPED_PROVINCES,
    crd_schemas,
    generate_module,
    identity,
    kubectl,
    kubectl_build,
)

# The overlays are built by kustomize itself (kubectl's, v5), as an operator builds them.
pytestmark = pytest.mark.skipif(
    kubectl() is None,
    reason="kubectl (with its kustomize) is not installed: Debian's package kubectl; "
           "./scripts/test installs it")

BUILDS = {"base": BASE, "dev": OVERLAYS / "dev", "prod": OVERLAYS / "prod"}

# The contract: which topics each service writes (besides the DLQs of what it consumes).
PRODUCES = {
    "intake": {"difficulty.received.v1", "difficulty.status.v1", "difficulty.urgency.v1",
               "member.report.v1", "member.reminder.v1", "direction.given.v1",
               "direction.progress.v1", "compilation.saved.v1", "policy.bottleneck.v1"},
    "router": {"difficulty.assigned.v1"},  # and agency.<id>.v1, by prefix
    "reporting": {"report.weekly.v1", "sign-in.link.v1"},
    "notify": {"notification.sent.v1"},
}


@functools.cache
def build(name: str) -> list[dict[str, Any]]:
    return kubectl_build(BUILDS[name])


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


# --- building ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILDS)
def test_builds(name: str) -> None:
    docs = build(name)
    kinds = {d["kind"] for d in docs}
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Job",
        "ConfigMap",
        "KafkaTopic",
        "KafkaUser",
        "ServiceMonitor",
        "PrometheusRule",
        "ScaledObject",
    } <= kinds
    for d in docs:
        if d["kind"] != "Namespace":
            assert d["metadata"].get("namespace") == "thaogo", identity(d)


def test_overlays_change_what_they_should() -> None:
    for name, expected in (("dev", 1), ("prod", None)):
        deps = by_kind(build(name), "Deployment")
        for svc in SERVICES:
            c = deps[f"thaogo-{svc}"]["spec"]["template"]["spec"]["containers"][0]
            image = c["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image
            if expected is not None:
                assert deps[f"thaogo-{svc}"]["spec"]["replicas"] == expected
    dev_topics = by_kind(build("dev"), "KafkaTopic").values()
    assert {t["spec"]["replicas"] for t in dev_topics} == {1}
    assert {t["spec"]["config"]["min.insync.replicas"] for t in dev_topics} == {1}
    prod = by_kind(build("prod"), "Deployment")
    assert prod["thaogo-router"]["spec"]["replicas"] == 3
    env = {
        e["name"]: e.get("value")
        for e in prod["thaogo-intake"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["THAOGO_INTAKE_PUBLIC_BASE_URL"].startswith("https://")
    assert "Ingress" in {d["kind"] for d in build("prod")}



def test_prod_trusts_the_ingress_for_client_addresses() -> None:
    """Behind the ingress, rate limits need the forwarded client address; without a
    proxy in front (dev), no forwarded header is believed."""
    def common(name: str) -> dict[str, str]:
        return dict(by_kind(build(name), "ConfigMap")["thaogo-common"]["data"])

    proxies = common("prod")["THAOGO_TRUSTED_PROXIES"]
    assert parse_networks(proxies), proxies
    assert "THAOGO_TRUSTED_PROXIES" not in common("dev")


# --- schemas -----------------------------------------------------------------------------


def _all_docs() -> list[tuple[str, dict[str, Any]]]:
    if kubectl() is None:
        return []
    seen: dict[tuple[str, tuple[str, str, str]], dict[str, Any]] = {}
    for name in BUILDS:
        for d in build(name):
            seen[(name, identity(d))] = d
    return [(f"{n}:{k[0]}/{k[2]}", d) for (n, k), d in seen.items()]


@pytest.mark.parametrize("doc", [d for _, d in _all_docs()], ids=[i for i, _ in _all_docs()])
def test_validates_against_its_schema(doc: dict[str, Any]) -> None:
    key = (doc["apiVersion"], doc["kind"])
    schemas = crd_schemas()
    if key in schemas:
        jsonschema.validate(doc, schemas[key], cls=jsonschema.Draft202012Validator)
    else:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{key}: {e.message} at {list(e.path)}")


def test_crd_schemas_refuse_unknown_fields() -> None:
    schemas = crd_schemas()
    so = next(d for d in build("base") if d["kind"] == "ScaledObject")
    bad = yaml.safe_load(yaml.safe_dump(so))
    bad["spec"]["maxReplicas"] = 3  # not a ScaledObject field (maxReplicaCount is)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schemas[("keda.sh/v1alpha1", "ScaledObject")])
    topic = next(d for d in build("base") if d["kind"] == "KafkaTopic")
    bad = yaml.safe_load(yaml.safe_dump(topic))
    bad["spec"]["partition"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schemas[("kafka.strimzi.io/v1beta2", "KafkaTopic")])


# --- the services ------------------------------------------------------------------------


@pytest.mark.parametrize("svc", SERVICES)
def test_deployment(svc: str) -> None:
    docs = build("base")
    dep = by_kind(docs, "Deployment")[f"thaogo-{svc}"]
    pod = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False
    (c,) = pod["containers"]
    assert c["args"] == ["run", svc]
    port = HTTP_PORTS[svc]
    assert c["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert {"cpu", "memory"} <= set(c["resources"]["limits"])
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in vols[mounts["/tmp"]]
    env = {e["name"]: e for e in c["env"]}
    prefix = f"THAOGO_{svc.upper()}_"
    assert env[prefix + "HTTP_PORT"]["value"] == str(port)
    assert env[prefix + "HTTP_HOST"]["value"] == "0.0.0.0"
    assert "secretKeyRef" in env["THAOGO_DATABASE_URL"]["valueFrom"]
    common = by_kind(docs, "ConfigMap")["thaogo-common"]["data"]
    assert {"configMapRef": {"name": "thaogo-common"}} in c["envFrom"]
    config_dir = common["THAOGO_CONFIG_DIR"]
    assert vols[mounts[config_dir]]["configMap"]["name"] == "thaogo-provinces"
    assert "THAOGO_KAFKA_BOOTSTRAP" in common
    # no secret value is committed: only references
    assert not [d for d in docs if d["kind"] == "Secret"]
    for e in c["env"]:
        assert not re.search(r"PASSWORD|TOKEN|SECRET", e["name"]) or "valueFrom" in e, e["name"]

    svc_obj = by_kind(docs, "Service")[f"thaogo-{svc}"]
    assert svc_obj["spec"]["selector"].items() <= labels.items()
    assert svc_obj["spec"]["ports"][0]["targetPort"] == "http"
    pdb = by_kind(docs, "PodDisruptionBudget")[f"thaogo-{svc}"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    sm = by_kind(docs, "ServiceMonitor")["thaogo"]
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc_obj["metadata"]["labels"].items()
    assert sm["spec"]["endpoints"][0]["port"] == "http"
    assert sm["spec"]["endpoints"][0]["path"] == "/metrics"


def test_autoscaling_on_consumer_lag() -> None:
    docs = build("base")
    scaled = by_kind(docs, "ScaledObject")
    gen = generate_module()
    auth = by_kind(docs, "TriggerAuthentication")
    bootstrap = by_kind(docs, "ConfigMap")["thaogo-common"]["data"]["THAOGO_KAFKA_BOOTSTRAP"]
    for svc in ("router", "reporting", "notify"):
        so = scaled[f"thaogo-{svc}"]
        assert so["spec"]["scaleTargetRef"]["name"] == f"thaogo-{svc}"
        topics = set()
        for t in so["spec"]["triggers"]:
            assert t["type"] == "kafka"
            md = t["metadata"]
            assert md["consumerGroup"] == GROUPS[svc]
            assert md["bootstrapServers"] == bootstrap
            assert int(md["lagThreshold"]) > 0
            assert t["authenticationRef"]["name"] in auth
            topics.add(md["topic"])
        assert topics == set(gen.SERVICE_ACCESS[svc]["consumes"])
        partitions = {s.name: s.partitions for s in gen.T.CORE_TOPICS}
        assert so["spec"]["maxReplicaCount"] <= max(partitions[t] for t in topics)
    hpa = by_kind(docs, "HorizontalPodAutoscaler")
    assert hpa["thaogo-intake"]["spec"]["scaleTargetRef"]["name"] == "thaogo-intake"


def test_init_job_creates_topics_then_migrates() -> None:
    job = by_kind(build("base"), "Job")["thaogo-init"]
    pod = job["spec"]["template"]["spec"]
    assert [c["args"] for c in pod["initContainers"]] == [["topics"]]
    assert [c["args"] for c in pod["containers"]] == [["migrate"]]
    for c in pod["initContainers"] + pod["containers"]:
        assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_network_policies() -> None:
    pols = by_kind(build("base"), "NetworkPolicy")
    deny = pols["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    ports = {
        name: {
            p["port"]
            for rule in p_spec.get("egress", []) + p_spec.get("ingress", [])
            for p in rule.get("ports", [])
        }
        for name, p_spec in ((n, p["spec"]) for n, p in pols.items())
    }
    assert 9092 in ports["allow-kafka"] and 5432 in ports["allow-postgres"]
    assert 53 in ports["allow-dns"]
    assert ports["allow-prometheus-scrape"] == {"http"}
    assert ports["allow-http-from-ingress"] == {"http"}
    # the pods the Kafka and PostgreSQL policies select are the services and the Job
    docs = build("base")
    for kind in ("Deployment", "Job"):
        for d in by_kind(docs, kind).values():
            labels = d["spec"]["template"]["metadata"]["labels"]
            for pol in ("allow-kafka", "allow-postgres"):
                sel = pols[pol]["spec"]["podSelector"]["matchLabels"]
                assert sel.items() <= labels.items(), (pol, d["metadata"]["name"])


def test_referenced_secrets_are_documented_or_made_by_strimzi() -> None:
    docs = build("base")
    users = set(by_kind(docs, "KafkaUser"))
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    names = set()
    for d in docs:
        text = yaml.safe_dump(d)
        names |= set(re.findall(r"secretKeyRef:\n\s+key: \S+\n\s+name: (\S+)", text))
        names |= set(re.findall(r"secretRef:\n\s+name: (\S+)", text))
        if d["kind"] == "TriggerAuthentication":
            names |= {r["name"] for r in d["spec"].get("secretTargetRef", [])}
    assert names
    for n in names:
        assert n in users or f"`{n}`" in readme, (
            f"secret {n} is neither a KafkaUser's nor documented"
        )


# --- Kafka topics and users (Strimzi) ------------------------------------------------------


def test_every_topic_has_a_kafka_topic_and_vice_versa() -> None:
    gen = generate_module()
    ids = gen.agency_ids()
    expected = {s.name: s.partitions for s in gen.T.all_topics(ids)}
    topics = by_kind(build("base"), "KafkaTopic")
    got = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in topics.values()}
    assert got == expected
    for a in ids:
        assert f"agency.{a}.v1" in got
    for name, t in topics.items():
        assert t["metadata"]["labels"]["strimzi.io/cluster"] == gen.KAFKA_CLUSTER
        assert name == t["spec"]["topicName"]


def _acls(user: dict[str, Any]) -> list[tuple[str, str, str, set[str]]]:
    return [
        (
            a["resource"]["type"],
            a["resource"]["name"],
            a["resource"].get("patternType", "literal"),
            set(a["operations"]),
        )
        for a in user["spec"]["authorization"]["acls"]
    ]


@pytest.mark.parametrize("svc", SERVICES)
def test_service_users_write_only_their_topics(svc: str) -> None:
    gen = generate_module()
    user = by_kind(build("base"), "KafkaUser")[f"thaogo-{svc}"]
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    consumes = set(gen.SERVICE_ACCESS[svc]["consumes"])
    writes = {(n, p) for t, n, p, ops in _acls(user) if t == "topic" and "Write" in ops}
    reads = {n for t, n, p, ops in _acls(user) if t == "topic" and "Read" in ops}
    allowed = {(t, "literal") for t in PRODUCES[svc] | {c + ".dlq" for c in consumes}}
    if svc == "router":
        allowed.add(("agency.", "prefix"))
    assert writes == allowed
    assert reads == consumes
    groups = {n for t, n, p, ops in _acls(user) if t == "group"}
    assert groups == {GROUPS[svc]}
    assert all(p == "literal" for t, n, p, _ in _acls(user) if t == "group")
    for _, _, _, ops in _acls(user):
        assert "All" not in ops and "Alter" not in ops and "Delete" not in ops
    # the deployment logs in as this user with the password from Strimzi's secret
    dep = by_kind(build("base"), "Deployment")[f"thaogo-{svc}"]
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["THAOGO_KAFKA_SASL_USERNAME"]["value"] == f"thaogo-{svc}"
    ref = env["THAOGO_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"thaogo-{svc}", "key": "password"}


def test_agency_users_read_only_their_topic() -> None:
    gen = generate_module()
    ids = gen.agency_ids()
    users = by_kind(build("base"), "KafkaUser")
    agency_users = {
        n: u
        for n, u in users.items()
        if u["metadata"]["labels"]["thaogo.vn/kafka-user-role"] == "agency"
    }
    assert set(agency_users) == {f"agency.{a}" for a in ids}
    for a in ids:
        acls = _acls(agency_users[f"agency.{a}"])
        assert ("topic", f"agency.{a}.v1", "literal", {"Read", "Describe"}) in acls
        assert ("group", f"agency.{a}.", "prefix", {"Read", "Describe"}) in acls
        assert len(acls) == 2
    assert set(users) == {f"thaogo-{s}" for s in SERVICES} | {"thaogo-admin"} | set(agency_users)


# --- generated files and the province configuration ----------------------------------------


def test_generated_files_are_current() -> None:
    gen = generate_module()
    stale = gen.stale_files(gen.render())
    assert not stale, "run `python deploy/k8s/generate.py`; stale: " + ", ".join(
        str(p.relative_to(gen.ROOT)) for p in stale
    )


def test_province_copies_are_byte_identical() -> None:
    shipped = generate_module().province_files(SHIPPED_PROVINCES)
    copies = sorted(
        p for p in (BASE / "provinces").glob("*.y*ml") if p.name != "kustomization.yaml"
    )
    assert [p.name for p in copies] == [p.name for p in shipped]
    for src, dst in zip(shipped, copies, strict=True):
        assert src.read_bytes() == dst.read_bytes(), f"{dst.name} differs from the shipped file"
    cm = by_kind(build("base"), "ConfigMap")["thaogo-provinces"]
    assert sorted(cm.get("data", {})) == [p.name for p in shipped]


# --- the public entry --------------------------------------------------------------------


def _routed(paths: list[dict[str, Any]], path: str) -> bool:
    """Whether an Ingress path list sends `path` to a backend (Exact, or Prefix by whole
    path elements, as networking.k8s.io/v1 defines them)."""
    for p in paths:
        rule = p["path"]
        if p["pathType"] == "Exact" and path == rule:
            return True
        if p["pathType"] in ("Prefix", "ImplementationSpecific"):
            prefix = rule.rstrip("/")
            if path in (rule, prefix) or path.startswith(prefix + "/"):
                return True
    return False


@pytest.mark.parametrize("name", BUILDS)
def test_the_ingress_never_routes_metrics_or_probes(name: str) -> None:
    for ing in by_kind(build(name), "Ingress").values():
        for rule in ing["spec"]["rules"]:
            paths = rule["http"]["paths"]
            for inside in ("/metrics", "/metrics/", "/healthz", "/readyz"):
                assert not _routed(paths, inside), (rule["host"], inside)


def test_the_ingress_routes_the_public_pages_and_apis() -> None:
    ing = by_kind(build("prod"), "Ingress")["thaogo"]
    hosts = {
        r["host"]: ({p["backend"]["service"]["name"] for p in r["http"]["paths"]},
                    r["http"]["paths"])
        for r in ing["spec"]["rules"]
    }
    public = {
        "thaogo-intake": ["/", "/v1/difficulties", "/v1/difficulties/import",
                          "/v1/member-reports", "/docs", "/openapi.json"],
        "thaogo-reporting": ["/reports", "/reports/login", "/reports/binh-duong/2026-W48",
                             "/v1/track", "/v1/reports/binh-duong/2026-W48.json", "/docs"],
    }
    # Each service's public paths on its own host (the reporting host also takes the
    # workspace's forms to intake, below).
    for service, paths in public.items():
        (found,) = [p for names, p in hosts.values() if service in names
                    and all(_backend(p, path) == service for path in paths)]
        assert found, service


def _backend(paths: list[dict[str, Any]], path: str) -> str | None:
    """The service an Ingress sends `path` to: Exact first, then the longest matching
    Prefix (as networking.k8s.io/v1 and ingress-nginx choose)."""
    for p in paths:
        if p["pathType"] == "Exact" and p["path"] == path:
            return str(p["backend"]["service"]["name"])
    matching = [p for p in paths if p["pathType"] != "Exact" and _routed([p], path)]
    if not matching:
        return None
    return str(max(matching, key=lambda p: len(p["path"]))["backend"]["service"]["name"])


def test_the_workspace_is_one_origin_with_its_forms_on_intake() -> None:
    """The workspace's pages (reporting) and the forms they post (intake, under
    /workspace/act/) on one host, so the session and CSRF cookies go to both."""
    ing = by_kind(build("prod"), "Ingress")["thaogo"]
    (host,) = [r for r in ing["spec"]["rules"]
               if _routed(r["http"]["paths"], "/workspace/queue")]
    paths = host["http"]["paths"]
    did = "0b6f3a52-5d3c-4f4e-9a51-0e3b1c2d4e5f"
    for path, service in (("/workspace/", "thaogo-reporting"),
                          ("/workspace/queue", "thaogo-reporting"),
                          (f"/workspace/difficulties/{did}", "thaogo-reporting"),
                          ("/workspace/sign-in", "thaogo-reporting"),
                          ("/reports/binh-duong/2026-W48", "thaogo-reporting"),
                          ("/v1/track", "thaogo-reporting"),
                          ("/workspace/act/acknowledge", "thaogo-intake"),
                          (f"/workspace/act/difficulties/{did}/status", "thaogo-intake")):
        assert _backend(paths, path) == service, path
    # Intake sends the browser back to a path of the same origin: no URL to set.
    for d in build("prod"):
        if d["kind"] == "Deployment":
            for c in d["spec"]["template"]["spec"]["containers"]:
                names = {e["name"] for e in c.get("env", [])}
                assert not names & {"THAOGO_INTAKE_WORKSPACE_URL",
                                    "THAOGO_REPORTING_INTAKE_URL"}, c["name"]
