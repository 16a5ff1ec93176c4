"""The shared consumer on the real broker: poison messages go to the DLQ with the
reason and the rest proceed; offsets are committed only after the handler's effects."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord
from prometheus_client import CollectorRegistry

from bench.common import difficulty
from shared import events, topics
from shared.events import DifficultyReceived, Envelope
from shared.kafka import (
    COMMIT_AFTER_EFFECTS,
    BatchProcessor,
    Emitter,
    Producer,
    make_broker,
    subscribe,
)
from shared.metrics import ConsumerMetrics
from tests.conftest import wait_until

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


async def _topic(bootstrap: str) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(name, 2, 1), NewTopic(topics.dlq(name), 1, 1)])
    await admin.close()
    return name



async def publish(bootstrap: str, topic: str, difficulties: list[DifficultyReceived], *,
                  then: Sequence[tuple[bytes, list[tuple[str, bytes]]]] = ()) -> list[str]:
    """Each difficulty as its service would publish it, then `then`'s raw (body, headers);
    returns the difficulties' event ids."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        ids = []
        for d in difficulties:
            env = events.new_envelope(d, source="test")
            ids.append(env.id)
            await producer.send_and_wait(topic, events.encode_body(d), key=d.key().encode(),
                                         headers=[(k, v.encode()) for k, v in
                                                  events.encode_headers(env).items()])
        for body, headers in then:
            await producer.send_and_wait(topic, body, key=b"x", headers=headers)
        return ids
    finally:
        await producer.stop()


async def dead_letter_reasons(bootstrap: str, topic: str, *, expected: int) -> list[str]:
    """The `x-dlq-reason` of what reached `topic`'s dead-letter topic (read until
    `expected` came or nothing more does), sorted."""
    dlq = AIOKafkaConsumer(topics.dlq(topic), bootstrap_servers=bootstrap,
                           auto_offset_reset="earliest", group_id=None)
    await dlq.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        while len(records) < expected:
            got = await dlq.getmany(timeout_ms=2000)
            if not got:
                break
            for rs in got.values():
                records += rs
    finally:
        await dlq.stop()
    return sorted(dict(r.headers)["x-dlq-reason"].decode() for r in records)

async def test_poison_messages_are_dead_lettered_and_the_rest_applied(
    kafka_bootstrap: str,
) -> None:
    topic = await _topic(kafka_bootstrap)
    group = f"g-{uuid.uuid4().hex[:6]}"
    good = [difficulty(i) for i in range(20)]
    poison_by_handler = good[7].difficulty_id
    applied: list[str] = []

    async def handle(batch: list[Envelope[DifficultyReceived]], emitter: Emitter) -> int:
        if any(e.data.difficulty_id == poison_by_handler for e in batch):
            raise ValueError("cannot route this one")
        dup = sum(1 for e in batch if e.id in applied)
        applied.extend(e.id for e in batch if e.id not in applied)
        return dup

    registry = CollectorRegistry()
    metrics = ConsumerMetrics.create(registry)
    broker = make_broker(kafka_bootstrap, client_id="test", registry=registry)
    emit = Producer(kafka_bootstrap, client_id="test-emit")
    subscribe(broker, BatchProcessor(group_id=group, model=DifficultyReceived, handle=handle,
                                     producer=emit, metrics=metrics, source="test"),
              topic=topic, group_id=group, ack_policy=COMMIT_AFTER_EFFECTS, max_records=50)

    sent_ids = await publish(kafka_bootstrap, topic, good, then=[(b"{not json", [
        ("ce_id", b"junk"), ("ce_type", DifficultyReceived.ce_type.encode())])])

    await emit.start()
    await broker.start()
    try:
        await wait_until(lambda: asyncio.sleep(0, len(applied) == 19), timeout=60)
    finally:
        await broker.stop()
        await emit.stop()

    assert sorted(applied) == sorted(i for n, i in enumerate(sent_ids) if n != 7)
    reasons = await dead_letter_reasons(kafka_bootstrap, topic, expected=2)
    assert len(reasons) == 2
    assert reasons[0].startswith("decode:") and reasons[1].startswith("handler: ValueError")

    # Committed past everything: a new consumer of the group has nothing left to read.
    check = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group,
                             enable_auto_commit=False)
    await check.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(2)]
        ends = await check.end_offsets(parts)
        for tp in parts:
            assert await check.committed(tp) == ends[tp]
    finally:
        await check.stop()
    sample = registry.get_sample_value
    assert sample("thaogo_dlq_messages_total", {"topic": topic}) == 2
    assert sample("thaogo_events_consumed_total", {"topic": topic, "outcome": "processed"}) == 19


