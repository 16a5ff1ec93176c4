"""Notify (issue #6): one reminder sweep over many open assignments with notify's real
sweep, next to a bare INSERT ... SELECT of the same rows; and messages delivered per
second to a local webhook receiver through notify's real dispatcher and webhook channel,
next to a bare HTTP client posting the same messages to the same receiver."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from bench import common
from bench.common import Infra
from services.notify import logic, store
from services.notify.channels import OutgoingMessage, webhook_body
from services.notify.jobs import Dispatcher
from services.notify.main import build_channels
from services.notify.metrics import NotifyMetrics
from services.notify.settings import NotifySettings
from shared import db
from shared.calendar import TZ, ManualClock
from shared.service import migrations_dir
from thaogo.embedded import free_port
from thaogo.launcher import terminate

SCHEMA = "notify"
ASSIGNED = datetime(2026, 3, 9, 9, tzinfo=TZ)  # a Monday morning
ACK_DEADLINE = ASSIGNED + timedelta(days=1)  # the sweep runs when it has passed

# Open assignments as notify's follow_assignments stores them: three acknowledgement
# reminders (the last one the escalation), three resolution steps far later.
_ASSIGNMENTS = """
INSERT INTO assignments (assignment_id, difficulty_id, tracking_code, province_code,
    agency_id, urgent, assigned_at, ack_deadline, resolve_deadline, ack_due, resolve_due,
    agency_contacts, deputy_id, deputy_contacts, next_check_at)
SELECT gen_random_uuid(), gen_random_uuid(), 'TG-N' || lpad(i::text, 8, '0'), '79',
       'binh-duong.bql-kcn', false, $1::timestamptz, $2::timestamptz, $3::timestamptz,
       ARRAY[$2::timestamptz, $2::timestamptz + interval '1 day',
             $2::timestamptz + interval '2 days'],
       ARRAY[$3::timestamptz, $3::timestamptz + interval '1 day',
             $3::timestamptz + interval '2 days'],
       $4::text::jsonb, 'binh-duong.to-pho-thuong-truc', '[]'::jsonb, $2::timestamptz
FROM generate_series(1, $5::int) i
"""

# The baseline: the same rows the sweep writes, with none of its schedule logic.
_BARE_SWEEP = """
INSERT INTO bare_messages (message_key, kind, recipient_id, channel, address, secret_env,
    province_code, difficulty_id, urgent, due_at, payload)
SELECT 'reminder_ack:' || a.assignment_id || ':1:' || a.agency_id || ':' || (c->>'channel'),
       'reminder_ack', a.agency_id, c->>'channel', c->>'address', c->>'secret_env',
       a.province_code, a.difficulty_id, a.urgent, a.ack_deadline,
       jsonb_build_object('assignment_id', a.assignment_id, 'tracking_code', a.tracking_code)
FROM assignments a CROSS JOIN LATERAL jsonb_array_elements(a.agency_contacts) c
"""


async def open_assignments(server_url: str, n: int, contacts: list[dict[str, Any]]) -> db.Pool:
    url = await common.fresh_database(server_url)
    pool = await db.create_pool(url, schema=SCHEMA, max_size=12)
    async with pool.acquire() as conn:
        await db.migrate(conn, schema=SCHEMA, folder=migrations_dir(SCHEMA))
        await conn.execute(_ASSIGNMENTS, ASSIGNED, ACK_DEADLINE,
                           ASSIGNED + timedelta(days=20), json.dumps(contacts), n)
        await conn.execute("ANALYZE assignments")
    return pool


async def sweep(server_url: str, n: int) -> dict[str, Any]:
    contacts = [{"channel": "email", "address": "co-quan@example.vn", "secret_env": None},
                {"channel": "webhook", "address": "https://example.vn/hook", "secret_env": None}]
    pool = await open_assignments(server_url, n, contacts)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE bare_messages (LIKE messages INCLUDING ALL)")
            async with conn.transaction():
                t0 = time.perf_counter()
                bare_rows = int((await conn.execute(_BARE_SWEEP)).split()[-1])
                bare_s = time.perf_counter() - t0
            async with conn.transaction():
                t0 = time.perf_counter()
                new = await store.sweep_reminders(conn, now=ACK_DEADLINE)
                sweep_s = time.perf_counter() - t0
            again = await store.sweep_reminders(conn, now=ACK_DEADLINE)
    finally:
        await pool.close()
    return {
        "figure": common.figure(f"reminder sweep over {n:,} open assignments", sweep_s * 1000,
                                bare_s * 1000, unit="ms",
                                baseline_is="bare INSERT … SELECT of the same rows"),
        "counts": {"assignments": n, "reminders": len(new), "bare_rows": bare_rows,
                   "second_sweep": len(again)},
    }


async def post_all(url: str, bodies: list[bytes], concurrency: int) -> float:
    """The bare client: the same bodies, the same receiver, the dispatcher's concurrency."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        it = iter(bodies)

        async def worker() -> None:
            for body in it:
                r = await client.post(url, content=body,
                                      headers={"Content-Type": "application/json; charset=utf-8"})
                r.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(bodies) / (time.perf_counter() - t0)


