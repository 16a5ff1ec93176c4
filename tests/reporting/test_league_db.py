"""The league table on the real database: the SQL population held to the pure rules, the
same snapshot as the agency rows, frozen once published, and the trend from the stored
reports."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from services.reporting import jobs, logic, metrics, store, usecases
from services.reporting.consumers import ReportingHandlers
from shared import db
from shared.calendar import TZ, ManualClock, next_window, week_window_by_label
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    DifficultyReceived,
    Status,
    Urgency,
    WeeklyReport,
)
from shared.metrics import new_registry
from shared.provinces import ConfigHolder
from tests.reporting.conftest import assigned, env, received, status
from thaogo import verify

pytestmark = [pytest.mark.db]

W = week_window_by_label("2026-W36")  # (Fri 28/8/2026 12:00, Fri 4/9/2026 12:00], 3 holidays
AGENCIES = ["binh-duong.bql-kcn", "binh-duong.so-cong-thuong", "binh-duong.so-y-te"]


async def _random_cases(handlers: ReportingHandlers, rng: random.Random, n: int,
                        around: datetime) -> None:
    for k in range(n):
        at = around + timedelta(hours=rng.uniform(-24 * 14, 24 * 8))
        d = received(at, n=k)
        await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
        if rng.random() < 0.9:
            a = assigned(d, at + timedelta(minutes=rng.uniform(1, 90)),
                         agency=rng.choice(AGENCIES))
            await handlers.on_assigned([env(a)], None)  # type: ignore[arg-type]
            if rng.random() < 0.1:
                up = assigned(d, at + timedelta(hours=rng.uniform(2, 40)),
                              agency="central.bo-tai-chinh", level=AgencyLevel.CENTRAL,
                              role=AssignmentRole.ESCALATION, replaces=a.assignment_id)
                await handlers.on_assigned([env(up)], None)  # type: ignore[arg-type]
        if rng.random() < 0.7:
            t = at + timedelta(hours=rng.uniform(0.5, 60))
            await handlers.on_status([env(status(d, Status.ACKNOWLEDGED, t))],
                                     None)  # type: ignore[arg-type]
            if rng.random() < 0.6:
                end = rng.choice([Status.RESOLVED, Status.RESOLVED, Status.REJECTED])
                t += timedelta(hours=rng.uniform(1, 24 * 16))
                await handlers.on_status([env(status(d, end, t))],
                                         None)  # type: ignore[arg-type]


async def _items(pool: db.Pool) -> list[logic.Item]:
    async with pool.acquire() as conn:
        return [logic.Item(
            difficulty_id=r["difficulty_id"], received_at=r["received_at"],
            agency_id=r["lead_agency_id"], zone_type=r["zone_type"], category=r["category"],
            closed_at=r["closed_at"], resolved=r["status"] == "resolved",
            ack_due_at=r["ack_due_at"], resolve_due_at=r["resolve_due_at"],
            acknowledged_at=r["acknowledged_at"], escalated_central_at=r["escalated_central_at"])
            for r in await conn.fetch("SELECT * FROM difficulties")]


async def test_the_composed_league_is_the_pure_rules_over_every_item(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    await _random_cases(handlers, random.Random(36), 160, W.start)
    items = await _items(pool)
    cfg = ConfigHolder().current["binh-duong"]
    async with pool.acquire() as conn:
        for as_of in (W.end, W.start + timedelta(days=5)):
            report = await usecases.compose(conn, cfg=cfg, window=W, as_of=as_of,
                                            generated_at=as_of, page_url=None)
            expected = logic.league(items, W, as_of=as_of, target_pct=95)
            assert report.league == expected
            # Every ranked agency is an agency row of the same report, with its resolved.
            rows = {r.value: r for r in report.rows if r.dimension == "agency"}
            assert {r.agency_id for r in expected.rows} == rows.keys() - {logic.UNKNOWN}
            for r in expected.rows:
                assert r.resolved == rows[r.agency_id].resolved
            # The consistency checker's rules find nothing to say about it.
            body = report.model_dump(mode="json")
            check = verify.Report()
            verify.check_league(check, W.label, body["league"], body["rows"])
            assert check.ok, check.summary()
            if as_of == W.end:
                full = report.league
    assert full is not None and full.target_pct == 95  # the default
    # The target is the province's, as configured when the week is compiled.
    stricter = cfg.model_copy(update={"deadlines": cfg.deadlines.model_copy(
        update={"on_time_target": 97.5})})
    async with pool.acquire() as conn:
        again = await usecases.compose(conn, cfg=stricter, window=W, as_of=W.end,
                                       generated_at=W.end, page_url=None)
    assert again.league is not None and again.league.target_pct == 97.5
    assert again.league.rows == full.rows
    assert sum(r.ack_measured for r in full.rows) > 10
    assert sum(r.resolve_measured for r in full.rows) > 5
    assert any(r.median_working_days is not None for r in full.rows)
    assert any(r.ack_on_time_pct is not None and r.ack_on_time_pct < 100 for r in full.rows)
    assert all(r.rated == 0 and r.rating_average is None for r in full.rows)  # none rated


async def _case(handlers: ReportingHandlers, at: datetime, *, n: int,
                urgency: Urgency = Urgency.NORMAL) -> DifficultyReceived:
    d = received(at, n=n, urgency=urgency)
    await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    await handlers.on_assigned([env(assigned(d, at))], None)  # type: ignore[arg-type]
    return d


async def test_published_league_is_frozen_and_trends_from_stored_reports(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    # Fri 28/8 14:00: acknowledgement due Thu 3/9 14:00 (Mon 31/8 to Wed 2/9 are holidays).
    d = await _case(handlers, datetime(2026, 8, 28, 14, tzinfo=TZ), n=1)
    # Urgent, Thu 27/8 09:00: resolution due Fri 4/9 09:00, three working days on.
    d0 = await _case(handlers, datetime(2026, 8, 27, 9, tzinfo=TZ), n=2, urgency=Urgency.URGENT)
    holder = ConfigHolder()
    clock = ManualClock(W.end + timedelta(minutes=1))
    pub = jobs.WeeklyPublisher(pool=pool, config=holder, clock=clock,
                               metrics=metrics.PublishMetrics.create(new_registry("t")),
                               base_url="http://x")
    assert await pub.tick() > 0
    async with pool.acquire() as conn:
        first = WeeklyReport.model_validate(await store.stored_report(
            conn, task_force="binh-duong", week_label=W.label))
    assert first.league is not None and len(first.league.rows) == 1
    r = first.league.rows[0]
    assert r.agency_id == "binh-duong.bql-kcn" and r.resolved_on_time_pct == 0.0
    assert (r.ack_measured, r.ack_on_time, r.resolve_measured, r.resolved) == (1, 0, 1, 0)
    # Acknowledged in time and resolved, both stamped before the cutoff but arriving after
    # the week was published: the published week does not change; a new composition would.
    late = [status(d, Status.ACKNOWLEDGED, datetime(2026, 9, 3, 10, tzinfo=TZ)),
            status(d, Status.RESOLVED, datetime(2026, 9, 4, 9, tzinfo=TZ))]
    await handlers.on_status([env(s) for s in late], None)  # type: ignore[arg-type]
    assert await pub.tick() == 0
    cfg = holder.current["binh-duong"]
    async with pool.acquire() as conn:
        again = WeeklyReport.model_validate(await store.stored_report(
            conn, task_force="binh-duong", week_label=W.label))
        fresh = await usecases.compose(conn, cfg=cfg, window=W, as_of=W.end,
                                       generated_at=W.end, page_url=None)
    assert again.league == first.league
    assert fresh.league is not None
    f = fresh.league.rows[0]
    assert (f.ack_on_time, f.resolve_measured, f.resolved_on_time, f.resolved) == (1, 2, 1, 1)
    # The next week: an urgent item resolved the day it came; d0, overdue since last week,
    # is not measured again. The trend reads the stored week before it.
    nxt = next_window(W)
    d2 = await _case(handlers, datetime(2026, 9, 7, 9, tzinfo=TZ), n=3, urgency=Urgency.URGENT)
    await handlers.on_status([env(status(d2, Status.RESOLVED, datetime(
        2026, 9, 7, 15, tzinfo=TZ)))], None)  # type: ignore[arg-type]
    clock.set(nxt.end + timedelta(minutes=1))
    assert await pub.tick() > 0
    async with pool.acquire() as conn:
        report = WeeklyReport.model_validate(await store.stored_report(
            conn, task_force="binh-duong", week_label=nxt.label))
        labels, trend = await usecases.league_trend(conn, task_force="binh-duong",
                                                    report=report, weeks=4)
    assert report.league is not None
    assert [(x.agency_id, x.resolve_measured, x.resolved_on_time_pct)
            for x in report.league.rows] == [("binh-duong.bql-kcn", 1, 100.0)]
    assert labels == ["2026-W34", "2026-W35", W.label, nxt.label]
    assert trend == [("binh-duong.bql-kcn", [None, None, 0.0, 100.0])]
    assert d0.difficulty_id != d2.difficulty_id
