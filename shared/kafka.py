"""Kafka plumbing every service shares: the broker factory, the emitter and the
batch processor that turns a pure-ish handler into an at-least-once consumer.

Commit policy (named, deliberate): `COMMIT_AFTER_EFFECTS`. A batch's offsets are
committed only after the handler returned, that is after its database
transaction committed and every message it emitted was acknowledged by the
broker. A crash before the commit replays the batch; consumers are idempotent
on the CloudEvents id, and producers derive ids from causes, so a replay has no
second effect. The embedded broker has no idempotent producer, so nothing here
relies on broker-side exactly-once.

Failures are sorted in two:
- infrastructure (database or broker unreachable, timeouts): the batch is
  retried with capped exponential backoff, forever, because the data is fine;
- the data (cannot be decoded, or the handler raised on it): that record, and
  only it, goes to `<topic>.dlq` with the reason in headers; the rest proceeds.
  A message for a topic the cluster does not have (`MissingTopic`: an agency added
  to a configuration whose topic nobody declared) is the data's too: waiting does not
  create the topic where auto-creation is off, so it is dead-lettered and counted
  (`thaogo_missing_topic_messages_total`), not retried as if the broker were down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from aiokafka.producer.message_accumulator import BatchBuilder
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage as KafkaMessageParam
from faststream.kafka.message import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.security import parse_security
from faststream.message import StreamMessage
from faststream.security import BaseSecurity
from murmurhash2 import murmurhash2
from prometheus_client import CollectorRegistry

from shared import db, topics
from shared.events import DecodeError, E, Envelope, EventData, decode, encode_body, encode_headers
from shared.metrics import ConsumerMetrics
from shared.records import RecordBatches, build, now_ms
from shared.retry import backoff
from shared.settings import DEFAULT_COMPRESSION, Compression

log = logging.getLogger("thaogo.kafka")

COMMIT_AFTER_EFFECTS = AckPolicy.NACK_ON_ERROR
"""Commit after the handler's effects are durable; on an error, seek back and retry."""

INFRA_ERRORS: tuple[type[BaseException], ...] = (*db.TRANSIENT_ERRORS, KafkaError)

# How long the broker may hold a fetch open waiting for data. aiokafka's 500 ms default
# is paid on every hop on the embedded broker, which answers at the deadline rather
# than at the first byte (measured: a bare hop's p50 130 ms at 500, 9 ms at 10). Each
# hop of difficulty -> agency topic pays it; idle consumers poll a little more often.
FETCH_MAX_WAIT_MS = 50

# The largest record batch a producer builds. A produce request carries one batch a
# partition, so what one partition takes beyond this waits a round trip; at 256 KiB the
# router's thousand-difficulty batches needed up to nine trips in a row. Just under the
# 1 MiB that Apache Kafka accepts by default (message.max.bytes, max.request.size).
MAX_BATCH_BYTES = 1_000_000


def make_broker(
    bootstrap: str, *, client_id: str, registry: CollectorRegistry,
    security: BaseSecurity | None = None, graceful_timeout: float = 20.0,
    compression: Compression = DEFAULT_COMPRESSION,
) -> KafkaBroker:
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        security=security,
        # The embedded broker rejects InitProducerId; duplicates are handled by
        # idempotent consumers instead (see the module docstring).
        enable_idempotence=False,
        acks="all",
        linger_ms=5,
        max_batch_size=MAX_BATCH_BYTES,
        compression_type=codec(compression),
        request_timeout_ms=30_000,
        graceful_timeout=graceful_timeout,
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=client_id)],
        logger=logging.getLogger(f"thaogo.faststream.{client_id}"),
        # One line per message would drown the logs at this volume; DEBUG shows them.
        log_level=logging.DEBUG,
    )


def codec(compression: Compression = DEFAULT_COMPRESSION) -> Literal["gzip", "lz4", "zstd"] | None:
    """The producers compress their record batches, zstd unless configured otherwise.
    The router's output is JSON that repeats itself (a difficulty in each of its agency
    tasks) and leaves in record batches of up to a megabyte: compressed, a thousand
    difficulties' assignments to one partition leave in one produce request instead of
    three, the broker takes a fraction of the bytes (a seventeenth for the benchmark's
    difficulties, whose texts repeat; real ones compress less), and the router's batches
    settle sooner (measured: 12-18% more difficulties a second, and the broker's CPU
    from 0.21 to 0.07 of a core)."""
    return None if compression == "none" else compression


