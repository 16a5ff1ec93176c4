"""A task force's end, end to end: `thaogo taskforce dissolve` edits the province file
(one key, the rest of the file as it was), the running services reload it, intake
refuses new difficulties for the province, and reporting -- two replicas -- publishes
the final report of the whole mandate exactly once, serves it as JSON, CSV and a page,
and notify sends it to the head and the permanent deputy."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.reporting import usecases
from shared import topics
from shared.calendar import TZ
from shared.provinces import load_dir
from tests.conftest import REPO, Stack, wait_until
from tests.taskforce.conftest import (
    TopicReader,
    issue_token,
    make_stack,
    submission,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(240)]

SLUG = "binh-duong"


def dissolve(config_dir: Path, on: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thaogo.cli", "taskforce", "dissolve", SLUG, "--on", on,
         "--config-dir", str(config_dir)],
        capture_output=True, text=True, cwd=REPO, timeout=60)


def today() -> str:
    return datetime.now(TZ).date().isoformat()


async def test_dissolving_produces_one_final_report_of_the_mandate(
    private_topics: str, database_url: str, config_dir: Path, tmp_path: Path,
    owned_stacks: list[Stack],
) -> None:
    stack = make_stack(private_topics, database_url, config_dir, tmp_path,
                       ("intake", "router", "reporting", "reporting#2", "notify"))
    owned_stacks.append(stack)
    published = await TopicReader.start(private_topics, topics.REPORT_WEEKLY)
    db = await asyncpg.connect(database_url)
    try:
        await stack.start()
        async with httpx.AsyncClient(base_url=stack["intake"].url) as client:
            d = await submit(client, submission(11, category="raw_materials"))
        reporting = stack["reporting"].url

        async def projected() -> bool:
            return bool(await db.fetchval(
                "SELECT count(*) FROM reporting.difficulties WHERE tracking_code = $1"
                " AND lead_agency_id IS NOT NULL", d["tracking_code"]))

        await wait_until(projected, timeout=60)

        # Refused: a date before the mandate began; the file is left as it was.
        before = (config_dir / f"{SLUG}.yaml").read_text(encoding="utf-8")
        refused = dissolve(config_dir, "2020-01-01")
        assert refused.returncode == 1
        assert "task_force.dissolved_on" in refused.stderr and "effective_from" in refused.stderr
        assert (config_dir / f"{SLUG}.yaml").read_text(encoding="utf-8") == before

        done = dissolve(config_dir, today())
        assert done.returncode == 0, done.stderr
        after = (config_dir / f"{SLUG}.yaml").read_text(encoding="utf-8")
        changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True)
                   if a != b]
        assert changed == [("  dissolved_on: null", f"  dissolved_on: {today()}")]
        cfg = load_dir(config_dir)[SLUG]

        def finals() -> list[tuple[dict[str, str], dict[str, Any]]]:
            return [(h, b) for h, b in published.seen if b.get("final")]

        async def final_published() -> bool:
            await published.poll()
            return bool(finals())

        await wait_until(final_published, timeout=60)
        await asyncio.sleep(2)  # room for a second replica's duplicate to show, if any
        await published.poll()
        assert len(finals()) == 1, finals()
        headers, body = finals()[0]
        assert headers["ce_id"] == usecases.final_event_id(SLUG)
        assert body["week_label"] == "final"
        assert body["province_code"] == cfg.province.province_code
        start = datetime.fromisoformat(body["window_start"].replace("Z", "+00:00"))
        assert start.astimezone(TZ).replace(tzinfo=None) == datetime.combine(
            cfg.task_force.effective_from, datetime.min.time())  # local midnight
        total = next(r for r in body["rows"] if r["dimension"] == "total")
        assert (total["received"], total["resolved"], total["open"]) == (1, 0, 1)
        handed = body["handed_over"]
        assert [h["tracking_code"] for h in handed] == [d["tracking_code"]]
        assert handed[0]["agency_id"] == cfg.rules.lead_by_zone_type["NONE"]
        assert body["central_items"] == []

        # The figures are for members and operators; the page is public.
        reader = {"Authorization": "Bearer "
                  + issue_token(database_url, config_dir, "operator", "ops-desk")}
        async with httpx.AsyncClient(base_url=reporting, headers=reader) as client:
            r = await client.get(f"/v1/reports/{SLUG}/final.json")
            assert r.status_code == 200 and r.headers["X-Thaogo-Report-State"] == "published"
            assert r.json()["report_id"] == body["report_id"]
            r = await client.get(f"/v1/reports/{SLUG}/final.csv")
            assert r.status_code == 200
            rows = list(csv.DictReader(io.StringIO(r.text)))
            assert {"dimension": "total", "received": "1", "open": "1"}.items() <= next(
                x for x in rows if x["dimension"] == "total").items()
            r = await client.get(f"/v1/reports/{SLUG}/final/handed-over.csv")
            assert r.status_code == 200 and d["tracking_code"] in r.text
            r = await client.get(f"/reports/{SLUG}/final")
            assert r.status_code == 200
            assert "Báo cáo tổng kết nhiệm vụ" in r.text and d["tracking_code"] in r.text

        # Notify sends it to the head and the permanent deputy, like a weekly report.
        async def notified() -> set[str]:
            rows = await db.fetch(
                "SELECT DISTINCT recipient_id FROM notify.messages WHERE kind = 'weekly_report'"
                " AND payload->>'week_label' = 'final'")
            return {r["recipient_id"] for r in rows}

        want = {cfg.task_force.head.id, cfg.task_force.permanent_deputy.id}
        await wait_until(lambda: _equals(notified, want), timeout=30)

        # The item handed over can still be resolved by its agency after the dissolution;
        # the final report stays as it was compiled.
        token = issue_token(database_url, config_dir, "agency", handed[0]["agency_id"])
        async with httpx.AsyncClient(base_url=stack["intake"].url) as client:
            # Its co-handlers' parts are open: closed without them, with the reason.
            r = await client.post(f"/v1/difficulties/{d['difficulty_id']}/resolution",
                                  json={"outcome": "resolved", "done": "Đã xử lý xong.",
                                        "public_answer": "Đã giải quyết.",
                                        "waive_open_parts_reason": "Tổ công tác đã giải thể"},
                                  headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 202, r.text

        async def resolved() -> bool:
            return await db.fetchval("SELECT status FROM reporting.difficulties"
                                     " WHERE tracking_code = $1", d["tracking_code"]) == "resolved"

        await wait_until(resolved, timeout=30)
        async with httpx.AsyncClient(base_url=reporting, headers=reader) as client:
            r = await client.get(f"/v1/reports/{SLUG}/final.json")
            assert r.json()["handed_over"] == handed
    finally:
        await published.stop()
        await db.close()


async def _equals(get: Any, want: set[str]) -> bool:
    return bool(await get() == want)


async def test_a_dissolved_province_refuses_new_difficulties(
    private_topics: str, database_url: str, config_dir: Path, tmp_path: Path,
    owned_stacks: list[Stack],
) -> None:
    stack = make_stack(private_topics, database_url, config_dir, tmp_path, ("intake",))
    owned_stacks.append(stack)
    await stack.start()
    async with httpx.AsyncClient(base_url=stack["intake"].url) as client:
        await submit(client, submission(21))
        assert dissolve(config_dir, today()).returncode == 0

        async def refused() -> httpx.Response | None:
            r = await client.post("/v1/difficulties", json=submission(22))
            return r if 400 <= r.status_code < 500 else None

        r = await wait_until(refused, timeout=15, interval=0.5)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "province", r.text
        r = await client.post("/v1/difficulties", json=submission(23),
                              headers={"Accept-Language": "en"})
        assert "ended its mission" in r.json()["errors"][0]["reason"], r.text
        r = await client.post("/v1/difficulties", json=submission(24),
                              headers={"Accept-Language": "vi"})
        assert "không còn tiếp nhận" in r.json()["errors"][0]["reason"], r.text
