"""Bulk CSV import on the real database and broker (intake in-process)."""

from __future__ import annotations

import asyncpg
import pytest

from tests.intake.conftest import Intake
from thaogo.demo import tax_code

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(300)]

MEMBER = "binh-duong.m01"
VI_HEADER = ("Mã số thuế,Tên doanh nghiệp,Tỉnh/Thành phố,Loại khu,Tên khu,Lĩnh vực,Tiêu đề,"
             "Nội dung,Người liên hệ,Điện thoại\n")


def bad(code: str) -> str:
    """The same tax code with a wrong check digit."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def csv_rows(n: int) -> tuple[str, set[int]]:
    """n data rows; every 10th has a wrong check digit, every 25th an unknown province.
    Returns the file and the spreadsheet numbers of the rows that must be refused."""
    lines, refused = [VI_HEADER], set()
    for i in range(n):
        number = i + 2
        code = tax_code(10_000 + i)
        province = "Bình Dương"
        if i % 10 == 9:
            code = bad(code)
            refused.add(number)
        if i % 25 == 24:
            province = "Gotham"
            refused.add(number)
        lines.append(f'{code},"Công ty số {i}, TNHH",{province},Khu công nghiệp,VSIP II,'
                     f'Nguyên liệu sản xuất,Thiếu nguyên liệu {i},"Nội dung ""{i}""",'
                     'Chị Hoa,0912345678\n')
    return "".join(lines), refused


async def counts(intake: Intake) -> tuple[int, int]:
    conn = await asyncpg.connect(intake.database_url)
    try:
        d = await conn.fetchval("SELECT count(*) FROM intake.difficulties")
        o = await conn.fetchval("SELECT count(*) FROM intake.outbox"
                                " WHERE topic = 'difficulty.received.v1'")
        return int(d), int(o)
    finally:
        await conn.close()


async def test_ten_thousand_rows_import_once_per_idempotency_key(intake: Intake) -> None:
    token = await intake.token(member=MEMBER)
    data, refused = csv_rows(10_000)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv; charset=utf-8",
               "Idempotency-Key": "conference-2026-11-18", "Accept-Language": "en"}
    body = ("\ufeff" + data).encode()
    r = await intake.client.post("/v1/difficulties/import", content=body, headers=headers,
                                 timeout=240)
    assert r.status_code == 200, r.text[:500]
    answer = r.json()
    assert (answer["accepted"], answer["refused"]) == (10_000 - len(refused), len(refused))
    assert [row["row"] for row in answer["rows"]] == list(range(2, 10_002))
    by_number = {row["row"]: row for row in answer["rows"]}
    assert {n for n, row in by_number.items() if not row["accepted"]} == refused
    assert by_number[11]["errors"] == [{"field": "tax_code", "reason": by_number[11]["errors"]
                                        [0]["reason"]}]
    assert "check digit" in by_number[11]["errors"][0]["reason"]
    assert by_number[26]["errors"][0]["field"] == "province"
    accepted = [row for row in answer["rows"] if row["accepted"]]
    assert len({row["tracking_code"] for row in accepted}) == len(accepted)
    assert await counts(intake) == (len(accepted), len(accepted))

    # The accepted rows are the ones stored, with their tracking codes.
    conn = await asyncpg.connect(intake.database_url)
    try:
        stored = {r["difficulty_id"]: r["tracking_code"] for r in await conn.fetch(
            "SELECT difficulty_id, tracking_code FROM intake.difficulties")}
    finally:
        await conn.close()
    assert {str(k): v for k, v in stored.items()} == {
        row["difficulty_id"]: row["tracking_code"] for row in accepted}

    again = await intake.client.post("/v1/difficulties/import", content=body, headers=headers,
                                     timeout=240)
    assert again.status_code == 200 and again.json() == answer
    assert await counts(intake) == (len(accepted), len(accepted))
    other = await intake.client.post("/v1/difficulties/import", content=body[:-200],
                                     headers=headers, timeout=240)
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    # Every refused field at once, as for a single submission: a row with both its tax
    # code and its province wrong is refused for both.
    both = 2 + 49
    assert {e["field"] for e in by_number[both]["errors"]} == {"tax_code", "province"}
    bad_tax = [n for n in refused if (n - 2) % 10 == 9]
    metrics = (await intake.client.get("/metrics")).text
    assert (f'thaogo_intake_refusals_total{{field="tax_code",reason="invalid"}} '
            f'{float(len(bad_tax))}') in metrics


