"""The batch processor: decode, handle (or dead-letter), flush what was emitted, and
let the ack policy commit (`COMMIT_AFTER_EFFECTS`); an infrastructure failure pauses
with backoff and sends the batch back (see shared/kafka/__init__.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Generic

from faststream import AckPolicy
from faststream.kafka.message import KafkaMessage

from shared.events import E, Envelope
from shared.kafka.consumed import Record, records_of
from shared.kafka.dead_letter import INFRA_ERRORS, DeadLetters, Handler
from shared.kafka.emitter import Emitter
from shared.kafka.lag import record_lag
from shared.kafka.producer import Producer
from shared.metrics import ConsumerMetrics
from shared.retry import backoff

log = logging.getLogger("thaogo.kafka")

COMMIT_AFTER_EFFECTS = AckPolicy.NACK_ON_ERROR
"""Commit after the handler's effects are durable; on an error, seek back and retry."""


@dataclass
class BatchProcessor(Generic[E]):
    """Wires one handler into a FastStream batch subscriber (see shared/kafka/__init__.py)."""

    group_id: str
    model: type[E]
    handle: Handler[E]
    producer: Producer
    metrics: ConsumerMetrics
    source: str
    max_backoff_s: float = 5.0
    _failures: int = field(default=0, init=False)
    _dead_letters: DeadLetters = field(init=False)

    def __post_init__(self) -> None:
        self._dead_letters = DeadLetters(group=self.group_id, metrics=self.metrics)

    async def __call__(self, message: KafkaMessage) -> None:
        records = records_of(message)
        started = time.perf_counter()
        try:
            await self.process(records)
        except INFRA_ERRORS as e:
            # Seek back (the ack policy nacks) after a pause, so an outage is not a hot loop.
            await self._pause(e)
            raise
        self._failures = 0
        self.metrics.batch_seconds.labels(self.group_id).observe(time.perf_counter() - started)
        await self._record_lag(message, records)

    async def process(self, records: list[Record]) -> None:
        emitter = Emitter(self.producer, source=self.source)
        good = await self._decode(records, emitter)
        refused = 0
        try:
            duplicates = await self.handle([env for _, env in good], emitter)
        except INFRA_ERRORS:
            emitter.abandon()
            raise
        except Exception:
            log.exception("batch handler failed; retrying record by record",
                          extra={"group": self.group_id})
            duplicates, refused = await self._one_by_one(good, emitter)
        await emitter.flush()
        self._count(records, len(good), duplicates, refused)

    async def _decode(
        self, records: list[Record], emitter: Emitter
    ) -> list[tuple[Record, Envelope[E]]]:
        return await self._dead_letters.decode(self.model, records, emitter)

    async def _one_by_one(
        self, good: list[tuple[Record, Envelope[E]]], emitter: Emitter
    ) -> tuple[int, int]:
        """Returns (duplicates, dead-lettered)."""
        return await self._dead_letters.handle_one_by_one(self.handle, good, emitter)

    def _count(self, records: list[Record], decoded: int, duplicates: int, refused: int) -> None:
        topic = records[0].topic if records else ""
        processed = decoded - duplicates - refused
        if processed:
            self.metrics.consumed.labels(topic, "processed").inc(processed)
        if duplicates:
            self.metrics.consumed.labels(topic, "duplicate").inc(duplicates)

    async def _pause(self, e: BaseException) -> None:
        self._failures += 1
        delay = backoff(self._failures + 1, base_s=0.1, cap_s=self.max_backoff_s)
        log.warning("batch failed, will retry",
                    extra={"group": self.group_id, "error": type(e).__name__,
                           "retry_in_s": round(delay, 2)})
        await asyncio.sleep(delay)

    async def _record_lag(self, message: KafkaMessage, records: list[Record]) -> None:
        consumer: Any = getattr(message, "consumer", None)
        if consumer is None or not records:
            return
        await record_lag(consumer, self.metrics.lag, self.group_id)
