"""The router's Kafka subscribers, thin: look up what was already done, ask `logic` what
to do, emit, record."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import asyncpg

from services.router import logic, store, usecases
from services.router.metrics import RouterMetrics
from shared import inbox, topics
from shared.db import Pool
from shared.events import (
    AssignmentRole,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    Envelope,
    Status,
)
from shared.kafka import Emitter, Prepared
from shared.provinces import ConfigHolder
from shared.service import Runtime

SCHEMA = "router"  # its tables, the inbox among them

log = logging.getLogger("thaogo.router")


@dataclass
class Decided:
    """One batch's assignments, emitted (not yet flushed) and ready for the database: new
    difficulties in `new`, assignments of an escalation or re-assignment in `rows`."""

    assignments: list[DifficultyAssigned]
    new: store.NewDifficulties | None = None
    rows: store.AssignmentRows | None = None
    corrected: DifficultyReceived | None = None  # stored anew with the assignments


@dataclass
class RouterHandlers:
    rt: Runtime
    config: ConfigHolder
    metrics: RouterMetrics
    status_base: str  # intake's public URL, where agencies post status updates

    @property
    def pool(self) -> Pool:
        return self.rt.db()

    async def on_received(
        self, batch: list[Envelope[DifficultyReceived]], emitter: Emitter
    ) -> int:
        prepared = await self.prepare_received(batch, emitter, frozenset())
        await prepared.apply()
        return prepared.duplicates

    async def prepare_received(
        self, batch: list[Envelope[DifficultyReceived]], emitter: Emitter,
        in_flight: AbstractSet[str],
    ) -> Prepared:
        """Decide and emit a batch of new difficulties; `apply` flushes and records them
        (the pipelined processor runs it while the next batch is prepared)."""
        # A difficulty is assigned once, and its id is the key: intake mints it with the
        # event's, one event a difficulty. The batches in flight are not stored yet:
        # what they hold is not new either (the same events, read again after a rewind).
        unique: dict[str, Envelope[DifficultyReceived]] = {}
        for env in batch:
            if env.id not in in_flight:
                unique.setdefault(str(env.data.difficulty_id), env)
        async with self.pool.acquire() as conn:
            done = await store.already_stored(conn, difficulty_ids=list(unique))
        fresh = [env for did, env in unique.items() if did not in done]
        duplicates = len(batch) - len(fresh)
        if not fresh:
            return Prepared(duplicates, _nothing)
        configs = self.config.current
        new = store.NewDifficulties(config_version=configs.version)
        out = Decided([], new=new)
        decided = 0.0
        for env in fresh:
            d = env.data
            started = time.perf_counter()
            # As of its receipt, not of this call: routing it again after a commit lost
            # with the broker's answer writes the same bytes the consumers already hold.
            made = logic.decide(d, configs.for_difficulty(d.province_code, d.task_force),
                                config_version=configs.version, now=d.received_at)
            decided += time.perf_counter() - started
            # The body that validated as the difficulty is stored as it came.
            new.add(d, env.body or d.model_dump_json().encode(), made)
            await usecases.publish(emitter, made, d, status_base=self.status_base)
            out.assignments += made
        self.metrics.decision_seconds.observe(decided / len(fresh))

        async def apply() -> None:
            await self._apply(emitter, out)  # a difficulty's row is its event's record

        return Prepared(duplicates, apply)

    async def _apply(
        self, emitter: Emitter, out: Decided, *, status_event: str | None = None
    ) -> None:
        """Publish and record one batch's decisions; returns once both are durable.
        `status_event`: the status event they answer, recorded as processed."""
        async with self.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            # The rows are written while the broker takes the messages, and committed only
            # once it has acknowledged every one: a crash before the commit rolls them back
            # and the batch is replayed (deterministic ids make the replay a no-op
            # downstream); committing first could record as done what the broker never got.
            outcomes = await asyncio.gather(
                emitter.flush(),
                self._record(conn, out, status_event),
                return_exceptions=True,
            )
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            if failed:
                await tx.rollback()
                raise failed[0]
            await tx.commit()
        self.metrics.count(out.assignments)

    async def _record(
        self, conn: asyncpg.Connection, out: Decided, status_event: str | None
    ) -> None:
        if out.new is not None:
            await store.save_new_difficulties(conn, batch=out.new)
        if out.rows is not None and len(out.rows):
            await store.save_assignment_rows(conn, rows=out.rows)
        if out.corrected is not None:
            await store.correct_difficulty(conn, difficulty=out.corrected)
        if status_event is not None:
            await inbox.record(conn, schema=SCHEMA, event_ids=[status_event],
                               topic=topics.DIFFICULTY_STATUS)

    async def on_status(
        self, batch: list[Envelope[DifficultyStatusChanged]], emitter: Emitter
    ) -> int:
        duplicates = 0
        for env in batch:
            change = env.data
            if (change.status not in (Status.ESCALATED, Status.REASSIGN_REQUESTED)
                    and change.correction is None):
                # The router acts only on escalations, re-assignment requests and the
                # permanent deputy's corrections (a merge closes: nothing to route).
                continue
            async with self.pool.acquire() as conn:
                if await inbox.applied(conn, schema=SCHEMA, event_ids=[env.id]):
                    duplicates += 1
                    continue
                d = await store.load_difficulty(conn, difficulty_id=change.difficulty_id)
                current = await store.active_assignments(conn, difficulty_id=change.difficulty_id)
            if change.correction is not None and d is not None:
                before, d = d, d.model_copy(update=change.correction.model_dump())
                new = self._corrected_assignments(change, before, d, current)
            else:
                new = self._next_assignments(change, d, current)
            if d is not None:
                await usecases.publish(emitter, new, d, status_base=self.status_base)
            await self._apply(emitter, Decided(new, rows=store.AssignmentRows.of(new),
                                               corrected=d if change.correction else None),
                              status_event=env.id)
        return duplicates

    def _corrected_assignments(
        self,
        change: DifficultyStatusChanged,
        before: DifficultyReceived,
        d: DifficultyReceived,
        current: list[DifficultyAssigned],
    ) -> list[DifficultyAssigned]:
        """A correction from triage: the corrected difficulty `d` routed again, in its
        (possibly new) task force, replacing the triage assignment. Only the permanent
        deputy of the task force it was in corrects (intake checks the same; this is the
        second line), and only what its triage queue holds."""
        configs = self.config.current
        was = logic.config_for(before, configs)
        triage = was.rules.triage if was is not None else None
        queued = [a for a in current
                  if a.role is AssignmentRole.TRIAGE and a.agency_id == triage]
        if triage is None or change.actor_id != triage or not queued:
            self.metrics.ignored_status.labels("not_in_triage").inc()
            log.warning("correction by %s on %s not acted on: not in its triage",
                        change.actor_id, change.difficulty_id)
            return []
        cfg = logic.config_for(d, configs)
        return [new for a in queued[:1]
                for new in logic.correct(a, d, cfg, config_version=configs.version,
                                         now=change.changed_at)]

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
        # Recorded and ignored rather than dead-lettered: the change is valid history
        # (intake accepted it, reporting shows it), it just carries no authority to move
        # anything, and no replay would ever give it some.
        allowed = logic.movable(change, current, cfg.rules.triage if cfg is not None else None)
        if allowed.ignored is not None:
            self.metrics.ignored_status.labels(allowed.ignored).inc()
            log.warning("status %s by %s %s on %s not acted on: %s", change.status,
                        change.actor_kind.value, change.actor_id, change.difficulty_id,
                        allowed.ignored)
            return []
        mine = allowed.assignments
        # As of the change, not of this call: acting on it again (a commit lost with the
        # broker's answer) makes the same assignments, byte for byte.
        now = change.changed_at
        if change.status == Status.ESCALATED:
            if cfg is None:
                return []  # no configuration for the province: nowhere to escalate to
            return [
                logic.escalate(a, d.category, cfg, config_version=configs.version, now=now,
                               note=logic.why(change))
                for a in mine
            ]
        # Only the permanent deputy dispatches to a chosen agency (intake refuses a target
        # from anyone else; this is the second line). The new assignments name the deputy
        # as the task-force member who decided ("manual:<member id>").
        deputy = cfg is not None and change.actor_id == cfg.rules.triage
        target = change.target_agency_id if deputy else None
        decided_by = cfg.task_force.permanent_deputy.id if cfg is not None and deputy else None
        return [
            new
            for a in mine
            for new in logic.reassign(a, d, cfg, change.actor_id, config_version=configs.version,
                                      now=now, note=logic.why(change),
                                      target_agency_id=target, decided_by=decided_by,
                                      co_agency_ids=change.co_agency_ids if target else ())
        ]


async def _nothing() -> None:
    return None