# Kafka's murmur2 is MurmurHash2 with this seed (the Java client's, and aiokafka's).
_MURMUR2_SEED = 0x9747B28C


def murmur2(key: bytes) -> int:
    """Kafka's murmur2 of a key, which a test holds to aiokafka's `murmur2`. In C: the
    router hashes a new key for every difficulty, and Python's took 3.5 µs a key, 4% of
    the router's time (py-spy); this takes 0.2."""
    return murmurhash2(key, _MURMUR2_SEED)


def key_partitioner(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
) -> int:
    """aiokafka's default (murmur2 of the key, as the Java client) with the hash in C.
    The same key goes to the same partition."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]


class MissingTopic(Exception):
    """Messages addressed to topics the cluster does not have. Not a `KafkaError`: the
    broker answered, and the batch would fail the same way however long it is retried."""

    def __init__(self, missing: Iterable[str]) -> None:
        self.topics = sorted(missing)
        super().__init__(f"no such topic: {', '.join(self.topics)} (not declared: see "
                         "`thaogo topics`, shared/topics.py)")


class Producer:
    """The service's own aiokafka producer for what its consumers and outbox emit.

    FastStream's `publish` builds a command and runs its middlewares for every
    message; at several outputs per input that was the router's bottleneck
    (measured: 1,343 difficulties/s next to a bare loop's 25,066/s). Sending
    straight to aiokafka and awaiting the acknowledgements together costs a few
    microseconds a message and keeps the same at-least-once guarantee."""

    def __init__(
        self, bootstrap: str, *, client_id: str, security: BaseSecurity | None = None,
        compression: Compression = DEFAULT_COMPRESSION,
    ) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.security = security
        self.compression = compression
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            **parse_security(self.security),
            acks="all",
            enable_idempotence=False,  # rejected by the embedded broker; see above
            linger_ms=5,
            max_batch_size=MAX_BATCH_BYTES,
            compression_type=codec(self.compression),
            request_timeout_ms=30_000,
            partitioner=key_partitioner,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(
        self, topic: str, value: bytes | None, *, key: bytes | None, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        if self._producer is None:
            raise KafkaError("producer not started")
        if self._producer.client.cluster.partitions_for_topic(topic) is None:
            await self._require([topic])
        fut: asyncio.Future[Any] = await self._producer.send(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )
        return fut

    async def partitions(self, topics_: Iterable[str]) -> dict[str, list[int]]:
        """Each topic's partitions, from the client's metadata (fetched for a topic it
        has not seen yet): what `RecordBatches` partitions over."""
        producer = self._producer
        if producer is None:
            raise KafkaError("producer not started")
        cluster = producer.client.cluster
        wanted = list(topics_)
        if unseen := [t for t in wanted if cluster.partitions_for_topic(t) is None]:
            await self._require(unseen)
        return {topic: sorted(cluster.partitions_for_topic(topic)
                              or await producer.partitions_for(topic))
                for topic in wanted}

    async def _require(self, unseen: Sequence[str]) -> None:
        """Raise `MissingTopic` for those of `unseen` the cluster does not have.

        aiokafka, sending to a topic it has no metadata for, asks for that topic until its
        request timeout and then raises a `KafkaError`, the same as when no broker
        answers, so a missing topic would be retried forever as an outage (and asking
        by name creates the topic where auto-creation is on, so that whether a topic must
        be declared would depend on the cluster). The whole cluster's metadata, one
        request, tells the two apart: no broker answers (a `KafkaError`), or one does
        and the topic is not there."""
        assert self._producer is not None
        present = (await self._producer.client.fetch_all_metadata()).topics()
        if missing := [t for t in unseen if t not in present]:
            raise MissingTopic(missing)

    def record_batches(self, partitions: Mapping[str, Sequence[int]]) -> RecordBatches:
        """Record batches partitioned as `send` partitions (`key_partitioner`)."""
        return RecordBatches(partitions, max_bytes=MAX_BATCH_BYTES,
                             partitioner=key_partitioner)

    async def send_records(self, batches: RecordBatches) -> list[asyncio.Future[Any]]:
        """Publish record batches; a future for each, acknowledged all or nothing, which
        is all at-least-once needs.

        They are built (compressed, checksummed) on a worker thread when they are big
        enough to be worth the hand-over: the compressor releases the GIL, so the event
        loop prepares the next batch meanwhile.

        The partitions are sent side by side, not one after another: aiokafka takes a
        partition's next batch only once its previous one has left in a produce request,
        and it has one request in flight per broker. Sent in turn, a partition holding
        several batches (a thousand difficulties from one input partition all land on
        one partition of `difficulty.assigned.v1`) held every partition after it back by
        a round trip per batch (measured: 150-200 ms of a 250 ms cycle). Side by side,
        each request carries the next batch of every partition."""
        producer = self._producer
        if producer is None:
            raise KafkaError("producer not started")
        open_batches = batches.batches()
        if not open_batches:
            return []
        timestamp_ms = now_ms()

        def build_all() -> list[bytes]:
            return [build(b.records(), b.count, timestamp_ms=timestamp_ms,
                          compression=self.compression) for b in open_batches]

        if sum(b.size for b in open_batches) >= _BUILD_ON_A_THREAD_BYTES:
            built = await asyncio.to_thread(build_all)
        else:
            built = build_all()
        by_partition: dict[tuple[str, int], list[BatchBuilder]] = {}
        for b, data in zip(open_batches, built, strict=True):
            by_partition.setdefault((b.topic, b.partition), []).append(_Built(data, b.count))
        futures: list[asyncio.Future[Any]] = []

        async def send(topic: str, partition: int, of: list[BatchBuilder]) -> None:
            for batch in of:
                futures.append(await producer.send_batch(batch, topic, partition=partition))

        outcomes = await asyncio.gather(
            *(send(topic, partition, of) for (topic, partition), of in by_partition.items()),
            return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if failed:
            for fut in futures:
                fut.add_done_callback(_retrieve)  # what left is abandoned with the batch
            raise failed[0]
        return futures


# Batches smaller than this (an escalation's few messages) are built in place: a thread
# hand-over costs more than compressing them.
_BUILD_ON_A_THREAD_BYTES = 64 * 1024


class _Built(BatchBuilder):  # type: ignore[misc]  # aiokafka is untyped
    """A record batch built by `shared.records`, handed to aiokafka's accumulator as the
    `BatchBuilder` it takes: one already built, which is what the sender asks it for.
    Relies on the accumulator's use of `_build`, `size`, `record_count` and `closed`
    (aiokafka is pinned to 0.14; tests/broker/test_emitter.py sends them through the
    real broker and reads them back)."""

    def __init__(self, data: bytes, count: int) -> None:  # no builder: nothing to append
        self._buffer = data
        self._relative_offset = count
        self._closed = True


class Record(Protocol):
    """A consumed record, as aiokafka's `ConsumerRecord` has it (used as it comes: a copy
    of every record was 3% of the router's CPU, measured)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


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
            fut.add_done_callback(_retrieve)
        self._pending = []


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


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


Handler = Callable[[list[Envelope[E]], Emitter], Awaitable[int]]
"""Applies a batch of decoded events; returns how many were duplicates (already applied).
It must be idempotent on `Envelope.id` and make its effects durable before returning
(database committed; emitted messages are flushed by the processor afterwards)."""


def _records(message: KafkaMessage) -> list[Record]:
    raw = message.raw_message
    return list(raw) if isinstance(raw, tuple) else [raw]


@dataclass
class BatchProcessor(Generic[E]):
    """Wires one handler into a FastStream batch subscriber (see the module docstring)."""

    group_id: str
    model: type[E]
    handle: Handler[E]
    producer: Producer
    metrics: ConsumerMetrics
    source: str
    max_backoff_s: float = 5.0
    _failures: int = field(default=0, init=False)

    async def __call__(self, message: KafkaMessage) -> None:
        records = _records(message)
        started = time.perf_counter()
        try:
            await self.process(records)
        except INFRA_ERRORS as e:
            # Seek back (the ack policy nacks) after a pause, so an outage is not a hot loop.
            await self._pause(e)
            raise
        self._failures = 0
        self.metrics.batch_seconds.labels(self.group_id).observe(time.perf_counter() - started)
        self._record_lag(message, records)

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
            # Something in the data made the handler fail: find which record, one at a
            # time, so one poison event does not hold its partition up.
            log.exception("batch handler failed; retrying record by record",
                          extra={"group": self.group_id})
            duplicates, refused = await self._one_by_one(good, emitter)
        await emitter.flush()
        self._count(records, len(good), duplicates, refused)

    async def _decode(
        self, records: list[Record], emitter: Emitter
    ) -> list[tuple[Record, Envelope[E]]]:
        good: list[tuple[Record, Envelope[E]]] = []
        for rec in records:
            try:
                good.append((rec, decode(self.model, rec.value, rec.headers)))
            except DecodeError as e:
                await self._dead_letter(emitter, rec, f"decode: {e}")
        return good

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

    async def _one_by_one(
        self, good: list[tuple[Record, Envelope[E]]], emitter: Emitter
    ) -> tuple[int, int]:
        """Returns (duplicates, dead-lettered)."""
        duplicates = refused = 0
        for rec, env in good:
            try:
                duplicates += await self.handle([env], emitter)
            except INFRA_ERRORS:
                emitter.abandon()
                raise
            except Exception as e:
                refused += 1
                if isinstance(e, MissingTopic):
                    self.metrics.missing_topic.labels(rec.topic).inc()
                await self._dead_letter(emitter, rec, f"handler: {type(e).__name__}: {e}")
        return duplicates, refused

    async def _dead_letter(self, emitter: Emitter, rec: Record, reason: str) -> None:
        log.warning(
            "message dead-lettered",
            extra={"group": self.group_id, "topic": rec.topic, "partition": rec.partition,
                   "offset": rec.offset, "reason": reason[:300]},
        )
        await dead_letter(emitter, rec, group=self.group_id, reason=reason)
        self.metrics.dead_lettered.labels(rec.topic).inc()
        self.metrics.consumed.labels(rec.topic, "dead_lettered").inc()

    def _record_lag(self, message: KafkaMessage, records: list[Record]) -> None:
        consumer: Any = getattr(message, "consumer", None)
        if consumer is None or not records:
            return
        lag_by_topic: dict[str, int] = {}
        try:
            for tp in consumer.assignment():
                high = consumer.highwater(tp)
                pos = consumer._subscription.subscription.assignment.state_value(tp)
                if high is None or pos is None or pos.position is None:
                    continue
                lag_by_topic[tp.topic] = lag_by_topic.get(tp.topic, 0) + max(0, high - pos.position)
        except Exception:  # lag is best effort; never fail a batch over a gauge
            return
        for topic, lag in lag_by_topic.items():
            self.metrics.lag.labels(self.group_id, topic).set(lag)


@dataclass
class Prepared:
    """A batch whose effects are decided, encoded and ready, but not yet applied."""

    duplicates: int
    apply: Callable[[], Awaitable[None]]  # makes them durable; idempotent like a handler


Preparer = Callable[[list[Envelope[E]], Emitter, AbstractSet[str]], Awaitable[Prepared]]
"""Decides a batch's effects without applying them (no write, no flush). The third
argument holds the event ids of the batch in flight, being applied meanwhile: those are
duplicates too (the same event twice in a row), though not yet recorded as applied."""

COMMIT_IN_ORDER_AFTER_EFFECTS = AckPolicy.MANUAL
"""The pipelined processor's policy: it commits each batch's own offsets itself, once
that batch's effects are durable and every earlier batch is committed."""


Rewound = dict[TopicPartition, int]
"""Where a failed batch sent each of its partitions back (its first offsets there, or
earlier, where a failed batch before it had)."""


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
        records = _records(message)
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
        self._record_lag(message, records)

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
        self._record_lag(message, records)

    def _rewind(self, consumer: AIOKafkaConsumer, records: list[Record], *,
                behind: Rewound | None = None) -> Rewound:
        """Seek each partition back to the batch's first record there, or further back to
        where a failed batch before it (`behind`) rewound it: this batch may hold that
        batch's records again, fetched after its rewind. Returns every partition's
        rewind, `behind`'s included, for the batches behind this one."""
        earliest: Rewound = dict(behind or {})
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            if r.offset < earliest.get(tp, r.offset + 1):
                earliest[tp] = r.offset
        for tp, offset in earliest.items():
            with contextlib.suppress(IllegalStateError):  # revoked meanwhile: not ours
                consumer.seek(tp, offset)
        return earliest

    async def _finish(self, consumer: AIOKafkaConsumer, records: list[Record], decoded: int,
                      duplicates: int, refused: int, started: float) -> None:
        """A batch's effects are durable: commit its offsets and count it."""
        self._failures = 0
        await self._commit(consumer, records)
        self._count(records, decoded, duplicates, refused)
        self.metrics.batch_seconds.labels(self.group_id).observe(time.perf_counter() - started)

    async def _commit(self, consumer: AIOKafkaConsumer, records: list[Record]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
        try:
            await consumer.commit(offsets)
        except (KafkaError, IllegalStateError) as e:
            # The effects are durable; only the bookmark is lost (a rebalance took the
            # partitions, or the broker is away). Whoever reads these records again
            # finds them applied and skips them.
            log.info("offsets not committed; the batch will be read again and skipped",
                     extra={"group": self.group_id, "error": type(e).__name__})


def subscribe(
    broker: KafkaBroker,
    processor: BatchProcessor[Any],
    *,
    topic: str,
    group_id: str,
    ack_policy: AckPolicy,
    max_records: int = 500,
    description: str = "",
) -> None:
    """Register a batch subscriber. `group_id` and `ack_policy` are required on purpose:
    each service states its consumer group and commit decision where it wires it."""
    if group_id != processor.group_id:
        raise ValueError("group_id must match the processor's")
    if isinstance(processor, PipelinedProcessor) != (
            ack_policy is COMMIT_IN_ORDER_AFTER_EFFECTS):
        raise ValueError("a PipelinedProcessor commits itself: COMMIT_IN_ORDER_AFTER_EFFECTS, "
                         "and only it")

    # Annotated with FastStream's context marker: the handler takes the raw batch
    # message, not a decoded body, so that decoding failures reach the DLQ here.
    async def on_batch(message: KafkaMessageParam) -> None:
        await processor(message)

    # The alerts read these counters with increase(): a series must exist before its
    # first event, or the first dead letter after a deploy would raise nothing.
    processor.metrics.dead_lettered.labels(topic)
    processor.metrics.missing_topic.labels(topic)
    broker.subscriber(
        topic,
        group_id=group_id,
        ack_policy=ack_policy,
        batch=True,
        max_records=max_records,
        auto_offset_reset="earliest",
        max_poll_interval_ms=300_000,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        title=f"{group_id}:{topic}",
        description=description or processor.model.__doc__ or "",
        parser=_parse_batch,
        decoder=_undecoded,
    )(on_batch)


async def _parse_batch(
    records: tuple[ConsumerRecord[bytes, bytes], ...],
    parse_batch: Callable[[tuple[ConsumerRecord[bytes, bytes], ...]],
                          Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream's batch parser turns every record's headers into a dict of text, which
    nothing here reads (the processors decode the raw records themselves): 2% of the
    router's CPU, measured. It parses the first record only; the message then carries
    the whole batch, as FastStream's own would (the bodies for its metrics, the records
    for its nack)."""
    message = await parse_batch(records[:1])
    message.raw_message = records
    message.body = [r.value or b"" for r in records]
    return message


async def _undecoded(_: Any) -> None:
    """FastStream's decoder would `json.loads` every record of a batch for a body the
    handler never reads (it decodes the raw records itself, DLQ included): 5% of the
    router's time, measured."""
    return None


async def ensure_topics(
    bootstrap: str, specs: Sequence[topics.TopicSpec], *, security: BaseSecurity | None = None
) -> dict[str, str]:
    """Create missing topics; report each as created, ok, or a partition mismatch."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="thaogo-admin",
                                **parse_security(security))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(s.name, s.partitions, 1) for s in missing], timeout_ms=30_000
            )
        report = {s.name: "created" for s in missing}
        present = [s for s in specs if s.name in existing]
        if present:
            described = await admin.describe_topics([s.name for s in present])
            counts = {d["topic"]: len(d["partitions"]) for d in described}
            for s in present:
                n = counts.get(s.name, 0)
                report[s.name] = (
                    "ok" if n == s.partitions else f"has {n} partitions, want {s.partitions}"
                )
        return report
    finally:
        await admin.close()


__all__ = [
    "COMMIT_AFTER_EFFECTS",
    "COMMIT_IN_ORDER_AFTER_EFFECTS",
    "MAX_BATCH_BYTES",
    "BatchProcessor",
    "Emitter",
    "MissingTopic",
    "PipelinedProcessor",
    "Prepared",
    "Producer",
    "Record",
    "make_broker",
    "subscribe",
]
