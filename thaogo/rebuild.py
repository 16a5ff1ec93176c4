"""Rebuilding the topics from the databases, for a broker that lost its messages.

The embedded broker keeps messages in memory only: a restart of `thaogo up`, or a crash
of the broker alone, empties every topic and forgets every consumer group's offsets,
while PostgreSQL keeps every case. A Kafka cluster restored without its data is the
same. Agency systems read nothing but their topic: a task they had not read is lost to
them, without anyone knowing, unless it is put back.

What each service put on the topics is in its own schema, and is published again from
there, with its original event id, key and body:
- intake, reporting and notify publish through their outbox, whose rows are never
  deleted (`shared.outbox.republish`): difficulties received, urgency confirmations,
  status changes, member reports, weekly (and interim) reports, notifications sent;
- the router publishes directly, and keeps every assignment it made with its
  difficulty's document: its events are rendered again (`services.router.usecases.publish`; ids are
  derived from the difficulty and step, and stored), and every open assignment's
  task goes back on its agency's topic, however old.

Bounded: events from the last `retention` (Kafka's default retention, 7 days: what a
cluster that had not lost its data would still hold), plus the open tasks. Consumers
deduplicate by event id and start again from the earliest offset (their offsets were
lost with the rest), so the replay changes no state; an agency system that read a task
before sees it again under the same id.

In order, each step acknowledged before the next: what was received (and member
reports), then assignments and tasks, then status changes, then what reporting and
notify published from them.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg

from services.router import store as router_store
from services.router import usecases as router_usecases
from services.router.jobs import SOURCE as ROUTER_SOURCE
from shared import db, outbox, topics
from shared.events import DifficultyReceived
from shared.kafka import Emitter, Producer

if TYPE_CHECKING:
    from faststream.security import BaseSecurity

RETENTION = timedelta(days=7)
# What consumers read, as opposed to dead letters: a broker whose data topics are all
# empty while the database holds published events has lost its history.
DATA_TOPICS = tuple(t.name for t in topics.CORE_TOPICS)


@dataclass
class Rebuilt:
    """What was published again, by topic, and how long it took."""

    published: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # tasks for unknown topics
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.published.values())

    def lines(self) -> list[str]:
        out = [f"{n:>8}  {t}" for t, n in sorted(self.published.items())]
        out += [f"{n:>8}  {t} (not rebuilt: the topic does not exist)"
                for t, n in sorted(self.skipped.items())]
        return out


async def published_messages(bootstrap: str, names: list[str] | tuple[str, ...], *,
                             security: BaseSecurity | None = None) -> int:
    """How many messages the broker holds on `names` (their end offsets added up)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from faststream.kafka.security import parse_security

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, **parse_security(security))
    await consumer.start()
    try:
        await consumer.topics()  # metadata of every topic
        parts = [TopicPartition(t, p) for t in names
                 for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(parts) if parts else {}
        return sum(ends.values())
    finally:
        await consumer.stop()


async def database_has_history(database_url: str) -> bool:
    """Whether the services have published anything: intake's first event, or an
    assignment (either would be on the topics of a broker that kept its data)."""
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM intake.outbox WHERE sent_at IS NOT NULL)"
            " OR EXISTS (SELECT 1 FROM router.assignments)"))
    finally:
        await conn.close()


async def needed(bootstrap: str, database_url: str, *,
                 security: BaseSecurity | None = None) -> bool:
    """A broker without the history the database says was published: first start
    after a restart of the embedded broker, or on a cluster restored without its data."""
    return (await published_messages(bootstrap, DATA_TOPICS, security=security) == 0
            and await database_has_history(database_url))


async def rebuild(
    bootstrap: str, database_url: str, *, status_url: str, known_topics: set[str],
    security: BaseSecurity | None = None, retention: timedelta = RETENTION,
    now: datetime | None = None,
) -> Rebuilt:
    """Publish again what the consumers need (see the module's docstring). `status_url`:
    intake's public address, named in each task; `known_topics`: the topics that exist
    (a task for an agency no longer configured has none, and is counted as skipped)."""
    started = time.monotonic()
    since = (now or datetime.now(UTC)) - retention
    out = Rebuilt()
    producer = Producer(bootstrap, client_id="thaogo-rebuild", security=security)
    await producer.start()
    conn: asyncpg.Connection = await asyncpg.connect(database_url)
    try:
        await db.init_connection(conn)
        status = [topics.DIFFICULTY_STATUS]
        out.published += await outbox.republish(conn, schema="intake", producer=producer,
                                                since=since, skip=status)
        await _router(conn, producer, out, since=since, status_url=status_url,
                      known_topics=known_topics)
        out.published += await outbox.republish(conn, schema="intake", producer=producer,
                                                since=since, only=status)
        for schema in ("reporting", "notify"):
            out.published += await outbox.republish(conn, schema=schema, producer=producer,
                                                    since=since)
    finally:
        await conn.close()
        await producer.stop()
    out.seconds = time.monotonic() - started
    return out


async def _router(conn: asyncpg.Connection, producer: Producer, out: Rebuilt, *,
                  since: datetime, status_url: str, known_topics: set[str]) -> None:
    async with conn.transaction(readonly=True):
        await conn.execute("SET LOCAL search_path TO router, public")  # the router's SQL
        async for chunk in router_store.assignments_to_replay(conn, since=since):
            tasks: set[uuid.UUID] = set()
            for a, is_open, _ in chunk:
                if is_open and topics.agency_topic(a.agency_id) in known_topics:
                    tasks.add(a.assignment_id)
                elif is_open:
                    out.skipped[topics.agency_topic(a.agency_id)] += 1
            emitter = Emitter(producer, source=ROUTER_SOURCE)
            start = 0
            while start < len(chunk):
                # One difficulty's assignments together: they share its document.
                end = start
                did = chunk[start][0].difficulty_id
                while end < len(chunk) and chunk[end][0].difficulty_id == did:
                    end += 1
                difficulty = DifficultyReceived.model_validate_json(chunk[start][2])
                out.published.update(m.topic for m in await router_usecases.publish(
                    emitter, [a for a, _, _ in chunk[start:end]], difficulty,
                    status_base=status_url, tasks=tasks))
                start = end
            await emitter.flush()