async def test_multipart_upload_english_headers_and_who_may_import(intake: Intake) -> None:
    member = await intake.token(member=MEMBER)
    agency = await intake.token(agency="binh-duong.bql-kcn")
    data = ("tax_code,enterprise_name,province,zone_type,category,title,description,"
            "contact.name,contact.email,employees\n"
            f"{tax_code(1)},ACME,74,KCN,tax,Refund,Late VAT refund,An,an@example.vn,40\n"
            f"{tax_code(2)},Beta,79,NONE,labour,,Short of workers,Bình,not-mail,-3\n")
    files = {"file": ("hoi-nghi.csv", data.encode(), "text/csv")}
    url = "/v1/difficulties/import"

    r = await intake.client.post(url, files=files)
    assert r.status_code == 401 and r.json()["errors"][0]["field"] == "Authorization"
    r = await intake.client.post(url, files=files, headers={"Authorization": f"Bearer {agency}"})
    assert r.status_code == 403
    assert await counts(intake) == (0, 0)

    auth = {"Authorization": f"Bearer {member}"}
    r = await intake.client.post(url, files=files, headers={**auth, "Accept-Language": "vi"})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert rows[0]["accepted"] and rows[0]["tracking_code"].startswith("TG-")
    assert rows[1] == {"row": 3, "accepted": False, "difficulty_id": None,
                       "tracking_code": None, "errors": rows[1]["errors"]}
    errors = {e["field"]: e["reason"] for e in rows[1]["errors"]}
    assert set(errors) == {"title", "contact.email", "employees"}
    assert errors["title"].startswith("bắt buộc")  # missing, in Vietnamese
    assert await counts(intake) == (1, 1)

    r = await intake.client.post(url, content=b"a;b", headers={**auth,
                                                               "Content-Type": "application/json"})
    assert r.status_code == 415 and r.json()["errors"][0]["field"] == "Content-Type"
    r = await intake.client.post(url, content="Mã số thuế;Tên\n1;2\n".encode(),
                                 headers={**auth, "Content-Type": "text/csv",
                                          "Accept-Language": "en"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    assert "unknown column" in r.json()["errors"][0]["reason"]
    r = await intake.client.post(url, files={"other": ("x.csv", b"x", "text/csv")}, headers=auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    assert await counts(intake) == (1, 1)


@pytest.mark.parametrize("intake", [{"max_import_rows": 3, "max_import_bytes": 2000}],
                         indirect=True)
async def test_import_limits_are_413(intake: Intake) -> None:
    auth = {"Authorization": f"Bearer {await intake.token(member=MEMBER)}",
            "Content-Type": "text/csv", "Accept-Language": "en"}
    data, _ = csv_rows(4)
    r = await intake.client.post("/v1/difficulties/import", content=data.encode(), headers=auth)
    assert r.status_code == 413 and "at most 3" in r.json()["errors"][0]["reason"]
    data, _ = csv_rows(3)
    r = await intake.client.post("/v1/difficulties/import", content=(data * 10).encode(),
                                 headers=auth)
    assert r.status_code == 413 and "2000 bytes" in r.json()["errors"][0]["reason"]
    assert await counts(intake) == (0, 0)


async def test_an_import_enters_only_the_importers_own_province(intake: Intake) -> None:
    """A Thanh Hóa member, or an operator limited to Thanh Hóa, cannot file difficulties
    for Bình Dương's task force; an operator without a province can."""
    from shared import auth
    from shared.provinces import ConfigHolder

    _, scoped = await auth.create(intake.database_url, configs=ConfigHolder().current,
                                  kind=auth.TokenKind.OPERATOR, subject_id="th-desk",
                                  province="thanh-hoa")
    _, everywhere = await auth.create(intake.database_url, configs=ConfigHolder().current,
                                      kind=auth.TokenKind.OPERATOR, subject_id="ops-desk")
    data = (VI_HEADER
            + f"{tax_code(31)},Công ty A,Bình Dương,KCN,VSIP II,Nguyên liệu sản xuất,Thiếu,"
              "Nội dung,Chị Hoa,0912345678\n"
            + f"{tax_code(32)},Công ty B,Thanh Hóa,KKT,Nghi Sơn,Nguyên liệu sản xuất,Thiếu,"
              "Nội dung,Anh Nam,0912345679\n").encode()
    for token in (await intake.token(member="thanh-hoa.m01"), scoped):
        r = await intake.client.post(
            "/v1/difficulties/import", content=data,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv",
                     "Accept-Language": "en"})
        assert r.status_code == 200, r.text
        first, second = r.json()["rows"]
        assert not first["accepted"] and second["accepted"], r.text
        (error,) = first["errors"]
        assert error["field"] == "province" and "province you work for" in error["reason"]
    r = await intake.client.post(
        "/v1/difficulties/import", content=data,
        headers={"Authorization": f"Bearer {everywhere}", "Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    assert await counts(intake) == (4, 4)
