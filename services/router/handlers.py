"""Thin handlers: look up what was already done, ask `logic` what to do, emit, record."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram

from services.router import logic, store
from shared import topics
from shared.db import Pool
from shared.events import (
    AgencyTask,
    AssignmentRole,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    Envelope,
    Status,
    deterministic_id,
)
from shared.kafka import Emitter
from shared.provinces import ConfigHolder
from shared.service import Runtime


@dataclass(frozen=True)
class RouterMetrics:
    assignments: Counter
    triage: Counter
    decision_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> RouterMetrics:
        return cls(
            assignments=Counter(
                "thaogo_router_assignments_total",
                "Assignments published, by agency, kind of rule and role",
                ["agency", "rule_kind", "role"],
                registry=registry,
            ),
            triage=Counter(
                "thaogo_router_triage_total",
                "Difficulties sent to the permanent deputy's triage queue, by reason",
                ["reason"],
                registry=registry,
            ),
            decision_seconds=Histogram(
                "thaogo_router_decision_duration_seconds",
                "Time to decide the assignments of one batch, per difficulty",
                registry=registry,
                buckets=(1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2),
            ),
        )


@dataclass
class RouterHandlers:
    rt: Runtime
    config: ConfigHolder
    metrics: RouterMetrics
    status_url: str

    @property
    def pool(self) -> Pool:
        return self.rt.db()

    async def on_received(
        self, batch: list[Envelope[DifficultyReceived]], emitter: Emitter
    ) -> int:
        unique = {env.id: env for env in batch}
        async with self.pool.acquire() as conn:
            done = await store.already_processed(conn, event_ids=list(unique))
        fresh = [env for eid, env in unique.items() if eid not in done]
        duplicates = len(batch) - len(fresh)
        if not fresh:
            return duplicates
        configs = self.config.current
        now = datetime.now(UTC)
        started = time.perf_counter()
        assignments: list[DifficultyAssigned] = []
        for env in fresh:
            d = env.data
            cfg = configs.for_difficulty(d.province_code, d.task_force)
            assignments += logic.decide(d, cfg, config_version=configs.version, now=now)
        self.metrics.decision_seconds.observe((time.perf_counter() - started) / len(fresh))
        by_id = {env.data.difficulty_id: env.data for env in fresh}
        for a in assignments:
            await self._publish(emitter, a, by_id[a.difficulty_id])
        # The broker has everything before we record it as done: a crash in between
        # replays the batch, and the deterministic ids make the replay a no-op downstream.
        await emitter.flush()
        async with self.pool.acquire() as conn, conn.transaction():
            await store.save_difficulties(conn, difficulties=[e.data for e in fresh])
            await store.save_assignments(conn, assignments=assignments)
            await store.mark_processed(
                conn, event_ids=[e.id for e in fresh], topic=topics.DIFFICULTY_RECEIVED
            )
        return duplicates

    async def on_status(
        self, batch: list[Envelope[DifficultyStatusChanged]], emitter: Emitter
    ) -> int:
        duplicates = 0
        for env in batch:
            change = env.data
            if change.status not in (Status.ESCALATED, Status.REASSIGN_REQUESTED):
                continue  # the router acts only on escalations and re-assignment requests
            async with self.pool.acquire() as conn:
                if await store.already_processed(conn, event_ids=[env.id]):
                    duplicates += 1
                    continue
                d = await store.load_difficulty(conn, difficulty_id=change.difficulty_id)
                current = await store.active_assignments(conn, difficulty_id=change.difficulty_id)
            new = self._next_assignments(change, d, current)
            if d is not None:
                for a in new:
                    await self._publish(emitter, a, d)
            await emitter.flush()
            async with self.pool.acquire() as conn, conn.transaction():
                await store.save_assignments(conn, assignments=new)
                await store.mark_processed(conn, event_ids=[env.id], topic=topics.DIFFICULTY_STATUS)
        return duplicates

    def _next_assignments(
        self,
        change: DifficultyStatusChanged,
        d: DifficultyReceived | None,
        current: list[DifficultyAssigned],
    ) -> list[DifficultyAssigned]:
        if d is None or not current:
            # A status for a difficulty the router never saw: nothing to move. Intake only
            # accepts updates on assigned difficulties, so this is a replay of old history.
            return []
        configs = self.config.current
        cfg = configs.for_difficulty(d.province_code, d.task_force)
        held = [a for a in current if a.role != AssignmentRole.MEMBER]
        mine = [
            a for a in held
            if a.assignment_id == change.assignment_id or a.agency_id == change.actor_id
        ] or held[:1]
        now = datetime.now(UTC)
        if change.status == Status.ESCALATED:
            if cfg is None:
                return []  # no configuration for the province: nowhere to escalate to
            return [
                logic.escalate(a, d.category, cfg, config_version=configs.version, now=now,
                               note=change.note)
                for a in mine
            ]
        return [
            new
            for a in mine
            for new in logic.reassign(a, d, cfg, change.actor_id, config_version=configs.version,
                                      now=now, note=change.note)
        ]

    async def _publish(
        self, emitter: Emitter, a: DifficultyAssigned, d: DifficultyReceived
    ) -> None:
        await emitter.emit(a, event_id=str(a.assignment_id))
        self.metrics.assignments.labels(a.agency_id, a.rule.split(".")[0], a.role.value).inc()
        if a.role == AssignmentRole.TRIAGE:
            self.metrics.triage.labels(a.rule.rsplit(".", 1)[-1]).inc()
        if a.role == AssignmentRole.MEMBER:
            # A member is a person, told by notify; the agency topic carries what the
            # agency itself must handle (lead, co-handling, triage, escalation).
            return
        task = AgencyTask(
            assignment=a, difficulty=d, status_url=f"{self.status_url}/v1/difficulties/"
            f"{a.difficulty_id}/status"
        )
        await emitter.emit(
            task, event_id=deterministic_id(a.assignment_id, "task"),
            topic=topics.agency_topic(a.agency_id),
        )
