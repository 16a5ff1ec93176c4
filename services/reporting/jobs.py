"""Reporting's background loop: at each weekly cutoff (and at start-up, for the last
closed week) it publishes every active task force's report of the week that closed, and
a dissolved task force's final report."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC

import asyncpg

from services.reporting import logic, store
from services.reporting.access import LinkSigner
from services.reporting.metrics import CaseloadGauges, PublishMetrics
from services.reporting.usecases import (
    FINAL,
    claim,
    compose,
    compose_final,
    final_event_id,
    is_dissolved,
    shared_groups,
    weekly_event_id,
)
from shared.calendar import Clock, WeekWindow, to_local
from shared.provinces import ConfigHolder, ProvinceConfig

log = logging.getLogger("thaogo.reporting")


@dataclass
class WeeklyPublisher:
    """At each cutoff, and at start-up for the last closed week, publish every active
    task force's report of the week that just closed."""

    pool: asyncpg.Pool
    config: ConfigHolder
    clock: Clock
    metrics: PublishMetrics
    base_url: str
    poll_interval_s: float = 30.0
    links: LinkSigner | None = None

    def page_url(self, slug: str, week_label: str) -> str:
        # Signed, so the head can open and forward the link notify mails them.
        path = f"/reports/{slug}/{week_label}"
        if self.links is None:
            return self.base_url + path
        return self.links.url(self.base_url, path, now=self.clock.now())

    async def publish_week(self, cfg: ProvinceConfig, window: WeekWindow) -> bool:
        """True if this call published (claimed) the report; False if it already was."""
        slug = cfg.slug
        async with self.pool.acquire() as conn:
            if await store.stored_report(conn, task_force=slug, week_label=window.label):
                return False
            now = to_local(self.clock.now()).astimezone(UTC)
            report = await compose(conn, cfg=cfg, window=window, as_of=window.end,
                                   generated_at=now, page_url=self.page_url(slug, window.label))
            claimed = await claim(conn, slug, report, weekly_event_id(slug, window.label))
        if claimed:
            self.metrics.published.labels(slug).inc()
            log.info("weekly report published",
                     extra={"task_force": slug, "week": window.label})
        return claimed

    async def publish_final(self, cfg: ProvinceConfig) -> bool:
        """True if this call published (claimed) the task force's final report."""
        slug = cfg.slug
        async with self.pool.acquire() as conn:
            if await store.stored_report(conn, task_force=slug, week_label=FINAL):
                return False
            now = self.clock.now().astimezone(UTC)
            report = await compose_final(conn, cfg=cfg, as_of=now,
                                         page_url=self.page_url(slug, FINAL))
            claimed = await claim(conn, slug, report, final_event_id(slug))
        if claimed:
            self.metrics.published.labels(slug).inc()
            log.info("final report published", extra={"task_force": slug})
        return claimed

    async def tick(self) -> int:
        """Publish what is due now; returns how many reports this call published."""
        now = self.clock.now()
        window = logic.last_closed_window(now)
        self.metrics.cutoff.set(window.end.timestamp())
        n = 0
        for slug, cfg in self.config.current.items():
            try:
                if cfg.task_force.is_active(to_local(window.end).date()):
                    n += await self.publish_week(cfg, window)
                if is_dissolved(cfg, now):
                    n += await self.publish_final(cfg)
            except (asyncpg.PostgresError, OSError) as e:
                # One task force's failure must not hold the others up; the next tick retries.
                log.warning("weekly or final report failed",
                            extra={"task_force": slug, "error": type(e).__name__})
        return n

    async def run(self) -> None:
        """Catch up at once (the last closed week), then check every poll interval; a
        cutoff is therefore acted on within `poll_interval_s`."""
        while True:
            await self.tick()
            await asyncio.sleep(self.poll_interval_s)


async def refresh_gauges(pool: asyncpg.Pool, *, clock: Clock, caseload: CaseloadGauges,
                         published: PublishMetrics, interval_s: float) -> None:
    """The open and overdue counts by agency, and each task force's latest report time,
    from the database every `interval_s` (so every replica shows the same)."""
    while True:
        async with pool.acquire() as conn:
            rows = await store.open_and_overdue_by_agency(conn, now=clock.now().astimezone(UTC))
            last = await store.last_report_times(conn)
        # Agencies that no longer have anything open go to zero, not stale.
        caseload.open.clear()
        caseload.overdue.clear()
        for agency, n_open, n_overdue in rows:
            caseload.open.labels(agency).set(n_open)
            caseload.overdue.labels(agency).set(n_overdue)
        for slug, at in last.items():
            published.last_published.labels(slug).set(at.timestamp())
        await asyncio.sleep(interval_s)


async def regroup(pool: asyncpg.Pool, *, config: ConfigHolder, clock: Clock,
                  interval_s: float) -> None:
    """Every `interval_s`, each task force's shared recommendations grouped again if its
    open items changed since (`usecases.shared_groups`, which stores them), so the
    permanent deputy's page reads them instead of grouping on the visit."""
    while True:
        for slug in config.current:
            try:
                await shared_groups(pool, task_force=slug, now=clock.now())
            except (asyncpg.PostgresError, OSError) as e:
                # One task force's failure must not hold the others up; the next pass retries.
                log.warning("shared recommendations not regrouped",
                            extra={"task_force": slug, "error": type(e).__name__})
        await asyncio.sleep(interval_s)
