"""Casework as a task force runs it (#20 items 1 and 2), end to end on the real broker
and PostgreSQL with the four services as separate processes: each assignment moves on
its own, only the lead (or the permanent deputy) closes, with a structured resolution
whose public answer the business reads on /v1/track, never over co-handlers' open parts
without a recorded waiver; the lead's "not ours" goes back to triage. Each test ends
with the consistency checker at 0 differences (which folds the steps and resolutions
on its own)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

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
