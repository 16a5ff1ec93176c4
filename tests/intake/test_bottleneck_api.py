"""Policy bottlenecks on intake's command side (#25 item 1), on the real broker and
database (intake in-process): the permanent deputy merges open items of the task force
into one bottleneck for a central ministry, sent as one item with the number of
businesses and no one's identity; the ministry's answer closes every open member with
the letter cited and the bottleneck named; each refusal names its field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from tests.intake.conftest import Intake
from tests.intake.test_status_api import BQL, DEPUTY, assigned, browser_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(300)]

MINISTRY = "central.bo-tai-chinh"
ANSWER = "Bộ Tài chính đã hướng dẫn: hóa đơn lập lại được chấp nhận."


async def fetch(intake: Intake, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(intake.database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_the_deputy_merges_and_the_ministrys_answer_closes_every_open_member(
        intake: Intake) -> None:
    # The first and the third of one business: three items, two businesses.
    items = [await intake.submit(n=n, category="tax", title="Lỗi cấp mã hóa đơn điện tử",
                                 description="Không cấp được mã theo Nghị định 123/2020/NĐ-CP")
             for n in (60, 62, 60)]
    items.append(await intake.submit(n=63, category="tax", title="Hóa đơn điện tử lỗi",
                                     description="nghi dinh so 123/2020/ND-CP"))
    ids = [d["difficulty_id"] for d in items]
    for did in ids:
        await assigned(intake, did, BQL)
    deputy = {"Authorization": f"Bearer {await intake.token(agency=DEPUTY)}",
              "Accept-Language": "en"}
    lead = {"Authorization": f"Bearer {await intake.token(agency=BQL)}"}
    body = {"title": "Lỗi cấp mã hóa đơn điện tử", "ministry_id": MINISTRY,
            "difficulty_ids": ids}

    r = await intake.client.post("/v1/bottlenecks", json=body, headers=lead)
    assert r.status_code == 403, r.text
    for bad, field in (({"ministry_id": BQL}, "ministry_id"),
                       ({"difficulty_ids": [ids[0]]}, "difficulty_ids"),
                       ({"difficulty_ids": [ids[0], str(uuid.uuid4())]}, "difficulty_ids")):
        r = await intake.client.post("/v1/bottlenecks", json={**body, **bad}, headers=deputy)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    # One member is closed before the merge: it cannot join.
    r = await intake.client.post(f"/v1/difficulties/{ids[3]}/resolution", headers=lead, json={
        "outcome": "resolved", "done": "Đã hướng dẫn.", "public_answer": "Đã hướng dẫn."})
    assert r.status_code == 202, r.text
    r = await intake.client.post("/v1/bottlenecks", json=body, headers=deputy)
    assert r.status_code == 409 and ids[3] in r.json()["errors"][0]["reason"], r.text

    key = {"Idempotency-Key": "merge-1"}
    body["difficulty_ids"] = ids[:3]
    r = await intake.client.post("/v1/bottlenecks", json=body, headers={**deputy, **key})
    assert r.status_code == 202, r.text
    merged = r.json()
    assert (merged["business_count"], merged["item_count"], merged["documents"]) == (
        2, 3, ["123/2020/ND-CP"])
    again = await intake.client.post("/v1/bottlenecks", json=body, headers={**deputy, **key})
    assert again.json() == merged  # the same form twice merges once
    r = await intake.client.post("/v1/bottlenecks", json={**body, "title": "Lần nữa"},
                                 headers=deputy)
    assert r.status_code == 409 and "already merged" in r.json()["errors"][0]["reason"]
    bid = merged["bottleneck_id"]
    sent = await fetch(intake, "SELECT body FROM intake.outbox WHERE topic ="
                               " 'policy.bottleneck.v1' ORDER BY seq")
    assert len(sent) == 1
    text = bytes(sent[0]["body"]).decode()
    assert "0912345678" not in text and "Nguyễn Văn A" not in text
    assert "enterprise_name" not in text and "tax_code" not in text

    # The ministry's answer, by the deputy only, closes the three.
    today = datetime.now(UTC).date().isoformat()
    answer = {"letter_number": "4512/BTC-TCT", "letter_date": today, "public_answer": ANSWER}
    path = f"/v1/bottlenecks/{bid}/ministry-answer"
    assert (await intake.client.post(path, json=answer, headers=lead)).status_code == 403
    r = await intake.client.post(f"/v1/bottlenecks/{uuid.uuid4()}/ministry-answer",
                                 json=answer, headers=deputy)
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "bottleneck_id"
    r = await intake.client.post(path, json=answer, headers=deputy)
    assert r.status_code == 202, r.text
    assert sorted(r.json()["closed"]) == sorted(ids[:3]) and r.json()["already_closed"] == []
    r = await intake.client.post(path, json=answer, headers=deputy)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "bottleneck_id"

    rows = await fetch(intake, "SELECT d.status, s.resolution FROM intake.difficulties d"
                               " JOIN intake.status_updates s USING (difficulty_id)"
                               " WHERE d.difficulty_id = ANY($1::uuid[])"
                               " AND s.resolution IS NOT NULL",
                       [uuid.UUID(i) for i in ids[:3]])
    assert len(rows) == 3 and {r["status"] for r in rows} == {"resolved"}
    for row in rows:
        cited = json.loads(row["resolution"])
        assert cited["bottleneck_id"] == bid and cited["public_answer"] == ANSWER
        assert cited["ministry_letter"] == {"number": "4512/BTC-TCT", "dated": today}
    sent = await fetch(intake, "SELECT body FROM intake.outbox WHERE topic ="
                               " 'policy.bottleneck.v1' ORDER BY seq")
    assert len(sent) == 2 and json.loads(bytes(sent[1]["body"]))["answer"]["public_answer"] == (
        ANSWER)


async def test_the_pages_forms_come_back_to_the_page_saying_what_was_refused(
        intake: Intake) -> None:
    did = (await intake.submit(n=70))["difficulty_id"]
    deputy = await browser_of(intake, DEPUTY)
    csrf = {"csrf_token": "c" * 43, "lang": "en"}
    # One item ticked only: refused, back on the page naming the field.
    r = await intake.client.post("/workspace/act/bottleneck", cookies=deputy, data={
        **csrf, "title": "Một mình", "ministry_id": MINISTRY, "difficulty_id": [did]})
    assert r.status_code == 303 and "/workspace/shared?" in r.headers["location"]
    assert "field=difficulty_ids" in r.headers["location"], r.headers["location"]
    r = await intake.client.post("/workspace/act/bottleneck", cookies=deputy, data={
        **csrf, "title": "Không chọn", "ministry_id": MINISTRY})
    assert "field=difficulty_ids" in r.headers["location"], r.headers["location"]
    r = await intake.client.post(f"/workspace/act/bottleneck/{uuid.uuid4()}/ministry-answer",
                                 cookies=deputy, data={**csrf, "letter_number": "1/BTC",
                                                       "letter_date": "2026-01-05",
                                                       "public_answer": "Đã trả lời."})
    assert "field=bottleneck_id" in r.headers["location"], r.headers["location"]
