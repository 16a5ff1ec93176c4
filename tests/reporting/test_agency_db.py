"""An agency's workspace on the real database: its queue holds exactly what it holds an
active assignment on (never another agency's), in deadline order, with every filter and
paging; the exports carry the same rows with Vietnamese headers and names; a
difficulty's page offers each part its own steps and the contact link to the lead only;
and an agency's token lists its queue over the API."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import openpyxl
import pytest

from services.reporting import store
from services.reporting.store import difficulties
from shared import auth as registry
from shared.calendar import TZ
from shared.deadlines import add_days
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    Category,
    DifficultyReceived,
    LetterRef,
    Status,
    ZoneType,
)
from shared.provinces import DayCount
from tests.reporting import test_api_db
from tests.reporting.conftest import assigned, env, received, status
from tests.reporting.test_api_db import Served

pytestmark = [pytest.mark.db]

# The read side served by uvicorn, as test_api_db serves it.
settings, served = test_api_db.settings, test_api_db.served

KCN = "binh-duong.bql-kcn"
SCT = "binh-duong.so-cong-thuong"
KHDT = "binh-duong.so-ke-hoach-dau-tu"


async def _seed(s: Served) -> dict[str, DifficultyReceived]:
    """bql-kcn leads `new` (not acknowledged, due soon), `late` (acknowledged, overdue),
    `done` (resolved) and `moved` (reassigned to Sở KH&ĐT since: no longer its own);
    Sở Công Thương leads `cluster` and co-handles `new`; nobody holds `loose`."""
    h = s.handlers
    now = s.clock.now()
    new = received(now - timedelta(hours=2), n=1, title="Thiếu nguyên liệu nhập khẩu")
    late = received(now - timedelta(days=30), n=2, title="Vướng mắc thủ tục hải quan",
                    category=Category.ADMIN_PROCEDURE)
    done = received(now - timedelta(days=10), n=3, title="Đã xong")
    moved = received(now - timedelta(days=5), n=4, zone=ZoneType.NONE, title="Chuyển đi")
    cluster = received(now - timedelta(days=1), n=5, zone=ZoneType.CCN, title="Cụm công nghiệp")
    loose = received(now - timedelta(days=1), n=6, title="Chưa phân công")
    for d in (new, late, done, moved, cluster, loose):
        await h.on_received([env(d)], None)  # type: ignore[arg-type]
    first = assigned(moved, moved.received_at)
    events = [assigned(new, new.received_at),
              assigned(new, new.received_at, agency=SCT, role=AssignmentRole.CO_HANDLER),
              assigned(late, late.received_at), assigned(done, done.received_at), first,
              assigned(moved, moved.received_at + timedelta(hours=3), agency=KHDT,
                       replaces=first.assignment_id),
              assigned(cluster, cluster.received_at, agency=SCT)]
    await h.on_assigned([env(e) for e in events], None)  # type: ignore[arg-type]
    acked_at = late.received_at + timedelta(hours=1)
    await h.on_status([env(status(late, Status.ACKNOWLEDGED, acked_at)),
                       env(status(done, Status.RESOLVED, done.received_at + timedelta(days=1)))],
                      None)  # type: ignore[arg-type]
    return {"new": new, "late": late, "done": done, "moved": moved, "cluster": cluster,
            "loose": loose}


async def _signed_in(s: Served, agency: str) -> dict[str, str]:
    """A session cookie for `agency` (as the e-mailed link would open one)."""
    sid = registry.new_session_id()
    async with s.pool.acquire() as conn:
        await registry.migrate(conn)
        token_id, _ = await registry.insert_token(conn, kind=registry.TokenKind.AGENCY,
                                                  subject_id=agency)
        await registry.open_session(conn, sid=sid, token_id=token_id, now=s.clock.now(),
                                    expires_at=s.clock.now() + timedelta(hours=8))
    return {registry.SESSION_COOKIE: sid}


async def _held(s: Served, agency: str, **f: Any) -> list[str]:
    by_deadline = f.pop("by_deadline", True)
    async with s.pool.acquire() as conn:
        rows = await store.list_difficulties(
            conn, f=store.ListFilter(held_by=agency, **f), now=s.clock.now(), limit=50,
            by_deadline=by_deadline)
    return [r["title"] for r in rows]


async def test_the_queue_holds_what_the_agency_holds_and_nothing_else(served: Served) -> None:
    await _seed(served)
    # Overdue first, then due soon; the closed one last; never what moved on or is others'.
    assert await _held(served, KCN) == ["Vướng mắc thủ tục hải quan",
                                        "Thiếu nguyên liệu nhập khẩu", "Đã xong"]
    assert await _held(served, KCN, open_only=True) == ["Vướng mắc thủ tục hải quan",
                                                        "Thiếu nguyên liệu nhập khẩu"]
    # A co-handler holds its part too; the agency that took `moved` over holds it now.
    assert sorted(await _held(served, SCT)) == ["Cụm công nghiệp",
                                                 "Thiếu nguyên liệu nhập khẩu"]
    assert await _held(served, KHDT) == ["Chuyển đi"]
    assert await _held(served, "binh-duong.so-y-te") == []
    # Every filter narrows within what it holds.
    assert await _held(served, KCN, status="resolved", by_deadline=False) == ["Đã xong"]
    assert await _held(served, KCN, category="admin_procedure") == [
        "Vướng mắc thủ tục hải quan"]
    assert await _held(served, SCT, zone_type="CCN") == ["Cụm công nghiệp"]
    assert await _held(served, KCN, words=["hai", "quan"]) == ["Vướng mắc thủ tục hải quan"]
    assert await _held(served, KCN, words=["cum"]) == []
    now = served.clock.now()
    assert await _held(served, KCN, received_after=now - timedelta(days=3),
                       received_until=now) == ["Thiếu nguyên liệu nhập khẩu"]


async def test_a_search_newest_first_in_two_parts_finds_what_one_query_finds(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search looks among the newest SEARCH_RECENT items in scope first (#21 item 7):
    wherever that boundary falls, and whether the page fills before it or not, the rows
    and their order are those of one query over everything."""
    await _seed(served)

    async def search(agency: str, words: list[str], limit: int) -> list[str]:
        async with served.pool.acquire() as conn:
            rows = await store.list_difficulties(
                conn, f=store.ListFilter(held_by=agency, task_forces=["binh-duong"],
                                         words=words),
                now=served.clock.now(), limit=limit)
        return [r["title"] for r in rows]

    cases = [(agency, words, limit) for agency in (KCN, SCT)
             for words in (["thu"], ["hai", "quan"], ["nguyen", "lieu"], ["cum"], ["n"],
                           ["100%"], ["a_b"]) for limit in (1, 2, 50)]
    monkeypatch.setattr(difficulties, "SEARCH_RECENT", 10**9)
    whole = [await search(*c) for c in cases]
    assert any(len(w) >= 2 for w in whole)  # some searches find several items
    for recent in (1, 2, 3):
        monkeypatch.setattr(difficulties, "SEARCH_RECENT", recent)
        assert [await search(*c) for c in cases] == whole, recent


