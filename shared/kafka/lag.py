"""The consumer lag gauge (`thaogo_consumer_lag_messages`, which the alert rules in
deploy/ read): messages between the group's position and the end of its partitions."""

from __future__ import annotations

import contextlib

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError
from prometheus_client import Gauge


async def record_lag(consumer: AIOKafkaConsumer, gauge: Gauge, group: str) -> None:
    """Set the gauge, a series per topic, from the consumer's public `highwater` and
    `position` of each partition it holds. Only partitions whose high watermark is known
    count: the consumer learns it from a fetch, so such a partition has a position, and
    `position` returns at once rather than waiting for an offset reset. A partition
    revoked meanwhile is left out. Best effort: a gauge never fails a batch."""
    lag_by_topic: dict[str, int] = {}
    for tp in consumer.assignment():
        with contextlib.suppress(IllegalStateError, AssertionError):
            high = consumer.highwater(tp)
            if high is None:
                continue
            position = await consumer.position(tp)
            lag_by_topic[tp.topic] = lag_by_topic.get(tp.topic, 0) + max(0, high - position)
    for topic, lag in lag_by_topic.items():
        gauge.labels(group, topic).set(lag)
