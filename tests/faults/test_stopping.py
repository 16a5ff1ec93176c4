"""A service stops, and stops in bounded time, whatever its background loops and the
broker are doing at the moment it is told to: the intake tests' teardown once hung for
the 300 s test timeout because the outbox relay lost its cancel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from services.intake import main
from services.intake.settings import IntakeSettings
from shared import db, outbox, topics
from shared.kafka import Producer, ensure_topics
from shared.kafka.broker import GRACEFUL_TIMEOUT_S
from shared.metrics import OutboxMetrics
from shared.provinces import ConfigHolder
from shared.service import NETWORK_STOP_S, TASK_STOP_S, Runtime
from tests.conftest import wait_until
from tests.faults.conftest import CuttableBroker
from tests.faults.test_outbox_outage import outbox_ddl


class Said(logging.Handler):
    """What was logged (the services replace the root's handlers, and so pytest's)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def any(self, text: str) -> bool:
        return any(text in m for m in self.messages)


pytestmark = [pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(180)]


async def test_the_relay_ends_on_a_cancel_that_arrives_with_a_notify(
    kafka_bootstrap: str, database_url: str
) -> None:
    """The cancel and the NOTIFY that wakes the relay in the same pass of the loop: what
    `asyncio.wait_for` on Python 3.11 answers by returning, the cancel lost."""
    schema = "stop_relay"
    conn = await asyncpg.connect(database_url)
    await db.init_connection(conn)
    await conn.execute(f'CREATE SCHEMA "{schema}"; SET search_path TO "{schema}";'
                       + outbox_ddl())
    producer = Producer(kafka_bootstrap, client_id="stop-relay")
    await producer.start()
    # A long poll, so that the relay sits in its wait for a NOTIFY when the cancel comes.
    relay = outbox.OutboxRelay(dsn=database_url, schema=schema, producer=producer,
                               metrics=OutboxMetrics.create(CollectorRegistry()),
                               poll_interval_s=60)
    task = asyncio.create_task(relay.run())
    try:
        async def leading() -> bool:
            # The test's own database: an advisory lock granted in it is the relay's.
            return bool(await conn.fetchval(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND d.datname = current_database()"))
        await wait_until(leading, timeout=30)
        await asyncio.sleep(0.5)  # its first (empty) pass done, it waits
        relay._on_notify()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert task in done, "the relay went on after its cancel"
        assert task.cancelled()
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=10)
        await producer.stop()
        await conn.close()


async def test_a_service_stops_in_bounded_time_past_a_loop_that_ignores_its_cancel(
    cuttable_broker: CuttableBroker, database_url: str
) -> None:
    """A background loop that loses its cancel (as the relay did) while the broker is
    frozen (SIGSTOP: connections open, nothing answered): intake still stops, within
    the steps' bounds, and names the loop it left behind."""
    bootstrap = cuttable_broker.bootstrap
    await ensure_topics(bootstrap, topics.all_topics(ConfigHolder().current.agency_ids()))
    s = IntakeSettings(kafka_bootstrap=bootstrap, database_url=database_url,
                       assignments_group_id="test-stop-intake")
    app = main.build(s)
    rt: Runtime = app.state.runtime
    released = asyncio.Event()

    async def ignores_its_cancel(_: Runtime) -> None:
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await released.wait()

    rt.background.append(ignores_its_cancel)
    process = cuttable_broker.broker.process
    assert process is not None
    bound = TASK_STOP_S + (GRACEFUL_TIMEOUT_S + NETWORK_STOP_S) + 2 * NETWORK_STOP_S
    said = Said()
    logging.getLogger("thaogo.service").addHandler(said)
    logging.getLogger("thaogo.faststream.thaogo-intake").addHandler(said)
    try:
        async with app.router.lifespan_context(app):
            async def in_the_group() -> bool:
                return said.any("assigned to partitions")
            await wait_until(in_the_group, timeout=60)
            os.kill(process.pid, signal.SIGSTOP)
            started = time.monotonic()
        took = time.monotonic() - started
    finally:
        os.kill(process.pid, signal.SIGCONT)
        released.set()
        logging.getLogger("thaogo.service").removeHandler(said)
        logging.getLogger("thaogo.faststream.thaogo-intake").removeHandler(said)
    assert TASK_STOP_S <= took < bound + 5, f"stopping took {took:.1f} s, bound {bound:.0f} s"
    assert said.any("background task did not stop")
    assert said.any("service stopped")
