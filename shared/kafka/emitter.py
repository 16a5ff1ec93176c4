"""The emitter: what a batch publishes, acknowledged together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from shared.events import Envelope, EventData, encode_body, encode_headers
from shared.kafka.producer import Producer, retrieve
from shared.records import RecordBatches


class Emitter:
    """Publishes the messages of one batch concurrently and awaits their
    acknowledgements together, which is what makes batching fast without giving
    up at-least-once: `flush()` returns only once the broker has every message.

    `emit` and `emit_raw` hand each message to the producer at once; `queue` keeps
    record batches already encoded (`Producer.record_batches`, for a consumer with
    many outputs per batch, like the router) until `flush` sends them. Queued
    messages therefore leave after those emitted directly, whatever the call order."""

    def __init__(self, producer: Producer, *, source: str) -> None:
        self.producer = producer
        self.source = source
        self._pending: list[asyncio.Future[Any]] = []
        self._queued: list[RecordBatches] = []

    async def emit(
        self,
        data: EventData,
        *,
        event_id: str,
        topic: str | None = None,
        time: datetime | None = None,
    ) -> None:
        env: Envelope[EventData] = Envelope(
            id=event_id, source=self.source, time=time or datetime.now(UTC), data=data
        )
        await self.emit_raw(
            topic or data.topic, data.key().encode(), encode_body(data), encode_headers(env)
        )

    async def emit_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: dict[str, str]
    ) -> None:
        self._pending.append(await self.producer.send(topic, value, key=key, headers=headers))

    def queue(self, batches: RecordBatches) -> None:
        self._queued.append(batches)

    async def flush(self) -> None:
        queued, self._queued = self._queued, []
        for batches in queued:
            self._pending += await self.producer.send_records(batches)
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)

    def abandon(self) -> None:
        """Stop waiting for what was emitted. A queued message cannot be taken back, and
        need not be: a retry re-emits it under the same event id, which consumers skip."""
        self._queued = []
        for fut in self._pending:
            fut.add_done_callback(retrieve)
        self._pending = []


