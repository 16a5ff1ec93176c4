"""Casework as a task force runs it (#20 items 1 and 2), end to end on the real broker
and PostgreSQL with the four services as separate processes: each assignment moves on
its own, only the lead (or the permanent deputy) closes, with a structured resolution
whose public answer the business reads on /v1/track, never over co-handlers' open parts
without a recorded waiver; the lead's "not ours" goes back to triage. Each test ends
with the consistency checker at 0 differences (which folds the steps and resolutions
on its own)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared import auth
from shared.provinces import ConfigHolder
from tests.conftest import Stack, wait_until
from tests.intake.conftest import submission

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(240)]

LEAD = "binh-duong.bql-kcn"
# goods_transport in Bình Dương: two co-handlers (binh-duong.yaml).
HELPERS = ("binh-duong.so-giao-thong-van-tai", "binh-duong.cong-an-tinh")
DEPUTY = "binh-duong.to-cong-tac"


async def token(stack: Stack, agency_id: str) -> dict[str, str]:
    _, secret = await auth.create(stack.database_url, configs=ConfigHolder().current,
                                  kind=auth.TokenKind.AGENCY, subject_id=agency_id)
    return {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}


async def assignments(stack: Stack, did: str) -> dict[str, asyncpg.Record]:
    """Intake's active assignments of a difficulty, by agency (members left out)."""
    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch(
            "SELECT assignment_id, agency_id, role, step FROM intake.assignments"
            " WHERE difficulty_id = $1 AND active AND role <> 'member'", uuid.UUID(did))
    finally:
        await conn.close()
    return {r["agency_id"]: r for r in rows}


async def routed(stack: Stack, c: httpx.AsyncClient, n: int) -> dict[str, Any]:
    """A goods-transport difficulty in VSIP II, once intake knows its lead and both
    co-handlers and reporting tracks it."""
    body = submission(n, category="goods_transport")
    d = (await c.post(stack["intake"].url + "/v1/difficulties", json=body)).json()

    async def known() -> bool:
        held = await assignments(stack, d["difficulty_id"])
        return {LEAD, *HELPERS} <= held.keys()

    await wait_until(known, timeout=60)
    d["tax_code"] = body["tax_code"]
    await wait_until(lambda: tracked(stack, c, d), timeout=60)
    return d


async def tracked(stack: Stack, c: httpx.AsyncClient, d: dict[str, Any]) -> dict[str, Any] | None:
    r = await c.get(stack["reporting"].url + "/v1/track",
                    params={"code": d["tracking_code"], "tax_code": d["tax_code"]})
    return r.json() if r.status_code == 200 else None


def url(stack: Stack, d: dict[str, Any], what: str) -> str:
    return stack["intake"].url + f"/v1/difficulties/{d['difficulty_id']}/{what}"


RESOLUTION = {
    "outcome": "resolved",
    "done": "Làm việc với Sở GTVT và Công an tỉnh; cấp giấy nhận diện phương tiện.",
    "legal_basis": "Công văn 123/UBND-KT",
    "public_answer": "Xe của doanh nghiệp đã được cấp giấy nhận diện, lưu thông từ 01/12.",
    "note": "Nội bộ: đã gọi điện cho phòng CSGT.",
}


