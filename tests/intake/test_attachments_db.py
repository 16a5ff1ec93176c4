"""Attachments (#20 item 10) on the real database and broker, intake in-process: what is
kept and what the events carry, the limits by field, and who reads a file (the people on
the case and its business; 404 for anyone else)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import asyncpg
import pytest

from shared import auth
from shared.events import AssignmentRole
from shared.provinces import ConfigHolder
from tests.intake.conftest import Intake, submission
from tests.intake.test_status_api import BQL, DEPUTY, SCT, assigned

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(300)]

PDF = b"%PDF-1.7\n% bien ban lam viec\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 20
HEAD = "binh-duong.to-truong"
OTHER = "binh-duong.so-y-te"  # an agency of the province, not on the case
SMALL = {"max_attachment_bytes": 4096, "max_attachments": 3}


async def rows(intake: Intake, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(intake.database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def field_of(r: Any) -> str:
    return str(r.json()["errors"][0]["field"])


@pytest.mark.parametrize("intake", [SMALL], indirect=True)
async def test_an_agency_attaches_within_the_limits_and_the_events_carry_no_bytes(
    intake: Intake,
) -> None:
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    lead = bearer(await intake.token(agency=BQL))
    path = f"/v1/difficulties/{did}/attachments"

    r = await intake.client.post(path, headers=lead, files=[
        ("files", ("biên bản.pdf", PDF, "image/png")), ("files", ("ảnh.png", PNG, "text/plain"))])
    assert r.status_code == 202, r.text
    refs = r.json()["attachments"]
    # The type is the bytes', not the declared one.
    assert [(a["content_type"], a["size"], a["public"]) for a in refs] == [
        ("application/pdf", len(PDF), False), ("image/png", len(PNG), False)]
    kept = await rows(intake, "SELECT attachment_id, file_name, content_type, size, sha256,"
                      " content, attached_by_kind, attached_by, public, status_id"
                      " FROM intake.attachments WHERE difficulty_id = $1 ORDER BY file_name",
                      uuid.UUID(did))
    assert [(k["file_name"], bytes(k["content"]), k["sha256"], k["attached_by"]) for k in kept] == [
        ("biên bản.pdf", PDF, hashlib.sha256(PDF).hexdigest(), BQL),
        ("ảnh.png", PNG, hashlib.sha256(PNG).hexdigest(), BQL)]
    # Recorded in the history (who attached what), its event in the outbox: metadata only.
    status_id = r.json()["status_id"]
    history = await rows(intake, "SELECT status, step FROM intake.status_updates"
                         " WHERE status_id = $1", uuid.UUID(status_id))
    assert [(h["status"], h["step"]) for h in history] == [(None, None)]
    out = [json.loads(bytes(o["body"])) for o in await rows(
        intake, "SELECT body FROM intake.outbox WHERE topic = 'difficulty.status.v1'")]
    event = next(e for e in out if e["status_id"] == status_id)
    assert {a["sha256"] for a in event["attachments"]} == {k["sha256"] for k in kept}
    assert set(event["attachments"][0]) == {"attachment_id", "content_type", "size", "sha256",
                                            "public"}
    assert "biên bản" not in json.dumps(event, ensure_ascii=False)

    # Too many (counted as sent), too large, of another type, none, not multipart: each
    # refused naming the field, nothing kept.
    for files, status in (
            ([("files", (f"{i}.pdf", PDF, "application/pdf")) for i in range(4)], 422),
            ([("files", ("big.pdf", PDF + b"0" * 4096, "application/pdf"))], 413),
            ([("files", ("x.pdf", b"<script>alert(1)</script>", "application/pdf"))], 415),
            ([("files", ("", b"", "application/octet-stream"))], 422)):
        r = await intake.client.post(path, headers=lead, files=files)
        assert (r.status_code, field_of(r)) == (status, "files"), r.text
    r = await intake.client.post(path, headers=lead, json={"files": []})
    assert (r.status_code, field_of(r)) == (415, "Content-Type"), r.text
    # A body larger than every file at its largest is refused from its declared length,
    # before it is read.
    r = await intake.client.post(path, headers={**lead, "Content-Type":
                                                "multipart/form-data; boundary=x"},
                                 content=b"x" * (3 * 4096 + 256 * 1024 + 1))
    assert (r.status_code, field_of(r)) == (413, "body"), r.text
    assert len(await rows(intake, "SELECT 1 FROM intake.attachments WHERE difficulty_id = $1",
                          uuid.UUID(did))) == 2

    # To the public answer: not before there is one, and only by whoever closes.
    r = await intake.client.post(path, headers=lead, data={"public_answer": "true"},
                                 files=[("files", ("tra-loi.pdf", PDF, "application/pdf"))])
    assert (r.status_code, field_of(r)) == (409, "public_answer"), r.text
    await assigned(intake, did, SCT, role=AssignmentRole.CO_HANDLER)
    helper = bearer(await intake.token(agency=SCT))
    r = await intake.client.post(path, headers=helper, data={"public_answer": "true"},
                                 files=[("files", ("tra-loi.pdf", PDF, "application/pdf"))])
    assert (r.status_code, field_of(r)) == (403, "public_answer"), r.text
    r = await intake.client.post(f"/v1/difficulties/{did}/resolution", headers=lead, json={
        "outcome": "resolved", "done": "Đã làm việc", "public_answer": "Đã giải quyết.",
        "waive_open_parts_reason": "Sở đã trả lời trực tiếp."})
    assert r.status_code == 202, r.text
    r = await intake.client.post(path, headers=lead, data={"public_answer": "true"},
                                 files=[("files", ("tra-loi.pdf", PDF, "application/pdf"))])
    assert r.status_code == 202 and r.json()["attachments"][0]["public"], r.text
    # Nobody off the case attaches.
    r = await intake.client.post(path, headers=bearer(await intake.token(agency=OTHER)),
                                 files=[("files", ("x.pdf", PDF, "application/pdf"))])
    assert r.status_code == 403, r.text


async def test_the_people_on_the_case_and_its_business_read_the_files_no_one_else(
    intake: Intake,
) -> None:
    body = submission(71)
    form = {k: str(v) for k, v in body.items() if k != "contact"}
    form.update({f"contact.{k}": v for k, v in body["contact"].items()})
    r = await intake.client.post("/", data={**form, "lang": "en"},
                                 files=[("files", ("giấy phép.pdf", PDF, "application/pdf"))])
    assert r.status_code == 200 and 'id="tracking-code"' in r.text, r.text[-1500:]
    own = (await rows(intake, "SELECT a.attachment_id, a.difficulty_id, d.tracking_code"
                      " FROM intake.attachments a JOIN intake.difficulties d"
                      " USING (difficulty_id) WHERE d.tax_code = $1", body["tax_code"]))[0]
    did, code = str(own["difficulty_id"]), own["tracking_code"]
    await assigned(intake, did, BQL)
    await assigned(intake, did, SCT, role=AssignmentRole.CO_HANDLER)
    await assigned(intake, did, "binh-duong.so-cong-thuong", member_id="binh-duong.m01")
    lead = bearer(await intake.token(agency=BQL))
    r = await intake.client.post(f"/v1/difficulties/{did}/attachments", headers=lead,
                                 files=[("files", ("nội bộ.png", PNG, "image/png"))])
    assert r.status_code == 202, r.text
    internal = r.json()["attachments"][0]["attachment_id"]
    mine = str(own["attachment_id"])

    _, operator = await auth.create(intake.database_url, configs=ConfigHolder().current,
                                    kind=auth.TokenKind.OPERATOR, subject_id="ops-desk")
    readers = {
        BQL: 200, SCT: 200, DEPUTY: 200, HEAD: 200, OTHER: 404,
        "thanh-hoa.bql-kkt-nghi-son": 404,
    }
    for agency, expected in readers.items():
        r = await intake.client.get(f"/v1/difficulties/{did}/attachments/{internal}",
                                    headers=bearer(await intake.token(agency=agency)))
        assert r.status_code == expected, (agency, r.text[:200])
    for who, expected in ((await intake.token(member="binh-duong.m01"), 200),
                          (await intake.token(member="binh-duong.m02"), 404),
                          (operator, 404)):
        r = await intake.client.get(f"/v1/difficulties/{did}/attachments/{mine}",
                                    headers=bearer(who))
        assert r.status_code == expected, r.text[:200]
    r = await intake.client.get(f"/v1/difficulties/{did}/attachments/{mine}", headers=lead)
    assert r.content == PDF and r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"giay phep.pdf\"; filename*=UTF-8''gi%E1%BA%A5y%20ph%C3%A9p.pdf")
    # Under another difficulty's id: as if it did not exist.
    other = (await intake.submit(n=72))["difficulty_id"]
    await assigned(intake, other, BQL)
    r = await intake.client.get(f"/v1/difficulties/{other}/attachments/{mine}", headers=lead)
    assert (r.status_code, field_of(r)) == (404, "attachment_id")

    # The business: its own file by its two codes; not the internal one; not by a wrong pair.
    pair = {"code": code.lower(), "tax_code": body["tax_code"]}
    r = await intake.client.post("/track/attachments", data={**pair, "attachment_id": mine})
    assert r.status_code == 200 and r.content == PDF
    for wrong in ({**pair, "attachment_id": internal},
                  {**pair, "tax_code": "0301234567", "attachment_id": mine},
                  {**pair, "attachment_id": str(uuid.uuid4())}):
        r = await intake.client.post("/track/attachments", data=wrong)
        assert (r.status_code, field_of(r)) == (404, "attachment_id"), r.text


@pytest.mark.parametrize("intake", [SMALL], indirect=True)
async def test_the_business_answers_a_question_with_a_file(intake: Intake) -> None:
    d = await intake.submit(n=73)
    did = d["difficulty_id"]
    await assigned(intake, did, BQL)
    lead = bearer(await intake.token(agency=BQL))
    r = await intake.client.post(f"/v1/difficulties/{did}/steps", headers=lead, json={
        "step": "need_info", "question": "Đề nghị gửi bản sao giấy phép."})
    assert r.status_code == 202, r.text
    aid = r.json()["assignment_id"]
    answer = {"code": d["tracking_code"], "tax_code": submission(73)["tax_code"],
              "assignment_id": aid, "answer": "Bản sao kèm theo.", "lang": "en"}
    # Not a PDF: refused naming the field, the question still waiting.
    r = await intake.client.post("/track/answer", data=answer, follow_redirects=False,
                                 files=[("files", ("gp.pdf", b"GIF89a", "application/pdf"))])
    assert r.status_code == 303 and "refused=files" in r.headers["location"]
    r = await intake.client.post("/track/answer", data=answer, follow_redirects=False,
                                 files=[("files", ("gp.pdf", PDF, "application/pdf"))])
    assert r.status_code == 303 and "said=answered" in r.headers["location"]
    kept = await rows(intake, "SELECT attached_by_kind, public, status_id FROM"
                      " intake.attachments WHERE difficulty_id = $1", uuid.UUID(did))
    assert [(k["attached_by_kind"], k["public"]) for k in kept] == [("business", True)]
    assert kept[0]["status_id"] is not None
