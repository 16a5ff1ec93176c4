"""A holiday Friday on the real database: the week closes at 12:00 of the working day
before it, the publisher publishes then (not on the holiday) under the Friday's week
label, counts what arrived up to the moved cutoff, and exports the cutoff the late-report
alert compares with."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.reporting import jobs, metrics, store
from services.reporting.consumers import ReportingHandlers
from shared import db
from shared.calendar import TZ, ManualClock, week_window_by_label
from shared.events import WeeklyReport
from shared.metrics import new_registry
from shared.provinces import ConfigHolder
from tests.reporting.conftest import env, received

pytestmark = [pytest.mark.db]

# Friday 30/4/2027 is Reunification Day: 2027-W17 closes on Thursday 29/4 at 12:00.
THU_NOON = datetime(2027, 4, 29, 12, tzinfo=TZ)
CUTOFF = "thaogo_reporting_weekly_cutoff_timestamp_seconds"


async def test_a_holiday_friday_week_closes_and_is_published_the_day_before(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    w = week_window_by_label("2027-W17")
    assert w.end == THU_NOON
    before = received(THU_NOON - timedelta(hours=1), n=1)
    after = received(THU_NOON + timedelta(minutes=1), n=2)  # next week's
    for d in (before, after):
        await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    clock = ManualClock(THU_NOON - timedelta(minutes=1))
    registry = new_registry("t")
    published = metrics.PublishMetrics.create(registry)
    pub = jobs.WeeklyPublisher(pool=pool, config=ConfigHolder(), clock=clock,
                                  metrics=published, base_url="http://x")
    await pub.tick()
    async with pool.acquire() as conn:
        assert await store.stored_report(conn, task_force="binh-duong",
                                         week_label="2027-W17") is None
    assert registry.get_sample_value(CUTOFF) == datetime(2027, 4, 23, 12, tzinfo=TZ).timestamp()
    clock.set(THU_NOON + timedelta(seconds=30))
    active = [c for c in ConfigHolder().current.values()
              if c.task_force.is_active(THU_NOON.date())]
    assert await pub.tick() == len(active) > 0  # every task force's week, at once
    assert registry.get_sample_value(CUTOFF) == THU_NOON.timestamp()
    async with pool.acquire() as conn:
        stored = await store.stored_report(conn, task_force="binh-duong",
                                           week_label="2027-W17")
    assert stored is not None
    report = WeeklyReport.model_validate(stored)
    assert report.window_end == THU_NOON
    assert report.window_start == datetime(2027, 4, 23, 12, tzinfo=TZ)
    total = next(r for r in report.rows if r.dimension == "total")
    assert total.received == 1
