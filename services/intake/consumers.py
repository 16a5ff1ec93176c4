"""Intake's one Kafka subscriber: it learns assignments, so that an agency updates only
what it holds."""

from __future__ import annotations

from services.intake import store
from shared.events import DifficultyAssigned, Envelope
from shared.kafka import Emitter
from shared.service import Runtime


async def on_assigned(
    rt: Runtime, batch: list[Envelope[DifficultyAssigned]], emitter: Emitter
) -> int:
    async with rt.db().acquire() as conn, conn.transaction():
        return await store.record_assignments(conn, events=batch)