async def test_the_queue_query_reads_the_agencys_assignments_from_its_index(
    served: Served,
) -> None:
    await _seed(served)
    async with served.pool.acquire() as conn:
        await conn.execute("ANALYZE")
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in await conn.fetch(
                "EXPLAIN SELECT 1 FROM assignments a WHERE a.agency_id = $1 AND a.active",
                KCN))
    assert "assignments_held" in plan, plan


async def test_the_queue_page_filters_pages_acknowledges_and_exports(served: Served) -> None:
    seeded = await _seed(served)
    cookies = await _signed_in(served, KCN)
    async with httpx.AsyncClient(base_url=served.url) as stranger:
        assert (await stranger.get("/workspace/queue")).status_code == 303
    async with httpx.AsyncClient(base_url=served.url, cookies=cookies) as c:
        page = await c.get("/workspace/queue")
        assert page.status_code == 200, page.text
        codes = re.findall(r'<tr id="row-([^"]+)">', page.text)
        assert codes == [seeded["late"].tracking_code, seeded["new"].tracking_code]
        assert re.findall(r"mark-(\w+)\">", page.text) == ["overdue", "new"], page.text[-3000:]
        # Only what can still be acknowledged has a box: `late` was acknowledged already.
        boxes = re.findall(r'name="difficulty_id" value="([^"]+)"', page.text)
        assert boxes == [str(seeded["new"].difficulty_id)]
        english = await c.get("/workspace/queue", params={"lang": "en", "q": "THU TUC"})
        assert re.findall(r'<tr id="row-([^"]+)">', english.text) == [
            seeded["late"].tracking_code]
        assert "Overdue" in english.text
        # The filter form's "any" choices arrive empty and mean no filter.
        blank = await c.get("/workspace/queue", params={"category": "", "zone_type": "",
                                                        "week": "", "status": ""})
        assert re.findall(r'<tr id="row-([^"]+)">', blank.text) == codes
        everything = await c.get("/workspace/queue", params={"status": "all"})
        assert len(re.findall(r'<tr id="row-', everything.text)) == 3
        bad = await c.get("/workspace/queue", params={"cursor": "nope"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
        assert (await c.get("/workspace/queue", params={"week": "2026-53"})).status_code == 422
        # What intake's bulk acknowledgement sends back is said, with tracking codes.
        said = await c.get("/workspace/queue", params={
            "acknowledged": "2", "refused": f"{seeded['cluster'].difficulty_id} không giao"})
        assert "Đã xác nhận nhận 2 hồ sơ" in said.text
        assert f"<strong>{seeded['cluster'].tracking_code}</strong>: không giao" in said.text

        got_csv = await c.get("/workspace/queue.csv", params={"status": "all"})
        assert got_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(got_csv.text.lstrip("\ufeff"))))
        assert rows[0][:5] == ["Mã hồ sơ", "Nội dung", "Doanh nghiệp", "Cơ quan chủ trì",
                               "Trạng thái"]
        # Closed items too ("all"): newest first.
        assert [r[0] for r in rows[1:]] == [seeded["new"].tracking_code,
                                           seeded["done"].tracking_code,
                                           seeded["late"].tracking_code]
        assert rows[1][3] == "Ban Quản lý các khu công nghiệp tỉnh Bình Dương"
        assert [r[9] for r in rows[1:]] == ["Không", "Không", "Có"]
        assert rows[2][4] == "Đã giải quyết"
        got_xlsx = await c.get("/workspace/queue.xlsx", params={"category": "raw_materials"})
        sheet = openpyxl.load_workbook(io.BytesIO(got_xlsx.content)).active
        assert sheet is not None
        values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
        header = values.index(next(v for v in values if v[0] == "Mã hồ sơ"))
        assert [v[0] for v in values[header + 1:]] == [seeded["new"].tracking_code]
    # A member's session has no queue.
    async with served.pool.acquire() as conn:
        token_id, _ = await registry.insert_token(conn, kind=registry.TokenKind.MEMBER,
                                                  subject_id="binh-duong.m01")
        await registry.open_session(conn, sid="m" * 40, token_id=token_id,
                                    now=served.clock.now(),
                                    expires_at=served.clock.now() + timedelta(hours=1))
    async with httpx.AsyncClient(base_url=served.url,
                                 cookies={registry.SESSION_COOKIE: "m" * 40}) as c:
        assert (await c.get("/workspace/queue")).status_code == 403


