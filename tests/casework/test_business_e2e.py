"""The business's side (#20 items 4, 6 and 10), end to end on the real broker and PostgreSQL
with the four services as separate processes: the lead's question stops its clock (notify owes no
reminder while it waits), the business reads it on /track and answers there with its
tracking code and tax code, the answer reaches the lead's topic and its page, and the
clock runs again with the working time that was left; once the lead has closed it, the
business's rating reaches the weekly report's league table; the business is told of each
public step by one e-mail with its tracking link (#20 item 6), its contact reaching its
lead agency only; the business's documents and the public answer's go with the case,
read by the people on it and by the business, 404 to anyone else. Each ends with the
consistency checker at 0 differences (whose fold checks the answer against the question,
and the rating against the closing, on its own)."""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared import auth, topics
from shared.calendar import week_window
from shared.deadlines import resumed
from shared.provinces import ConfigHolder
from tests.casework.test_casework_e2e import (
    DEPUTY,
    HELPERS,
    LEAD,
    RESOLUTION,
    assignments,
    routed,
    token,
    tracked,
    url,
)
from tests.casework.test_central_e2e import fetch
from tests.conftest import Stack, wait_until
from tests.e2e.test_sign_in import AXE, CHROMIUM, check
from tests.intake.conftest import submission
from tests.notify.receivers import SmtpSink, smtp_sink

TRACK_BASE = "https://thaogo.example.vn"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[SmtpSink, int]]:
    """An SMTP server of the module's own, where notify mails everything it sends."""
    with smtp_sink() as served:
        yield served


@pytest.fixture(scope="module")
def module_stack_env(mailbox: tuple[SmtpSink, int]) -> dict[str, str]:
    return {"THAOGO_NOTIFY_SMTP_HOST": "127.0.0.1", "THAOGO_NOTIFY_SMTP_PORT": str(mailbox[1]),
            "THAOGO_NOTIFY_SMTP_STARTTLS": "false", "THAOGO_NOTIFY_REPORT_BASE_URL": TRACK_BASE,
            "THAOGO_NOTIFY_DISPATCH_INTERVAL_S": "0.2"}


pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(240)]

QUESTION = "Đề nghị doanh nghiệp gửi bản sao giấy phép kinh doanh vận tải."
ANSWER = "Chúng tôi đã gửi bản sao qua bưu điện ngày 3/12; số giấy phép 74-0123."


async def fetchrow(stack: Stack, sql: str, *args: Any) -> asyncpg.Record | None:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()


async def clock_of(stack: Stack, assignment_id: uuid.UUID) -> asyncpg.Record | None:
    return await fetchrow(
        stack, "SELECT paused_at, next_check_at, resolve_deadline, resolve_due"
        " FROM notify.assignments WHERE assignment_id = $1", assignment_id)