async def test_co_handlers_finish_their_parts_and_the_lead_resolves_with_a_public_answer(
    shared_stack: Stack,
) -> None:
    lead, *helpers = [await token(shared_stack, a) for a in (LEAD, *HELPERS)]
    async with httpx.AsyncClient(timeout=30) as c:
        d = await routed(shared_stack, c, 1)
        for who in (lead, *helpers):
            r = await c.post(url(shared_stack, d, "steps"), headers=who,
                             json={"step": "acknowledged"})
            assert r.status_code == 202, r.text
        # A helper's step is its own: the difficulty stays with the lead's acknowledgement.
        assert r.json()["status"] is None
        for who, what in zip(helpers, ("Đã cấp phép vận chuyển tuyến nội tỉnh.",
                                       "Đã hướng dẫn lộ trình qua chốt kiểm soát."),
                             strict=True):
            r = await c.post(url(shared_stack, d, "steps"), headers=who,
                             json={"step": "in_progress", "note": "đang làm"})
            assert r.status_code == 202, r.text
            r = await c.post(url(shared_stack, d, "steps"), headers=who,
                             json={"step": "done", "note": what})
            assert r.status_code == 202, r.text
        # Done is final for the part.
        r = await c.post(url(shared_stack, d, "steps"), headers=helpers[0],
                         json={"step": "in_progress"})
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "step", r.text
        held = await assignments(shared_stack, d["difficulty_id"])
        assert {a: held[a]["step"] for a in (LEAD, *HELPERS)} == {
            LEAD: "acknowledged", HELPERS[0]: "done", HELPERS[1]: "done"}
        # The lead's own part ends with the resolution, not a step.
        r = await c.post(url(shared_stack, d, "steps"), headers=lead,
                         json={"step": "done", "note": "xong"})
        assert r.status_code == 422 and "resolution" in r.json()["errors"][0]["reason"]

        r = await c.post(url(shared_stack, d, "resolution"), headers=lead, json=RESOLUTION)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "resolved" and r.json()["waived"] == []

        async def answered() -> dict[str, Any] | None:
            t = await tracked(shared_stack, c, d)
            return t if t and t.get("public_answer") else None

        seen = await wait_until(answered, timeout=60)
        assert seen["status"] == "resolved" and seen["outcome"] == "resolved"
        assert seen["public_answer"] == RESOLUTION["public_answer"]
        assert seen["outcome_vi"] == "Đã giải quyết"
        # What stays inside: the note, what was done, the document cited.
        for internal in (RESOLUTION["note"], RESOLUTION["done"], RESOLUTION["legal_basis"]):
            assert internal not in str(seen)
        # Closed means closed, for the lead too.
        r = await c.post(url(shared_stack, d, "resolution"), headers=lead, json=RESOLUTION)
        assert r.status_code == 409, r.text
    await shared_stack.assert_consistent()


async def test_a_co_handler_cannot_close_and_the_lead_closes_over_open_parts_only_by_waiving(
    shared_stack: Stack,
) -> None:
    lead, helper = await token(shared_stack, LEAD), await token(shared_stack, HELPERS[0])
    async with httpx.AsyncClient(timeout=30) as c:
        d = await routed(shared_stack, c, 2)
        # The co-handler reported resolved on the old API (the 409 "already final" of
        # #20) or tries the resolution: 403, naming who closes.
        for path, body in (("status", {"status": "resolved", "note": "xong phần"}),
                           ("resolution", RESOLUTION)):
            r = await c.post(url(shared_stack, d, path), headers=helper, json=body)
            assert r.status_code == 403, r.text
            assert "lead agency or the permanent deputy" in r.json()["errors"][0]["reason"]
        r = await c.post(url(shared_stack, d, "steps"), headers=helper,
                         json={"step": "done", "note": "Đã cấp phép vận chuyển."})
        assert r.status_code == 202, r.text
        # The police's part is still open: the lead may not close over it, on either API.
        r = await c.post(url(shared_stack, d, "resolution"), headers=lead,
                         json={**RESOLUTION, "outcome": "partly_resolved"})
        assert r.status_code == 409, r.text
        error = r.json()["errors"][0]
        assert error["field"] == "waive_open_parts_reason" and HELPERS[1] in error["reason"]
        r = await c.post(url(shared_stack, d, "status"), headers=lead,
                         json={"status": "resolved", "note": "xong"})
        assert r.status_code == 409, r.text
        # With a reason, it does; the waived part is recorded.
        police = (await assignments(shared_stack, d["difficulty_id"]))[HELPERS[1]]["assignment_id"]
        r = await c.post(url(shared_stack, d, "resolution"), headers=lead, json={
            **RESOLUTION, "outcome": "partly_resolved",
            "waive_open_parts_reason": "Công an tỉnh trả lời bằng văn bản riêng."})
        assert r.status_code == 202, r.text
        assert r.json()["waived"] == [str(police)]

        async def answered() -> dict[str, Any] | None:
            t = await tracked(shared_stack, c, d)
            return t if t and t.get("outcome") == "partly_resolved" else None

        await wait_until(answered, timeout=60)
    conn = await asyncpg.connect(shared_stack.database_url)
    try:
        async def kept() -> asyncpg.Record | None:
            return await conn.fetchrow(
                "SELECT waived, waiver_reason, legal_basis FROM reporting.resolutions"
                " WHERE difficulty_id = $1", uuid.UUID(d["difficulty_id"]))

        row = await wait_until(kept, timeout=60)
        assert row["waived"] == [police]
        assert row["waiver_reason"] == "Công an tỉnh trả lời bằng văn bản riêng."
        assert row["legal_basis"] == "Công văn 123/UBND-KT"
    finally:
        await conn.close()
    await shared_stack.assert_consistent()


