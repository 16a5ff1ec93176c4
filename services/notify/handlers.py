"""Notify's consumers: turn events into owed messages, claimed once by key."""

from __future__ import annotations

from dataclasses import dataclass

from services.notify import logic, store
from shared.events import DifficultyAssigned, Envelope
from shared.kafka import Emitter
from shared.service import Runtime


@dataclass
class NotifyHandlers:
    rt: Runtime

    async def on_assigned(
        self, batch: list[Envelope[DifficultyAssigned]], emitter: Emitter
    ) -> int:
        rows = [
            {
                "message_key": logic.assignment_message_key(e.data),
                "kind": "assignment",
                "recipient_id": e.data.member_id or e.data.agency_id,
                "channel": "log",
                "province_code": e.data.province_code,
                "difficulty_id": e.data.difficulty_id,
                "payload": {"assignment_id": str(e.data.assignment_id),
                            "tracking_code": e.data.tracking_code,
                            "urgency": e.data.urgency.value, "rule": e.data.rule},
            }
            for e in batch
        ]
        async with self.rt.db().acquire() as conn, conn.transaction():
            new = await store.claim_messages(conn, rows=rows)
        return len(batch) - new
