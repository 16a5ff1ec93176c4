"""After its dissolution a task force's members get no more weekly reminders, while the
other task forces' members still do (notify's scheduler on the real database)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.notify import logic
from services.notify.jobs import Scheduler
from services.notify.metrics import NotifyMetrics
from services.notify.settings import NotifySettings
from shared import db
from shared.calendar import TZ, ManualClock
from shared.provinces import ConfigHolder, default_config_dir, set_dissolved_on
from shared.service import migrations_dir

pytestmark = [pytest.mark.db]

FRI = datetime(2026, 3, 13, 10, tzinfo=TZ)  # after both default reminders of 2026-W11


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[db.Pool]:
    p = await db.create_pool(database_url, schema="notify", max_size=4)
    async with p.acquire() as conn:
        await db.migrate(conn, schema="notify", folder=migrations_dir("notify"))
    try:
        yield p
    finally:
        await p.close()


async def reminded(pool: db.Pool, holder: ConfigHolder) -> set[str]:
    """The task forces whose members a scheduler tick at FRI reminds."""
    s = NotifySettings()
    sched = Scheduler(pool=pool, config=holder, clock=ManualClock(FRI), settings=s,
                      metrics=NotifyMetrics.create(CollectorRegistry()))
    await sched.weekly()
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT DISTINCT recipient_id FROM messages WHERE kind = $1",
                                logic.WEEKLY_REMINDER)
    return {r["recipient_id"].split(".", 1)[0] for r in rows}


@pytest.mark.parametrize("dissolved_on", [None, date(2026, 3, 13), date(2026, 3, 14)])
async def test_weekly_reminders_stop_from_the_dissolution_date(
    pool: db.Pool, tmp_path: Path, dissolved_on: date | None
) -> None:
    d = tmp_path / "provinces"
    shutil.copytree(default_config_dir(), d)
    if dissolved_on is not None:
        set_dissolved_on(d / "binh-duong.yaml", dissolved_on)
    holder = ConfigHolder(d)
    got = await reminded(pool, holder)
    others = set(holder.current) - {"binh-duong"}
    assert others <= got
    # Dissolved on the day of the tick: no reminder; dissolved tomorrow: still reminded.
    assert ("binh-duong" in got) == (dissolved_on is None or dissolved_on > FRI.date())
