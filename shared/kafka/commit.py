"""Commit in order, rewind on failure: the pipelined processor's offset bookkeeping."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from faststream import AckPolicy

from shared.kafka.consumed import Record, next_offsets

log = logging.getLogger("thaogo.kafka")

COMMIT_IN_ORDER_AFTER_EFFECTS = AckPolicy.MANUAL
"""The pipelined processor's policy: it commits each batch's own offsets itself, once
that batch's effects are durable and every earlier batch is committed."""

Rewound = dict[TopicPartition, int]
"""Where a failed batch sent each of its partitions back (its first offsets there, or
earlier, where a failed batch before it had)."""


def rewind(consumer: AIOKafkaConsumer, records: Sequence[Record], *,
           behind: Rewound | None = None) -> Rewound:
    """Seek each partition back to the batch's first record there, or further back to
    where a failed batch before it (`behind`) rewound it: this batch may hold that
    batch's records again, fetched after its rewind. Returns every partition's rewind,
    `behind`'s included, for the batches behind this one."""
    earliest: Rewound = dict(behind or {})
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        if r.offset < earliest.get(tp, r.offset + 1):
            earliest[tp] = r.offset
    for tp, offset in earliest.items():
        with contextlib.suppress(IllegalStateError):  # revoked meanwhile: not ours
            consumer.seek(tp, offset)
    return earliest


async def commit(consumer: AIOKafkaConsumer, records: Sequence[Record], *, group: str) -> None:
    """Commit the batch's offsets. The effects are durable already: if the commit fails,
    only the bookmark is lost (a rebalance took the partitions, or the broker is away),
    and whoever reads these records again finds them applied and skips them."""
    try:
        await consumer.commit(next_offsets(records))
    except (KafkaError, IllegalStateError) as e:
        log.info("offsets not committed; the batch will be read again and skipped",
                 extra={"group": group, "error": type(e).__name__})