async def test_the_leads_not_ours_returns_to_triage_with_its_reason(shared_stack: Stack) -> None:
    lead, helper = await token(shared_stack, LEAD), await token(shared_stack, HELPERS[1])
    async with httpx.AsyncClient(timeout=30) as c:
        d = await routed(shared_stack, c, 3)
        held = await assignments(shared_stack, d["difficulty_id"])
        # A co-handler's "not ours" declines its part only: nothing moves.
        r = await c.post(url(shared_stack, d, "steps"), headers=helper, json={
            "step": "declined", "note": "Không liên quan an ninh trật tự."})
        assert r.status_code == 202 and r.json()["status"] is None, r.text
        r = await c.post(url(shared_stack, d, "steps"), headers=lead, json={
            "step": "declined", "note": "Doanh nghiệp nằm ngoài KCN",
            "suggested_agency_id": "binh-duong.so-cong-thuong"})
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "reassign_requested"

        async def in_triage() -> asyncpg.Record | None:
            now = await assignments(shared_stack, d["difficulty_id"])
            return now.get(DEPUTY) if LEAD not in now else None

        triage = await wait_until(in_triage, timeout=60)
        assert triage["role"] == "triage"
        # The co-handler's declined part stays as it was: nobody else got it.
        now = await assignments(shared_stack, d["difficulty_id"])
        assert now[HELPERS[1]]["assignment_id"] == held[HELPERS[1]]["assignment_id"]
        assert now[HELPERS[1]]["step"] == "declined"
        assert set(now) == {DEPUTY, *HELPERS}
    conn = await asyncpg.connect(shared_stack.database_url)
    try:
        reason = await conn.fetchval(
            "SELECT reason FROM router.assignments WHERE assignment_id = $1",
            triage["assignment_id"])
    finally:
        await conn.close()
    assert "Doanh nghiệp nằm ngoài KCN" in reason and "binh-duong.so-cong-thuong" in reason
    await shared_stack.assert_consistent()


# --- the permanent deputy's triage (#20 item 3) ---------------------------------------------

# No zone type, a zone nobody registered: the router cannot route it; triage it is.
UNKNOWN_ZONE = {"zone_type": None, "zone_name": "Khu sản xuất Tân Lập xyz"}


async def in_triage(stack: Stack, c: httpx.AsyncClient, n: int, **more: Any) -> dict[str, Any]:
    body = submission(n, **{**UNKNOWN_ZONE, **more})
    r = await c.post(stack["intake"].url + "/v1/difficulties", json=body)
    assert r.status_code == 202, r.text
    d = r.json()

    async def queued() -> bool:
        held = await assignments(stack, d["difficulty_id"])
        return DEPUTY in held and held[DEPUTY]["role"] == "triage"

    await wait_until(queued, timeout=60)
    d["tax_code"] = body["tax_code"]
    await wait_until(lambda: tracked(stack, c, d), timeout=60)
    return d


async def one(stack: Stack, sql: str, *args: Any) -> asyncpg.Record:
    conn = await asyncpg.connect(stack.database_url)
    try:
        row = await conn.fetchrow(sql, *args)
    finally:
        await conn.close()
    assert row is not None, sql
    return row