async def test_a_difficultys_page_gives_each_part_its_steps(served: Served) -> None:
    seeded = await _seed(served)
    new = seeded["new"].difficulty_id
    lead = await _signed_in(served, KCN)
    co = await _signed_in(served, SCT)
    outsider = await _signed_in(served, "binh-duong.so-y-te")
    deputy = await _signed_in(served, "binh-duong.to-cong-tac")
    async with httpx.AsyncClient(base_url=served.url) as c:
        page = await c.get(f"/workspace/difficulties/{new}", cookies=lead)
        assert page.status_code == 200, page.text
        forms = re.findall(r'id="act-([a-z_-]+)"', page.text)
        assert forms == ["status-acknowledged", "status-in_progress", "step-need_info",
                         "resolution", "status-reassign_requested"]
        assert "/workspace/act/difficulties/" in page.text and 'id="contact"' in page.text
        assert "Nguyễn Văn A" not in page.text  # reporting never holds the contact
        assert "<td>Sở Công Thương</td><td>Phối hợp</td>" in page.text  # the co-handler
        co_page = await c.get(f"/workspace/difficulties/{new}", cookies=co)
        assert re.findall(r'id="act-([a-z_-]+)"', co_page.text) == [
            "step-acknowledged", "step-in_progress", "step-need_info", "step-done",
            "step-declined"]
        assert 'id="contact"' not in co_page.text
        dep = await c.get(f"/workspace/difficulties/{new}", cookies=deputy)
        assert 'id="contact"' in dep.text and 'id="act-resolution"' in dep.text
        refused = await c.get(f"/workspace/difficulties/{new}", cookies=outsider)
        assert refused.status_code == 403
        # What intake's redirect says is shown; a closed case offers no step.
        done = await c.get(f"/workspace/difficulties/{seeded['done'].difficulty_id}",
                           params={"done": "resolved", "lang": "en"}, cookies=lead)
        assert 'id="done"' in done.text and 'id="no-actions"' in done.text
        said = await c.get(f"/workspace/difficulties/{new}", cookies=lead,
                           params={"refused": "a resolution note is required",
                                   "field": "note"})
        assert 'role="alert"' in said.text and "a resolution note is required" in said.text
        assert (await c.get(f"/workspace/difficulties/{uuid.uuid4()}",
                            cookies=lead)).status_code == 404
        # An agency that handed `moved` over no longer sees it.
        gone = await c.get(f"/workspace/difficulties/{seeded['moved'].difficulty_id}",
                           cookies=lead)
        assert gone.status_code == 403


