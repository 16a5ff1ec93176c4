"""`start_broker`, which the services start their FastStream broker with: every subscriber
of a group joins at once, and each then holds its topic and receives what is published
to it, as with `KafkaBroker.start`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry

from shared.kafka import make_broker, start_broker
from tests.conftest import wait_until

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


async def test_every_subscriber_of_one_group_starts_and_receives_its_topic(
    kafka_bootstrap: str,
) -> None:
    names = [f"test.{uuid.uuid4().hex[:8]}.v1" for _ in range(4)]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, 2, 1) for n in names])
    finally:
        await admin.close()
    broker = make_broker(kafka_bootstrap, client_id="test", registry=CollectorRegistry())
    group = f"test-{uuid.uuid4().hex[:8]}"
    got: dict[str, list[bytes]] = {n: [] for n in names}
    def keeper(name: str) -> Callable[[KafkaMessage], Awaitable[None]]:
        async def on(message: KafkaMessage) -> None:
            got[name].append(message.body)

        return on

    for name in names:
        # One group for all, as each service has: the members join together.
        broker.subscriber(name, group_id=group, auto_offset_reset="earliest")(keeper(name))

    await start_broker(broker)
    try:
        assert broker.running
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for name in names:
                await producer.send_and_wait(name, name.encode(), key=b"k")
        finally:
            await producer.stop()
        await wait_until(lambda: asyncio.sleep(0, all(got.values())), timeout=60)
    finally:
        await broker.stop()
    assert got == {n: [n.encode()] for n in names}