async def tasks_on(stack: Stack, topic: str, did: str) -> list[dict[str, Any]]:
    """The tasks of a difficulty on an agency's topic, from its beginning."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.bootstrap,
                                group_id=f"test-{uuid.uuid4()}", auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        for _ in range(6):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    if rec.key == did.encode():
                        out.append(json.loads(rec.value))
    finally:
        await consumer.stop()
    return out


async def test_the_deputy_corrects_an_item_in_triage_and_it_is_routed_again(
        shared_stack: Stack) -> None:
    deputy, lead = await token(shared_stack, DEPUTY), await token(shared_stack, LEAD)
    cong_thuong = "binh-duong.so-cong-thuong"
    async with httpx.AsyncClient(timeout=30) as c:
        d = await in_triage(shared_stack, c, 41)
        e = await in_triage(shared_stack, c, 42)
        # Only the province's permanent deputy corrects; nothing different is a 422.
        r = await c.post(url(shared_stack, d, "correction"), headers=lead,
                         json={"zone_type": "CCN"})
        assert r.status_code == 403, r.text
        r = await c.post(url(shared_stack, d, "correction"), headers=deputy,
                         json={"category": "raw_materials"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "correction", r.text
        r = await c.post(url(shared_stack, d, "correction"), headers=deputy,
                         json={"zone_type": "CCN", "category": "labour",
                               "note": "Doanh nghiệp ở cụm công nghiệp"})
        assert r.status_code == 202, r.text

        async def with_lead() -> asyncpg.Record | None:
            return (await assignments(shared_stack, d["difficulty_id"])).get(cong_thuong)

        assert (await wait_until(with_lead, timeout=60))["role"] == "lead"
        assert DEPUTY not in await assignments(shared_stack, d["difficulty_id"])
        # Again: it is no longer in triage.
        r = await c.post(url(shared_stack, d, "correction"), headers=deputy,
                         json={"zone_type": "KCN"})
        assert r.status_code == 409, r.text
        # To another province: its task force's lead for the zone type takes it.
        r = await c.post(url(shared_stack, e, "correction"), headers=deputy,
                         json={"province": "Thanh Hóa", "zone_type": "NONE"})
        assert r.status_code == 202, r.text

        async def moved() -> asyncpg.Record | None:
            return (await assignments(shared_stack, e["difficulty_id"])).get(
                "thanh-hoa.so-tai-chinh")

        assert (await wait_until(moved, timeout=60))["role"] == "lead"
    tasks = await tasks_on(shared_stack, f"agency.{cong_thuong}.v1", d["difficulty_id"])
    assert any(t["assignment"]["role"] == "lead" and t["difficulty"]["zone_type"] == "CCN"
               and t["difficulty"]["category"] == "labour" for t in tasks), tasks

    async def shown() -> bool:
        row = await one(shared_stack, "SELECT zone_type, category, lead_agency_id FROM"
                        " reporting.difficulties WHERE difficulty_id = $1",
                        uuid.UUID(d["difficulty_id"]))
        return tuple(row) == ("CCN", "labour", cong_thuong)

    await wait_until(shown, timeout=60)
    row = await one(shared_stack, "SELECT province_code, task_force FROM intake.difficulties"
                    " WHERE difficulty_id = $1", uuid.UUID(e["difficulty_id"]))
    assert tuple(row) == ("38", "thanh-hoa")

    async def moved_in_reporting() -> bool:
        row = await one(shared_stack, "SELECT task_force, province_code FROM"
                        " reporting.difficulties WHERE difficulty_id = $1",
                        uuid.UUID(e["difficulty_id"]))
        return tuple(row) == ("thanh-hoa", "38")

    await wait_until(moved_in_reporting, timeout=60)
    await shared_stack.assert_consistent()


async def test_the_deputy_dispatches_with_co_handlers_under_a_manual_rule(
        shared_stack: Stack) -> None:
    deputy = await token(shared_stack, DEPUTY)
    deputy_member = ConfigHolder().current["binh-duong"].task_force.permanent_deputy.id
    async with httpx.AsyncClient(timeout=30) as c:
        d = await in_triage(shared_stack, c, 43)
        r = await c.post(url(shared_stack, d, "status"), headers=deputy, json={
            "status": "reassign_requested", "target_agency_id": LEAD,
            "co_agency_ids": ["binh-duong.nope"]})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "co_agency_ids"
        r = await c.post(url(shared_stack, d, "status"), headers=deputy, json={
            "status": "reassign_requested", "target_agency_id": LEAD,
            "co_agency_ids": list(HELPERS)})
        assert r.status_code == 202, r.text

        async def dispatched() -> bool:
            return {LEAD, *HELPERS} <= (await assignments(shared_stack, d["difficulty_id"])
                                        ).keys()

        await wait_until(dispatched, timeout=60)
    conn = await asyncpg.connect(shared_stack.database_url)
    try:
        rules = {r["agency_id"]: (r["role"], r["rule"]) for r in await conn.fetch(
            "SELECT agency_id, role, rule FROM router.assignments WHERE difficulty_id = $1"
            " AND active AND role <> 'member'", uuid.UUID(d["difficulty_id"]))}
    finally:
        await conn.close()
    assert rules == {LEAD: ("lead", f"manual:{deputy_member}"),
                     **{h: ("co_handler", f"manual:{deputy_member}") for h in HELPERS}}
    await shared_stack.assert_consistent()


async def test_the_deputy_merges_a_duplicate_and_its_business_follows_the_kept_one(
        shared_stack: Stack) -> None:
    deputy, lead = await token(shared_stack, DEPUTY), await token(shared_stack, LEAD)
    async with httpx.AsyncClient(timeout=30) as c:
        kept = await routed(shared_stack, c, 44)
        dup = await in_triage(shared_stack, c, 45, category="goods_transport")
        r = await c.post(url(shared_stack, dup, "merge"), headers=lead,
                         json={"into": kept["tracking_code"]})
        assert r.status_code == 403, r.text
        r = await c.post(url(shared_stack, dup, "merge"), headers=deputy,
                         json={"into": dup["tracking_code"]})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "into", r.text
        r = await c.post(url(shared_stack, dup, "merge"), headers=deputy,
                         json={"into": kept["tracking_code"].lower(), "note": "Cùng nội dung"})
        assert r.status_code == 202, r.text
        assert r.json()["merged_into"] == kept["difficulty_id"]
        assert r.json()["status"] == "merged"
        r = await c.post(url(shared_stack, dup, "merge"), headers=deputy,
                         json={"into": kept["tracking_code"]})
        assert r.status_code == 409, r.text
        # The kept one is resolved; the duplicate's business reads its answer.
        r = await c.post(url(shared_stack, kept, "resolution"), headers=lead, json={
            **RESOLUTION, "waive_open_parts_reason": "Đã thống nhất qua điện thoại."})
        assert r.status_code == 202, r.text

        async def merged_and_answered() -> dict[str, Any] | None:
            t = await tracked(shared_stack, c, dup)
            k = await tracked(shared_stack, c, kept)
            return t if t and t["status"] == "merged" and k and k["status"] == "resolved" \
                else None

        await wait_until(merged_and_answered, timeout=60)
        page = await c.post(shared_stack["reporting"].url + "/track", data={
            "code": dup["tracking_code"], "tax_code": dup["tax_code"], "lang": "vi"})
        assert page.status_code == 200, page.text
        html = page.text
        assert 'id="merged"' in html and "Đã gộp vào phản ánh trùng" in html
        assert RESOLUTION["public_answer"] in html
        assert kept["tracking_code"] not in html  # another business's code stays theirs
        assert (await tracked(shared_stack, c, dup) or {})["kept"]["public_answer"] == (
            RESOLUTION["public_answer"])
    row = await one(shared_stack, "SELECT merged_into, closed_at IS NOT NULL AS closed,"
                    " resolved_at FROM reporting.difficulties WHERE difficulty_id = $1",
                    uuid.UUID(dup["difficulty_id"]))
    assert (str(row["merged_into"]), row["closed"], row["resolved_at"]) == (
        kept["difficulty_id"], True, None)
    recorded = await one(shared_stack, "SELECT duplicate, position, chain_hash FROM"
                         " intake.status_updates WHERE difficulty_id = $1 AND duplicate"
                         " IS NOT NULL", uuid.UUID(kept["difficulty_id"]))
    assert json.loads(recorded["duplicate"])["difficulty_id"] == dup["difficulty_id"]
    assert recorded["chain_hash"] is not None
    await shared_stack.assert_consistent()