async def test_an_agency_token_lists_its_own_queue_over_the_api(served: Served) -> None:
    seeded = await _seed(served)
    async with served.pool.acquire() as conn:
        _, kcn = await registry.insert_token(conn, kind=registry.TokenKind.AGENCY,
                                             subject_id=KCN)
        _, central = await registry.insert_token(conn, kind=registry.TokenKind.AGENCY,
                                                 subject_id="central.bo-cong-thuong")
    async with httpx.AsyncClient(base_url=served.url) as c:
        mine = await c.get("/v1/difficulties", headers={"Authorization": f"Bearer {kcn}"})
        open_ = await c.get("/v1/difficulties", params={"open": "true"},
                            headers={"Authorization": f"Bearer {kcn}"})
        # Naming another agency, or another province, still lists only what it holds.
        other = await c.get("/v1/difficulties", params={"agency": SCT, "province": "thanh-hoa"},
                            headers={"Authorization": f"Bearer {kcn}"})
        none = await c.get("/v1/difficulties", headers={"Authorization": f"Bearer {central}"})
    assert mine.status_code == 200
    assert {i["title"] for i in mine.json()["items"]} == {
        "Thiếu nguyên liệu nhập khẩu", "Vướng mắc thủ tục hải quan", "Đã xong"}
    assert {i["tracking_code"] for i in open_.json()["items"]} == {
        seeded["new"].tracking_code, seeded["late"].tracking_code}
    assert all(i["next_due_at"] for i in open_.json()["items"])
    assert other.status_code == 200 and other.json()["items"] == []
    assert none.status_code == 200 and none.json()["items"] == []


