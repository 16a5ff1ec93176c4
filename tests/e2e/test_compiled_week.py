"""The compiled week end to end (#22 item 1), on the real broker and PostgreSQL with the
four services as separate processes, each person through the workspace's own forms
(their sign-in session and CSRF value): members report, one of them late; the permanent
deputy opens the week's compilation pre-filled from their words, saves a draft, edits
and submits it; the head reads it and directs an agency, by a date; the agency sees the
direction on its landing page and marks it in progress, then done; the week's report
(JSON, page, PDF read back with pdftotext) carries the compiled text, the members' words
and the direction with its progress, and the next week's report (composed by the very
function the Friday job runs, on the stack's database: the wall clock cannot be moved
under running processes) shows it in progress, and once it is done, no longer. The
consistency checker ends it at 0 differences (the stack fixture)."""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
import pytest

from services.reporting import usecases
from shared import auth, db
from shared.calendar import WeekWindow, next_window, previous_window, to_local, week_window
from shared.provinces import ConfigHolder
from tests.conftest import Stack, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(300)]

CONFIGS = ConfigHolder().current
CFG = CONFIGS["binh-duong"]
AGENCY = "binh-duong.so-cong-thuong"
M1, M2 = "binh-duong.m01", "binh-duong.m02"
SAID = "Tiếp nhận 4 phản ánh về nguồn nguyên liệu nhập khẩu."
LATE_SAID = "Tuần trước: tiếp nhận 2 kiến nghị về thủ tục hải quan."
COMPILED = ("Trong tuần, Tổ công tác tiếp nhận 4 phản ánh về nguyên liệu; "
            "đề nghị Tổ trưởng chỉ đạo Sở Công Thương rà soát nguồn cung thay thế.")
DIRECTION = "Sở Công Thương rà soát nguồn nguyên liệu thay thế, báo cáo trước thứ Năm."
CSRF = "c" * 43


