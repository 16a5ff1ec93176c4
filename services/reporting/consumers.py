"""Reporting's consumers: record each event once, then project it.

Every handler runs in one transaction: the event ids (idempotency), the projected
rows, the derived current state and any outbox row commit together, so a replayed
batch changes nothing and a crash leaves nothing half done."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from services.reporting import logic, store, usecases
from services.reporting.metrics import ProjectionMetrics
from shared import topics, vn
from shared.deadlines import HANDLING_ROLES, at_central_level, deadlines_for
from shared.events import (
    CompilationSaved,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DirectionGiven,
    DirectionProgress,
    Envelope,
    EventData,
    MemberReport,
    NotificationSent,
    PolicyBottleneck,
    Urgency,
)
from shared.kafka import Emitter
from shared.provinces import ConfigHolder, Deadlines
from shared.service import Runtime


def search_text(d: DifficultyReceived) -> str:
    """What `q=` matches, folded: "thao go" finds "tháo gỡ", NFC or NFD alike."""
    return vn.fold(" ".join((d.tracking_code, d.title, d.description, d.enterprise_name)))


@dataclass
class ReportingHandlers:
    rt: Runtime
    config: ConfigHolder
    metrics: ProjectionMetrics
    # (task force, week label) -> the link of that week's page, signed (`ReadSide.page_url`).
    page_url: Callable[[str, str], str] | None = None

    def _page_of(self, task_force: str | None) -> Callable[[str], str] | None:
        if self.page_url is None or task_force is None:
            return None
        return functools.partial(self.page_url, task_force)

    def _observed(self, topic: str, batch: Sequence[Envelope[EventData]], new: set[str]) -> None:
        fresh = [e for e in batch if e.id in new]
        if not fresh:
            return
        self.metrics.projected.labels(topic).inc(len(fresh))
        latest = max(e.time for e in fresh)
        self.metrics.lag.set(max(0.0, time.time() - latest.timestamp()))

    async def on_received(
        self, batch: list[Envelope[DifficultyReceived]], emitter: Emitter
    ) -> int:
        configs = self.config.current
        now = datetime.now(UTC)
        async with self.rt.db().acquire() as conn, conn.transaction():
            await store.lock_difficulties(conn, difficulty_ids=[e.data.difficulty_id
                                                                for e in batch])
            new = await store.record_events(conn, topic=topics.DIFFICULTY_RECEIVED,
                                            events=batch)  # type: ignore[arg-type]
            fresh = list({e.data.difficulty_id: e.data for e in batch if e.id in new}.values())
            rows = []
            for d in fresh:
                cfg = logic.task_force_of(configs, d.province_code, d.task_force)
                rows.append(store.ReceivedRow(data=d, task_force=cfg.slug if cfg else d.task_force,
                                              search=search_text(d)))
            await store.project_received(conn, rows=rows)
            # Assignments that came first get their deadlines now that the task force is
            # known, then they and statuses that came first are applied.
            by_id = {d.difficulty_id: d for d in fresh}
            due = []
            for a in await store.holding_assignments(conn, difficulty_ids=list(by_id)):
                d = by_id[a["difficulty_id"]]
                cfg = logic.task_force_of(configs, d.province_code, d.task_force)
                when = deadlines_for(a["assigned_at"], Urgency(a["urgency"]),
                                     cfg.deadlines if cfg else Deadlines(),
                                     central=at_central_level(a["role"], a["agency_level"]))
                due.append((a["assignment_id"], when.ack, when.resolve))
            await store.set_deadlines(conn, due=due)
            if early := await store.corrections_of(conn, difficulty_ids=list(by_id)):
                await self._corrections(conn, early)  # corrected before it was seen here
            await store.refresh(conn, difficulty_ids=list(by_id))
            for d, row in zip(fresh, rows, strict=True):
                if d.urgency is Urgency.URGENT:
                    await usecases.enqueue_urgent(conn, d, now=now,
                                                 page_url=self._page_of(row.task_force))
        self._observed(topics.DIFFICULTY_RECEIVED, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)

    async def on_assigned(
        self, batch: list[Envelope[DifficultyAssigned]], emitter: Emitter
    ) -> int:
        configs = self.config.current
        async with self.rt.db().acquire() as conn, conn.transaction():
            await store.lock_difficulties(conn, difficulty_ids=[e.data.difficulty_id
                                                                for e in batch])
            new = await store.record_events(conn, topic=topics.DIFFICULTY_ASSIGNED,
                                            events=batch)  # type: ignore[arg-type]
            fresh = [e.data for e in batch if e.id in new]
            known = await store.task_forces_of(conn,
                                               difficulty_ids=[a.difficulty_id for a in fresh])
            rows = []
            for a in fresh:
                due = None
                # Deadlines count in the task force of the difficulty: one seen before
                # its difficulty gets them when the difficulty arrives (on_received).
                if a.role in HANDLING_ROLES and a.difficulty_id in known:
                    cfg = logic.task_force_of(configs, a.province_code, known[a.difficulty_id])
                    deadlines = cfg.deadlines if cfg else Deadlines()
                    due = deadlines_for(a.assigned_at, a.urgency, deadlines,
                                        central=at_central_level(a.role, a.agency_level))
                rows.append(store.AssignedRow(data=a, ack_due_at=due.ack if due else None,
                                              resolve_due_at=due.resolve if due else None))
            await store.project_assigned(conn, rows=rows)
            await store.refresh(conn, difficulty_ids=[a.difficulty_id for a in fresh])
        self._observed(topics.DIFFICULTY_ASSIGNED, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)

    async def on_status(
        self, batch: list[Envelope[DifficultyStatusChanged]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            await store.lock_difficulties(conn, difficulty_ids=[e.data.difficulty_id
                                                                for e in batch])
            new = await store.record_events(conn, topic=topics.DIFFICULTY_STATUS,
                                            events=batch)  # type: ignore[arg-type]
            fresh = [e.data for e in batch if e.id in new]
            await store.project_status(conn, changes=fresh)
            corrected = [c for c in fresh if c.correction is not None]
            if corrected:
                await self._corrections(conn, corrected)
            await store.refresh(conn, difficulty_ids=[c.difficulty_id for c in fresh])
        self._observed(topics.DIFFICULTY_STATUS, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)

    async def _corrections(self, conn: asyncpg.Connection,
                           changes: list[DifficultyStatusChanged]) -> None:
        """The permanent deputy's corrections: the difficulty's columns as corrected, in
        the task force of its (maybe new) province, and the deadlines of its holding
        assignments counted in that task force's (as a difficulty's are, whenever its
        assignments arrived)."""
        configs = self.config.current
        rows = []
        for c in changes:
            fix = c.correction
            assert fix is not None
            cfg = logic.task_force_of(configs, fix.province_code, fix.task_force)
            rows.append(store.CorrectedRow(data=c, task_force=cfg.slug if cfg
                                           else fix.task_force))
        await store.project_corrections(conn, rows=rows)
        known = await store.places_of(conn, difficulty_ids=[c.difficulty_id for c in changes])
        due = []
        for a in await store.holding_assignments(conn, difficulty_ids=list(known)):
            cfg = logic.task_force_of(configs, *known[a["difficulty_id"]])
            when = deadlines_for(a["assigned_at"], Urgency(a["urgency"]),
                                 cfg.deadlines if cfg else Deadlines(),
                                 central=at_central_level(a["role"], a["agency_level"]))
            due.append((a["assignment_id"], when.ack, when.resolve))
        await store.set_deadlines(conn, due=due)

    async def on_member_report(
        self, batch: list[Envelope[MemberReport]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.record_events(conn, topic=topics.MEMBER_REPORT,
                                            events=batch)  # type: ignore[arg-type]
            await store.project_member_reports(
                conn, reports=[e.data for e in batch if e.id in new])
        self._observed(topics.MEMBER_REPORT, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)

    async def on_direction(
        self, batch: list[Envelope[DirectionGiven]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.record_events(conn, topic=topics.DIRECTION_GIVEN,
                                            events=batch)  # type: ignore[arg-type]
            await store.project_directions(
                conn, directions=[e.data for e in batch if e.id in new])
        self._observed(topics.DIRECTION_GIVEN, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)

    async def on_direction_progress(
        self, batch: list[Envelope[DirectionProgress]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.record_events(conn, topic=topics.DIRECTION_PROGRESS,
                                            events=batch)  # type: ignore[arg-type]
            await store.project_direction_progress(
                conn, progress=[e.data for e in batch if e.id in new])
        self._observed(topics.DIRECTION_PROGRESS, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)

    async def on_compilation(
        self, batch: list[Envelope[CompilationSaved]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.record_events(conn, topic=topics.COMPILATION_SAVED,
                                            events=batch)  # type: ignore[arg-type]
            await store.project_compilations(
                conn, saved=[e.data for e in batch if e.id in new])
        self._observed(topics.COMPILATION_SAVED, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)

    async def on_bottleneck(
        self, batch: list[Envelope[PolicyBottleneck]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.record_events(conn, topic=topics.POLICY_BOTTLENECK,
                                            events=batch)  # type: ignore[arg-type]
            await store.project_bottlenecks(
                conn, bottlenecks=[e.data for e in batch if e.id in new])
        self._observed(topics.POLICY_BOTTLENECK, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)

    async def on_notification(
        self, batch: list[Envelope[NotificationSent]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.record_events(conn, topic=topics.NOTIFICATION_SENT,
                                            events=batch)  # type: ignore[arg-type]
            await store.project_notifications(conn, events=[e for e in batch if e.id in new])
        self._observed(topics.NOTIFICATION_SENT, batch, new)  # type: ignore[arg-type]
        return len(batch) - len(new)
