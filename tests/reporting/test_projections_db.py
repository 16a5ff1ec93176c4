"""Projections on the real database: idempotent, order-independent, deadlines, urgent
alerts, and the weekly rollup in SQL held to the pure rules in logic."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from services.reporting import jobs, logic, metrics, store, usecases
from services.reporting.access import LinkSigner
from services.reporting.api import ReadSide
from services.reporting.consumers import ReportingHandlers
from shared import db
from shared.calendar import TZ, ManualClock, add_working_days, week_window_by_label
from shared.deadlines import add_days
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    Category,
    Kind,
    MemberReport,
    Status,
    Urgency,
    WeeklyReport,
    ZoneType,
)
from shared.metrics import new_registry
from shared.provinces import ConfigHolder
from tests.reporting.conftest import assigned, env, received, status

pytestmark = [pytest.mark.db]

W = week_window_by_label("2026-W48")  # (Fri 20/11/2026 12:00, Fri 27/11/2026 12:00]
MON = datetime(2026, 11, 23, 9, tzinfo=TZ)


async def _row(pool: db.Pool, did: uuid.UUID) -> dict[str, object]:
    async with pool.acquire() as conn:
        r = await conn.fetchrow("SELECT * FROM difficulties WHERE difficulty_id = $1", did)
    assert r is not None
    return dict(r)


async def test_status_and_assignment_before_the_difficulty_are_not_lost(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    d = received(MON)
    a = assigned(d, MON + timedelta(minutes=1))
    acked = status(d, Status.ACKNOWLEDGED, MON + timedelta(hours=1))
    done = status(d, Status.RESOLVED, MON + timedelta(hours=5))
    # Resolved arrives first, then acknowledged, then the assignment, the difficulty last.
    assert await handlers.on_status([env(done)], None) == 0  # type: ignore[arg-type]
    assert await handlers.on_status([env(acked)], None) == 0  # type: ignore[arg-type]
    assert await handlers.on_assigned([env(a)], None) == 0  # type: ignore[arg-type]
    ev = env(d)
    assert await handlers.on_received([ev], None) == 0  # type: ignore[arg-type]
    r = await _row(pool, d.difficulty_id)
    assert r["status"] == "resolved"
    assert r["resolved_at"] == done.changed_at and r["closed_at"] == done.changed_at
    assert r["lead_agency_id"] == "binh-duong.bql-kcn"
    assert r["acknowledged_at"] == acked.changed_at
    cfg = ConfigHolder().current["binh-duong"]
    assert r["resolve_due_at"] == add_working_days(a.assigned_at, cfg.deadlines.normal.resolve)
    assert r["search"] and "thao go" in str(r["search"])
    # Redelivery of the same events changes nothing and is counted as duplicates.
    assert await handlers.on_received([ev, ev], None) == 2  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM difficulties") == 1
        payload = await conn.fetchval("SELECT payload::text FROM events WHERE topic ="
                                      " 'difficulty.received.v1'")
    assert "0912345678" not in payload and "a@example.vn" not in payload


async def test_escalation_to_a_ministry_moves_the_deadline_and_counts(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    d = received(MON, urgency=Urgency.URGENT)
    lead = assigned(d, MON)
    await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    await handlers.on_assigned([env(lead)], None)  # type: ignore[arg-type]
    r = await _row(pool, d.difficulty_id)
    assert r["status"] == "assigned"
    cfg = ConfigHolder().current["binh-duong"]
    assert r["resolve_due_at"] == add_working_days(MON, cfg.deadlines.urgent.resolve)
    up = assigned(d, MON + timedelta(days=1), agency="central.bo-cong-thuong",
                  level=AgencyLevel.CENTRAL, role=AssignmentRole.ESCALATION,
                  replaces=lead.assignment_id)
    await handlers.on_status([env(status(d, Status.ESCALATED, MON + timedelta(days=1)))],
                             None)  # type: ignore[arg-type]
    await handlers.on_assigned([env(up)], None)  # type: ignore[arg-type]
    r = await _row(pool, d.difficulty_id)
    assert r["status"] == "escalated"
    assert r["lead_agency_id"] == "central.bo-cong-thuong"
    assert r["escalated_central_at"] == up.assigned_at
    # The ministry's answer has a deadline of its own (#20 item 5), urgent or not: 20
    # working days by default (deadlines.central), for acknowledging as for resolving.
    central = cfg.deadlines.central
    assert r["resolve_due_at"] == r["ack_due_at"] == add_days(up.assigned_at, central.answer,
                                                               central.days)


async def test_an_urgent_difficulty_is_announced_once(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    d = received(MON, urgency=Urgency.URGENT)
    await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    # The same difficulty again under another event id (a producer retry gone wrong).
    await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    await handlers.on_received([env(received(MON))], None)  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_id, topic, body FROM outbox")
    assert len(rows) == 1
    assert rows[0]["event_id"] == usecases.urgent_event_id(d.difficulty_id)
    assert rows[0]["topic"] == "report.weekly.v1"
    report = WeeklyReport.model_validate_json(rows[0]["body"])
    assert report.rows == [] and [i.difficulty_id for i in report.urgent_items] == [
        d.difficulty_id]
    assert report.week_label == "2026-W48"


async def test_the_interim_report_links_its_weeks_page_signed(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    """Notify mails the interim's link to the head: signed, like the weekly report's, so
    that it opens the page of the week without signing in."""
    signer = LinkSigner.create("secret-of-the-test-" + "x" * 32, ttl_days=60)
    clock = ManualClock(MON)
    side = ReadSide(db=lambda: pool, config=handlers.config, clock=clock,
                    base_url="https://bc.example.vn", links=signer)
    signing = dataclasses.replace(handlers, page_url=side.page_url)
    d = received(MON, urgency=Urgency.URGENT)
    await signing.on_received([env(d)], None)  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        body = await conn.fetchval("SELECT body FROM outbox WHERE event_id = $1",
                                   usecases.urgent_event_id(d.difficulty_id))
    report = WeeklyReport.model_validate_json(body)
    assert report.interim and report.page_url is not None
    parts = urlsplit(report.page_url)
    query = dict(parse_qsl(parts.query))
    assert parts.netloc == "bc.example.vn" and parts.path == "/reports/binh-duong/2026-W48"
    grant = signer.grant(parts.path, query["exp"], query.get("tok"), query["sig"],
                         now=clock.now())
    assert grant is not None and grant.token_id is None


async def test_sql_rollup_agrees_with_the_pure_rules(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    rng = random.Random(48)
    zones = [ZoneType.KCN, ZoneType.CCN, ZoneType.NONE, None]
    agencies = ["binh-duong.bql-kcn", "binh-duong.so-cong-thuong", "binh-duong.so-y-te"]
    items: list[logic.Item] = []
    for n in range(150):
        at = W.start + timedelta(hours=rng.uniform(-24 * 30, 24 * 9))
        d = received(at, n=n, zone=rng.choice(zones), category=rng.choice(list(Category)),
                     urgency=rng.choice(list(Urgency)), kind=rng.choice(list(Kind)))
        await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
        if rng.random() < 0.85:
            a = assigned(d, at + timedelta(hours=rng.uniform(0, 2)), agency=rng.choice(agencies))
            await handlers.on_assigned([env(a)], None)  # type: ignore[arg-type]
        if rng.random() < 0.5:
            t = at + timedelta(hours=rng.uniform(1, 30))
            await handlers.on_status([env(status(d, Status.ACKNOWLEDGED, t))],
                                     None)  # type: ignore[arg-type]
        if rng.random() < 0.15:
            t = at + timedelta(hours=rng.uniform(30, 60))
            up = assigned(d, t, agency="central.bo-tai-chinh", level=AgencyLevel.CENTRAL,
                          role=AssignmentRole.ESCALATION)
            await handlers.on_assigned([env(up)], None)  # type: ignore[arg-type]
        if rng.random() < 0.5:
            end = rng.choice([Status.RESOLVED, Status.RESOLVED, Status.REJECTED])
            t = at + timedelta(hours=rng.uniform(61, 24 * 12))
            await handlers.on_status([env(status(d, end, t))], None)  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        for r in await conn.fetch("SELECT * FROM difficulties"):
            items.append(logic.Item(
                difficulty_id=r["difficulty_id"], received_at=r["received_at"],
                agency_id=r["lead_agency_id"], zone_type=r["zone_type"], category=r["category"],
                closed_at=r["closed_at"], resolved=r["status"] == "resolved",
                ack_due_at=r["ack_due_at"], resolve_due_at=r["resolve_due_at"],
                acknowledged_at=r["acknowledged_at"],
                escalated_central_at=r["escalated_central_at"]))
        for as_of in (W.end, W.start + timedelta(days=3)):
            sql_rows = [usecases._row(r) for r in await store.rollup_rows(
                conn, task_force="binh-duong", start=W.start, end=as_of)]
            expected = logic.rollup(items, W, as_of=as_of)
            assert logic.sort_rows(sql_rows) == expected
            # The headline figures add up, in every row.
            for row in expected:
                assert row.carried_over + row.received == row.resolved + row.rejected + row.open
    total = logic.total_row(expected)
    assert total is not None and total.received > 10 and total.resolved > 0  # data is not empty
    assert total.rejected > 0 and total.carried_over > 0


async def test_two_replicas_publish_a_week_exactly_once(
    handlers: ReportingHandlers, pool: db.Pool, database_url: str
) -> None:
    d = received(MON, category=Category.LABOUR)
    await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    report = MemberReport(report_id=uuid.uuid4(), member_id="binh-duong.m03", province_code="79",
                          week_label="2026-W48", received_summary="x", solutions="y",
                          recommendations="z", submitted_at=MON)
    await handlers.on_member_report([env(report)], None)  # type: ignore[arg-type]
    other = await db.create_pool(database_url, schema="reporting", max_size=2)
    clock = ManualClock(W.end + timedelta(minutes=5))
    holder = ConfigHolder()
    pubs = [jobs.WeeklyPublisher(pool=p, config=holder, clock=clock,
                                    metrics=metrics.PublishMetrics.create(new_registry("t")),
                                    base_url="http://x") for p in (pool, other)]
    try:
        published = await asyncio.gather(*(p.tick() for p in pubs), *(p.tick() for p in pubs))
    finally:
        await other.close()
    n_configs = len(holder.current)
    assert sum(published) == n_configs  # each task force's week once, whoever won
    async with pool.acquire() as conn:
        outbox = await conn.fetch("SELECT event_id FROM outbox")
        stored = await store.stored_report(conn, task_force="binh-duong", week_label="2026-W48")
    assert len(outbox) == len({r["event_id"] for r in outbox}) == n_configs
    assert stored is not None
    r = WeeklyReport.model_validate(stored)
    total = logic.total_row(r.rows)
    assert total is not None and total.received == 1
    assert "binh-duong.m03" in r.members_reported and "binh-duong.m03" not in r.members_missing
    assert "binh-duong.m01" in r.members_missing
    assert r.page_url == "http://x/reports/binh-duong/2026-W48"
    # A later tick (say after a restart) finds nothing left to do.
    clock.advance(timedelta(hours=1))
    again = jobs.WeeklyPublisher(pool=pool, config=holder, clock=clock,
                                    metrics=metrics.PublishMetrics.create(new_registry("t")),
                                    base_url="http://x")
    assert await again.tick() == 0
