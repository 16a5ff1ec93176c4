"""Reporting's consumers: record each event once, then project it."""

from __future__ import annotations

from dataclasses import dataclass

from services.reporting import store
from shared import topics
from shared.events import DifficultyAssigned, DifficultyReceived, Envelope
from shared.kafka import Emitter
from shared.service import Runtime


@dataclass
class ReportingHandlers:
    rt: Runtime

    async def on_received(
        self, batch: list[Envelope[DifficultyReceived]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.record_events(conn, topic=topics.DIFFICULTY_RECEIVED,
                                            events=batch)  # type: ignore[arg-type]
            await store.project_received(
                conn, difficulties=[e.data for e in batch if e.id in new]
            )
        return len(batch) - len(new)

    async def on_assigned(
        self, batch: list[Envelope[DifficultyAssigned]], emitter: Emitter
    ) -> int:
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.record_events(conn, topic=topics.DIFFICULTY_ASSIGNED,
                                            events=batch)  # type: ignore[arg-type]
            await store.project_assigned(
                conn, assignments=[e.data for e in batch if e.id in new]
            )
        return len(batch) - len(new)
