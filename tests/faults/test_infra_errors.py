"""What a PostgreSQL restart under load showed (tests/faults/test_faults.py): a pooled
connection the server cut while it was in use raises asyncpg's InternalClientError
("cannot switch to state 15; another operation (2) is in progress") on its next query.
That is the connection, not the data: the batch must be retried, not dead-lettered."""

from __future__ import annotations

import pytest
from asyncpg import InternalClientError
from prometheus_client import CollectorRegistry

from bench.common import difficulty
from shared import events, topics
from shared.events import DifficultyReceived, Envelope
from shared.kafka import BatchProcessor, Emitter, Producer
from shared.metrics import ConsumerMetrics
from tests.conftest import consumer_record

pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]


async def test_a_connection_broken_by_a_server_shutdown_is_retried_not_dead_lettered(
    private_topics: str,
) -> None:
    d = difficulty(1)
    env = events.new_envelope(d, source="test")
    record = consumer_record(topics.DIFFICULTY_RECEIVED, 0, 0, d.key().encode(),
                             events.encode_body(d),
                             [(k, v.encode()) for k, v in events.encode_headers(env).items()])
    calls = 0

    async def handle(batch: list[Envelope[DifficultyReceived]], emitter: Emitter) -> int:
        nonlocal calls
        calls += 1
        raise InternalClientError("cannot switch to state 15; another operation (2) is in "
                                  "progress")

    registry = CollectorRegistry()
    producer = Producer(private_topics, client_id="test-infra")
    await producer.start()
    try:
        processor = BatchProcessor(group_id="test-infra", model=DifficultyReceived,
                                   handle=handle, producer=producer,
                                   metrics=ConsumerMetrics.create(registry), source="test")
        # Raised (the subscriber seeks back and retries after a pause), not swallowed.
        with pytest.raises(InternalClientError):
            await processor.process([record])
    finally:
        await producer.stop()
    dead = registry.get_sample_value("thaogo_dlq_messages_total",
                                     {"topic": topics.DIFFICULTY_RECEIVED}) or 0
    assert calls == 1 and dead == 0
