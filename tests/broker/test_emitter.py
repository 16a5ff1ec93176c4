"""The emitter on the real broker: messages appended to aiokafka record batches
(`create_batch`, `send_batch`), yet the same partitions, order and headers as aiokafka
sending message by message, acknowledged by flush."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner

from shared.kafka import Emitter, Producer

pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]


async def test_queued_messages_arrive_once_in_order_on_the_keys_partitions(
    kafka_bootstrap: str,
) -> None:
    topic = f"test.{uuid.uuid4().hex[:8]}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 4, 1)])
    await admin.close()

    # Some values large enough that one partition's share overflows a record batch.
    sent = [(f"key-{i % 40}".encode(), (f"{i}:" + "x" * (80_000 if i % 7 == 0 else 10)).encode())
            for i in range(400)]
    producer = Producer(kafka_bootstrap, client_id="test-emitter")
    await producer.start()
    try:
        emitter = Emitter(producer, source="test")
        for key, value in sent:
            await emitter.emit_raw(topic, key, value, [("ce_id", value.split(b":")[0])])
        await emitter.flush()  # returns once the broker acknowledged everything
        # What a flush sent is gone from the emitter: a second one sends nothing again.
        await emitter.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, group_id=None,
                                auto_offset_reset="earliest", fetch_max_wait_ms=100)
    await consumer.start()
    got: list[tuple[int, bytes, bytes, str]] = []
    try:
        while len(got) < len(sent):
            batch = await consumer.getmany(timeout_ms=3000)
            if not batch:
                break
            for tp, records in batch.items():
                got += [(tp.partition, r.key or b"", r.value or b"",
                         dict(r.headers)["ce_id"].decode()) for r in records]
    finally:
        await consumer.stop()

    assert sorted(v for _, _, v, _ in got) == sorted(v for _, v in sent)
    partitioner = DefaultPartitioner()
    for partition, key, value, ce_id in got:
        assert partition == partitioner(key, [0, 1, 2, 3], [0, 1, 2, 3])
        assert value.startswith(f"{ce_id}:".encode())
    for key in {k for k, _ in sent}:
        assert [v for _, k, v, _ in got if k == key] == [v for k, v in sent if k == key]
