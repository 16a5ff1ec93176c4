"""The pipelined processor: the next batch is prepared while the previous ones' effects
settle, and batches commit in order (shared/kafka/commit.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from faststream.kafka.message import KafkaMessage

from shared.events import E, Envelope
from shared.kafka.commit import Rewound, commit, rewind
from shared.kafka.consumed import Record, records_of
from shared.kafka.dead_letter import INFRA_ERRORS
from shared.kafka.emitter import Emitter
from shared.kafka.processor import BatchProcessor

log = logging.getLogger("thaogo.kafka")


@dataclass
class Prepared:
    """A batch whose effects are decided, encoded and ready, but not yet applied."""

    duplicates: int
    apply: Callable[[], Awaitable[None]]  # makes them durable; idempotent like a handler


Preparer = Callable[[list[Envelope[E]], Emitter, AbstractSet[str]], Awaitable[Prepared]]
"""Decides a batch's effects without applying them (no write, no flush). The third
argument holds the event ids of the batch in flight, being applied meanwhile: those are
duplicates too (the same event twice in a row), though not yet recorded as applied."""


@dataclass(frozen=True, slots=True)
class _Flight:
    task: asyncio.Task[Rewound | None]  # None once applied and committed
    ids: frozenset[str]


@dataclass(kw_only=True)
class PipelinedProcessor(BatchProcessor[E]):
    """A `BatchProcessor` that prepares the next batch while the broker and the database
    take the previous ones' effects: for a consumer whose batches are mostly CPU
    (decode, decide, encode) and then mostly waiting (acknowledgements, commit), the two
    overlap instead of taking turns.

    Up to `depth` batches are in flight at once. One was not enough for the router:
    a batch's effects took longer to settle (a produce round trip or two, then the
    database's statement and commit) than the next batch took to prepare, and the
    process sat idle for a third of each cycle (measured).

    The guarantee is the same as the sequential processor's: a batch's offsets are
    committed only after its effects are durable, and in order: each batch in flight
    waits for the one before it before committing. If a batch fails, it and every batch
    behind it (in flight or being prepared) are read again from their first offsets,
    or from where the failed batch rewound a partition they share (rewound by seeking,
    as FastStream's nack does); their effects are idempotent, so the ones that were
    applied meanwhile are skipped the second time. Effects that fail for a reason other
    than the infrastructure send the batches after them through the one-at-a-time
    path, which dead-letters what cannot be applied.

    Subscribe it with `COMMIT_IN_ORDER_AFTER_EFFECTS`, and call `drain()` before the
    broker stops so that the last batches are committed rather than read again."""

    prepare: Preparer[E]
    depth: int = 2
    _in_flight: deque[_Flight] = field(default_factory=deque, init=False)
    _careful: bool = field(default=False, init=False)
    _closing: bool = field(default=False, init=False)

    async def __call__(self, message: KafkaMessage) -> None:
        consumer: AIOKafkaConsumer = message.consumer
        records = records_of(message)
        if self._closing or not records:
            return  # not committed: read again by whoever owns these partitions next
        started = time.perf_counter()
        emitter = Emitter(self.producer, source=self.source)
        if self._careful:
            if await self._settle_or_rewind(consumer, records, room=0):
                self._careful = False
                await self._sequentially(consumer, message, records, started, emitter)
            return
        good: list[tuple[Record, Envelope[E]]] | None = None
        try:
            good = await self._decode(records, emitter)
            in_flight_ids = frozenset().union(*(f.ids for f in self._in_flight))
            prepared = await self.prepare([env for _, env in good], emitter, in_flight_ids)
        except INFRA_ERRORS as e:
            emitter.abandon()
            if await self._settle_or_rewind(consumer, records, room=0):
                self._rewind(consumer, records)
            await self._pause(e)
            return
        except Exception:
            log.exception("batch preparation failed; applying it record by record",
                          extra={"group": self.group_id})
            if await self._settle_or_rewind(consumer, records, room=0):
                await self._sequentially(consumer, message, records, started, emitter, good)
            return
        if not await self._settle_or_rewind(consumer, records, room=self.depth - 1):
            emitter.abandon()  # nothing of it was applied; it comes again
            return
        if self._closing:
            emitter.abandon()
            return  # drained meanwhile: left uncommitted, read again
        before = self._in_flight[-1].task if self._in_flight else None
        self._in_flight.append(_Flight(
            asyncio.create_task(self._apply(consumer, records, emitter, prepared, len(good),
                                            started, before)),
            frozenset(env.id for _, env in good)))
        await self._record_lag(message, records)

    async def drain(self) -> None:
        """Stop taking batches and finish (apply and commit) the ones in flight."""
        self._closing = True
        while self._in_flight:
            await self._in_flight.popleft().task

    async def _settle_or_rewind(self, consumer: AIOKafkaConsumer, records: list[Record], *,
                                room: int) -> bool:
        """Settle the oldest batches in flight until at most `room` are left. If one of
        them failed, settle them all and rewind `records` too (behind them, they must
        come again after them) and return False."""
        while len(self._in_flight) > room:
            rewound = await self._in_flight.popleft().task
            if rewound is not None:
                # The batches behind it rewind themselves, chained to it. Wait for them
                # all: the next batch must not chain onto a failure (and rewind) again.
                while self._in_flight:
                    rewound = await self._in_flight.popleft().task or rewound
                self._rewind(consumer, records, behind=rewound)
                return False
        return True

    async def _apply(
        self, consumer: AIOKafkaConsumer, records: list[Record], emitter: Emitter,
        prepared: Prepared, decoded: int, started: float,
        before: asyncio.Task[Rewound | None] | None,
    ) -> Rewound | None:
        """Apply a batch's effects, then commit it once the batch before it is committed.
        Returns None, or where it rewound its partitions if it or a batch before it
        failed."""
        failure: BaseException | None = None
        try:
            await prepared.apply()
            await emitter.flush()
        except Exception as e:
            emitter.abandon()
            failure = e
        behind = await before if before is not None else None
        if failure is None and behind is None:
            await self._finish(consumer, records, decoded, prepared.duplicates, 0, started)
            return None
        rewound = self._rewind(consumer, records, behind=behind)
        if isinstance(failure, INFRA_ERRORS):
            await self._pause(failure)
        elif failure is not None:
            log.error("batch effects failed; retrying record by record",
                      exc_info=failure, extra={"group": self.group_id})
            self._careful = True
        return rewound

    async def _sequentially(
        self, consumer: AIOKafkaConsumer, message: KafkaMessage, records: list[Record],
        started: float, emitter: Emitter, good: list[tuple[Record, Envelope[E]]] | None = None,
    ) -> None:
        """The batch through `handle`, one record at a time, then committed."""
        try:
            if good is None:
                good = await self._decode(records, emitter)
            duplicates, refused = await self._one_by_one(good, emitter)
            await emitter.flush()
        except INFRA_ERRORS as e:
            emitter.abandon()
            self._rewind(consumer, records)
            await self._pause(e)
            return
        await self._finish(consumer, records, len(good), duplicates, refused, started)
        await self._record_lag(message, records)

    def _rewind(self, consumer: AIOKafkaConsumer, records: list[Record], *,
                behind: Rewound | None = None) -> Rewound:
        return rewind(consumer, records, behind=behind)

    async def _finish(self, consumer: AIOKafkaConsumer, records: list[Record], decoded: int,
                      duplicates: int, refused: int, started: float) -> None:
        """A batch's effects are durable: commit its offsets and count it."""
        self._failures = 0
        await commit(consumer, records, group=self.group_id)
        self._count(records, decoded, duplicates, refused)
        self.metrics.batch_seconds.labels(self.group_id).observe(time.perf_counter() - started)
