"""The path through all four services, as separate processes on the real broker
and database: one difficulty per zone type reaches the right agency's topic,
reporting's tables and notify's owed messages."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared import topics
from shared.provinces import ConfigHolder
from tests.conftest import REPO, Stack, wait_until
from thaogo.demo import tax_code

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(180)]

ZONES = {"KCN": "KCN VSIP II", "KKT": None, "CCN": None, "NONE": None}


def submission(zone_type: str, n: int) -> dict[str, Any]:
    return {
        "tax_code": tax_code(1000 + n),
        "enterprise_name": f"Công ty TNHH Thử nghiệm {n}",
        "province": "Bình Dương",
        "zone_type": zone_type,
        "zone_name": ZONES[zone_type],
        "category": "raw_materials",
        "kind": "difficulty",
        "title": f"Thiếu nguyên liệu sản xuất ({zone_type})",
        "description": "Nguyên liệu nhập khẩu bị chậm, đề nghị hỗ trợ.",
        "urgency": "normal",
        "contact": {"name": "Nguyễn Văn A", "phone": "0912345678", "email": "a@example.vn"},
    }


async def verify_cli(stack: Stack, *, expect: int) -> str:
    """`thaogo verify` against this stack, as a separate process; its output."""
    env = {**stack.env, "THAOGO_LOG_LEVEL": "WARNING"}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "thaogo.cli", "verify", "--settle", "60"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == expect, done.stdout + done.stderr
    return done.stdout


def declared_metrics() -> dict[str, tuple[str, set[str]]]:
    out = {}
    for line in (REPO / "deploy" / "metrics.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind, _labels, services = line.split()[:4]
            out[name] = (kind, set(services.split(",")))
    return out


def exported_families(text: str) -> dict[str, str]:
    """Family name as PromQL sees it (counters with _total) -> type, from `# TYPE` lines."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split()[:4]
            if kind == "counter" and not family.endswith("_total"):
                family += "_total"
            out[family] = kind
    return out


async def test_a_difficulty_per_zone_type_reaches_its_lead_agency(
    stack: Stack
) -> None:
    await stack.start()
    cfg = ConfigHolder().current["binh-duong"]
    lead = {zt: cfg.rules.lead_by_zone_type[zt] for zt in ("KCN", "KKT", "CCN", "NONE")}

    accepted: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=stack["intake"].url) as client:
        for n, zone_type in enumerate(lead):
            r = await client.post("/v1/difficulties", json=submission(zone_type, n))
            assert r.status_code == 202, r.text
            body = r.json()
            assert body["tracking_code"].startswith("TG-")
            accepted[body["difficulty_id"]] = zone_type

    # Each difficulty arrives, self-contained, on its lead agency's own topic.
    agency_topics = sorted({topics.agency_topic(a) for a in lead.values()})
    consumer = AIOKafkaConsumer(
        *agency_topics, bootstrap_servers=stack.bootstrap, group_id=f"test-{uuid.uuid4()}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )
    await consumer.start()
    seen: dict[str, str] = {}
    try:
        async def all_seen() -> bool:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    task = json.loads(rec.value)
                    did = task["assignment"]["difficulty_id"]
                    if did in accepted and task["assignment"]["role"] == "lead":
                        seen[did] = rec.topic
                        headers = dict(rec.headers)
                        assert headers["ce_type"] == b"vn.thaogo.agency.task.v1"
                        assert rec.key == did.encode()
            return len(seen) == len(accepted)

        await wait_until(all_seen, timeout=60)
    finally:
        await consumer.stop()
    for did, zone_type in accepted.items():
        assert seen[did] == topics.agency_topic(lead[zone_type]), zone_type

    db_url = stack["reporting"].env["THAOGO_DATABASE_URL"]
    conn = await asyncpg.connect(db_url)
    try:
        async def projected() -> bool:
            n = await conn.fetchval(
                "SELECT count(*) FROM reporting.difficulties WHERE difficulty_id = ANY($1::uuid[])",
                list(accepted),
            )
            m = await conn.fetchval(
                "SELECT count(DISTINCT difficulty_id) FROM reporting.assignments"
                " WHERE difficulty_id = ANY($1::uuid[]) AND role = 'lead'", list(accepted),
            )
            owed = await conn.fetchval(
                "SELECT count(DISTINCT difficulty_id) FROM notify.messages"
                " WHERE difficulty_id = ANY($1::uuid[]) AND kind = 'assignment'", list(accepted),
            )
            return n == m == owed == len(accepted)

        await wait_until(projected, timeout=30)
        rows = await conn.fetch(
            "SELECT difficulty_id::text AS id, agency_id FROM reporting.assignments"
            " WHERE role = 'lead' AND difficulty_id = ANY($1::uuid[])", list(accepted),
        )
        for r in rows:
            assert r["agency_id"] == lead[accepted[r["id"]]]
        # Nothing personal reached reporting's copy.
        payloads = await conn.fetch("SELECT payload::text AS p FROM reporting.difficulties")
        assert not any("0912345678" in r["p"] or "a@example.vn" in r["p"] for r in payloads)
        # The outbox delivered everything it accepted.
        unsent = await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL")
        assert unsent == 0
    finally:
        await conn.close()

    # Every service is healthy, ready, and exports every metric family that the alert
    # rules and dashboards are built on (deploy/metrics.txt), with the same type.
    declared = declared_metrics()
    missing = []
    async with httpx.AsyncClient() as client:
        for name, svc in stack.services.items():
            assert (await client.get(svc.url + "/healthz")).status_code == 200
            assert (await client.get(svc.url + "/readyz")).status_code == 200
            exported = exported_families((await client.get(svc.url + "/metrics")).text)
            missing += [
                f"{name}: {family} {kind}"
                for family, (kind, services) in declared.items()
                if ("all" in services or name in services) and exported.get(family) != kind
            ]
    assert not missing, "declared in deploy/metrics.txt but not exported:\n" + "\n".join(missing)

    # The checker as an operator runs it: 0 differences; a tampered derived row is named
    # (service, table, id, field) and fails the run, until it is put back.
    assert "0 differences" in await verify_cli(stack, expect=0)
    one = next(iter(accepted))
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute("UPDATE reporting.difficulties SET lead_agency_id = NULL"
                           " WHERE difficulty_id = $1", uuid.UUID(one))
        await conn.execute("UPDATE router.assignments SET active = false"
                           " WHERE difficulty_id = $1 AND role = 'lead'", uuid.UUID(one))
        out = await verify_cli(stack, expect=1)
        assert f"reporting\tdifficulties\t{one}\tlead_agency_id" in out, out
        assert "router\tassignments\t" in out and "\tactive\texpected true\tfound false" in out
        assert "2 differences" in out, out
        await conn.execute("UPDATE router.assignments SET active = true"
                           " WHERE difficulty_id = $1 AND role = 'lead'", uuid.UUID(one))
        await conn.execute("UPDATE reporting.difficulties SET lead_agency_id = $2"
                           " WHERE difficulty_id = $1", uuid.UUID(one), lead[accepted[one]])
    finally:
        await conn.close()

    # SIGTERM stops each service cleanly: the lifespan ran to its end (consumers
    # stopped, pool closed). uvicorn re-raises SIGTERM once done, hence -15 or 0.
    for svc in stack.services.values():
        code = svc.stop()
        log = svc.log_path.read_text()
        assert code in (0, -signal.SIGTERM), log[-2000:]
        assert '"msg": "service stopped"' in log, log[-2000:]