class Person:
    """A signed-in person of the stack: their session cookie and the form's CSRF value."""

    def __init__(self, stack: Stack, sid: str) -> None:
        self.stack, self.cookies = stack, {auth.SESSION_COOKIE: sid, auth.CSRF_COOKIE: CSRF}

    async def page(self, path: str, **params: str) -> str:
        async with httpx.AsyncClient(cookies=self.cookies, timeout=30) as c:
            r = await c.get(self.stack["reporting"].url + path, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.text

    async def post(self, path: str, form: dict[str, str]) -> dict[str, list[str]]:
        """The form posted to intake: what it said on the way back to the page."""
        async with httpx.AsyncClient(cookies=self.cookies, timeout=30) as c:
            r = await c.post(self.stack["intake"].url + path,
                             data={**form, "csrf_token": CSRF, "lang": "vi"})
        assert r.status_code == 303, (path, r.status_code, r.text[:300])
        return parse_qs(urlparse(r.headers["location"]).query)

    async def shows(self, path: str, text: str, **params: str) -> bool:
        return text in await self.page(path, **params)


async def signed_in(stack: Stack, kind: auth.TokenKind, subject_id: str) -> Person:
    """A session as the e-mailed link would open one."""
    token_id, _ = await auth.create(stack.database_url, configs=CONFIGS, kind=kind,
                                    subject_id=subject_id)
    sid = secrets.token_urlsafe(32)
    conn = await asyncpg.connect(stack.database_url)
    try:
        now = datetime.now(UTC)
        await auth.open_session(conn, sid=sid, token_id=token_id, now=now,
                                expires_at=now + timedelta(hours=2))
    finally:
        await conn.close()
    return Person(stack, sid)


async def report(stack: Stack, headers: dict[str, str], week: str, ext: str = "json"
                 ) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as c:
        r = await c.get(stack["reporting"].url + f"/v1/reports/binh-duong/{week}.{ext}",
                        headers=headers)
    assert r.status_code == 200, r.text[:300]
    return r


async def test_members_report_the_deputy_compiles_the_head_directs_the_agency_acts(
        stack: Stack, tmp_path: Path) -> None:
    await stack.start("intake", "router", "reporting", "notify")
    week = week_window(datetime.now(UTC))
    last = previous_window(week)
    m1 = await signed_in(stack, auth.TokenKind.MEMBER, M1)
    m2 = await signed_in(stack, auth.TokenKind.MEMBER, M2)
    deputy = await signed_in(stack, auth.TokenKind.AGENCY, CFG.rules.triage)
    head = await signed_in(stack, auth.TokenKind.AGENCY, CFG.rules.head)
    agency = await signed_in(stack, auth.TokenKind.AGENCY, AGENCY)
    stranger = await signed_in(stack, auth.TokenKind.AGENCY, "binh-duong.bql-kcn")
    _, op = await auth.create(stack.database_url, configs=CONFIGS,
                              kind=auth.TokenKind.OPERATOR, subject_id="ops-desk")
    reader = {"Authorization": f"Bearer {op}", "Accept-Language": "vi"}

    # Members report: m01 this week, on time; m02 last week's, after its cutoff: late.
    said = await m1.post("/workspace/act/member-report", {
        "received_summary": SAID, "solutions": "Kết nối doanh nghiệp với nhà cung cấp.",
        "recommendations": "Đề nghị Bộ Công Thương hướng dẫn thủ tục."})
    assert said["done"] == ["report"] and said["late"] == ["0"]
    said = await m2.post("/workspace/act/member-report", {
        "received_summary": LATE_SAID, "solutions": "Làm việc với Cục Hải quan.",
        "recommendations": "Không có.", "week_label": last.label})
    assert said.get("late") == ["1"] and said["week"] == [last.label], said

    # Last week's compilation: m02 marked late, the draft pre-filled with their words.
    await wait_until(lambda: deputy.shows("/workspace/compilation", "Võ Thị Lan (trễ hạn): "
                                          + LATE_SAID, week=last.label), timeout=60)
    # This week's: m01's words under the first heading, m02 not reported yet.
    await wait_until(lambda: deputy.shows("/workspace/compilation", SAID), timeout=60)
    page = await deputy.page("/workspace/compilation")
    draft = re.search(r'<textarea id="compiled_text"[^>]*>(.*?)</textarea>', page, re.S)
    assert draft is not None
    assert "I. Tình hình tiếp nhận\n- Phạm Minh Tuấn: " + SAID in draft.group(1)
    assert "Chưa báo cáo: " in draft.group(1) and "Võ Thị Lan" in draft.group(1)

    # Saved as a draft the head does not see it; submitted, the head does.
    said = await deputy.post("/workspace/act/compilation", {
        "compiled_text": "Bản nháp đầu tiên", "action": "save", "week_label": week.label,
        "key": str(uuid.uuid4())})
    assert said["done"] == ["saved"]
    await wait_until(lambda: deputy.shows("/workspace/compilation", "Bản nháp lưu lúc"),
                     timeout=60)
    assert "Bản nháp đầu tiên" not in await head.page("/workspace/head")
    refused = await head.post("/workspace/act/compilation", {
        "compiled_text": "x", "action": "submit", "key": str(uuid.uuid4())})
    assert "refused" in refused  # only the permanent deputy compiles
    said = await deputy.post("/workspace/act/compilation", {
        "compiled_text": COMPILED, "action": "submit", "week_label": week.label,
        "key": str(uuid.uuid4())})
    assert said["done"] == ["submitted"]
    await wait_until(lambda: head.shows("/workspace/head", COMPILED), timeout=60)

    # The head directs the agency, by a date; a direction naming nobody is refused.
    due = to_local(datetime.now(UTC)).date() + timedelta(days=3)
    refused = await head.post("/workspace/act/direction", {
        "direction": DIRECTION, "assignee_id": "ha-noi.so-cong-thuong",
        "due_on": due.isoformat(), "key": str(uuid.uuid4())})
    assert refused["field"] == ["assignee_id"]
    key = str(uuid.uuid4())
    for _ in range(2):  # a double click gives one direction
        said = await head.post("/workspace/act/direction", {
            "direction": DIRECTION, "assignee_id": AGENCY, "due_on": due.isoformat(),
            "key": key})
        assert said["done"] == ["direction"]

    # Notify owes the agency its reminders: on the due date (and the working day before,
    # when that is still to come), each on every channel of the agency.
    async def reminders() -> dict[str, set[str]]:
        conn = await asyncpg.connect(stack.database_url)
        try:
            rows = await conn.fetch("SELECT message_key, state, recipient_id FROM"
                                    " notify.messages WHERE kind = 'direction_due'")
        finally:
            await conn.close()
        assert {r["recipient_id"] for r in rows} <= {AGENCY}
        out: dict[str, set[str]] = {}
        for r in rows:
            out.setdefault(r["message_key"].split(":")[2], set()).add(r["state"])
        return out

    owed = await wait_until(reminders, timeout=60)
    assert owed["due"] == {"pending"} and set(owed) <= {"before", "due"}

    # The agency sees it on its landing page and marks it in progress; another may not.
    await wait_until(lambda: agency.shows("/workspace/", DIRECTION), timeout=60)
    landing = await agency.page("/workspace/")
    found = re.findall(r'id="direction-([0-9a-f-]{36})"', landing)
    assert len(found) == 1 and "Chưa thực hiện" in landing
    did = found[0]
    refused = await stranger.post(f"/workspace/act/direction-progress/{did}",
                                  {"state": "in_progress", "note": ""})
    assert "refused" in refused
    said = await agency.post(f"/workspace/act/direction-progress/{did}", {
        "state": "in_progress", "note": "Đã làm việc với 3 nhà cung cấp trong nước."})
    assert said["done"] == ["progress"]
    refused = await agency.post(f"/workspace/act/direction-progress/{did}",
                                {"state": "open", "note": ""})
    assert refused["field"] == ["state"]  # no step back

    async def in_progress() -> dict[str, Any] | None:
        r = (await report(stack, reader, week.label)).json()
        ds = [d for d in r["directions"] if d["direction_id"] == did]
        return r if ds and ds[0]["state"] == "in_progress" else None

    body = await wait_until(in_progress, timeout=60)
    assert body["compiled_text"] == COMPILED
    assert [(r["member_id"], r["late"]) for r in body["member_reports"]] == [(M1, False)]
    assert M2 in body["members_missing"]
    [direction] = body["directions"]
    assert direction["assignee_id"] == AGENCY and direction["due_on"] == due.isoformat()
    assert direction["note"] == "Đã làm việc với 3 nhà cung cấp trong nước."
    html = await head.page(f"/reports/binh-duong/{week.label}")
    assert COMPILED in html and DIRECTION in html and "Đang thực hiện" in html

    # The next week's report, composed as the Friday job does, shows it in progress.
    conn = await asyncpg.connect(stack.database_url,
                                 server_settings={"search_path": "reporting, public"})
    await db.init_connection(conn)  # as the service's pool has it: jsonb as Python values
    try:
        async def states(window: WeekWindow) -> list[tuple[str, str]]:
            r = await usecases.compose(conn, cfg=CFG, window=window, as_of=window.end,
                                       generated_at=window.end, page_url=None)
            return [(str(d.direction_id), d.state.value) for d in r.directions]

        coming = next_window(week)
        assert await states(coming) == [(did, "in_progress")]
        said = await agency.post(f"/workspace/act/direction-progress/{did}",
                                 {"state": "done", "note": "Đã báo cáo Tổ trưởng."})
        assert said["done"] == ["progress"]

        async def done() -> bool:
            return await states(week) == [(did, "done")]

        # Done during this week: this week's report says so; the next one carries it no
        # longer.
        await wait_until(done, timeout=60)
        assert await states(coming) == []
    finally:
        await conn.close()
    assert "Đã hoàn thành" in await head.page("/workspace/head")
    # Done: the reminders not sent yet never will be.
    await wait_until(lambda: _all_cancelled(reminders), timeout=60)

    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed: the PDF was not read back")
    pdf = (await report(stack, reader, week.label, "pdf")).content
    (tmp_path / "week.pdf").write_bytes(pdf)
    read = await asyncio.to_thread(subprocess.run, ["pdftotext", "-layout",
                                                    str(tmp_path / "week.pdf"), "-"],
                                   capture_output=True, text=True, check=True)
    text = " ".join(read.stdout.split())
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "TỔNG HỢP CỦA TỔ PHÓ THƯỜNG TRỰC",
                   "Ý KIẾN CHỈ ĐẠO CỦA TỔ TRƯỞNG", "Đã hoàn thành", "Phạm Minh Tuấn",
                   "Sở Công Thương rà soát nguồn"):
        assert phrase in text, phrase


async def _all_cancelled(reminders: Any) -> bool:
    return all(states == {"cancelled"} for states in (await reminders()).values())
