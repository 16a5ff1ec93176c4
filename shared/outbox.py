"""Transactional outbox: an event is written to `<schema>.outbox` in the same
transaction as the state it describes, and a relay publishes it afterwards.

What is accepted is therefore durable before anyone is told so, and it reaches
the broker even if the broker was down at the time: the relay retries with
backoff until the broker acknowledges, and only then marks the rows sent.

One relay per schema publishes at a time (a PostgreSQL advisory lock held on
its own connection elects it), which keeps the order of `seq` and hence the
order of events of one difficulty. Other replicas wait to take over; a dead
leader's lock is released with its connection. The relay wakes on
LISTEN/NOTIFY, with a slow poll only as a safety net.

Each service that uses it creates `outbox` in its own schema by a migration of
its own (same columns: seq, event_id unique, topic, key, headers, body,
created_at, sent_at, and a partial index on unsent rows), so that an applied
migration never changes under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared import db
from shared.events import Envelope, encode_body, encode_headers
from shared.kafka import Producer
from shared.metrics import OutboxMetrics
from shared.retry import backoff

log = logging.getLogger("thaogo.outbox")


def channel(schema: str) -> str:
    return f"{schema}_outbox"


async def enqueue(
    conn: asyncpg.Connection, *, schema: str, events: Sequence[Envelope[Any]],
    topic: str | None = None,
) -> int:
    """Add events to the outbox inside the caller's transaction; returns how many were new.
    An event id already in the outbox is skipped, so enqueueing is idempotent."""
    inserted = await conn.fetch(
        f'INSERT INTO "{schema}".outbox (event_id, topic, key, headers, body)'
        " SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[], $5::bytea[])"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        [env.id for env in events],
        [topic or env.data.topic for env in events],
        [env.data.key().encode() for env in events],
        [encode_headers(env) for env in events],
        [encode_body(env.data) for env in events],
    )
    if inserted:
        await conn.execute(f"NOTIFY {channel(schema)}")
    return len(inserted)


class OutboxRelay:
    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        producer: Producer,
        metrics: OutboxMetrics,
        batch_size: int = 1000,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.producer = producer
        self.metrics = metrics
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        # Consecutive failures, for the backoff. Reset by a batch that got through, since
        # `_lead_and_relay` only ever returns by raising: otherwise every outage after the
        # fifth would be waited out at the longest delay.
        self._failures = 0
        self.lock_key = int.from_bytes(
            hashlib.sha256(f"{schema}.outbox".encode()).digest()[:8], "big", signed=True
        )

    async def run(self) -> None:
        """Run forever: take leadership, then relay; on any connection loss, start over."""
        while True:
            try:
                await self._lead_and_relay()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._failures += 1
                delay = backoff(self._failures, base_s=0.2, cap_s=5.0)
                log.warning("outbox relay interrupted", extra={"schema": self.schema,
                            "error": type(e).__name__, "retry_in_s": delay})
                await asyncio.sleep(delay)

    async def _lead_and_relay(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn)
        await db.init_connection(conn)
        try:
            # Another replica is relaying: poll for its lock (no notification exists for it).
            while not await conn.fetchval(  # noqa: ASYNC110
                "SELECT pg_try_advisory_lock($1)", self.lock_key
            ):
                await asyncio.sleep(2.0)
            await conn.add_listener(channel(self.schema), self._on_notify)
            log.info("outbox relay leading", extra={"schema": self.schema})
            while True:
                sent = await self.relay_once(conn)
                if sent < self.batch_size:
                    self._wake.clear()
                    # `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` returns
                    # the inner result when a cancel arrives in the same loop pass as the
                    # NOTIFY, so the cancel is lost and the relay, hence `Runtime.stop`,
                    # runs on (the intake tests' teardown hang under load).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.poll_interval_s):
                            await self._wake.wait()
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await conn.close()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            f'SELECT seq, topic, key, headers, body FROM "{self.schema}".outbox'
            " WHERE sent_at IS NULL ORDER BY seq LIMIT $1",
            self.batch_size,
        )
        await self._update_gauges(conn, pending=len(rows))
        if not rows:
            return 0
        started = time.perf_counter()
        futures = []
        for r in rows:
            futures.append(await self.producer.send(r["topic"], r["body"], key=r["key"],
                                                    headers=r["headers"]))
        # Every message acknowledged before any is marked: a crash here republishes
        # the batch with the same event ids, which consumers recognise.
        await self._acknowledged(conn, futures, pending=len(rows))
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        await conn.execute(
            f'UPDATE "{self.schema}".outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])',
            [r["seq"] for r in rows],
        )
        self._failures = 0
        return len(rows)

    async def _acknowledged(
        self, conn: asyncpg.Connection, futures: list[asyncio.Future[Any]], *, pending: int
    ) -> None:
        """Wait for the broker to acknowledge every message. While it does not answer (an
        outage lasts until the producer's request timeout), the backlog gauges are kept
        current, so that a growing backlog shows when it grows and not a timeout later."""
        waiting: set[asyncio.Future[Any]] = set(futures)
        while waiting:
            _, waiting = await asyncio.wait(waiting, timeout=self.poll_interval_s)
            if waiting:
                await self._update_gauges(conn, pending=pending)
        # Every outcome retrieved (none left unobserved), then the first failure raised.
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _update_gauges(self, conn: asyncpg.Connection, *, pending: int) -> None:
        if pending == 0:
            self.metrics.backlog.set(0)
            self.metrics.oldest_age.set(0)
            return
        row = await conn.fetchrow(
            f'SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age'
            f' FROM "{self.schema}".outbox WHERE sent_at IS NULL'
        )
        if row is not None:
            self.metrics.backlog.set(row["n"])
            self.metrics.oldest_age.set(float(row["age"] or 0))


async def republish(
    conn: asyncpg.Connection, *, schema: str, producer: Producer, since: datetime,
    only: Sequence[str] | None = None, skip: Sequence[str] = (), chunk: int = 5000,
) -> Counter[str]:
    """Publish again, in their order, the events of this outbox that were sent and
    created since `since` (on `only` topics, if given, and not on `skip`): the same ids,
    keys, headers and bodies, for a broker that lost them (`thaogo.rebuild`). Rows
    are never deleted, which is what makes this possible. Consumers recognise the ids.
    Returns the messages by topic, once the broker has acknowledged every one."""
    counts: Counter[str] = Counter()
    after = 0
    while True:
        rows = await conn.fetch(
            f'SELECT seq, topic, key, headers, body FROM "{schema}".outbox'
            " WHERE sent_at IS NOT NULL AND created_at >= $1 AND seq > $2"
            " AND ($3::text[] IS NULL OR topic = ANY($3::text[]))"
            " AND topic <> ALL($4::text[]) ORDER BY seq LIMIT $5",
            since, after, list(only) if only is not None else None, list(skip), chunk,
        )
        if not rows:
            return counts
        futures = [await producer.send(r["topic"], r["body"], key=r["key"],
                                       headers=r["headers"]) for r in rows]
        await asyncio.gather(*futures)
        counts.update(r["topic"] for r in rows)
        after = rows[-1]["seq"]
