"""A full run's logs hold no personal data and no secret: the four services handle
contacts, tokens and recipients' addresses, refuse bad input, deliver notifications,
and afterwards no log line contains a phone number, an e-mail address or a token."""

from __future__ import annotations

import re
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from shared import auth as tokens
from shared.provinces import ConfigHolder, default_config_dir
from tests.conftest import Stack, wait_until
from thaogo.demo import tax_code

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(180)]

BQL = "binh-duong.bql-kcn"
MEMBER = "binh-duong.m01"


def _submission(n: int, phone: str, email: str, urgency: str = "normal") -> dict[str, Any]:
    return {
        "tax_code": tax_code(5000 + n), "enterprise_name": f"Công ty TNHH Nhật ký {n}",
        "province": "Bình Dương", "zone_type": "KCN", "zone_name": "KCN VSIP II",
        "category": "raw_materials", "kind": "difficulty", "title": "Chậm thông quan",
        "description": f"Liên hệ trực tiếp {phone} hoặc {email} nếu cần.",
        "urgency": urgency,
        "contact": {"name": "Trần Thị Bình", "phone": phone, "email": email},
    }


def _phone_pattern(phone: str) -> re.Pattern[str]:
    """The number however it is spaced or punctuated."""
    return re.compile(r"[\s.+-]*".join(re.escape(d) for d in re.sub(r"\D", "", phone)))


def _config_addresses() -> list[str]:
    """Every e-mail address in the shipped province files: notify's recipients."""
    found: set[str] = set()
    for f in default_config_dir().glob("*.yaml"):
        found.update(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", f.read_text()))
    return sorted(found)


async def test_a_full_run_logs_no_contact_details_and_no_tokens(stack: Stack) -> None:
    await stack.start()
    probe = uuid.uuid4().hex[:8]
    phones = ["0912 7" + probe[:2].translate(str.maketrans("abcdef", "123456")) + " 4321",
              "+84 98 765 " + str(int(probe[:4], 16) % 10000).zfill(4)]
    emails = [f"pii-{probe}-a@example.vn", f"pii-{probe}-b@example.vn"]
    db_url = stack["intake"].env["THAOGO_DATABASE_URL"]
    configs = ConfigHolder().current
    _, agency_token = await tokens.create(db_url, configs=configs, kind=tokens.TokenKind.AGENCY,
                                          subject_id=BQL)
    _, member_token = await tokens.create(db_url, configs=configs,
                                          kind=tokens.TokenKind.MEMBER, subject_id=MEMBER)
    forged = "tg_" + uuid.uuid4().hex + uuid.uuid4().hex
    secrets = [agency_token, member_token, forged]

    ids: list[str] = []
    async with httpx.AsyncClient(base_url=stack["intake"].url, timeout=10) as client:
        for n, (phone, email) in enumerate(zip(phones, emails, strict=True)):
            r = await client.post("/v1/difficulties", json=_submission(
                n, phone, email, urgency="urgent" if n else "normal"))
            assert r.status_code == 202, r.text
            ids.append(r.json()["difficulty_id"])
        # Refusals echo nothing personal into the logs either.
        bad = _submission(9, "not-a-phone " + phones[0], emails[0])
        assert (await client.post("/v1/difficulties", json=bad)).status_code == 422
        assert (await client.post("/v1/difficulties", content=b"\xff\xfe" + emails[1].encode(),
                                  headers={"content-type": "application/json"})).status_code \
            in (400, 422)
        r = await client.post(f"/v1/difficulties/{ids[0]}/status", json={"status": "acknowledged"},
                              headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401

        async def acknowledged() -> bool:
            r = await client.post(f"/v1/difficulties/{ids[0]}/status",
                                  json={"status": "acknowledged", "note": f"gọi {phones[0]}"},
                                  headers={"Authorization": f"Bearer {agency_token}"})
            return r.status_code == 202

        await wait_until(acknowledged, timeout=60, interval=0.5)
        r = await client.post("/v1/member-reports", headers={
            "Authorization": f"Bearer {member_token}"}, json={
            "received_summary": f"Doanh nghiệp liên hệ {emails[0]}", "solutions": "Đang xử lý",
            "recommendations": "Không"})
        assert r.status_code == 202, r.text

    # Notify has tried to reach the agencies and, for the urgent one, the head and the
    # permanent deputy (an attempt is stored): recipients' addresses went through its code.
    conn = await asyncpg.connect(db_url)
    try:
        async def notified() -> bool:
            n = await conn.fetchval(
                "SELECT count(DISTINCT m.difficulty_id) FROM notify.messages m"
                " JOIN notify.delivery_attempts a USING (message_key)"
                " WHERE m.difficulty_id = ANY($1::uuid[])", ids)
            return bool(n == len(ids))

        await wait_until(notified, timeout=60)
    finally:
        await conn.close()
    for svc in stack.services.values():
        svc.stop()

    addresses = _config_addresses()
    assert addresses, "the province files name recipients"
    logs = {name: svc.log_path.read_text(encoding="utf-8", errors="replace")
            for name, svc in stack.services.items()}
    assert all(logs.values()), "every service wrote logs"
    found = []
    for name, text in logs.items():
        found += [f"{name}: e-mail {e}" for e in emails + addresses if e in text]
        found += [f"{name}: token {s[:6]}…" for s in secrets if s in text]
        found += [f"{name}: phone {p}" for p in phones if _phone_pattern(p).search(text)]
    assert not found, "personal data or secrets in the logs:\n" + "\n".join(found)
