"""Urgent means urgent (#20 item 9), through the four services as separate processes on
the real broker and database, with mail caught by a real SMTP server.

Office hours are set empty (start == end), so that every moment of the run is outside
them whatever the hour it runs at: a business's own urgent flag reaches the lead agency
at once and the head and the permanent deputy only at the next office hours (owed, held);
the lead agency's confirmation wakes them at once; a member who files an urgent item
wakes them at once. Each ends with the consistency checker at 0 differences."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared import auth
from shared.provinces import ConfigHolder
from tests.conftest import ServiceProcess, Stack, passed, stack_env, wait_until
from tests.intake.conftest import submission
from tests.notify.receivers import SmtpSink, smtp_server
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(240)]

LEAD = "binh-duong.bql-kcn"
LEAD_MAIL = "bql-kcn@binh-duong.example.vn"
HEAD_MAIL = "to-truong@binh-duong.example.vn"
DEPUTY_MAIL = "to-pho-thuong-truc@binh-duong.example.vn"
MEMBER = "binh-duong.m01"


@pytest.fixture
async def night(private_topics: str, database_url: str, tmp_path: Path,
                request: pytest.FixtureRequest) -> AsyncIterator[tuple[Stack, SmtpSink]]:
    """The four services, notify mailing to a sink of the test's own, with no office
    hours at all: every moment is "at night" for the rule under test."""
    async with smtp_server() as (sink, smtp_port):
        ports = {n: free_port() for n in ("intake", "router", "reporting", "notify")}
        env = stack_env(private_topics, database_url,
                        THAOGO_ROUTER_INTAKE_PUBLIC_URL=f"http://127.0.0.1:{ports['intake']}",
                        THAOGO_NOTIFY_SMTP_HOST="127.0.0.1",
                        THAOGO_NOTIFY_SMTP_PORT=str(smtp_port),
                        THAOGO_NOTIFY_SMTP_STARTTLS="false",
                        THAOGO_NOTIFY_WORK_START="00:00", THAOGO_NOTIFY_WORK_END="00:00",
                        THAOGO_NOTIFY_DISPATCH_INTERVAL_S="0.1")
        s = Stack({n: ServiceProcess(n, p, env, tmp_path / f"{n}.log")
                   for n, p in ports.items()})
        try:
            await s.start()
            yield s, sink
            if passed(request):
                await s.assert_consistent()
        finally:
            s.stop()


def mails(sink: SmtpSink) -> Counter[tuple[str, str]]:
    """(kind, recipient address) of every mail received."""
    return Counter((str(m["X-Thaogo-Key"]).strip().split(":", 1)[0], rcpt)
                   for m, (_, rcpts) in zip(sink.messages, sink.envelopes, strict=True)
                   for rcpt in rcpts)


def csv_of(body: dict[str, Any]) -> bytes:
    flat = {k: v for k, v in body.items() if k != "contact"}
    flat.update({f"contact.{k}": v for k, v in body["contact"].items()})
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(flat))
    w.writeheader()
    w.writerow(flat)
    return out.getvalue().encode()


async def token(database_url: str, kind: auth.TokenKind, subject: str) -> dict[str, str]:
    _, t = await auth.create(database_url, configs=ConfigHolder().current, kind=kind,
                             subject_id=subject)
    return {"Authorization": f"Bearer {t}"}


async def test_a_businesss_urgent_flag_waits_for_office_hours_until_confirmed(
    night: tuple[Stack, SmtpSink],
) -> None:
    stack, sink = night
    db = await asyncpg.connect(stack.database_url)
    lead = await token(stack.database_url, auth.TokenKind.AGENCY, LEAD)
    member = await token(stack.database_url, auth.TokenKind.MEMBER, MEMBER)
    operator = await token(stack.database_url, auth.TokenKind.OPERATOR, "ops-desk")
    try:
        async with httpx.AsyncClient(base_url=stack["intake"].url, timeout=30) as client:
            r = await client.post("/v1/difficulties", json=submission(
                901, urgency="urgent", title="Cháy kho nguyên liệu"))
            assert r.status_code == 202, r.text
            did = r.json()["difficulty_id"]

            # The lead agency hears at once; the head and the permanent deputy are owed
            # the alarm at the next office hours, not dropped and not sent.
            await wait_until(lambda: _has(sink, ("assignment", LEAD_MAIL)), timeout=60)
            alarms = await wait_until(lambda: _alarms(db, did, n=4), timeout=60)
            now = datetime.now(UTC)
            assert {a["state"] for a in alarms} == {"pending"}
            assert all(a["due_at"] > now and not a["urgent"] for a in alarms)
            # Neither is reporting's interim report of the item mailed to them (other mail
            # may reach them: the week's own reminders and reports, at the hour of the run).
            got = mails(sink)
            assert not [k for k in got if k[0] in ("urgent_difficulty", "interim_report")
                        and k[1] in (HEAD_MAIL, DEPUTY_MAIL)], got

            # An operator does not vouch for it; the lead agency does.
            await _assigned_in_intake(db, did)
            r = await client.post(f"/v1/difficulties/{did}/urgency", headers=operator,
                                  json={})
            assert r.status_code == 403, r.text
            r = await client.post(f"/v1/difficulties/{did}/urgency", headers=lead,
                                  json={"note": "Cháy kho, cần phối hợp ngay"})
            assert r.status_code == 202, r.text
            first = r.json()
            assert first["confirmed_by"] == LEAD and not first["reported"]
            # Confirmed again (by a member of the task force): the first one stands.
            r = await client.post(f"/v1/difficulties/{did}/urgency", headers=member, json={})
            assert r.status_code == 200 and r.json() == first, r.text

            await wait_until(lambda: _has(sink, ("urgent_difficulty", HEAD_MAIL),
                                          ("urgent_difficulty", DEPUTY_MAIL)), timeout=60)
            head = next(m for m in sink.messages
                        if str(m["X-Thaogo-Key"]).startswith("urgent_difficulty")
                        and HEAD_MAIL in str(m["To"]))
            body = head.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert f"{LEAD} xác nhận" in body and LEAD in body

            # A member files an urgent item (an import): vouched for as it arrives, the
            # head hears at once, and there is nothing left to confirm.
            r = await client.post("/v1/difficulties/import", headers={
                **member, "Content-Type": "text/csv"},
                content=csv_of(submission(902, urgency="urgent", title="Sập tường rào")))
            assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
            imported = r.json()["rows"][0]["difficulty_id"]
            await wait_until(lambda: _sent_alarms(db, imported, n=2), timeout=60)
            await _assigned_in_intake(db, imported)
            r = await client.post(f"/v1/difficulties/{imported}/urgency", headers=lead,
                                  json={})
            assert r.status_code == 409 and r.json()["errors"][0]["field"] == "urgency", r.text

        # Each alarm once, by its cause: one per urgent difficulty and person.
        got = mails(sink)
        assert got[("urgent_difficulty", HEAD_MAIL)] == 2, got
        assert got[("urgent_difficulty", DEPUTY_MAIL)] == 2, got
        keys = Counter(str(m["X-Thaogo-Key"]).strip() for m in sink.messages)
        assert max(keys.values()) == 1, keys
    finally:
        await db.close()


async def _has(sink: SmtpSink, *wanted: tuple[str, str]) -> bool:
    got = mails(sink)
    return all(got[w] for w in wanted)


async def _alarms(db: asyncpg.Connection, did: str, *, n: int) -> list[asyncpg.Record] | None:
    rows = await db.fetch(
        "SELECT message_key, state, due_at, urgent FROM notify.messages"
        " WHERE kind = 'urgent_difficulty' AND difficulty_id = $1", uuid.UUID(did))
    return rows if len(rows) >= n else None


async def _sent_alarms(db: asyncpg.Connection, did: str, *, n: int) -> bool:
    return bool(await db.fetchval(
        "SELECT count(*) >= $2 FROM notify.messages WHERE kind = 'urgent_difficulty'"
        " AND difficulty_id = $1 AND channel = 'email' AND state = 'sent'", uuid.UUID(did), n))


async def _assigned_in_intake(db: asyncpg.Connection, did: str) -> None:
    """Intake knows the difficulty's assignments (who stands where in it)."""
    await wait_until(lambda: db.fetchval(
        "SELECT count(*) > 0 FROM intake.assignments WHERE difficulty_id = $1"
        " AND role = 'lead' AND active", uuid.UUID(did)), timeout=60)
