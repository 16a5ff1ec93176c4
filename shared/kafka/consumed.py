"""A consumed batch as the processors take it: aiokafka's records, used as they come."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aiokafka import TopicPartition
from faststream.kafka.message import KafkaMessage


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


def records_of(message: KafkaMessage) -> list[Record]:
    raw = message.raw_message
    return list(raw) if isinstance(raw, tuple) else [raw]


def next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    """Each partition's offset after the batch's last record there: what a commit of the
    batch writes, and where the consumer reads next."""
    offsets: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
    return offsets
