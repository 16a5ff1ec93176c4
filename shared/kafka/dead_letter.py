"""Decode or dead-letter, handle or dead-letter: a record the data is wrong in goes to
`<topic>.dlq` with the reason in headers, and only it; the rest of its batch proceeds."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka.errors import KafkaError

from shared import db, topics
from shared.events import DecodeError, E, Envelope, decode
from shared.kafka.consumed import Record
from shared.kafka.emitter import Emitter
from shared.kafka.producer import MissingTopic
from shared.metrics import ConsumerMetrics

log = logging.getLogger("thaogo.kafka")

INFRA_ERRORS: tuple[type[BaseException], ...] = (*db.TRANSIENT_ERRORS, KafkaError)
"""Failures of the infrastructure, not of the data: the batch is retried, not
dead-lettered."""

Handler = Callable[[list[Envelope[E]], Emitter], Awaitable[int]]
"""Applies a batch of decoded events; returns how many were duplicates (already applied).
It must be idempotent on `Envelope.id` and make its effects durable before returning
(database committed; emitted messages are flushed by the processor afterwards)."""


async def dead_letter(emitter: Emitter, rec: Record, *, group: str, reason: str) -> None:
    """Send `rec` to its topic's DLQ. A DLQ that does not exist leaves nowhere to put the
    record: that is retried (a `KafkaError`) until an operator creates it."""
    headers = {k: v.decode("utf-8", "replace") for k, v in rec.headers}
    headers.update(
        {
            "x-dlq-reason": reason[:1000],
            "x-dlq-source-topic": rec.topic,
            "x-dlq-source-partition": str(rec.partition),
            "x-dlq-source-offset": str(rec.offset),
            "x-dlq-consumer-group": group,
        }
    )
    try:
        await emitter.emit_raw(topics.dlq(rec.topic), rec.key, rec.value, headers)
    except MissingTopic as e:
        raise KafkaError(str(e)) from e


class DeadLetters:
    """Dead-letters records of one consumer group, logged and counted."""

    def __init__(self, *, group: str, metrics: ConsumerMetrics) -> None:
        self.group = group
        self.metrics = metrics

    async def send(self, emitter: Emitter, rec: Record, reason: str) -> None:
        log.warning(
            "message dead-lettered",
            extra={"group": self.group, "topic": rec.topic, "partition": rec.partition,
                   "offset": rec.offset, "reason": reason[:300]},
        )
        await dead_letter(emitter, rec, group=self.group, reason=reason)
        self.metrics.dead_lettered.labels(rec.topic).inc()
        self.metrics.consumed.labels(rec.topic, "dead_lettered").inc()

    async def decode(self, model: type[E], records: Sequence[Record], emitter: Emitter
                     ) -> list[tuple[Record, Envelope[E]]]:
        """The records that decode as `model`, with their events; the others dead-lettered."""
        good: list[tuple[Record, Envelope[E]]] = []
        for rec in records:
            try:
                good.append((rec, decode(model, rec.value, rec.headers)))
            except DecodeError as e:
                await self.send(emitter, rec, f"decode: {e}")
        return good

    async def handle_one_by_one(
        self, handle: Handler[E], good: Sequence[tuple[Record, Envelope[E]]], emitter: Emitter
    ) -> tuple[int, int]:
        """Each event through `handle` alone, the ones it refuses dead-lettered (a batch
        failed on something in the data: this finds which record, so that one poison
        event does not hold its partition up). Returns (duplicates, dead-lettered)."""
        duplicates = refused = 0
        for rec, env in good:
            try:
                duplicates += await handle([env], emitter)
            except INFRA_ERRORS:
                emitter.abandon()
                raise
            except Exception as e:
                refused += 1
                if isinstance(e, MissingTopic):
                    self.metrics.missing_topic.labels(rec.topic).inc()
                await self.send(emitter, rec, f"handler: {type(e).__name__}: {e}")
        return duplicates, refused
