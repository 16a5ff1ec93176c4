"""What a PostgreSQL restart under load showed (tests/faults/test_faults.py: dozens of
e-mails received twice with one Message-ID): when the database goes away between a
successful send and the transaction that records it, notify sends the message again
once its lease expires. Here the mail server itself stops PostgreSQL on receiving the
first message, so the window is hit every time."""

from __future__ import annotations

import collections
import email
import email.policy
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from bench.common import difficulty
from services.router import logic
from shared.events import Urgency, UrgencySource
from shared.kafka import Emitter, Producer
from shared.provinces import ConfigHolder
from tests.conftest import create_database, wait_until
from tests.faults.harness import service_stack
from thaogo.embedded import EmbeddedPostgres, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(180)]


class StopsDatabaseOnFirstMail:
    """An SMTP server that accepts every message, but stops PostgreSQL before it answers
    the first one: the sender's send succeeds just as its database disappears."""

    def __init__(self, pg: EmbeddedPostgres) -> None:
        self.pg = pg
        self.message_ids: list[str] = []
        self.stopped = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.stopped.is_set():
            self.pg.stop()  # blocks this server's own thread for the moment it takes
            self.stopped.set()
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.message_ids.append(str(msg["Message-ID"]))
        return "250 OK"


async def test_a_message_sent_just_before_the_database_restarts_is_not_sent_again(
    private_topics: str, private_postgres: EmbeddedPostgres, tmp_path: Path,
    file_counts: Callable[[str], None],
) -> None:
    pg = private_postgres
    database_url = await create_database(pg.url)
    sink = StopsDatabaseOnFirstMail(pg)
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    stack = service_stack(private_topics, database_url, tmp_path, smtp_port=smtp_port)
    producer = Producer(private_topics, client_id="fault-notify")
    try:
        await stack.start("notify")
        # An urgent difficulty a member reported (vouched for, #20 item 9): its
        # assignments and the head's and deputy's alarms go at once, whatever the hour.
        configs = ConfigHolder().current
        d = difficulty(3, urgency=Urgency.URGENT).model_copy(
            update={"urgency_source": UrgencySource.MEMBER})
        assignments = logic.decide(d, configs.for_difficulty(d.province_code, d.task_force),
                                   config_version=configs.version, now=datetime.now(UTC))
        await producer.start()
        emitter = Emitter(producer, source="fault-test")
        for a in assignments:
            await emitter.emit(a, event_id=str(a.assignment_id))
        await emitter.flush()

        async def database_stopped() -> bool:
            return sink.stopped.is_set()

        await wait_until(database_stopped, timeout=60)
        pg.start()
        conn = await asyncpg.connect(database_url)
        try:
            async def every_email_settled() -> bool:
                # What is due by now: a notice held for office or quiet hours (by
                # night, a business's own urgent flag) is not the subject here.
                states = await conn.fetch(
                    "SELECT state FROM notify.messages WHERE channel = 'email'"
                    " AND due_at <= now()")
                return bool(states) and all(r["state"] == "sent" for r in states)

            await wait_until(every_email_settled, timeout=90)
        finally:
            await conn.close()
        twice = {k: n for k, n in collections.Counter(sink.message_ids).items() if n > 1}
        file_counts(f"e-mails received {len(sink.message_ids)}, sent more than once: {twice}")
        assert not twice
        judged = await stack.assert_consistent()
        file_counts(f"consistency checker: {judged.summary().splitlines()[-1]}")
    finally:
        await producer.stop()
        stack.stop()
        controller.stop()
