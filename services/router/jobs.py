"""The router's background loops: membership moves, when the province file replaces or
removes a member (the rules in logic.py, the queries in store.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from services.router import logic, store
from services.router.metrics import RouterMetrics
from shared.events import DifficultyStatusChanged, Envelope
from shared.kafka import Emitter
from shared.provinces import ConfigHolder
from shared.service import Runtime

SOURCE = "thaogo/router"

log = logging.getLogger("thaogo.router.membership")


@dataclass
class Membership:
    rt: Runtime
    config: ConfigHolder
    metrics: RouterMetrics
    interval_s: float = 2.0
    chunk: int = 500

    async def on_status(
        self, batch: list[Envelope[DifficultyStatusChanged]], emitter: Emitter
    ) -> int:
        """Remember which difficulties are closed; idempotent by construction."""
        closing = [e.data for e in batch if e.data.status in logic.CLOSING]
        if closing:
            async with self.rt.db().acquire() as conn:
                await store.record_closures(conn, changes=closing)
        return 0

    async def reconcile(self) -> int:
        """Move every open member assignment whose holder left; returns how many moved."""
        configs = self.config.current
        ids = set().union(*(logic.holders(cfg) for cfg in configs.values()))
        async with self.rt.db().acquire() as conn:
            current = await store.open_member_assignments_elsewhere(conn, holder_ids=list(ids))
        new = logic.moves(current, configs, config_version=configs.version, now=datetime.now(UTC))
        for i in range(0, len(new), self.chunk):
            part = new[i: i + self.chunk]
            emitter = Emitter(self.rt.producer, source=SOURCE)
            for a in part:
                await emitter.emit(a, event_id=str(a.assignment_id), time=a.assigned_at)
                self.metrics.assignments.labels(a.agency_id, "membership", a.role.value).inc()
            await emitter.flush()
            async with self.rt.db().acquire() as conn, conn.transaction():
                await store.save_assignments(conn, assignments=part)
        if new:
            by_rule: dict[str, int] = {}
            for a in new:
                by_rule[a.rule] = by_rule.get(a.rule, 0) + 1
            log.info("member assignments moved", extra={"config_version": configs.version,
                                                        "moved": by_rule})
        return len(new)

    async def run(self, _: Runtime) -> None:
        """Reconcile at start, on each new configuration version and once after it."""
        done: str | None = None
        again = False
        while True:
            version = self.config.version
            if version != done or again:
                again = version != done
                await self.reconcile()
                done = version
            await asyncio.sleep(self.interval_s)
