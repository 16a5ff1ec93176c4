"""Central level end to end (#20 item 5, #22 item 6), on the real broker and PostgreSQL
with the four services as separate processes: the lead escalates, the router gives the
case to the ministry with a deadline of its own (20 working days, then progress every 7),
notify owes the permanent deputy a reminder to chase at each point, once; the deputy
registers the letter to the ministry, which reporting renders, and records the ministry's
answer when it comes by letter; the business reads it on /v1/track. Ends with the
consistency checker at 0 differences, which folds the central schedule on its own."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.notify import store as notify_store
from shared import db
from shared.calendar import TZ
from shared.deadlines import add_days
from shared.provinces import DayCount
from tests.casework.test_casework_e2e import assignments, token, tracked, url
from tests.conftest import Stack, wait_until
from tests.intake.conftest import submission

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(240)]

LEAD = "binh-duong.bql-kcn"
DEPUTY = "binh-duong.to-cong-tac"  # the permanent deputy's agency (rules.triage)
DEPUTY_PERSON = "binh-duong.to-pho-thuong-truc"
HEAD = "binh-duong.to-truong"
CO_HANDLER = "binh-duong.cuc-thue"  # tax in Bình Dương
MINISTRY = "central.bo-tai-chinh"  # rules.escalation.tax

ESCALATION = {
    "outcome": "escalated",
    "done": "Làm việc với Cục Thuế về hồ sơ hoàn thuế giá trị gia tăng.",
    "public_answer": "Tổ công tác đã kiến nghị Bộ Tài chính hướng dẫn về hóa đơn điện tử.",
    "reason": "Hướng dẫn về hóa đơn điện tử thuộc thẩm quyền Bộ Tài chính.",
}
ANSWER = "Bộ Tài chính hướng dẫn: hóa đơn điện tử lập lại được chấp nhận để hoàn thuế."


async def fetch(stack: Stack, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def execute(stack: Stack, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def sweep(stack: Stack, at: Any) -> list[tuple[str, str]]:
    """Notify's reminder sweep as its scheduler runs it, at a moment of the test's choosing
    (the services keep the wall clock, and the ministry has weeks): the central reminders
    it queued (the co-handler's own part, still open, has reminders of its own)."""
    pool = await db.create_pool(stack.database_url, schema="notify", max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            new = await notify_store.sweep_reminders(conn, now=at)
    finally:
        await pool.close()
    return [(kind, channel) for kind, channel in new if kind.startswith("central_")]


async def test_escalated_to_a_ministry_chased_lettered_and_answered_to_the_business(
    stack: Stack, tmp_path: Path,
) -> None:
    await stack.start()
    lead, deputy, head, helper = [await token(stack, a)
                                  for a in (LEAD, DEPUTY, HEAD, CO_HANDLER)]
    async with httpx.AsyncClient(timeout=30) as c:
        body = submission(31, category="tax", title="Chậm hoàn thuế giá trị gia tăng")
        d = (await c.post(stack["intake"].url + "/v1/difficulties", json=body)).json()
        d["tax_code"] = body["tax_code"]

        async def held(*agencies: str) -> bool:
            return set(agencies) <= (await assignments(stack, d["difficulty_id"])).keys()

        await wait_until(lambda: held(LEAD), timeout=60)
        # Nothing to do at central level before the case is there.
        r = await c.post(url(stack, d, "letter"), headers=deputy,
                         json={"letter_number": "125/TCT-KT", "letter_date": "2026-01-05"})
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "status", r.text

        r = await c.post(url(stack, d, "resolution"), headers=lead, json=ESCALATION)
        assert r.status_code == 202 and r.json()["status"] == "escalated", r.text
        await wait_until(lambda: held(MINISTRY), timeout=60)

        # The ministry's own deadline, in reporting and in notify.
        did = uuid.UUID(d["difficulty_id"])

        async def followed() -> asyncpg.Record | None:
            rows = await fetch(stack, "SELECT * FROM notify.assignments"
                                      " WHERE difficulty_id = $1 AND central", did)
            return rows[0] if rows else None

        central = await wait_until(followed, timeout=60)
        assigned_at = central["assigned_at"]
        due = add_days(assigned_at, 20, DayCount.WORKING)
        assert central["resolve_deadline"] == due and central["ack_due"] == []
        points = central["resolve_due"]
        assert points[0] == due and points[1] == add_days(due, 7, DayCount.WORKING)

        async def reporting_due() -> asyncpg.Record | None:
            rows = await fetch(stack, "SELECT resolve_due_at, ack_due_at FROM"
                                      " reporting.difficulties WHERE difficulty_id = $1"
                                      " AND status = 'escalated' AND lead_agency_id = $2",
                               did, MINISTRY)
            return rows[0] if rows else None

        row = await wait_until(reporting_due, timeout=60)
        assert row["resolve_due_at"] == row["ack_due_at"] == due

        # At the answer's deadline, then at the first progress point: one reminder each
        # to the permanent deputy, under keys that a second sweep cannot duplicate.
        aid = central["assignment_id"]
        assert await sweep(stack, due - timedelta(minutes=1)) == []
        assert {k for k, _ in await sweep(stack, due + timedelta(minutes=1))} == {
            "central_answer"}
        assert await sweep(stack, due + timedelta(minutes=2)) == []
        assert {k for k, _ in await sweep(stack, points[1] + timedelta(minutes=1))} == {
            "central_progress"}
        owed = await fetch(stack, "SELECT message_key, recipient_id FROM notify.messages"
                                  " WHERE kind LIKE 'central_%' ORDER BY message_key")
        assert {r["recipient_id"] for r in owed} == {DEPUTY_PERSON}
        assert {r["message_key"].rsplit(":", 1)[0] for r in owed} == {
            f"central_answer:{aid}:1:{DEPUTY_PERSON}",
            f"central_progress:{aid}:2:{DEPUTY_PERSON}"}

        # The checker folds the schedule on its own: these two and no other are owed...
        await stack.assert_consistent()
        # ...so a reminder the schedule does not owe, or one it owes gone, is a difference.
        stray = f"central_progress:{aid}:7:{HEAD}:email"
        await execute(stack, "INSERT INTO notify.messages (message_key, kind, recipient_id,"
                             " channel, difficulty_id, payload, due_at) VALUES ($1,"
                             " 'central_progress', $2, 'email', $3, '{}', now() + interval"
                             " '30 days')", stray, HEAD, did)
        # Point 2 on every channel of the deputy (e-mail and Zalo) gone.
        progress = f"central_progress:{aid}:2:%"
        await execute(stack, "UPDATE notify.messages SET message_key = 'gone-' || message_key"
                             " WHERE message_key LIKE $1", progress)
        report = await stack.verify()
        assert not report.ok and stray in report.summary(), report.summary()
        assert "central reminder 2" in report.summary(), report.summary()
        await execute(stack, "DELETE FROM notify.messages WHERE message_key = $1", stray)
        await execute(stack, "UPDATE notify.messages SET message_key = substr(message_key, 6)"
                             " WHERE message_key LIKE $1", "gone-" + progress)

        # The letter: only the permanent deputy registers it, never dated ahead.
        today = datetime.now(TZ).date()
        r = await c.post(url(stack, d, "letter"), headers=lead,
                         json={"letter_number": "125/TCT-KT", "letter_date": str(today)})
        assert r.status_code == 403, r.text
        r = await c.post(url(stack, d, "letter"), headers=deputy, json={
            "letter_number": "125/TCT-KT", "letter_date": str(today + timedelta(days=3))})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "letter_date", r.text
        r = await c.post(url(stack, d, "letter"), headers=deputy,
                         json={"letter_number": "125/TCT-KT", "letter_date": str(today)})
        assert r.status_code == 202, r.text

        async def registered() -> bool:
            rows = await fetch(stack, "SELECT letter_number FROM reporting.difficulties"
                                      " WHERE difficulty_id = $1", did)
            return bool(rows and rows[0]["letter_number"] == "125/TCT-KT")

        await wait_until(registered, timeout=60)
        letter = stack["reporting"].url + f"/v1/difficulties/{did}/letter"
        r = await c.get(letter + ".pdf", headers=helper)
        assert r.status_code == 403, r.text
        for who in (deputy, head, lead):
            r = await c.get(letter + ".docx", headers=who)
            assert r.status_code == 200, r.text
        r = await c.get(letter + ".pdf", headers=deputy)
        assert r.status_code == 200 and r.content.startswith(b"%PDF-"), r.text
        if shutil.which("pdftotext"):
            path = tmp_path / "letter.pdf"
            path.write_bytes(r.content)
            text = " ".join((await asyncio.to_thread(
                subprocess.run, ["pdftotext", str(path), "-"], check=True,
                capture_output=True, text=True)).stdout.split())
            for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Số: 125/TCT-KT",
                           "Kính gửi: Bộ Tài chính", "Chậm hoàn thuế giá trị gia tăng",
                           ESCALATION["public_answer"][:40]):
                assert phrase in text, phrase

        # The ministry's answer, arrived by letter: the deputy records it; it closes the
        # case and reaches the business.
        r = await c.post(url(stack, d, "ministry-answer"), headers=lead, json={
            "letter_number": "4512/BTC-CST", "letter_date": str(today),
            "public_answer": ANSWER})
        assert r.status_code == 403, r.text
        r = await c.post(url(stack, d, "ministry-answer"), headers=deputy, json={
            "letter_number": "4512/BTC-CST", "letter_date": str(today),
            "public_answer": ANSWER, "note": "Nội bộ: văn bản đến số 77."})
        assert r.status_code == 202 and r.json()["status"] == "resolved", r.text

        async def answered() -> dict[str, Any] | None:
            t = await tracked(stack, c, d)
            return t if t and t.get("public_answer") == ANSWER else None

        seen = await wait_until(answered, timeout=60)
        assert seen["status"] == "resolved" and seen["outcome"] == "resolved"
        assert "văn bản đến số 77" not in str(seen)

        async def closed() -> bool:
            row = await followed()
            return row is not None and row["closed_at"] is not None

        await wait_until(closed, timeout=60)
        # Nothing more is chased once the ministry has answered.
        assert await sweep(stack, points[3] + timedelta(minutes=1)) == []
        r = await c.post(url(stack, d, "ministry-answer"), headers=deputy, json={
            "letter_number": "4512/BTC-CST", "letter_date": str(today),
            "public_answer": ANSWER})
        assert r.status_code == 409, r.text
    await stack.assert_consistent()
