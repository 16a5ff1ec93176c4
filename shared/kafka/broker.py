"""The FastStream broker every service subscribes on, and the producer settings it
shares with `shared.kafka.producer`: codec, batch size, partitioner."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import Literal

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import BaseSecurity
from murmurhash2 import murmurhash2
from prometheus_client import CollectorRegistry

from shared.settings import DEFAULT_COMPRESSION, Compression

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

# How long stopping waits for the batches in hand to finish (and commit) before the
# consumers leave their groups; what is cut is redelivered to idempotent consumers.
GRACEFUL_TIMEOUT_S = 20.0


def make_broker(
    bootstrap: str, *, client_id: str, registry: CollectorRegistry,
    security: BaseSecurity | None = None, graceful_timeout: float = GRACEFUL_TIMEOUT_S,
    compression: Compression = DEFAULT_COMPRESSION,
) -> KafkaBroker:
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        security=security,
        # The embedded broker rejects InitProducerId; duplicates are handled by
        # idempotent consumers instead (see shared/kafka/__init__.py).
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


async def start_broker(broker: KafkaBroker) -> None:
    """What `KafkaBroker.start` does (connect, start the subscribers, then the
    publishers), with the subscribers joining their groups at once. FastStream starts
    them one after another, and each waits until its group has rebalanced to take it in;
    a service's subscribers share its one group (one subscriber a topic), so every join
    made the members before it rejoin, about 5 s each on the embedded broker, and a
    service took that times its topics to start (measured: reporting's eight 40 s,
    notify's nine 45 s; six consumers of one group 46 s one by one, 6 s together). Joined
    at once, the group settles in one rebalance."""
    await broker.connect()
    await asyncio.gather(*(sub.start() for sub in broker.subscribers))
    for pub in broker.publishers:
        await pub.start()
    broker.running = True


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