async def test_a_question_stops_the_clock_and_the_business_answer_restarts_it(
    shared_stack: Stack,
) -> None:
    lead = await token(shared_stack, LEAD)
    async with httpx.AsyncClient(timeout=30) as c:
        d = await routed(shared_stack, c, 31)
        row = await fetchrow(shared_stack, "SELECT assignment_id FROM intake.assignments"
                             " WHERE difficulty_id = $1 AND agency_id = $2 AND active",
                             uuid.UUID(d["difficulty_id"]), LEAD)
        assert row is not None
        aid = row["assignment_id"]
        before = await wait_until(lambda: clock_of(shared_stack, aid), timeout=60)
        assert before["next_check_at"] is not None and before["paused_at"] is None

        # Without a question there is nothing to ask.
        r = await c.post(url(shared_stack, d, "steps"), headers=lead, json={"step": "need_info"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "question", r.text
        r = await c.post(url(shared_stack, d, "steps"), headers=lead,
                         json={"step": "need_info", "question": QUESTION})
        assert r.status_code == 202, r.text
        assert r.json()["status"] is None  # the difficulty stays where it was
        # One question at a time.
        r = await c.post(url(shared_stack, d, "steps"), headers=lead,
                         json={"step": "need_info", "question": "Thêm?"})
        assert r.status_code == 409, r.text

        async def paused() -> asyncpg.Record | None:
            now = await clock_of(shared_stack, aid)
            return now if now and now["paused_at"] is not None else None

        stopped = await wait_until(paused, timeout=60)
        assert stopped["next_check_at"] is None  # the sweep owes it nothing

        # The business reads the question on its page, by its two codes.
        track = shared_stack["reporting"].url + "/track"
        form = {"code": d["tracking_code"], "tax_code": d["tax_code"], "lang": "vi"}

        async def asked() -> str | None:
            page = await c.post(track, data=form)
            return page.text if QUESTION in page.text else None

        page = await wait_until(asked, timeout=60)
        assert f'value="{aid}"' in page and "/track/answer" in page

        answer = shared_stack["intake"].url + "/track/answer"
        good = {"code": d["tracking_code"], "tax_code": d["tax_code"],
                "assignment_id": str(aid), "answer": ANSWER, "lang": "en"}
        # A wrong tax code and a part not waiting get the same neutral refusal.
        refusals = set()
        for wrong in ({**good, "tax_code": "0301234567"},
                      {**good, "assignment_id": str(uuid.uuid4())}):
            r = await c.post(answer, data=wrong, follow_redirects=False)
            assert r.status_code == 303 and "refused=" in r.headers["location"], r.text
            refusals.add(r.headers["location"])
        assert len(refusals) == 1
        r = await c.post(answer, data=good, follow_redirects=False)
        assert r.status_code == 303 and "said=answered" in r.headers["location"], r.text
        # Answered is answered: the form cannot be replayed into a second answer.
        again = await c.post(answer, data=good, follow_redirects=False)
        assert again.headers["location"] in refusals

        async def running() -> asyncpg.Record | None:
            now = await clock_of(shared_stack, aid)
            return now if now and now["paused_at"] is None and now["next_check_at"] else None

        after = await wait_until(running, timeout=60)
        times = await fetchrow(
            shared_stack, "SELECT max(changed_at) FILTER (WHERE step = 'need_info') AS asked,"
            " max(changed_at) FILTER (WHERE actor_kind = 'business') AS answered"
            " FROM intake.status_updates WHERE assignment_id = $1", aid)
        assert times is not None
        # The working time left at the question is left again after the answer.
        assert after["resolve_deadline"] == resumed(
            before["resolve_deadline"], paused_at=times["asked"], resumed_at=times["answered"])
        assert after["resolve_deadline"] >= before["resolve_deadline"]

        # The lead's part is back in progress; the question is no longer on /track.
        held = await fetchrow(shared_stack, "SELECT step FROM intake.assignments"
                              " WHERE assignment_id = $1", aid)
        assert held is not None and held["step"] == "in_progress"

        async def gone() -> bool:
            page = await c.post(track, data=form)
            return QUESTION not in page.text

        await wait_until(gone, timeout=60)
    await shared_stack.assert_consistent()


async def test_a_rating_given_on_the_tracking_page_reaches_the_weekly_report(
    shared_stack: Stack,
) -> None:
    lead = await token(shared_stack, LEAD)
    _, secret = await auth.create(shared_stack.database_url, configs=ConfigHolder().current,
                                  kind=auth.TokenKind.OPERATOR, subject_id="ops-desk")
    operator = {"Authorization": f"Bearer {secret}"}
    week = week_window(datetime.now(UTC)).label
    report = shared_stack["reporting"].url + f"/v1/reports/binh-duong/{week}.json"
    feedback = shared_stack["intake"].url + "/track/feedback"
    async with httpx.AsyncClient(timeout=30) as c:
        d = await routed(shared_stack, c, 32)
        rating = {"code": d["tracking_code"], "tax_code": d["tax_code"], "resolved": "yes",
                  "rating": "4", "comment": "Trả lời nhanh, rõ ràng.", "lang": "en"}
        # Not before the lead has closed it.
        r = await c.post(feedback, data=rating, follow_redirects=False)
        assert r.status_code == 303 and "refused=rating" in r.headers["location"], r.text
        r = await c.post(url(shared_stack, d, "resolution"), headers=lead, json={
            **RESOLUTION, "waive_open_parts_reason": "Các sở đã trả lời bằng văn bản."})
        assert r.status_code == 202, r.text
        # A wrong pair: the one neutral answer, nothing recorded.
        r = await c.post(feedback, data={**rating, "tax_code": "0301234567"},
                         follow_redirects=False)
        assert r.status_code == 303 and "refused=code" in r.headers["location"], r.text
        r = await c.post(feedback, data=rating, follow_redirects=False)
        assert r.status_code == 303 and "said=rated" in r.headers["location"], r.text

        async def rated() -> dict[str, Any] | None:
            got = (await c.get(report, headers=operator)).json()
            rows = [x for x in got["league"]["rows"] if x["agency_id"] == LEAD]
            return rows[0] if rows and rows[0]["rated"] else None

        row = await wait_until(rated, timeout=60)
        assert row["rated"] == 1 and row["rating_average"] == 4.0
        # A change of mind: the latest rating counts, once.
        r = await c.post(feedback, data={**rating, "rating": "2", "resolved": ""},
                         follow_redirects=False)
        assert "said=rated" in r.headers["location"]

        async def changed() -> dict[str, Any] | None:
            now = await rated()
            return now if now and now["rating_average"] == 2.0 else None

        row = await wait_until(changed, timeout=60)
        assert row["rated"] == 1
    await shared_stack.assert_consistent()


async def test_the_business_reopens_once_to_the_lead_then_the_deputy_decides(
    shared_stack: Stack,
) -> None:
    lead = await token(shared_stack, LEAD)
    feedback = shared_stack["intake"].url + "/track/feedback"
    closing = {**RESOLUTION, "waive_open_parts_reason": "Các sở đã trả lời bằng văn bản."}
    async with httpx.AsyncClient(timeout=30) as c:
        d = await routed(shared_stack, c, 33)
        not_yet = {"code": d["tracking_code"], "tax_code": d["tax_code"], "resolved": "no",
                   "comment": "Xe vẫn bị chặn ở chốt, chưa giải quyết được.", "lang": "en"}
        r = await c.post(url(shared_stack, d, "resolution"), headers=lead, json=closing)
        assert r.status_code == 202, r.text
        r = await c.post(feedback, data=not_yet, follow_redirects=False)
        assert "said=rated" in r.headers["location"], r.headers["location"]

        async def status_of() -> tuple[str, str | None]:
            row = await fetchrow(
                shared_stack, "SELECT d.status, a.step FROM intake.difficulties d"
                " LEFT JOIN intake.assignments a ON a.difficulty_id = d.difficulty_id"
                "  AND a.agency_id = $2 AND a.active WHERE d.difficulty_id = $1",
                uuid.UUID(d["difficulty_id"]), LEAD)
            assert row is not None
            return row["status"], row["step"]

        # Back with the lead, its part in progress again, the business's words kept.
        assert await status_of() == ("in_progress", "in_progress")
        r = await c.post(url(shared_stack, d, "resolution"), headers=lead, json=closing)
        assert r.status_code == 202, r.text
        r = await c.post(feedback, data=not_yet, follow_redirects=False)
        assert "said=rated" in r.headers["location"]

        async def at_triage() -> asyncpg.Record | None:
            return await fetchrow(
                shared_stack, "SELECT agency_id, rule FROM router.assignments"
                " WHERE difficulty_id = $1 AND active AND role = 'triage'",
                uuid.UUID(d["difficulty_id"]))

        # The second time, the permanent deputy's triage queue gets it.
        triage = await wait_until(at_triage, timeout=60)
        assert (triage["agency_id"], triage["rule"]) == (DEPUTY, "reassign.triage")
        assert (await status_of())[0] == "reassign_requested"
    await shared_stack.assert_consistent()


def mails_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m, (_, rcpts) in zip(sink.messages, sink.envelopes, strict=True)
            if address in rcpts]


def plain(m: EmailMessage) -> str:
    part = m.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


async def tasks_of(stack: Stack, did: str, agencies: list[str]) -> dict[str, dict[str, Any]]:
    """The task of the difficulty on each agency's own topic, as the agency reads it."""
    consumer = AIOKafkaConsumer(
        *(topics.agency_topic(a) for a in agencies), bootstrap_servers=stack.bootstrap,
        group_id=f"test-{uuid.uuid4()}", auto_offset_reset="earliest",
        enable_auto_commit=False)
    await consumer.start()
    seen: dict[str, dict[str, Any]] = {}
    try:
        async def all_seen() -> bool:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for rec in records:
                    if dict(rec.headers).get("ce_type") != b"vn.thaogo.agency.task.v1":
                        continue
                    task = json.loads(rec.value)
                    if task["assignment"]["difficulty_id"] == did:
                        seen[task["assignment"]["agency_id"]] = task
            return set(agencies) <= seen.keys()

        await wait_until(all_seen, timeout=60)
    finally:
        await consumer.stop()
    return seen


async def test_the_business_is_told_of_each_public_step_once_with_its_tracking_link(
    shared_stack: Stack, mailbox: tuple[SmtpSink, int],
) -> None:
    sink, _ = mailbox
    lead = await token(shared_stack, LEAD)
    address = f"dn-{uuid.uuid4().hex[:10]}@example.vn"
    body = submission(61, category="goods_transport")
    body["contact"]["email"] = address
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(shared_stack["intake"].url + "/v1/difficulties", json=body)
        assert r.status_code == 202, r.text
        d = r.json()
        d["tax_code"] = body["tax_code"]
        did, code = d["difficulty_id"], d["tracking_code"]

        async def known() -> dict[str, asyncpg.Record] | None:
            held = await assignments(shared_stack, did)
            return held if {LEAD, *HELPERS} <= held.keys() else None

        held = await wait_until(known, timeout=60)
        await wait_until(lambda: tracked(shared_stack, c, d), timeout=60)
        r = await c.post(url(shared_stack, d, "steps"), headers=lead,
                         json={"step": "need_info", "question": QUESTION})
        assert r.status_code == 202, r.text
        r = await c.post(shared_stack["intake"].url + "/track/answer", follow_redirects=False,
                         data={"code": code, "tax_code": d["tax_code"], "lang": "vi",
                               "assignment_id": str(held[LEAD]["assignment_id"]),
                               "answer": ANSWER})
        assert r.status_code == 303 and "said=answered" in r.headers["location"], r.text
        r = await c.post(url(shared_stack, d, "resolution"), headers=lead, json={
            **RESOLUTION, "outcome": "partly_resolved",
            "waive_open_parts_reason": "Các cơ quan phối hợp trả lời bằng văn bản riêng."})
        assert r.status_code == 202, r.text

    def kinds() -> list[str]:
        return sorted(str(m["X-Thaogo-Key"]).split(":", 1)[0] for m in mails_to(sink, address))

    told = ["business_assigned", "business_need_info", "business_received",
            "business_resolved"]
    async def all_told() -> bool:
        return kinds() == told

    await wait_until(all_told, timeout=60)
    link = f"{TRACK_BASE}/track?code={code}"
    for m in mails_to(sink, address):
        text = plain(m)
        vi, sep, en = text.partition("---")
        assert sep and link in vi and link in en, text
        assert code in str(m["Subject"])
        assert d["tax_code"] not in text and d["tax_code"] not in str(m)
        assert str(m["X-Thaogo-Key"]).strip().endswith(":email")
    by_kind = {str(m["X-Thaogo-Key"]).split(":", 1)[0]: plain(m) for m in mails_to(sink,
                                                                                   address)}
    assert RESOLUTION["public_answer"] in by_kind["business_resolved"]
    for internal in (RESOLUTION["note"], RESOLUTION["done"]):
        assert internal not in by_kind["business_resolved"]
    assert QUESTION in by_kind["business_need_info"]
    agency = ConfigHolder().current.agency(LEAD)
    assert agency is not None and agency.name_vi in by_kind["business_assigned"]

    # The contact reaches the lead agency's task only, never its co-handlers'.
    tasks = await tasks_of(shared_stack, did, [LEAD, *HELPERS])
    assert tasks[LEAD]["difficulty"]["contact"]["email"] == address
    for helper in HELPERS:
        assert tasks[helper]["difficulty"]["contact"] is None
        assert address not in json.dumps(tasks[helper])

    report = await shared_stack.assert_consistent()
    assert report.ok
    # Settled, and read again by every consumer that would: still one mail per step.
    assert kinds() == told
# Small, real files: the types are read from their first bytes.
BUSINESS_PDF = b"%PDF-1.4\n% Giay phep kinh doanh van tai\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
ANSWER_PDF = b"%PDF-1.7\n% Cong van tra loi 125/UBND-KT\n1 0 obj <<>> endobj\n%%EOF\n"
HEAD = "binh-duong.to-truong"
# An agency co-handling other cases (raw materials), not this one; another province's.
ANOTHER_CASES_HELPER = "binh-duong.so-cong-thuong"
ANOTHER_PROVINCE = "thanh-hoa.bql-kkt-nghi-son"


async def signed_in(stack: Stack, agency: str) -> dict[str, str]:
    """The cookies of a browser signed in to the workspace as `agency`."""
    _, secret = await auth.create(stack.database_url, configs=ConfigHolder().current,
                                  kind=auth.TokenKind.AGENCY, subject_id=agency)
    conn = await asyncpg.connect(stack.database_url)
    try:
        who = await auth.principal_for(conn, secret, configs=ConfigHolder().current)
        assert who is not None
        now = datetime.now(UTC)
        sid = auth.new_session_id()
        await auth.open_session(conn, sid=sid, token_id=who.token_id, now=now,
                                expires_at=now + timedelta(hours=1))
    finally:
        await conn.close()
    return {auth.SESSION_COOKIE: sid, auth.CSRF_COOKIE: "c" * 43}


def form_of(body: dict[str, Any]) -> dict[str, str]:
    """A submission as the web form posts it: the API's field paths as input names."""
    out = {k: str(v) for k, v in body.items() if k != "contact"}
    out.update({f"contact.{k}": v for k, v in body["contact"].items()})
    return {**out, "lang": "en"}


@pytest.mark.browser
async def test_documents_go_with_the_case_and_the_public_answer_reaches_the_business(
    shared_stack: Stack,
) -> None:
    intake = shared_stack["intake"].url
    reporting = shared_stack["reporting"].url
    body = submission(34, category="goods_transport")
    async with httpx.AsyncClient(timeout=30) as c:
        # A file that is not a PDF or an image, whatever its name says: the form again,
        # the field named, nothing accepted.
        r = await c.post(intake + "/", data=form_of(body), files=[
            ("files", ("giay-phep.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))])
        assert r.status_code == 422 and 'data-error-for="files"' in r.text, r.text[-2000:]
        assert 'id="tracking-code"' not in r.text
        r = await c.post(intake + "/", data=form_of(body), files=[
            ("files", ("giấy phép vận tải.pdf", BUSINESS_PDF, "application/octet-stream"))])
        assert r.status_code == 200 and 'id="tracking-code"' in r.text, r.text[-2000:]
        code = re.search(r'id="tracking-code">([A-Z0-9-]+)<', r.text)
        did = re.search(r'id="difficulty-id">([0-9a-f-]{36})<', r.text)
        assert code and did
        d = {"tracking_code": code[1], "difficulty_id": did[1], "tax_code": body["tax_code"]}

        async def known() -> bool:
            return {LEAD, *HELPERS} <= (await assignments(shared_stack, d["difficulty_id"])).keys()

        await wait_until(known, timeout=60)
        await wait_until(lambda: tracked(shared_stack, c, d), timeout=60)

        # The lead closes from its workspace with the answer's letter attached. Six
        # files are one too many, counted as sent: refused naming `files`, nothing closed.
        closing = {"csrf_token": "c" * 43, "lang": "en", "outcome": "resolved",
                   "done": RESOLUTION["done"], "public_answer": RESOLUTION["public_answer"],
                   "waive_open_parts_reason": "Các sở đã trả lời bằng văn bản."}
        form = intake + f"/workspace/act/difficulties/{d['difficulty_id']}/resolution"
        browser = await signed_in(shared_stack, LEAD)
        async with httpx.AsyncClient(timeout=30, cookies=browser) as lead_browser:
            r = await lead_browser.post(form, data=closing, follow_redirects=False, files=[
                ("files", (f"{i}.pdf", ANSWER_PDF, "application/pdf")) for i in range(6)])
            assert r.status_code == 303 and "field=files" in r.headers["location"], r.text
            r = await lead_browser.post(form, data=closing, follow_redirects=False, files=[
                ("files", ("công văn trả lời.pdf", ANSWER_PDF, "application/pdf"))])
            assert r.status_code == 303 and "done=resolved" in r.headers["location"], (
                r.headers["location"])

            kept = await fetch(shared_stack, "SELECT attachment_id, file_name, content_type,"
                               " public, attached_by_kind, status_id, sha256"
                               " FROM intake.attachments WHERE difficulty_id = $1"
                               " ORDER BY attached_at", uuid.UUID(d["difficulty_id"]))
            assert [(k["file_name"], k["attached_by_kind"], k["public"]) for k in kept] == [
                ("giấy phép vận tải.pdf", "business", True),
                ("công văn trả lời.pdf", "agency", True)]
            mine, answer_file = (str(k["attachment_id"]) for k in kept)
            assert kept[1]["status_id"] is not None  # kept with the resolution

            # The lead's page lists both; its link downloads through the session.
            async def listed() -> str | None:
                page = await lead_browser.get(
                    reporting + f"/workspace/difficulties/{d['difficulty_id']}?lang=en")
                return page.text if answer_file in page.text and mine in page.text else None

            page = await wait_until(listed, timeout=60)
            assert 'id="attachments"' in page
            r = await lead_browser.get(
                intake + f"/workspace/act/difficulties/{d['difficulty_id']}/attachments/{mine}")
            assert r.status_code == 200 and r.content == BUSINESS_PDF

        # A co-handler's own document, from its agency's system: for the people on the
        # case, never on /track.
        r = await c.post(url(shared_stack, d, "attachments"),
                         headers=await token(shared_stack, HELPERS[0]),
                         files=[("files", ("biên bản.png", PNG, "image/png"))])
        assert r.status_code == 202, r.text
        internal = r.json()["attachments"][0]["attachment_id"]

        # The business finds the answer's file on /track and downloads it by its codes.
        track = {"code": d["tracking_code"], "tax_code": d["tax_code"], "lang": "en"}

        async def on_track() -> str | None:
            page = await c.post(reporting + "/track", data=track)
            return page.text if answer_file in page.text else None

        page = await wait_until(on_track, timeout=60)
        assert mine in page and "/track/attachments" in page and "with the public answer" in page
        assert internal not in page
        got = intake + "/track/attachments"
        for aid, content in ((answer_file, ANSWER_PDF), (mine, BUSINESS_PDF)):
            r = await c.post(got, data={**track, "attachment_id": aid})
            assert r.status_code == 200 and r.content == content, r.text
            assert r.headers["content-type"] == "application/pdf"
            assert r.headers["content-disposition"].startswith("attachment;")
            assert r.headers["x-content-type-options"] == "nosniff"
        # A wrong tax code: the 404 of a file that does not exist.
        for wrong in ({**track, "tax_code": "0301234567", "attachment_id": mine},
                      {**track, "attachment_id": internal}):
            r = await c.post(got, data=wrong)
            assert r.status_code == 404 and r.json()["errors"][0]["field"] == "attachment_id"

        # The people on the case read the files by the API; an agency co-handling other
        # cases and another province's get a 404, as for a file that does not exist.
        for agency, expected in ((LEAD, 200), (HELPERS[0], 200), (DEPUTY, 200), (HEAD, 200),
                                 (ANOTHER_CASES_HELPER, 404), (ANOTHER_PROVINCE, 404)):
            r = await c.get(url(shared_stack, d, f"attachments/{answer_file}"),
                            headers=await token(shared_stack, agency))
            assert r.status_code == expected, (agency, r.status_code, r.text[:300])
            if expected == 404:
                assert r.json()["errors"][0]["field"] == "attachment_id"
            else:
                assert r.content == ANSWER_PDF
        r = await c.get(url(shared_stack, d, f"attachments/{uuid.uuid4()}"),
                        headers=await token(shared_stack, LEAD))
        assert r.status_code == 404
        # The events said what each file is, never its bytes or its name.
        rows = await fetch(shared_stack, "SELECT payload::text AS p FROM reporting.events"
                           " WHERE difficulty_id = $1", uuid.UUID(d["difficulty_id"]))
        assert any(answer_file in r["p"] for r in rows)
        assert not any("công văn" in r["p"] or "Cong van" in r["p"] for r in rows)
    await pages_in_chromium(intake, reporting, track, answer_file)
    await shared_stack.assert_consistent()


async def pages_in_chromium(intake: str, reporting: str, track: dict[str, str],
                            answer_file: str) -> None:
    """The submission form with its file input, and /track listing the answer's file, in
    headless Chromium at 1280 and 390 px: no sideways scroll, no serious or critical
    axe-core violation, screenshots kept."""
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE} (scripts/test installs it)")
    from playwright.async_api import async_playwright

    where = os.environ.get("THAOGO_TEST_ARTEFACTS")
    artefacts = Path(where) if where else Path(tempfile.mkdtemp(prefix="attachments-"))
    artefacts.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM,
                                          args=["--no-sandbox", "--disable-gpu"])
        try:
            for name, width in (("desktop", 1280), ("phone", 390)):
                # As the other browser tests: axe-core is injected as an inline script.
                ctx = await browser.new_context(bypass_csp=True,
                                                viewport={"width": width, "height": 844})
                page = await ctx.new_page()
                await page.goto(intake + "/?lang=vi")
                files = page.get_by_label("Tài liệu đính kèm")
                assert await files.get_attribute("type") == "file"
                assert await files.get_attribute("multiple") is not None
                await files.set_input_files([{"name": "giấy phép.pdf",
                                              "mimeType": "application/pdf",
                                              "buffer": BUSINESS_PDF}])
                await check(page, width, artefacts / f"form-files-{name}.png")
                await page.goto(reporting + f"/track?lang=vi&code={track['code']}")
                await page.locator("#tax_code").fill(track["tax_code"])
                await page.locator("#track button").click()
                await page.wait_for_selector("#files")
                assert await page.locator(
                    f'#files button[value="{answer_file}"]').count() == 1
                assert "kèm câu trả lời công khai" in await page.locator("#files").inner_text()
                await check(page, width, artefacts / f"track-files-{name}.png")
                await ctx.close()
        finally:
            await browser.close()
    print(f"\nscreenshots: {artefacts}")