async def test_a_message_for_a_missing_topic_is_a_data_error_not_an_outage(
    kafka_bootstrap: str,
) -> None:
    """A task for an agency whose topic was never created (the router's path: partitions
    first) and a message emitted to a missing topic go to the DLQ with the reason, counted
    for the alert, promptly; the rest of the batch is applied. Retried as an outage, they
    would hold their partition up for good."""
    topic = await _topic(kafka_bootstrap)
    group = f"g-{uuid.uuid4().hex[:6]}"
    nowhere = f"agency.nowhere-{uuid.uuid4().hex[:6]}.v1"
    elsewhere = f"test.never-created-{uuid.uuid4().hex[:6]}.v1"
    good = [difficulty(i) for i in range(10)]
    via_partitions, via_emit = good[3].difficulty_id, good[6].difficulty_id
    applied: list[str] = []

    async def handle(batch: list[Envelope[DifficultyReceived]], emitter: Emitter) -> int:
        for e in batch:
            if e.data.difficulty_id == via_partitions:
                await emitter.producer.partitions([topic, nowhere])  # one there, one not
            if e.data.difficulty_id == via_emit:
                await emitter.emit(e.data, event_id=e.id, topic=elsewhere)
        applied.extend(e.id for e in batch if e.id not in applied)
        return 0

    registry = CollectorRegistry()
    metrics = ConsumerMetrics.create(registry)
    broker = make_broker(kafka_bootstrap, client_id="test", registry=registry)
    emit = Producer(kafka_bootstrap, client_id="test-emit")
    subscribe(broker, BatchProcessor(group_id=group, model=DifficultyReceived, handle=handle,
                                     producer=emit, metrics=metrics, source="test"),
              topic=topic, group_id=group, ack_policy=COMMIT_AFTER_EFFECTS, max_records=50)
    sample = registry.get_sample_value
    # Both series exist before the first event: increase() sees the first one.
    assert sample("thaogo_dlq_messages_total", {"topic": topic}) == 0
    assert sample("thaogo_missing_topic_messages_total", {"topic": topic}) == 0

    sent_ids = await publish(kafka_bootstrap, topic, good)

    await emit.start()
    await broker.start()
    try:
        # Well inside aiokafka's 30 s wait for the metadata of a topic that never comes.
        await wait_until(lambda: asyncio.sleep(0, len(applied) == 8), timeout=20)
        await wait_until(lambda: asyncio.sleep(0, sample(
            "thaogo_dlq_messages_total", {"topic": topic}) == 2), timeout=20)
    finally:
        await broker.stop()
        await emit.stop()

    assert sorted(applied) == sorted(i for n, i in enumerate(sent_ids) if n not in (3, 6))
    reasons = await dead_letter_reasons(kafka_bootstrap, topic, expected=2)
    assert len(reasons) == 2
    assert sorted(r.partition(" (")[0] for r in reasons) == sorted(
        f"handler: MissingTopic: no such topic: {t}" for t in (nowhere, elsewhere))
    assert sample("thaogo_missing_topic_messages_total", {"topic": topic}) == 2
    # Nothing created them on the way: asking whether they exist creates nothing.
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        assert not {nowhere, elsewhere} & set(await admin.list_topics())
    finally:
        await admin.close()


async def test_the_lag_gauge_counts_what_the_group_has_yet_to_read(kafka_bootstrap: str) -> None:
    """`thaogo_consumer_lag_messages`, which the lag alert reads: above zero while a
    backlog is read a few records at a time, zero once the group has caught up."""
    topic = await _topic(kafka_bootstrap)
    group = f"g-{uuid.uuid4().hex[:6]}"
    registry = CollectorRegistry()
    seen_lag: list[float | None] = []
    applied: list[str] = []

    async def handle(batch: list[Envelope[DifficultyReceived]], emitter: Emitter) -> int:
        seen_lag.append(registry.get_sample_value(
            "thaogo_consumer_lag_messages", {"group": group, "topic": topic}))
        applied.extend(e.id for e in batch)
        return 0

    metrics = ConsumerMetrics.create(registry)
    broker = make_broker(kafka_bootstrap, client_id="test", registry=registry)
    emit = Producer(kafka_bootstrap, client_id="test-emit")
    subscribe(broker, BatchProcessor(group_id=group, model=DifficultyReceived, handle=handle,
                                     producer=emit, metrics=metrics, source="test"),
              topic=topic, group_id=group, ack_policy=COMMIT_AFTER_EFFECTS, max_records=3)
    await publish(kafka_bootstrap, topic, [difficulty(i) for i in range(40)])
    await emit.start()
    await broker.start()
    try:
        await wait_until(lambda: asyncio.sleep(0, len(applied) == 40), timeout=60)
        # The gauge is set after each batch: the last one's is read once it is done.
        await wait_until(lambda: asyncio.sleep(0, registry.get_sample_value(
            "thaogo_consumer_lag_messages", {"group": group, "topic": topic}) == 0), timeout=30)
    finally:
        await broker.stop()
        await emit.stop()
    assert any(lag is not None and lag > 0 for lag in seen_lag), seen_lag
