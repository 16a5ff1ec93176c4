"""Waiting until the services caught up: every consumer group of theirs committed to the
end of its topics and every outbox empty, before anything is compared."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import topics
from thaogo.verify.log import FETCH_WAIT_MS, MODELS

# The services' consumer groups start with this (their settings' defaults).
GROUP_PREFIX = "thaogo-"
SCHEMAS_WITH_OUTBOX = ("intake", "reporting", "notify")


async def backlog(bootstrap: str, conn: asyncpg.Connection, **security: Any) -> dict[str, int]:
    """What the services still have to do: each consumer group's lag and each outbox's
    unsent rows (empty when everything is done). Not waited for: notify's deliveries and
    their announcements on notification.sent.v1, which go on for as long as notify owes
    mail (after a burst, for many minutes); `Deliveries` checks them at a cut instead."""
    left: dict[str, int] = {}
    present = {r["table_schema"] for r in await conn.fetch(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'")}
    for schema in sorted(present & set(SCHEMAS_WITH_OUTBOX)):
        n = await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL"
                                " AND topic <> $1", topics.NOTIFICATION_SENT)
        if n:
            left[f"{schema}.outbox"] = int(n)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="thaogo-verify",
                                **security)
    await admin.start()
    try:
        groups = sorted(str(g[0]) for g in await admin.list_consumer_groups()
                        if str(g[0]).startswith(GROUP_PREFIX))
    finally:
        await admin.close()
    for g in groups:
        lag = await _group_lag(bootstrap, g, **security)
        if lag:
            left[g] = lag
    return left


async def _group_lag(bootstrap: str, group: str, **security: Any) -> int:
    """How far `group` is behind the end of the topics it consumes. A topic it consumes
    is one where it committed on some partition; a partition of it without a commit yet
    counts from its beginning. (The embedded broker does not answer the admin client's
    OffsetFetch, so the group's own consumer asks, without joining.)"""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, client_id="thaogo-verify",
                                fetch_max_wait_ms=FETCH_WAIT_MS, **security)
    await consumer.start()
    try:
        present = await consumer.topics()
        lag = 0
        for t in sorted((set(MODELS) - {topics.NOTIFICATION_SENT}) & present):
            tps = [TopicPartition(t, p) for p in sorted(consumer.partitions_for_topic(t) or ())]
            committed = {tp: await consumer.committed(tp) for tp in tps}
            if all(c is None for c in committed.values()):
                continue
            begin = await consumer.beginning_offsets(tps)
            start = {tp: committed[tp] or begin[tp] for tp in tps}
            lag += sum(h - start[tp] for tp, h in (await _high_watermarks(
                consumer, start)).items())
        return lag
    finally:
        await consumer.stop()


async def _high_watermarks(consumer: AIOKafkaConsumer, start: Mapping[TopicPartition, int]
                           ) -> dict[TopicPartition, int]:
    """Each partition's high watermark as a fetch from `start` reports it (see read_log
    for why not `end_offsets`)."""
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    hw: dict[TopicPartition, int] = {}
    while len(hw) < len(start):
        await consumer.getmany(*(start.keys() - hw.keys()), timeout_ms=200, max_records=1)
        hw.update({tp: h for tp in start if (h := consumer.highwater(tp)) is not None})
    return hw


async def settle(bootstrap: str, dsn: str, *, timeout: float, **security: Any
                 ) -> dict[str, int]:
    """Wait until nothing is in flight (or the timeout); returns what is left."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(dsn)
    try:
        quiet_since: float | None = None
        while True:
            left = await backlog(bootstrap, conn, **security)
            now = time.monotonic()
            if not left:
                # Twice in a row, a moment apart: a relay may be between its read of the
                # outbox and its publish.
                if quiet_since is not None and now - quiet_since >= 0.5:
                    return {}
                quiet_since = quiet_since or now
            else:
                quiet_since = None
            if now > deadline:
                return left
            await asyncio.sleep(0.25)
    finally:
        await conn.close()
