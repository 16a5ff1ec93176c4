"""The two loops of notify: the scheduler inserts what is owed, the dispatcher sends it.

Scheduler: reminder sweeps and weekly fires only INSERT owed messages under
deterministic keys (ON CONFLICT DO NOTHING), so running on every replica, or
twice, or again after a restart sends nothing twice.

Dispatcher: claims due rows with FOR UPDATE SKIP LOCKED under a lease, sends
them concurrently, then per message in one transaction: the attempt is stored,
the row marked sent, and NotificationSent enqueued to the outbox (published by
the relay). Delivery is at least once: a process killed between a successful
send and that commit sends the message again once the lease expires; webhook
receivers recognise it by Idempotency-Key, mail clients by Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.notify import logic, store
from services.notify.channels import Channel, DeliveryResult, OutgoingMessage
from services.notify.metrics import NotifyMetrics
from services.notify.settings import NotifySettings
from shared import outbox
from shared.calendar import Clock
from shared.db import TRANSIENT_ERRORS, Pool
from shared.events import NotificationSent, deterministic_id, new_envelope
from shared.provinces import ConfigHolder
from shared.retry import backoff

log = logging.getLogger("thaogo.notify.jobs")

SOURCE = "thaogo/notify"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Dispatcher:
    pool: Pool
    channels: Mapping[str, Channel]
    clock: Clock
    settings: NotifySettings
    metrics: NotifyMetrics
    worker: str = field(default_factory=worker_id)
    rng: random.Random = field(default_factory=random.Random)

    @property
    def quiet(self) -> logic.Quiet:
        return logic.Quiet(self.settings.quiet_start, self.settings.quiet_end)

    async def run(self) -> None:
        while True:
            try:
                n = await self.dispatch_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                log.warning("dispatch failed; will retry", extra={"error": type(e).__name__})
                n = 0
            if n < self.settings.dispatch_batch:
                await asyncio.sleep(self.settings.dispatch_interval_s)

    async def dispatch_once(self) -> int:
        """Claim, send and settle one batch of due messages; returns how many were claimed."""
        now = self.clock.now()
        async with self.pool.acquire() as conn:
            rows = await store.claim_due(conn, now=now, worker=self.worker,
                                         limit=self.settings.dispatch_batch,
                                         lease_s=self.settings.lease_s)
        if rows:
            sem = asyncio.Semaphore(self.settings.dispatch_concurrency)

            async def one(row: asyncpg.Record) -> None:
                async with sem:
                    await self._deliver(row, now)

            await asyncio.gather(*(one(r) for r in rows))
        await self.update_gauges()
        return len(rows)

    async def update_gauges(self) -> None:
        async with self.pool.acquire() as conn:
            retry, age = await store.queue_stats(conn, now=self.clock.now())
        self.metrics.retry_queue.set(retry)
        self.metrics.oldest_age.set(age)

    async def _deliver(self, row: asyncpg.Record, now: datetime) -> None:
        key, kind, channel_name = row["message_key"], row["kind"], row["channel"]
        if not row["urgent"] and (release := self.quiet.release(now, False)) > now:
            # Due before quiet hours but reached during them (a retry, a backlog): hold it.
            async with self.pool.acquire() as conn:
                await store.release(conn, key=key, worker=self.worker, state="pending",
                                    due_at=release, error=None, undo_attempt=True)
            self.metrics.messages.labels(kind, channel_name, "held").inc()
            return
        payload = store.as_dict(row["payload"])
        r = logic.render(kind, payload)
        message = OutgoingMessage(
            key=key, kind=kind, recipient_id=row["recipient_id"], address=row["address"] or "",
            subject=r.subject, text=r.text, html=r.html, secret_env=row["secret_env"],
            data=payload,
        )
        channel = self.channels.get(channel_name)
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()
        if channel is None:
            result = DeliveryResult.failed(f"no channel {channel_name!r}", retryable=False)
        else:
            try:
                result = await channel.send(message)
            except Exception as e:  # a channel bug must not lose the row's lease silently
                log.exception("channel raised", extra={"channel": channel_name,
                                                       "message_key": key})
                result = DeliveryResult.failed(f"{type(e).__name__}")
        duration = time.perf_counter() - t0
        self.metrics.delivery_seconds.labels(channel_name).observe(duration)
        await self._settle(row, result, started_at=started_at, duration=duration, now=now)

    async def _settle(self, row: asyncpg.Record, result: DeliveryResult, *,
                      started_at: datetime, duration: float, now: datetime) -> None:
        key, kind, channel_name = row["message_key"], row["kind"], row["channel"]
        attempt = int(row["attempts"])
        if result.ok:
            outcome = "sent"
        elif result.retryable and attempt < self.settings.max_attempts:
            outcome = "retried"
        else:
            outcome = "failed"

        async def record() -> bool:
            async with self.pool.acquire() as conn, conn.transaction():
                if not await store.record_attempt(
                    conn, key=key, attempt=attempt, channel=channel_name, worker=self.worker,
                    outcome=outcome, error=None if result.ok else result.detail,
                    started_at=started_at, duration_s=duration,
                ):
                    return True  # settled by a try whose commit's answer was lost
                if outcome == "sent":
                    held = await store.mark_sent(conn, key=key, worker=self.worker,
                                                 sent_at=datetime.now(UTC))
                    if held:
                        await outbox.enqueue(conn, schema=store.SCHEMA,
                                             events=[self._event(row, attempt)])
                elif outcome == "retried":
                    delay = backoff(attempt, base_s=self.settings.retry_base_s,
                                    cap_s=self.settings.retry_cap_s, rng=self.rng)
                    held = await store.release(conn, key=key, worker=self.worker, state="pending",
                                               due_at=now + timedelta(seconds=delay),
                                               error=result.detail)
                else:
                    held = await store.release(conn, key=key, worker=self.worker, state="failed",
                                               due_at=None, error=result.detail)
            return held

        held = await self._until_recorded(record, key=key)
        if not held:
            log.warning("lease lost before settling; another dispatcher owns the message",
                        extra={"message_key": key})
        self.metrics.messages.labels(kind, channel_name, outcome).inc()
        if outcome != "sent":
            log.warning("delivery failed", extra={"message_key": key, "channel": channel_name,
                                                  "attempt": attempt, "outcome": outcome,
                                                  "reason": result.detail})

    async def _until_recorded(
        self, record: Callable[[], Awaitable[bool]], *, key: str
    ) -> bool:
        """Run the settle transaction until it commits. After a successful send an
        unrecorded outcome means the message goes out again when its lease expires, so a
        database outage is waited out (with backoff) for as long as the lease holds."""
        deadline = time.monotonic() + self.settings.lease_s
        failures = 0
        while True:
            try:
                held: bool = await record()
                return held
            except TRANSIENT_ERRORS as e:
                failures += 1
                if time.monotonic() >= deadline:
                    raise
                delay = backoff(failures + 1, base_s=0.1, cap_s=5.0, rng=self.rng)
                log.warning("could not record a delivery; retrying",
                            extra={"message_key": key, "error": type(e).__name__,
                                   "retry_in_s": round(delay, 2)})
                await asyncio.sleep(delay)

    def _event(self, row: asyncpg.Record, attempts: int) -> Any:
        did = row["difficulty_id"]
        data = NotificationSent(
            notification_key=row["message_key"][:300], kind=row["kind"],
            channel=row["channel"], recipient_id=row["recipient_id"],
            province_code=row["province_code"], difficulty_id=did,
            week_label=row["week_label"], attempts=attempts, sent_at=datetime.now(UTC),
        )
        return new_envelope(data, source=SOURCE,
                            event_id=deterministic_id("notification.sent", row["message_key"]))


@dataclass
class Scheduler:
    """Reminder sweeps and weekly fires. Only inserts; safe on every replica."""

    pool: Pool
    config: ConfigHolder
    clock: Clock
    settings: NotifySettings
    metrics: NotifyMetrics

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                log.warning("scheduler tick failed; will retry", extra={"error": type(e).__name__})
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def tick(self) -> int:
        return await self.sweep() + await self.weekly()

    async def sweep(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            new = await store.sweep_reminders(conn, now=self.clock.now())
        return len(new)

    async def weekly(self) -> int:
        s = self.settings
        quiet = logic.Quiet(s.quiet_start, s.quiet_end)
        fires = logic.weekly_fires(self.clock.now(), logic.parse_weekly(s.weekly_reminders),
                                   missing_grace=timedelta(seconds=s.missing_list_grace_s))
        if not fires:
            return 0
        configs = self.config.current
        today = self.clock.now().date()
        owed: list[logic.Owed] = []
        async with self.pool.acquire() as conn:
            for fire in fires:
                for slug in configs:
                    cfg = configs[slug]
                    if not cfg.task_force.is_active(today):
                        continue
                    members = [m.id for m in cfg.task_force.active_members()]
                    reported = await store.reported_members(
                        conn, week_label=fire.window.label, member_ids=members)
                    owed += logic.weekly_messages(fire, cfg, reported, quiet=quiet)
            async with conn.transaction():
                new = await store.insert_owed(conn, owed=owed)
        self.metrics.held(new)
        return len(new)
