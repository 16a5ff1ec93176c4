"""Keys must land on the partitions every other Kafka client would choose for them
(murmur2, as the Java client): ordering per difficulty and co-partitioning with any
consumer that joins on the key depend on it."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from shared.kafka import key_partitioner, murmur2


@given(st.binary(max_size=80))
def test_murmur2_is_kafkas(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


def test_a_key_always_gets_the_same_partition_and_keys_spread() -> None:
    parts = list(range(8))
    keys = [f"difficulty-{i}".encode() for i in range(800)]
    chosen = [key_partitioner(k, parts, parts) for k in keys]
    assert chosen == [key_partitioner(k, parts, parts) for k in keys]
    assert chosen == [(aiokafka_murmur2(k) & 0x7FFFFFFF) % 8 for k in keys]
    assert min(chosen.count(p) for p in parts) > 50  # roughly even
    assert key_partitioner(None, parts, [3]) == 3  # no key: any available partition