async def test_a_central_agency_holds_items_of_any_province(served: Served) -> None:
    seeded = await _seed(served)
    up = assigned(seeded["late"], served.clock.now() - timedelta(days=1),
                  agency="central.bo-cong-thuong", level=AgencyLevel.CENTRAL,
                  role=AssignmentRole.ESCALATION)
    await served.handlers.on_assigned([env(up)], None)  # type: ignore[arg-type]
    cookies = await _signed_in(served, "central.bo-cong-thuong")
    async with httpx.AsyncClient(base_url=served.url, cookies=cookies) as c:
        page = await c.get("/workspace/queue")
        assert page.status_code == 200, page.text
        assert re.findall(r'<tr id="row-([^"]+)">', page.text) == [
            seeded["late"].tracking_code]
        lead = await c.get(f"/workspace/difficulties/{seeded['late'].difficulty_id}")
        assert 'id="act-resolution"' in lead.text


async def test_at_central_level_the_page_shows_the_ministry_its_deadline_and_the_letter(
        served: Served) -> None:
    """#20 item 5, #22 item 6: an escalation to a ministry has the ministry's deadline on
    the page (20 working days), the letter as registered with its links for the deputy,
    the head and the lead, and the deputy's two forms."""
    h = served.handlers
    at = served.clock.now() - timedelta(days=3)
    d = received(at - timedelta(days=5), n=9, category=Category.TAX,
                 title="Chậm hoàn thuế giá trị gia tăng")
    lead = assigned(d, d.received_at)
    ministry = assigned(d, at, agency="central.bo-tai-chinh", level=AgencyLevel.CENTRAL,
                        role=AssignmentRole.ESCALATION, replaces=lead.assignment_id)
    await h.on_received([env(d)], None)  # type: ignore[arg-type]
    await h.on_assigned([env(lead), env(ministry)], None)  # type: ignore[arg-type]
    escalated = status(d, Status.ESCALATED, at - timedelta(minutes=5))
    registered = status(d, Status.ESCALATED, at + timedelta(days=1)).model_copy(update={
        "status": None, "actor_id": "binh-duong.to-cong-tac",
        "letter": LetterRef(number="125/TCT-KT", dated=(at + timedelta(days=1)).date())})
    await h.on_status([env(escalated), env(registered)], None)  # type: ignore[arg-type]
    deputy = await _signed_in(served, "binh-duong.to-cong-tac")
    async with httpx.AsyncClient(base_url=served.url) as c:
        page = await c.get(f"/workspace/difficulties/{d.difficulty_id}?lang=vi",
                           cookies=deputy)
        assert page.status_code == 200, page.text
        assert re.findall(r'id="act-([a-z_-]+)"', page.text) == ["letter", "ministry-answer"]
        due = add_days(at, 20, DayCount.WORKING)
        assert f'<dd id="central-due">{due.astimezone(TZ):%d/%m/%Y}' in page.text, page.text
        assert "125/TCT-KT · " in page.text and "Bộ Tài chính" in page.text
        assert "Công văn gửi Bộ, ngành: 125/TCT-KT" in page.text  # in the history
        assert f"/v1/difficulties/{d.difficulty_id}/letter.pdf" in page.text
        for who in (deputy, await _signed_in(served, "binh-duong.to-truong"),
                    await _signed_in(served, KCN)):
            r = await c.get(f"/v1/difficulties/{d.difficulty_id}/letter.docx", cookies=who)
            assert r.status_code == 200, r.text
        outsider = await _signed_in(served, "binh-duong.cuc-thue")
        r = await c.get(f"/v1/difficulties/{d.difficulty_id}/letter.docx", cookies=outsider)
        assert r.status_code == 403, r.text
        # The head reads the page (as a task-force reader) without the deputy's forms.
        head_page = await c.get(f"/workspace/difficulties/{d.difficulty_id}",
                                cookies=await _signed_in(served, "binh-duong.to-truong"))
        assert head_page.status_code == 200 and "letter.pdf" in head_page.text
        assert 'id="act-letter"' not in head_page.text
