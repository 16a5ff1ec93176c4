"""The service's own producer: aiokafka, sending straight, with the topic check that
tells a missing topic from a broker that is away."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.producer.message_accumulator import BatchBuilder
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity

from shared.kafka.broker import MAX_BATCH_BYTES, codec, key_partitioner
from shared.settings import DEFAULT_COMPRESSION, Compression


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
        has not seen yet): what an `Emitter` partitions its messages over."""
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

    def create_batch(self) -> BatchBuilder:
        """An empty record batch (aiokafka's `create_batch`), for `send_batch`."""
        if self._producer is None:
            raise KafkaError("producer not started")
        return self._producer.create_batch()

    async def send_batch(self, batch: BatchBuilder, topic: str, partition: int
                         ) -> asyncio.Future[Any]:
        """Queue a filled record batch for one partition (aiokafka's `send_batch`); the
        future is set once the broker has it. Waits while that partition's previous
        batch has not left yet."""
        if self._producer is None:
            raise KafkaError("producer not started")
        fut: asyncio.Future[Any] = await self._producer.send_batch(
            batch, topic, partition=partition)
        return fut


def retrieve(fut: asyncio.Future[Any]) -> None:
    """A done-callback for a future nobody awaits any more: its exception, if any, is
    taken rather than logged as never retrieved."""
    if not fut.cancelled():
        fut.exception()
