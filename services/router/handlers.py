"""Thin handlers: look up what was already done, ask `logic` what to do, emit, record."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter

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
    encode_headers,
)
from shared.kafka import Emitter
from shared.provinces import ConfigHolder
from shared.service import Runtime


@dataclass(frozen=True)
class RouterMetrics:
    assignments: PromCounter
    triage: PromCounter
    decision_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> RouterMetrics:
        return cls(
            assignments=PromCounter(
                "thaogo_router_assignments_total",
                "Assignments published, by agency, kind of rule and role",
                ["agency", "rule_kind", "role"],
                registry=registry,
            ),
            triage=PromCounter(
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
        difficulties = [env.data for env in fresh]
        encoded = self._publish(emitter, assignments, difficulties, now=now)
        async with self.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            # The rows are written while the broker takes the messages, and committed only
            # once it has acknowledged every one: a crash before the commit rolls them back
            # and the batch is replayed (deterministic ids make the replay a no-op
            # downstream); committing first could record as done what the broker never got.
            outcomes = await asyncio.gather(
                emitter.flush(),
                self._record(conn, fresh, assignments, encoded),
                return_exceptions=True,
            )
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            if failed:
                await tx.rollback()
                raise failed[0]
            await tx.commit()
        return duplicates

    async def _record(
        self,
        conn: asyncpg.Connection,
        fresh: list[Envelope[DifficultyReceived]],
        assignments: list[DifficultyAssigned],
        encoded: Encoded,
    ) -> None:
        await store.save_difficulties(
            conn, difficulties=[e.data for e in fresh],
            payloads=[encoded.difficulties[e.data.difficulty_id].decode() for e in fresh])
        await store.save_assignments(
            conn, assignments=assignments, payloads=[j.decode() for j in encoded.assignments])
        await store.mark_processed(
            conn, event_ids=[e.id for e in fresh], topic=topics.DIFFICULTY_RECEIVED)

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
                self._publish(emitter, new, [d], now=datetime.now(UTC))
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

    def _publish(
        self,
        emitter: Emitter,
        assignments: list[DifficultyAssigned],
        difficulties: list[DifficultyReceived],
        *,
        now: datetime,
    ) -> Encoded:
        """Queue every assignment, and the agency task of each that is not a member's, on
        the emitter; the caller flushes. Each difficulty and assignment is encoded to JSON
        once and a task is spliced from those bytes (a task used to re-encode its whole
        difficulty); the database stores the same JSON."""
        out = Encoded({d.difficulty_id: d.model_dump_json().encode() for d in difficulties}, [])
        counted: Counter[tuple[str, str, str]] = Counter()
        triage: Counter[str] = Counter()
        for a in assignments:
            body = a.model_dump_json().encode()
            out.assignments.append(body)
            key = str(a.difficulty_id).encode()
            aid = str(a.assignment_id)
            headers = encode_headers(Envelope(id=aid, source=emitter.source, time=now, data=a))
            emitter.queue(a.topic, key, body, headers)
            counted[(a.agency_id, a.rule.split(".")[0], a.role.value)] += 1
            if a.role == AssignmentRole.TRIAGE:
                triage[a.rule.rsplit(".", 1)[-1]] += 1
            if a.role == AssignmentRole.MEMBER:
                # A member is a person, told by notify; the agency topic carries what the
                # agency itself must handle (lead, co-handling, triage, escalation).
                continue
            url = f"{self.status_url}/v1/difficulties/{a.difficulty_id}/status"
            task = task_body(body, out.difficulties[a.difficulty_id], url)
            # The task's subject is the same difficulty; only its id and type differ.
            emitter.queue(topics.agency_topic(a.agency_id), key, task, {
                **headers, "ce_id": deterministic_id(aid, "task"), "ce_type": AgencyTask.ce_type})
        for labels, n in counted.items():
            self.metrics.assignments.labels(*labels).inc(n)
        for reason, n in triage.items():
            self.metrics.triage.labels(reason).inc(n)
        return out


@dataclass(frozen=True, slots=True)
class Encoded:
    """What `_publish` encoded, for the database to store as is."""

    difficulties: dict[uuid.UUID, bytes]
    assignments: list[bytes]


def task_body(assignment_json: bytes, difficulty_json: bytes, status_url: str) -> bytes:
    """An `AgencyTask` body from its parts' JSON, byte for byte what pydantic would write
    (a unit test holds it to that)."""
    return b"".join((b'{"assignment":', assignment_json, b',"difficulty":', difficulty_json,
                     b',"status_url":', json.dumps(status_url, ensure_ascii=False).encode(),
                     b"}"))