async def deliveries(server_url: str, receiver: str, n: int) -> dict[str, Any]:
    contacts = [{"channel": "webhook", "address": f"{receiver}/hook/notify", "secret_env": None}]
    pool = await open_assignments(server_url, n, contacts)
    settings = NotifySettings(webhook_secret="bench-secret")
    try:
        async with pool.acquire() as conn, conn.transaction():
            owed = await store.sweep_reminders(conn, now=ACK_DEADLINE)
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM messages ORDER BY message_key")
        bodies = []
        for row in rows:
            r = logic.render(row["kind"], store.as_dict(row["payload"]))
            bodies.append(webhook_body(OutgoingMessage(
                key=row["message_key"], kind=row["kind"], recipient_id=row["recipient_id"],
                address=row["address"], subject=r.subject, text=r.text, html=r.html,
                data=store.as_dict(row["payload"]))))
        bare = await post_all(f"{receiver}/hook/bare", bodies, settings.dispatch_concurrency)
        async with httpx.AsyncClient() as client:
            dispatcher = Dispatcher(pool=pool, channels=build_channels(settings, client),
                                    clock=ManualClock(ACK_DEADLINE + timedelta(minutes=1)),
                                    settings=settings,
                                    metrics=NotifyMetrics.create(CollectorRegistry()))
            t0 = time.perf_counter()
            while await dispatcher.dispatch_once():
                pass
            rate = len(owed) / (time.perf_counter() - t0)
            got = (await client.get(f"{receiver}/count/notify")).json()["count"]
            got_bare = (await client.get(f"{receiver}/count/bare")).json()["count"]
        async with pool.acquire() as conn:
            sent = await conn.fetchval("SELECT count(*) FROM messages WHERE state = 'sent'")
    finally:
        await pool.close()
    return {
        "figure": common.figure("webhook messages delivered/s", rate, bare, unit="/s",
                                baseline_is="bare httpx client, same bodies, same receiver"),
        "counts": {"messages": len(owed), "received": got, "marked_sent": sent,
                   "bare_sent": len(bodies), "bare_received": got_bare},
        "concurrency": settings.dispatch_concurrency,
    }


def run(inf: Infra, scale: float) -> dict[str, Any]:
    port = free_port()
    proc, log = common.start_process(["-m", "bench.receiver", "--port", str(port)], "receiver")
    try:
        receiver = f"http://127.0.0.1:{port}"
        common.wait_http(f"{receiver}/count/ready", proc, log)
        sw = asyncio.run(sweep(inf.database_url, max(100, int(100_000 * scale))))
        dl = asyncio.run(deliveries(inf.database_url, receiver, max(20, int(5_000 * scale))))
    finally:
        terminate([proc])
    return {"figures": [sw["figure"], dl["figure"]],
            "counts": {"sweep": sw["counts"], "deliveries": dl["counts"]},
            "dispatch_concurrency": dl["concurrency"]}
