"""Agency status updates and tokens, on the real broker and database (intake in-process)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from shared import auth, topics
from shared.events import AssignmentRole
from shared.provinces import ConfigHolder
from tests.conftest import wait_until
from tests.intake.conftest import Intake

# The bound counts the in-process service's start and stop too; under a machine shared
# with other suites (load 18 on 2 cores) those alone took over 120 s.
pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(300)]

BQL = "binh-duong.bql-kcn"
SCT = "binh-duong.so-cong-thuong"
DEPUTY = "binh-duong.to-cong-tac"  # the permanent deputy's agency (rules.triage)


async def assigned(intake: Intake, difficulty_id: str, agency: str, **kw: Any) -> uuid.UUID:
    assignment = await intake.assign(difficulty_id, agency, **kw)
    conn = await asyncpg.connect(intake.database_url)
    try:
        async def learned() -> bool:
            return bool(await conn.fetchval(
                "SELECT count(*) FROM intake.assignments WHERE assignment_id = $1", assignment))

        await wait_until(learned, timeout=30)
    finally:
        await conn.close()
    return assignment


async def post(intake: Intake, did: str, token: str | None, body: dict[str, Any],
               lang: str = "en") -> Any:
    headers = {"Accept-Language": lang}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await intake.client.post(f"/v1/difficulties/{did}/status", json=body, headers=headers)


async def test_an_agency_moves_its_difficulty_to_resolved_and_no_further(intake: Intake) -> None:
    did = (await intake.submit())["difficulty_id"]
    assignment = await assigned(intake, did, BQL)
    token = await intake.token(agency=BQL)

    for status in ("acknowledged", "in_progress", "in_progress"):
        r = await post(intake, did, token, {"status": status, "note": "đang làm việc"})
        assert r.status_code == 202, r.text
        assert r.json()["status"] == status

    r = await post(intake, did, token, {"status": "resolved"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "note"
    r = await post(intake, did, token, {"status": "resolved", "note": "  "}, lang="vi")
    assert r.status_code == 422
    assert "bắt buộc" in r.json()["errors"][0]["reason"]

    r = await post(intake, did, token, {"status": "resolved", "note": "Đã cấp phép vận chuyển."})
    assert r.status_code == 202, r.text
    status_id = r.json()["status_id"]

    r = await post(intake, did, token, {"status": "acknowledged"})
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "status"
    assert "resolved" in r.json()["errors"][0]["reason"]

    # The resolution leaves by the outbox on difficulty.status.v1, keyed by the difficulty.
    consumer = AIOKafkaConsumer(
        topics.DIFFICULTY_STATUS, bootstrap_servers=intake.kafka,
        group_id=f"test-{uuid.uuid4()}", auto_offset_reset="earliest", enable_auto_commit=False,
    )
    await consumer.start()
    found: dict[str, Any] = {}
    try:
        async def published() -> bool:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for rec in records:
                    data = json.loads(rec.value)
                    if data["status_id"] == status_id:
                        found.update(data=data, key=rec.key, headers=dict(rec.headers))
            return bool(found)

        await wait_until(published, timeout=30)
    finally:
        await consumer.stop()
    assert found["key"] == did.encode()
    assert found["headers"]["ce_type"] == b"vn.thaogo.difficulty.status.v1"
    data = found["data"]
    assert (data["status"], data["actor_kind"], data["actor_id"]) == ("resolved", "agency", BQL)
    assert data["assignment_id"] == str(assignment)
    assert data["note"] == "Đã cấp phép vận chuyển."

    metrics = (await intake.client.get("/metrics")).text
    assert 'thaogo_status_updates_total{status="in_progress"} 2.0' in metrics
    assert 'thaogo_status_updates_total{status="resolved"} 1.0' in metrics


async def test_refusals_401_403_404_and_revocation_at_once(intake: Intake) -> None:
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    mine = await intake.token(agency=BQL)
    other = await intake.token(agency=SCT)
    body = {"status": "acknowledged"}

    r = await post(intake, did, None, body)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["errors"][0]["field"] == "Authorization"
    assert (await post(intake, did, "tga_" + "x" * 43, body)).status_code == 401
    assert (await post(intake, did, "not-a-token", body)).status_code == 401

    r = await post(intake, did, other, body, lang="vi")
    assert r.status_code == 403
    assert "không được giao" in r.json()["errors"][0]["reason"]
    assert (await post(intake, str(uuid.uuid4()), mine, body)).status_code == 404
    assert (await post(intake, "not-a-uuid", mine, body)).status_code == 422

    rows = [r for r in await auth.list_all(intake.database_url) if r["subject_id"] == BQL]
    assert len(rows) == 1 and rows[0]["revoked_at"] is None
    assert await auth.revoke(intake.database_url, rows[0]["token_id"])
    assert (await post(intake, did, mine, body)).status_code == 401
    assert not await auth.revoke(intake.database_url, rows[0]["token_id"])


async def test_only_the_lead_and_the_permanent_deputy_close_a_difficulty(
    intake: Intake
) -> None:
    """The probe's finding: a co-handler or a member could reject or resolve, and the lead
    then met a 409 "already final". Now they get a 403 naming why, and the lead closes."""
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    co = await assigned(intake, did, SCT, role=AssignmentRole.CO_HANDLER)
    member = await assigned(intake, did, SCT, member_id="binh-duong.m05")
    tokens = {"lead": await intake.token(agency=BQL), "co": await intake.token(agency=SCT),
              "member": await intake.token(member="binh-duong.m05"),
              "deputy": await intake.token(agency="binh-duong.to-cong-tac"),
              "other-deputy": await intake.token(agency="thanh-hoa.to-cong-tac")}
    closing = ({"status": "rejected", "note": "không thuộc thẩm quyền"},
               {"status": "resolved", "note": "đã xong"},
               {"status": "escalated", "note": "vượt thẩm quyền"})
    for who in ("co", "member"):
        for body in closing:
            r = await post(intake, did, tokens[who], body, lang="vi")
            assert r.status_code == 403, (who, body, r.text)
            error = r.json()["errors"][0]
            assert error["field"] == "status" and "Tổ phó Thường trực" in error["reason"]
    r = await post(intake, did, tokens["member"], {"status": "reassign_requested", "note": "x"})
    assert r.status_code == 403 and "member" in r.json()["errors"][0]["reason"]
    r = await post(intake, did, tokens["other-deputy"], closing[1])
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "difficulty_id"
    # What is theirs, each on its own assignment.
    for who, mine in (("co", co), ("member", member)):
        r = await post(intake, did, tokens[who], {"status": "in_progress", "note": "đang làm"})
        assert r.status_code == 202, r.text
        conn = await asyncpg.connect(intake.database_url)
        try:
            assert await conn.fetchval(
                "SELECT assignment_id FROM intake.status_updates WHERE status_id = $1",
                uuid.UUID(r.json()["status_id"])) == mine
        finally:
            await conn.close()
    # Not while the co-handler's part is open (#20 item 2): once it is done, the lead may.
    r = await post(intake, did, tokens["lead"], closing[1])
    assert r.status_code == 409 and "binh-duong.so-cong-thuong" in r.json()["errors"][0][
        "reason"], r.text
    r = await intake.client.post(f"/v1/difficulties/{did}/steps", json={
        "step": "done", "note": "đã cấp phép"}, headers={"Authorization": f"Bearer {tokens['co']}"})
    assert r.status_code == 202, r.text
    r = await post(intake, did, tokens["lead"], closing[1])
    assert r.status_code == 202, r.text

    # The permanent deputy closes one it does not hold.
    other = (await intake.submit())["difficulty_id"]
    await assigned(intake, other, BQL)
    r = await post(intake, other, tokens["deputy"], closing[0])
    assert r.status_code == 202, r.text


async def test_the_contact_is_read_by_the_lead_and_the_permanent_deputy_only(
    intake: Intake
) -> None:
    """#20 item 7: everyone on the difficulty reads it; the business's contact person
    only the lead agency and the permanent deputy, as in the agencies' tasks."""
    contact = {"name": "Trần Thị Hoa", "phone": "0912345678", "email": "hoa@cty-b.vn"}
    did = (await intake.submit(contact=contact))["difficulty_id"]
    await assigned(intake, did, BQL)
    await assigned(intake, did, SCT, role=AssignmentRole.CO_HANDLER)
    await assigned(intake, did, SCT, member_id="binh-duong.m05")
    _, operator = await auth.create(intake.database_url, configs=ConfigHolder().current,
                                    kind=auth.TokenKind.OPERATOR, subject_id="ops")
    _, elsewhere = await auth.create(intake.database_url, configs=ConfigHolder().current,
                                     kind=auth.TokenKind.OPERATOR, subject_id="ops-th",
                                     province="thanh-hoa")
    readers = {
        "lead": (await intake.token(agency=BQL), "lead", True),
        "deputy": (await intake.token(agency="binh-duong.to-cong-tac"), "permanent_deputy",
                   True),
        "co": (await intake.token(agency=SCT), "co_handler", False),
        "member": (await intake.token(member="binh-duong.m05"), "member", False),
        "operator": (operator, "operator", False),
    }
    for who, (token, standing, sees) in readers.items():
        r = await intake.client.get(f"/v1/difficulties/{did}",
                                    headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, (who, r.text)
        body = r.json()
        assert body["standing"] == standing, (who, body)
        assert body["difficulty"]["difficulty_id"] == did
        assert body["difficulty"]["contact"] == (contact if sees else None), who
        assert ("0912345678" in r.text) == sees, who
    refused = {"another agency": (await intake.token(agency="binh-duong.so-y-te"),
                                  "difficulty_id"),
               "another province's deputy": (await intake.token(agency="thanh-hoa.to-cong-tac"),
                                             "difficulty_id"),
               "another province's operator": (elsewhere, "province")}
    for who, (token, field) in refused.items():
        r = await intake.client.get(f"/v1/difficulties/{did}",
                                    headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403, (who, r.text)
        assert r.json()["errors"][0]["field"] == field, who
        assert "0912345678" not in r.text
    r = await intake.client.get(f"/v1/difficulties/{did}")
    assert r.status_code == 401
    r = await intake.client.get(f"/v1/difficulties/{uuid.uuid4()}",
                                headers={"Authorization": f"Bearer {readers['lead'][0]}"})
    assert r.status_code == 404


async def test_a_superseded_assignment_no_longer_allows_updates(intake: Intake) -> None:
    did = (await intake.submit())["difficulty_id"]
    first = await assigned(intake, did, BQL)
    bql, sct = await intake.token(agency=BQL), await intake.token(agency=SCT)
    r = await post(intake, did, bql, {"status": "reassign_requested", "note": "không thuộc BQL"})
    assert r.status_code == 202, r.text

    second = await intake.assign(did, SCT, replaces=first)
    conn = await asyncpg.connect(intake.database_url)
    try:
        async def moved() -> bool:
            return bool(await conn.fetchval(
                "SELECT count(*) FROM intake.assignments WHERE assignment_id = $1", second))

        await wait_until(moved, timeout=30)
        stored_hash = await conn.fetchval(
            "SELECT token_hash FROM auth.tokens WHERE subject_id = $1", SCT)
    finally:
        await conn.close()
    assert (await post(intake, did, bql, {"status": "acknowledged"})).status_code == 403
    assert (await post(intake, did, sct, {"status": "acknowledged"})).status_code == 202
    # Only the hash is kept.
    assert stored_hash == auth.token_hash(sct) and sct.encode() not in stored_hash


async def test_learning_an_assignment_finds_what_replaces_it_by_an_index(intake: Intake
                                                                         ) -> None:
    # Asked once for every assignment learnt: a sequential scan of all of them made
    # intake's consumer slower the longer it ran (#24 item 4).
    conn = await asyncpg.connect(intake.database_url)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in await conn.fetch(
                "EXPLAIN SELECT 1 FROM intake.assignments s WHERE s.replaces = $1",
                uuid.uuid4()))
    finally:
        await conn.close()
    assert "assignments_replaced" in plan, plan


async def test_tokens_are_only_issued_to_configured_agencies_and_members(intake: Intake) -> None:
    from shared.provinces import ConfigHolder

    configs = ConfigHolder().current
    with pytest.raises(ValueError, match="no agency"):
        await auth.create(intake.database_url, configs=configs,
                          kind=auth.TokenKind.AGENCY, subject_id="binh-duong.nope")
    with pytest.raises(ValueError, match="no task-force member"):
        await auth.create(intake.database_url, configs=configs,
                          kind=auth.TokenKind.MEMBER, subject_id=BQL)
    _, t = await auth.create(intake.database_url, configs=configs,
                             kind=auth.TokenKind.MEMBER, subject_id="binh-duong.m01")
    assert t.startswith("tgm_") and len(t) >= 40


async def test_token_commands_create_list_and_revoke(database_url: str) -> None:
    import asyncio
    import sys

    async def thaogo(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "thaogo.cli", "token", *args, "--database-url",
            database_url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()

    code, token, _ = await thaogo("create", "--agency", BQL)
    assert code == 0 and token.strip().startswith("tga_")
    code, _, err = await thaogo("create", "--member", "binh-duong.nobody")
    assert code == 2 and "no task-force member" in err
    code, listing, _ = await thaogo("list")
    assert code == 0 and BQL in listing and "active" in listing
    assert token.strip()[4:] not in listing
    token_id = listing.split()[0]
    assert (await thaogo("revoke", token_id))[0] == 0
    code, listing, _ = await thaogo("list")
    assert "revoked" in listing
    assert (await thaogo("revoke", token_id))[0] == 1

    code, token, err = await thaogo("create", "--operator", "th-desk", "--province",
                                    "thanh-hoa", "--expires-in-days", "7")
    assert code == 0 and token.strip().startswith("tgo_"), err
    assert "province thanh-hoa" in err and "expires in 7 days" in err
    code, listing, _ = await thaogo("list")
    (line,) = [x for x in listing.splitlines() if "th-desk" in x]
    assert "province thanh-hoa" in line and line.rstrip().find("active") > 0
    created, expires = (line.split(word)[1].split()[0] for word in ("created", "expires"))
    from datetime import date
    assert (date.fromisoformat(expires) - date.fromisoformat(created)).days == 7
    assert (await thaogo("create", "--operator", "x", "--expires-in-days", "0"))[0] == 2
    assert (await thaogo("create", "--member", "binh-duong.m01", "--province",
                         "thanh-hoa"))[0] == 2


async def browser_of(intake: Intake, agency: str) -> dict[str, str]:
    """The cookies of a browser signed in as `agency`: a session on its token and the
    page's CSRF value."""
    token = await intake.token(agency=agency)
    sid = auth.new_session_id()
    conn = await asyncpg.connect(intake.database_url)
    try:
        who = await auth.principal_for(conn, token, configs=ConfigHolder().current)
        assert who is not None
        now = datetime.now(UTC)
        await auth.open_session(conn, sid=sid, token_id=who.token_id, now=now,
                                expires_at=now + timedelta(hours=1))
    finally:
        await conn.close()
    return {auth.SESSION_COOKIE: sid, auth.CSRF_COOKIE: "c" * 43}


async def test_a_browser_session_reads_the_api_but_changes_nothing_through_it(
        intake: Intake) -> None:
    """The one authentication dependency (shared.identity) takes the sign-in cookie for
    reads only: another site can make a signed-in browser send a POST with its cookies,
    so a change through the API needs the bearer token (a page's form needs its CSRF
    value). Refusals count under their reason."""
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    lead = await browser_of(intake, BQL)
    r = await intake.client.get(f"/v1/difficulties/{did}", cookies=lead)
    assert r.status_code == 200 and r.json()["standing"] == "lead", r.text
    r = await intake.client.post(f"/v1/difficulties/{did}/status", cookies=lead,
                                 json={"status": "acknowledged"})
    assert r.status_code == 401 and r.json()["errors"][0]["field"] == "Authorization"
    r = await intake.client.get(f"/v1/difficulties/{did}",
                                cookies={auth.SESSION_COOKIE: auth.new_session_id()})
    assert r.status_code == 401
    metrics = (await intake.client.get("/metrics")).text
    assert 'thaogo_intake_auth_failures_total{reason="no_valid_token"} 1.0' in metrics
    assert 'thaogo_intake_auth_failures_total{reason="no_session"} 1.0' in metrics
    r = await intake.client.post(f"/v1/difficulties/{did}/status", json={
        "status": "acknowledged"}, headers={"Authorization":
                                            f"Bearer {await intake.token(agency=BQL)}"})
    assert r.status_code == 202, r.text


async def test_the_casework_forms_move_a_part_and_close_with_a_public_answer(
        intake: Intake) -> None:
    """The difficulty page's forms: a co-handler's step on its own part, the lead's
    resolution form; each refusal comes back to the page naming its field."""
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    await assigned(intake, did, SCT, role=AssignmentRole.CO_HANDLER)
    lead, co = await browser_of(intake, BQL), await browser_of(intake, SCT)
    csrf = {"csrf_token": "c" * 43, "lang": "en"}
    base = f"/workspace/act/difficulties/{did}"

    r = await intake.client.post(f"{base}/step", data={**csrf, "step": "done"}, cookies=co)
    assert r.status_code == 303 and "field=note" in r.headers["location"]
    r = await intake.client.post(f"{base}/step", cookies=co, data={
        **csrf, "step": "done", "note": "Đã xác nhận nguồn nguyên liệu thay thế."})
    assert r.headers["location"].endswith("done=done"), r.headers["location"]
    # A co-handler does not close: the resolution form says who does.
    closing = {**csrf, "outcome": "resolved", "done": "Đã cấp phép vận chuyển.",
               "public_answer": "Giấy phép đã được cấp ngày 20/11.",
               "legal_basis": "Công văn 123/UBND-KT"}
    r = await intake.client.post(f"{base}/resolution", data=closing, cookies=co)
    assert r.status_code == 303 and "refused=" in r.headers["location"]
    r = await intake.client.post(f"{base}/resolution", cookies=lead,
                                 data={**closing, "public_answer": ""})
    assert "field=public_answer" in r.headers["location"], r.headers["location"]
    r = await intake.client.post(f"{base}/resolution", data=closing, cookies=lead)
    assert r.headers["location"].endswith("done=resolved"), r.headers["location"]


async def test_the_workspace_form_acts_with_the_session_and_its_csrf_value(
        intake: Intake) -> None:
    """The workspace's forms post here with the browser's sign-in session (not a token) and
    the page's CSRF value; intake sends the browser back to the difficulty's page."""
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    browser = await browser_of(intake, BQL)
    csrf = browser[auth.CSRF_COOKIE]
    path = f"/workspace/act/difficulties/{did}/status"
    form = {"status": "acknowledged", "lang": "en", "csrf_token": csrf}

    r = await intake.client.post(path, data=form, cookies=browser)
    assert r.status_code == 303
    assert r.headers["location"] == (f"/workspace/difficulties/{did}?lang=en&done=acknowledged")

    # A transition the difficulty cannot take comes back as a refusal on the page.
    r = await intake.client.post(path, data={**form, "status": "resolved"}, cookies=browser)
    assert r.status_code == 303 and "field=note" in r.headers["location"]

    # Another site's form carries the cookies but not the value; no session is a 401.
    r = await intake.client.post(path, data={**form, "csrf_token": "x" * 43}, cookies=browser)
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "csrf_token"
    r = await intake.client.post(path, data=form, cookies={auth.CSRF_COOKIE: csrf})
    assert r.status_code == 401
    # The JSON API never takes the session: it is for scripts, with a token.
    r = await intake.client.post(f"/v1/difficulties/{did}/status",
                                 json={"status": "in_progress", "note": "x"}, cookies=browser)
    assert r.status_code == 401


async def _browser(intake: Intake, agency: str) -> dict[str, str]:
    """The cookies of a browser signed in as `agency`, with its CSRF value "c" * 43."""
    token = await intake.token(agency=agency)
    sid = auth.new_session_id()
    conn = await asyncpg.connect(intake.database_url)
    try:
        who = await auth.principal_for(conn, token, configs=ConfigHolder().current)
        assert who is not None
        now = datetime.now(UTC)
        await auth.open_session(conn, sid=sid, token_id=who.token_id, now=now,
                                expires_at=now + timedelta(hours=1))
    finally:
        await conn.close()
    return {auth.SESSION_COOKIE: sid, auth.CSRF_COOKIE: "c" * 43}


async def test_the_queue_acknowledges_several_at_once_each_on_its_own(intake: Intake) -> None:
    """Each box goes through the status step on its own: those already acknowledged, or
    not this agency's, are refused by id with the reason; the others are acknowledged."""
    mine = [(await intake.submit())["difficulty_id"] for _ in range(3)]
    theirs = (await intake.submit())["difficulty_id"]
    for did in mine:
        await assigned(intake, did, BQL)
    await assigned(intake, theirs, SCT)
    browser = await _browser(intake, BQL)
    form = {"difficulty_id": [mine[0], mine[1]], "lang": "en", "csrf_token": "c" * 43}
    r = await intake.client.post("/workspace/act/acknowledge", data=form, cookies=browser)
    assert r.status_code == 303
    assert r.headers["location"] == "/workspace/queue?lang=en&acknowledged=2"
    again = {**form, "difficulty_id": [mine[0], mine[2], theirs, mine[2]]}
    r = await intake.client.post("/workspace/act/acknowledge", data=again, cookies=browser)
    from urllib.parse import parse_qs, urlsplit
    said = parse_qs(urlsplit(r.headers["location"]).query)
    assert said["acknowledged"] == ["1"]
    refused = dict(line.split(" ", 1) for line in said["refused"])
    assert set(refused) == {mine[0], theirs}
    assert "acknowledged" in refused[mine[0]] and "not assigned" in refused[theirs]
    # Without the page's CSRF value nothing is acknowledged; a bad id is a 422.
    r = await intake.client.post("/workspace/act/acknowledge",
                                 data={**form, "csrf_token": "x" * 43}, cookies=browser)
    assert r.status_code == 403
    r = await intake.client.post("/workspace/act/acknowledge",
                                 data={**form, "difficulty_id": ["nope"]}, cookies=browser)
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("difficulty_id")


async def test_the_contact_page_is_for_the_lead_and_the_deputy_only(intake: Intake) -> None:
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    await assigned(intake, did, SCT, role=AssignmentRole.CO_HANDLER)
    path = f"/workspace/act/difficulties/{did}/contact"
    lead = await intake.client.get(path, cookies=await _browser(intake, BQL))
    assert lead.status_code == 200 and 'id="contact"' in lead.text
    assert lead.headers["cache-control"] == "no-store"
    co = await intake.client.get(path, params={"lang": "en"},
                                 cookies=await _browser(intake, SCT))
    assert co.status_code == 200 and 'id="no-contact"' in co.text and 'id="contact"' not in co.text
    outsider = await intake.client.get(path, cookies=await _browser(intake, "binh-duong.so-y-te"))
    assert outsider.status_code == 403
    assert (await intake.client.get(path)).status_code == 401


async def test_at_central_level_the_deputy_registers_the_letter_and_records_the_answer(
        intake: Intake) -> None:
    """#20 item 5, #22 item 6: the difficulty page's central forms, the permanent deputy's
    alone, once a ministry holds the case; each refusal comes back naming its field."""
    did = (await intake.submit())["difficulty_id"]
    lead_assignment = await assigned(intake, did, BQL)
    lead, deputy = await browser_of(intake, BQL), await browser_of(intake, DEPUTY)
    csrf = {"csrf_token": "c" * 43, "lang": "en"}
    base = f"/workspace/act/difficulties/{did}"
    today = datetime.now(UTC).date()
    letter = {**csrf, "letter_number": "125/TCT-KT", "letter_date": today.isoformat()}
    r = await intake.client.post(f"{base}/letter", data=letter, cookies=deputy)
    assert "field=status" in r.headers["location"], r.headers["location"]  # not escalated
    token = await intake.token(agency=BQL)
    r = await intake.client.post(f"/v1/difficulties/{did}/resolution", headers={
        "Authorization": f"Bearer {token}"}, json={
        "outcome": "escalated", "done": "Đã làm việc với Cục Hải quan.",
        "public_answer": "Đã kiến nghị Bộ Công Thương.", "reason": "Thuộc thẩm quyền Bộ."})
    assert r.status_code == 202, r.text
    await assigned(intake, did, "central.bo-cong-thuong", role=AssignmentRole.ESCALATION,
                   replaces=lead_assignment)

    r = await intake.client.post(f"{base}/letter", data=letter, cookies=lead)
    assert "refused=" in r.headers["location"], r.headers["location"]
    r = await intake.client.post(f"{base}/letter", cookies=deputy, data={
        **letter, "letter_date": (today + timedelta(days=2)).isoformat()})
    assert "field=letter_date" in r.headers["location"], r.headers["location"]
    r = await intake.client.post(f"{base}/letter", cookies=deputy,
                                 data={**letter, "letter_number": "công văn"})
    assert "field=letter_number" in r.headers["location"], r.headers["location"]
    r = await intake.client.post(f"{base}/letter", data=letter, cookies=deputy)
    assert r.headers["location"].endswith("done=letter"), r.headers["location"]

    answer = {**csrf, "letter_number": "4512/BCT-XNK", "letter_date": today.isoformat(),
              "outcome": "partly_resolved", "public_answer": "Bộ Công Thương đã hướng dẫn."}
    r = await intake.client.post(f"{base}/ministry-answer", cookies=deputy,
                                 data={**answer, "public_answer": ""})
    assert "field=public_answer" in r.headers["location"], r.headers["location"]
    r = await intake.client.post(f"{base}/ministry-answer", cookies=deputy,
                                 data={**answer, "outcome": "escalated"})
    assert "field=outcome" in r.headers["location"], r.headers["location"]
    r = await intake.client.post(f"{base}/ministry-answer", data=answer, cookies=deputy)
    assert r.headers["location"].endswith("done=ministry_answer"), r.headers["location"]
    conn = await asyncpg.connect(intake.database_url)
    try:
        rows = await conn.fetch("SELECT status, resolution FROM intake.status_updates"
                                " WHERE difficulty_id = $1 ORDER BY changed_at", uuid.UUID(did))
        status = await conn.fetchval("SELECT status FROM intake.difficulties"
                                     " WHERE difficulty_id = $1", uuid.UUID(did))
    finally:
        await conn.close()
    assert status == "resolved"
    # The escalation, the letter (no status of its own), the answer citing the letter.
    assert [r["status"] for r in rows] == ["escalated", None, "resolved"]
    cited = json.loads(rows[-1]["resolution"])
    assert cited["outcome"] == "partly_resolved"
    assert cited["ministry_letter"] == {"number": "4512/BCT-XNK", "dated": today.isoformat()}
    assert cited["public_answer"] == "Bộ Công Thương đã hướng dẫn."
    # Closed: nothing more at central level.
    r = await intake.client.post(f"{base}/letter", data=letter, cookies=deputy)
    assert "field=status" in r.headers["location"], r.headers["location"]
