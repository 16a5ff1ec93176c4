"""The outbox relay through a broker outage, in process against the real broker (behind
a proxy the test cuts) and PostgreSQL: the backlog gauge grows while rows stay unsent,
and once the broker is back every row is published, each difficulty's events in the
order they were written."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from services.intake import logic
from shared import db, outbox, topics
from shared.events import ActorKind, Status, new_envelope
from shared.kafka import Producer, ensure_topics
from shared.metrics import OutboxMetrics
from tests.conftest import wait_until
from tests.faults.conftest import CuttableBroker
from tests.faults.harness import read_topics

pytestmark = [pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(180)]

SCHEMA = "fault_outbox"
DIFFICULTIES = 10
STEPS = 3  # events per difficulty and round


def outbox_ddl() -> str:
    """The outbox table as intake's own migration creates it."""
    sql = (Path(__file__).resolve().parents[2] / "services" / "intake" / "migrations"
           / "001_init.sql").read_text(encoding="utf-8")
    start = sql.index("CREATE TABLE outbox")
    end = sql.index("CREATE INDEX outbox_unsent")
    return sql[start:sql.index(";", end) + 1]


async def enqueue_round(conn: asyncpg.Connection, difficulty_ids: list[uuid.UUID],
                        label: str) -> None:
    """Status notes for every difficulty, one transaction per step as intake writes them."""
    for step in range(STEPS):
        async with conn.transaction():
            await outbox.enqueue(conn, schema=SCHEMA, events=[
                new_envelope(logic.build_status(
                    difficulty_id=d, province_code="74", status=Status.IN_PROGRESS,
                    actor_kind=ActorKind.AGENCY, actor_id="binh-duong.bql-kcn",
                    assignment_id=None, note=f"{label} step {step}", now=datetime.now(UTC),
                ), source="thaogo/fault-test")
                for d in difficulty_ids
            ])


async def test_relay_holds_the_backlog_through_an_outage_and_delivers_it_in_order(
    cuttable_broker: CuttableBroker, database_url: str, file_counts: Callable[[str], None]
) -> None:
    broker = cuttable_broker
    await ensure_topics(broker.bootstrap, [s for s in topics.all_topics([])
                                           if s.name == topics.DIFFICULTY_STATUS])
    conn = await asyncpg.connect(database_url)
    await db.init_connection(conn)
    await conn.execute(f'CREATE SCHEMA "{SCHEMA}"; SET search_path TO "{SCHEMA}";'
                       + outbox_ddl())
    registry = CollectorRegistry()
    producer = Producer(broker.bootstrap, client_id="fault-outbox")
    await producer.start()
    relay = outbox.OutboxRelay(dsn=database_url, schema=SCHEMA, producer=producer,
                               metrics=OutboxMetrics.create(registry),
                               batch_size=25, poll_interval_s=0.2)
    task = asyncio.create_task(relay.run())
    ids = [uuid.uuid4() for _ in range(DIFFICULTIES)]

    async def unsent() -> int:
        return int(await conn.fetchval(
            f'SELECT count(*) FROM "{SCHEMA}".outbox WHERE sent_at IS NULL'))

    def backlog() -> float:
        return registry.get_sample_value("thaogo_outbox_backlog_rows") or 0.0

    async def backlog_at_least(n: int) -> bool:
        return backlog() >= n

    async def all_sent() -> bool:
        return await unsent() == 0 and backlog() == 0

    try:
        await enqueue_round(conn, ids, "before")
        await wait_until(all_sent, timeout=30)

        broker.proxy.cut()
        per_round = DIFFICULTIES * STEPS
        await enqueue_round(conn, ids, "during-1")
        await wait_until(lambda: backlog_at_least(per_round), timeout=30)
        assert await unsent() == per_round
        await enqueue_round(conn, ids, "during-2")
        # The gauge follows the backlog while the relay waits on the broker.
        await wait_until(lambda: backlog_at_least(2 * per_round), timeout=30)
        assert await unsent() == 2 * per_round
        during = f"outbox during the outage: {await unsent()} unsent, gauge {backlog():.0f}"

        broker.proxy.restore()
        await wait_until(all_sent, timeout=90)

        rows = await conn.fetch(f'SELECT event_id, key FROM "{SCHEMA}".outbox ORDER BY seq')
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()
        await conn.close()

    written: dict[bytes, list[str]] = defaultdict(list)
    for r in rows:
        written[bytes(r["key"])].append(r["event_id"])
    published: dict[bytes, list[str]] = defaultdict(list)
    records = await read_topics(broker.bootstrap, [topics.DIFFICULTY_STATUS])
    for rec in records:
        event_id = rec.headers["ce_id"].decode()
        if event_id not in published[rec.key]:  # what an idempotent consumer sees
            published[rec.key].append(event_id)
    file_counts(f"{during}\noutbox: {len(rows)} rows written, {len(records)} records "
                f"published ({len(records) - len(rows)} republished)")
    assert len(written) == DIFFICULTIES
    assert dict(published) == dict(written)
