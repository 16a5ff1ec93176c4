"""Notify's consumers: turn events into owed messages (inserted once by key) and keep
the state the reminders need (acknowledgements, resolutions, who reported)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import asyncpg

from services.notify import logic, store
from services.notify.metrics import NotifyMetrics
from services.notify.settings import NotifySettings
from shared import inbox
from shared.calendar import Clock
from shared.deadlines import CLOSED
from shared.events import (
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    DirectionGiven,
    DirectionProgress,
    DirectionState,
    Envelope,
    MemberReminderRequested,
    MemberReport,
    PolicyBottleneck,
    SignInLink,
    WeeklyReport,
)
from shared.kafka import Emitter
from shared.provinces import ConfigHolder
from shared.service import Runtime


@dataclass
class NotifyHandlers:
    rt: Runtime
    config: ConfigHolder
    clock: Clock
    settings: NotifySettings
    metrics: NotifyMetrics

    @property
    def quiet(self) -> logic.Quiet:
        return logic.Quiet(self.settings.quiet_start, self.settings.quiet_end)

    @property
    def hours(self) -> logic.Hours:
        return logic.Hours(self.settings.work_start, self.settings.work_end)

    async def on_assigned(
        self, batch: list[Envelope[DifficultyAssigned]], emitter: Emitter
    ) -> int:
        configs, now = self.config.current, self.clock.now()
        owed: list[logic.Owed] = []
        followed: list[logic.Followed] = []
        keys_of: dict[str, set[str]] = {}
        for e in batch:
            mine = logic.assignment_messages(e.data, configs, now=now, quiet=self.quiet,
                                             hours=self.hours)
            keys_of.setdefault(e.id, set()).update(o.key for o in mine)
            owed += mine
            if (f := logic.follow(e.data, configs, quiet=self.quiet)) is not None:
                followed.append(f)
        steps = [s for e in batch if (s := logic.assigned_step(e.data)) is not None]
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.insert_owed(conn, owed=owed)
            await store.follow_assignments(conn, rows=followed)
            await self.tell_business(conn, steps=steps)
        self.metrics.held(new)
        new_keys = {o.key for o in new}
        # A duplicate is an event none of whose messages was new (a replay).
        return sum(1 for e in batch if not keys_of[e.id] & new_keys)

    async def on_status(
        self, batch: list[Envelope[DifficultyStatusChanged]], emitter: Emitter
    ) -> int:
        unique = {e.id: e for e in batch}
        rows = [status_row(e.data) for e in unique.values()]
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await inbox.record(conn, schema=store.SCHEMA, event_ids=unique)
            await store.apply_statuses(
                conn, rows=[r for eid, r in zip(unique, rows, strict=True) if eid in new],
                quiet=self.quiet)
            await self.tell_business(conn, steps=[
                s for eid, e in unique.items()
                if eid in new and (s := logic.status_step(e.data)) is not None])
        return len(batch) - len(new)

    async def on_received(self, batch: list[Envelope[DifficultyReceived]], emitter: Emitter
                          ) -> int:
        """The business's contact, kept for its notices, and its first one (received)."""
        contacts = [logic.contact_of(e.data) for e in batch]
        async with self.rt.db().acquire() as conn, conn.transaction():
            await store.lock_difficulties(conn, difficulty_ids=[c.difficulty_id
                                                                for c in contacts])
            new = await store.record_contacts(conn, contacts=contacts)
            await self.tell_business(conn, steps=[logic.received_step(e.data) for e in batch])
        return len(batch) - len(new)

    async def on_bottleneck(self, batch: list[Envelope[PolicyBottleneck]], emitter: Emitter
                            ) -> int:
        steps = [s for e in batch for s in logic.merged_steps(e.data)]
        async with self.rt.db().acquire() as conn, conn.transaction():
            await self.tell_business(conn, steps=steps)
        return 0

    async def tell_business(self, conn: asyncpg.Connection, *,
                            steps: list[logic.PublicStep]) -> None:
        """Keep the public steps, and owe the business a notice of each step of these
        difficulties whose contact is known (of the steps already kept too: the contact
        may have come after them). Under each difficulty's lock, in the caller's
        transaction, so that of a step and its contact the second one sees the first."""
        dids = sorted({s.difficulty_id for s in steps})
        if not dids:
            return
        await store.lock_difficulties(conn, difficulty_ids=dids)
        contacts = await store.contacts_of(conn, difficulty_ids=dids)
        # A business known to have left neither an e-mail nor a mobile number is told
        # nothing: its steps are not kept (those kept before its contact came are dropped).
        unreachable = {d for d, c in contacts.items() if not (c.email or c.phone)}
        await store.forget_steps(conn, difficulty_ids=sorted(unreachable))
        await store.record_steps(conn, steps=[s for s in steps
                                              if s.difficulty_id not in unreachable])
        for d in unreachable:
            del contacts[d]
        if not contacts:
            return
        kept: dict[str, list[logic.PublicStep]] = defaultdict(list)
        for s in await store.steps_of(conn, difficulty_ids=list(contacts)):
            kept[s.difficulty_id].append(s)
        owed: list[logic.Owed] = []
        for did, contact in contacts.items():
            owed += logic.business_messages(
                kept[did], contact, self.config.current,
                base_url=self.settings.report_base_url, now=self.clock.now(),
                quiet=self.quiet)
        self.metrics.held(await store.insert_owed(conn, owed=owed))

    async def on_urgency(
        self, batch: list[Envelope[DifficultyUrgencyConfirmed]], emitter: Emitter
    ) -> int:
        configs, now = self.config.current, self.clock.now()
        owed = [o for e in batch
                for o in logic.confirmation_messages(e.data, configs, now=now, quiet=self.quiet)]
        async with self.rt.db().acquire() as conn, conn.transaction():
            changed = await store.hasten_owed(conn, owed=owed)
        return 0 if changed or not owed else len(batch)

    async def on_member_report(
        self, batch: list[Envelope[MemberReport]], emitter: Emitter
    ) -> int:
        rows = [(e.data.member_id, e.data.week_label, e.data.submitted_at) for e in batch]
        async with self.rt.db().acquire() as conn, conn.transaction():
            await store.record_reports(conn, rows=rows)
        return 0

    async def on_weekly_report(
        self, batch: list[Envelope[WeeklyReport]], emitter: Emitter
    ) -> int:
        configs, now = self.config.current, self.clock.now()
        owed: list[logic.Owed] = []
        for e in batch:
            owed += logic.weekly_report_messages(
                e.data, configs, base_url=self.settings.report_base_url, now=now,
                quiet=self.quiet, hours=self.hours,
            )
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.insert_owed(conn, owed=owed)
        self.metrics.held(new)
        return 0 if new or not owed else len(batch)

    async def on_member_reminder(self, batch: list[Envelope[MemberReminderRequested]],
                                 emitter: Emitter) -> int:
        owed: list[logic.Owed] = []
        for e in batch:
            owed += logic.member_reminder_messages(e.data, self.config.current,
                                                   quiet=self.quiet, now=self.clock.now())
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.insert_owed(conn, owed=owed)
        self.metrics.held(new)
        return len(owed) - len(new)

    async def on_direction(self, batch: list[Envelope[DirectionGiven]], emitter: Emitter
                           ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            done = await store.directions_done(
                conn, direction_ids=[e.data.direction_id for e in batch])
            owed: list[logic.Owed] = []
            for e in batch:
                if e.data.direction_id not in done:
                    owed += logic.direction_reminders(e.data, self.config.current,
                                                      quiet=self.quiet)
            new = await store.insert_owed(conn, owed=owed)
        self.metrics.held(new)
        return len(owed) - len(new)

    async def on_direction_progress(self, batch: list[Envelope[DirectionProgress]],
                                    emitter: Emitter) -> int:
        done = [e.data.direction_id for e in batch if e.data.state is DirectionState.DONE]
        if done:
            async with self.rt.db().acquire() as conn, conn.transaction():
                await store.finish_directions(conn, direction_ids=done)
        return 0

    async def on_sign_in(self, batch: list[Envelope[SignInLink]], emitter: Emitter) -> int:
        owed: list[logic.Owed] = []
        for e in batch:
            owed += logic.sign_in_messages(e.data, self.config.current, now=self.clock.now())
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.insert_owed(conn, owed=owed)
        return len(owed) - len(new)


def status_row(c: DifficultyStatusChanged) -> store.StatusRow:
    """What a status event changes for the reminders of the assignment it names."""
    step = c.step_taken()
    return store.StatusRow(
        difficulty_id=str(c.difficulty_id),
        assignment_id=str(c.assignment_id) if c.assignment_id else None,
        actor_id=c.actor_id,
        acknowledged=c.status in logic.ACK_STATUSES or step is not None,
        closes=c.status in logic.CLOSING_STATUSES or step in logic.FINISHED_STEPS,
        resolves_difficulty=c.status in CLOSED,
        at=c.changed_at,
        pauses=step is logic.PAUSING_STEP,
        resumes=step is not None,
    )
