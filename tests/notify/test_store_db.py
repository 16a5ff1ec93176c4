"""Notify's SQL on a real PostgreSQL: the set-based reminder sweep, leases, retries."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from services.notify import logic, store
from services.notify.channels import EmailChannel
from services.notify.jobs import Dispatcher
from services.notify.metrics import NotifyMetrics
from services.notify.settings import NotifySettings
from shared import db
from shared.calendar import TZ, ManualClock
from shared.deadlines import resumed
from shared.service import migrations_dir
from thaogo.embedded import free_port

pytestmark = [pytest.mark.db]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[db.Pool]:
    p = await db.create_pool(database_url, schema="notify", max_size=4)
    async with p.acquire() as conn:
        await db.migrate(conn, schema="notify", folder=migrations_dir("notify"))
    try:
        yield p
    finally:
        await p.close()


MON = datetime(2026, 3, 9, 9, tzinfo=TZ)
CONTACTS = [{"channel": "email", "address": "a@example.vn", "secret_env": None},
            {"channel": "webhook", "address": "https://a.example.vn/h", "secret_env": None}]
DEPUTY = [{"channel": "email", "address": "d@example.vn", "secret_env": None}]


def followed(n: int) -> list[logic.Followed]:
    sched = [MON + timedelta(days=1 + i) for i in range(3)]  # Tue, Wed, Thu 09:00
    far = [MON + timedelta(days=20 + i) for i in range(3)]
    return [
        logic.Followed(
            assignment_id=str(uuid.uuid4()), difficulty_id=str(uuid.uuid4()),
            tracking_code=f"TG-{i:06d}", province_code="79", agency_id="binh-duong.bql-kcn",
            urgent=False, assigned_at=MON, ack_deadline=sched[0], resolve_deadline=far[0],
            ack_due=sched, resolve_due=far, agency_contacts=CONTACTS,
            deputy_id="binh-duong.to-pho-thuong-truc", deputy_contacts=DEPUTY,
        )
        for i in range(n)
    ]


async def test_sweep_is_set_based_idempotent_and_stops_on_acknowledgement(
    pool: db.Pool,
) -> None:
    rows = followed(300)
    async with pool.acquire() as conn, conn.transaction():
        assert await store.follow_assignments(conn, rows=rows) == 300
        assert await store.follow_assignments(conn, rows=rows) == 0
    acked = rows[:100]
    async with pool.acquire() as conn, conn.transaction():
        await store.apply_statuses(conn, rows=[
            store.StatusRow(difficulty_id=r.difficulty_id, assignment_id=r.assignment_id,
                            actor_id=r.agency_id, acknowledged=True, closes=False,
                            resolves_difficulty=False, at=MON) for r in acked],
            quiet=logic.Quiet())

    async def sweep(at: datetime) -> Counter[tuple[str, str]]:
        async with pool.acquire() as conn, conn.transaction():
            return Counter(await store.sweep_reminders(conn, now=at))

    assert await sweep(MON + timedelta(hours=23)) == Counter()
    tue = await sweep(MON + timedelta(days=1))
    assert tue == {("reminder_ack", "email"): 200, ("reminder_ack", "webhook"): 200}
    assert await sweep(MON + timedelta(days=1, hours=1)) == Counter()  # twice: nothing new
    # Down from Tuesday to Friday: only the latest step (the escalation) goes out.
    fri = await sweep(MON + timedelta(days=4))
    assert fri == {("escalation_ack", "email"): 200}
    async with pool.acquire() as conn:
        recipients = await conn.fetchval(
            "SELECT array_agg(DISTINCT recipient_id) FROM messages WHERE kind = 'escalation_ack'")
        assert recipients == ["binh-duong.to-pho-thuong-truc"]
        nxt = await conn.fetchval("SELECT min(next_check_at) FROM assignments")
        assert nxt == MON + timedelta(days=20)


async def test_a_question_to_the_business_stops_the_reminders_until_it_answers(
    pool: db.Pool,
) -> None:
    """#20 item 4: while waiting, the sweep owes the assignment nothing; the answer moves
    its reminders on by the working time waited, and they come then."""
    waiting, running = followed(2)
    quiet = logic.Quiet()
    async with pool.acquire() as conn, conn.transaction():
        await store.follow_assignments(conn, rows=[waiting, running])

    def status(r: logic.Followed, at: datetime, **how: bool) -> store.StatusRow:
        return store.StatusRow(difficulty_id=r.difficulty_id, assignment_id=r.assignment_id,
                               actor_id=r.agency_id, acknowledged=True, closes=False,
                               resolves_difficulty=False, at=at, **how)

    asked, answered = MON + timedelta(hours=1), MON + timedelta(days=3)  # Thursday
    async with pool.acquire() as conn, conn.transaction():
        await store.apply_statuses(conn, quiet=quiet, rows=[
            status(running, MON), status(waiting, asked, pauses=True, resumes=True)])
        first = await store.sweep_reminders(conn, now=MON + timedelta(days=20))
    assert Counter(first) == {("reminder_resolve", "email"): 1,
                              ("reminder_resolve", "webhook"): 1}  # the running one only
    async with pool.acquire() as conn, conn.transaction():
        await store.apply_statuses(conn, quiet=quiet, rows=[
            status(waiting, answered, resumes=True),
            dataclasses.replace(status(running, answered), closes=True)])  # out of the way
        row = await conn.fetchrow(
            "SELECT paused_at, next_check_at, resolve_deadline FROM assignments"
            " WHERE assignment_id = $1::uuid", waiting.assignment_id)
    moved = resumed(waiting.resolve_due[0], paused_at=asked, resumed_at=answered)
    assert row["paused_at"] is None
    assert row["next_check_at"] == quiet.release(moved, False)
    assert row["resolve_deadline"] == resumed(waiting.resolve_deadline, paused_at=asked,
                                              resumed_at=answered)
    assert moved - waiting.resolve_due[0] >= timedelta(days=3)  # Mon 10:00 to Thu 09:00
    async with pool.acquire() as conn, conn.transaction():
        assert await store.sweep_reminders(conn, now=row["next_check_at"]
                                           - timedelta(seconds=1)) == []
        late = await store.sweep_reminders(conn, now=row["next_check_at"])
    assert Counter(late) == {("reminder_resolve", "email"): 1,
                             ("reminder_resolve", "webhook"): 1}


async def test_sweep_over_100k_open_assignments_is_one_statement_fast_enough(
    pool: db.Pool,
) -> None:
    rows = followed(100_000)
    async with pool.acquire() as conn, conn.transaction():
        for i in range(0, len(rows), 10_000):
            await store.follow_assignments(conn, rows=rows[i:i + 10_000])
    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        new = await store.sweep_reminders(conn, now=MON + timedelta(days=1))
    elapsed = time.perf_counter() - started
    assert len(new) == 200_000
    print(f"sweep of 100k assignments: {elapsed:.2f}s")
    assert elapsed < 60


async def test_lease_keeps_a_message_from_a_second_dispatcher_until_it_expires(
    pool: db.Pool,
) -> None:
    owed = logic.fan_out(base_key="k1", kind="assignment", recipient_id="x.y", contacts=[],
                         due=MON, urgent=False, quiet=logic.Quiet(), payload={})
    async with pool.acquire() as conn:
        assert len(await store.insert_owed(conn, owed=owed)) == 1
        assert await store.insert_owed(conn, owed=owed) == []
        a = await store.claim_due(conn, now=MON, worker="A", limit=10, lease_s=0.5)
        b = await store.claim_due(conn, now=MON, worker="B", limit=10, lease_s=0.5)
        assert [r["message_key"] for r in a] == ["k1:log"] and b == []
        await asyncio.sleep(0.6)  # A "died" holding it
        b = await store.claim_due(conn, now=MON, worker="B", limit=10, lease_s=30)
        assert [r["attempts"] for r in b] == [2]
        # A comes back: it no longer holds the lease and cannot mark it.
        assert not await store.mark_sent(conn, key="k1:log", worker="A", sent_at=MON)
        assert await store.mark_sent(conn, key="k1:log", worker="B", sent_at=MON)


async def test_an_attempt_is_recorded_once_however_often_its_settle_is_retried(
    pool: db.Pool,
) -> None:
    # A settle whose commit went through but whose answer was lost (a database restart)
    # is tried again: the attempt must not be counted twice as sent.
    owed = logic.fan_out(base_key="k2", kind="assignment", recipient_id="x.y", contacts=[],
                         due=MON, urgent=False, quiet=logic.Quiet(), payload={})
    async with pool.acquire() as conn:
        await store.insert_owed(conn, owed=owed)
        (row,) = await store.claim_due(conn, now=MON, worker="A", limit=10, lease_s=30)
        kw = {"key": "k2:log", "attempt": row["attempts"], "channel": "log", "worker": "A",
              "outcome": "sent", "error": None, "started_at": MON, "duration_s": 0.01}
        assert await store.record_attempt(conn, **kw)
        assert not await store.record_attempt(conn, **kw)
        n = await conn.fetchval(
            "SELECT count(*) FROM delivery_attempts WHERE message_key = 'k2:log'")
        assert n == 1


async def test_failed_delivery_is_retried_with_backoff_then_failed_and_counted(
    pool: db.Pool,
) -> None:
    clock = ManualClock(MON)
    registry = CollectorRegistry()
    metrics = NotifyMetrics.create(registry)
    s = NotifySettings(max_attempts=3, retry_base_s=60, retry_cap_s=600)
    # A real SMTP client against a port nobody listens on.
    email = EmailChannel(host="127.0.0.1", port=free_port(), sender="t@example.vn", timeout_s=2)
    d = Dispatcher(pool=pool, channels={"email": email}, clock=clock, settings=s,
                   metrics=metrics)
    owed = logic.fan_out(base_key="k2", kind="assignment", recipient_id="x.y",
                         contacts=[logic.Contact("email", "x@example.vn")], due=MON,
                         urgent=False, quiet=logic.Quiet(), payload={"tracking_code": "TG-1"})
    async with pool.acquire() as conn:
        await store.insert_owed(conn, owed=owed)
    assert await d.dispatch_once() == 1
    assert await d.dispatch_once() == 0  # not due again yet: backoff
    assert registry.get_sample_value("thaogo_notify_retry_queue_size") == 1
    for _ in range(2):
        clock.advance(timedelta(minutes=30))
        assert await d.dispatch_once() == 1
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT state, attempts, last_error FROM messages")
        outcomes = [r["outcome"] for r in await conn.fetch(
            "SELECT outcome FROM delivery_attempts ORDER BY id")]
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    assert (row["state"], row["attempts"]) == ("failed", 3)
    assert "x@example.vn" not in row["last_error"]
    assert outcomes == ["retried", "retried", "failed"]
    labels = {"kind": "assignment", "channel": "email"}
    assert registry.get_sample_value("thaogo_notify_messages_total",
                                     {**labels, "outcome": "retried"}) == 2
    assert registry.get_sample_value("thaogo_notify_messages_total",
                                     {**labels, "outcome": "failed"}) == 1
    assert registry.get_sample_value("thaogo_notify_delivery_duration_seconds_count",
                                     {"channel": "email"}) == 3


async def test_oldest_undelivered_age_gauge(pool: db.Pool) -> None:
    clock = ManualClock(MON)
    registry = CollectorRegistry()
    d = Dispatcher(pool=pool, channels={}, clock=clock, settings=NotifySettings(),
                   metrics=NotifyMetrics.create(registry))
    owed = logic.fan_out(base_key="k3", kind="assignment", recipient_id="x.y", contacts=[],
                         due=MON, urgent=False, quiet=logic.Quiet(), payload={})
    async with pool.acquire() as conn:
        await store.insert_owed(conn, owed=owed)
    clock.advance(timedelta(minutes=5))
    await d.update_gauges()
    assert registry.get_sample_value("thaogo_notify_oldest_undelivered_age_seconds") == 300


ZONE = [{"id": "binh-duong.to-pho-kcn", "contacts": [
    {"channel": "email", "address": "to-pho-kcn@example.vn", "secret_env": None}]}]


async def test_a_zone_deputy_is_alerted_once_per_deadline_passed(pool: db.Pool) -> None:
    """#21 item 4: the deputy of the item's zone hears when the acknowledge deadline passes
    and again when the resolve deadline does, once each however many sweeps and steps
    follow; an assignment without zone deputies (a co-handler's) alerts nobody."""
    kcn, other = followed(2)
    kcn = dataclasses.replace(kcn, zone_deputies=ZONE)
    async with pool.acquire() as conn, conn.transaction():
        await store.follow_assignments(conn, rows=[kcn, other])

    async def sweep(at: datetime) -> list[tuple[str, str]]:
        async with pool.acquire() as conn, conn.transaction():
            return sorted(k for k in await store.sweep_reminders(conn, now=at)
                          if k[0] == logic.ZONE_OVERDUE)

    assert await sweep(MON + timedelta(hours=23)) == []  # not due yet
    assert await sweep(MON + timedelta(days=1)) == [(logic.ZONE_OVERDUE, "email")]
    assert await sweep(MON + timedelta(days=2)) == []  # the second reminder: no new alert
    assert await sweep(MON + timedelta(days=4)) == []  # nor the escalation
    assert await sweep(MON + timedelta(days=20)) == [(logic.ZONE_OVERDUE, "email")]
    assert await sweep(MON + timedelta(days=22)) == []
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT message_key, recipient_id, address, due_at, payload"
                                " FROM messages WHERE kind = $1 ORDER BY due_at",
                                logic.ZONE_OVERDUE)
    assert [r["recipient_id"] for r in rows] == ["binh-duong.to-pho-kcn"] * 2
    assert [r["message_key"] for r in rows] == [
        f"zone_overdue:{kcn.assignment_id}:{phase}@{int(t.timestamp())}:"
        "binh-duong.to-pho-kcn:email"
        for phase, t in (("ack", kcn.ack_deadline), ("resolve", kcn.resolve_deadline))]
    assert [r["due_at"] for r in rows] == [kcn.ack_due[0], kcn.resolve_due[0]]
    said = logic.render(logic.ZONE_OVERDUE, rows[0]["payload"])
    assert "quá hạn tiếp nhận" in said.subject and kcn.tracking_code in said.subject
