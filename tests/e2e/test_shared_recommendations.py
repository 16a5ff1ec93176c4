"""Recommendations many businesses share (#25 item 1), on the stack `thaogo up` starts,
the permanent deputy in headless Chromium: four businesses write about the e-invoice
code failures, citing Nghị định 123/2020/NĐ-CP each in their own way (with and without
diacritics and "số"), a fifth about something else. The deputy's page groups the four,
counts the items and the businesses and names the decree; the deputy merges the group
into one policy bottleneck for the Ministry of Finance (the ministry the province's
rules name for tax), which goes out as one item carrying the number of businesses and
no business's name, tax code or contact, and each business's tracking page says so;
the deputy records the ministry's answer, and
each of the four businesses reads it on its tracking page, the fifth nothing. The page
is checked at 1280 and 390 px (no sideways scroll, no serious or critical axe-core
violation), and the checker finds 0 differences."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.e2e.test_people import sign_in, until
from tests.e2e.test_sign_in import AXE, CHROMIUM, check, wait_until_up
from tests.e2e.test_up import start_up, stop_up, thaogo
from tests.faults.harness import read_topics
from tests.intake.conftest import submission
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.browser,
              pytest.mark.timeout(500)]

MINISTRY = "central.bo-tai-chinh"  # rules.escalation.tax in binh-duong.yaml
DEPUTY = "binh-duong.to-cong-tac"
INVOICES = [
    ("Lỗi cấp mã hóa đơn điện tử",
     "Hệ thống cấp mã hóa đơn điện tử của cơ quan thuế bị lỗi nhiều giờ, doanh nghiệp không "
     "xuất được hóa đơn cho khách hàng theo Nghị định 123/2020/NĐ-CP."),
    ("Khong cap duoc ma hoa don dien tu",
     "he thong cap ma hoa don dien tu loi, khong xuat duoc hoa don cho khach theo nghi dinh "
     "so 123/2020/ND-CP, de nghi cuc thue khac phuc"),
    ("Hóa đơn điện tử bị từ chối cấp mã",
     "Cơ quan thuế không cấp mã cho hóa đơn điện tử, doanh nghiệp chậm xuất hóa đơn giao "
     "hàng (NĐ 123/2020)."),
    ("Cấp mã hóa đơn điện tử chậm",
     "Hệ thống cấp mã hóa đơn điện tử nghẽn vào cuối tháng, không xuất được hóa đơn theo "
     "Nghị định số 123/2020/NĐ-CP."),
]
OTHER = ("Đường vào khu công nghiệp ngập",
         "Đường nội bộ khu công nghiệp ngập sâu mỗi khi mưa lớn, xe không vào được nhà máy.")
TITLE = "Lỗi cấp mã hóa đơn điện tử theo Nghị định 123/2020/NĐ-CP"
ANSWER = ("Bộ Tài chính đã chỉ đạo Tổng cục Thuế nâng cấp hệ thống cấp mã; hóa đơn lập lại "
          "trong thời gian hệ thống lỗi được chấp nhận.")


async def test_the_deputy_merges_what_many_businesses_share_and_each_reads_the_answer(
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright

    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE} (scripts/test installs it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    env["PYTHONPATH"] = str(REPO)
    ports = {s: free_port() for s in ("kafka", "intake", "router", "reporting", "notify",
                                      "smtp", "mailbox")}
    up, log = start_up(tmp_path, env, ports)
    stack_file = tmp_path / ".thaogo" / "stack.json"
    intake = f"http://127.0.0.1:{ports['intake']}"
    reporting = f"http://127.0.0.1:{ports['reporting']}"
    where = os.environ.get("THAOGO_TEST_ARTEFACTS")
    artefacts = Path(where) if where else tmp_path / "artefacts"
    artefacts.mkdir(parents=True, exist_ok=True)
    try:
        await wait_until_up(tmp_path / "up.log", ports, stack_file)
        stack = json.loads(stack_file.read_text())
        demo = dict(re.findall(r"^    (\w[\w ]+?) \(\S+\)\s+(http://\S+/workspace/enter\?\S+)$",
                               (tmp_path / "up.log").read_text(), re.M))
        made = await asyncio.to_thread(thaogo, "token", "create", "--agency", DEPUTY,
                                       cwd=tmp_path, env=env)
        assert made.returncode == 0, made.stderr
        deputy = {"Authorization": f"Bearer {made.stdout.strip()}", "Accept-Language": "en"}
        sent: list[dict[str, Any]] = []
        async with httpx.AsyncClient(timeout=30) as c:
            for n, (title, text) in enumerate([*INVOICES, OTHER]):
                body = submission(80 + n, category="tax", title=title, description=text)
                r = await c.post(f"{intake}/v1/difficulties", json=body)
                assert r.status_code == 202, r.text
                sent.append({**r.json(), "tax_code": body["tax_code"]})
        codes = [d["tracking_code"] for d in sent]

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu"])
            try:
                ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
                page = await ctx.new_page()
                await sign_in(page, demo["permanent deputy"])
                await page.get_by_role("link", name="Kiến nghị chung của nhiều doanh "
                                                    "nghiệp").click()

                async def grouped() -> Any:
                    await page.reload()
                    found = page.locator("#groups > li", has_text=codes[0])
                    return found if await found.count() == 1 else None

                group = await until("the four in one group", grouped)
                text = await group.inner_text()
                assert all(c in text for c in codes[:4]) and codes[4] not in text, text
                assert "4 phản ánh" in text and "4 doanh nghiệp" in text, text
                # One key for the four ways of citing the decree, counted four times.
                assert await group.locator(
                    ".doc[data-key='123/2020/ND-CP']").inner_text() == (
                    "Nghị định 123/2020/NĐ-CP (4)")
                assert await group.get_by_label("Kiến nghị Bộ, ngành").input_value() == MINISTRY
                for name, width in (("desktop", 1280), ("phone", 390)):
                    await look(browser, demo, f"{reporting}/workspace/shared",
                               width, artefacts / f"shared-groups-{name}.png")

                # The deputy merges the group under a title of their own.
                await group.get_by_label("Tên điểm nghẽn (Bộ, ngành sẽ đọc)").fill(TITLE)
                # The page is already at /workspace/shared?lang=vi: wait for the form's
                # own answer, not for an address the old page matches.
                async with page.expect_navigation(url="**/workspace/shared?**"):
                    await group.get_by_role(
                        "button", name="Tổng hợp thành điểm nghẽn chính sách").click()
                assert "Đã tổng hợp" in await page.locator("#done").inner_text()

                async def listed() -> Any:
                    await page.reload()
                    found = page.locator("#bottlenecks > li", has_text=TITLE)
                    return found if await found.count() == 1 else None

                bottleneck = await until("the bottleneck on the page", listed)
                shown = await bottleneck.inner_text()
                assert "4 doanh nghiệp" in shown and "Chờ Bộ, ngành trả lời" in shown, shown
                assert codes[0] not in await page.locator("#groups").inner_text()
                bid = (await bottleneck.get_attribute("id") or "").removeprefix("bottleneck-")

                # One item for the ministry: the number of businesses, no one's identity.
                (message,) = await read_topics(stack["THAOGO_KAFKA_BOOTSTRAP"],
                                               ["policy.bottleneck.v1"])
                out = message.value.decode()
                item = json.loads(out)
                assert item["business_count"] == 4 and len(item["items"]) == 4, out
                assert item["ministry_id"] == MINISTRY and item["answer"] is None
                assert item["documents"] == ["123/2020/ND-CP"]
                for d in sent:
                    assert d["tax_code"] not in out
                assert "Nguyễn Văn A" not in out and "0912345678" not in out
                async with httpx.AsyncClient(timeout=30) as c:
                    # Merged once: an item already in a bottleneck is not merged again.
                    r = await c.post(f"{intake}/v1/bottlenecks", headers=deputy, json={
                        "title": "Lần nữa", "ministry_id": MINISTRY,
                        "difficulty_ids": [sent[0]["difficulty_id"],
                                           sent[4]["difficulty_id"]]})
                    assert r.status_code == 409, r.text
                    assert r.json()["errors"][0]["field"] == "difficulty_ids"
                    # Each business's tracking page says its item went up with others'.
                    for d in sent[:4]:
                        r = await c.post(f"{reporting}/track", data={
                            "code": d["tracking_code"], "tax_code": d["tax_code"]})
                        assert 'id="shared"' in r.text and "4 doanh nghiệp" in r.text, r.text
                        assert "Bộ Tài chính" in r.text

                for name, width in (("desktop", 1280), ("phone", 390)):
                    await look(browser, demo, f"{reporting}/workspace/shared",
                               width, artefacts / f"shared-bottleneck-{name}.png")

                # The ministry's answer came by letter: the deputy records it.
                await bottleneck.locator("summary", has_text="Ghi nhận trả lời").click()
                await bottleneck.get_by_label("Số, ký hiệu văn bản trả lời").fill(
                    "4512/BTC-TCT")
                await bottleneck.get_by_label("Ngày văn bản").fill(date.today().isoformat())
                await bottleneck.get_by_label("Nội dung trả lời").fill(ANSWER)
                async with page.expect_navigation(url="**/workspace/shared?**"):
                    await bottleneck.get_by_role("button", name="Ghi nhận, thông báo").click()
                assert "Đã ghi nhận trả lời" in await page.locator("#done").inner_text(), (
                    await page.content())
                await ctx.close()
            finally:
                await browser.close()

        async with httpx.AsyncClient(timeout=30) as c:
            r = await c.post(f"{intake}/v1/bottlenecks/{bid}/ministry-answer", headers=deputy,
                             json={"letter_number": "4512/BTC-TCT",
                                   "letter_date": date.today().isoformat(),
                                   "public_answer": ANSWER})
            assert r.status_code == 409, r.text  # answered once

            async def tracked(d: dict[str, Any]) -> dict[str, Any] | None:
                r = await c.get(f"{reporting}/v1/track",
                                params={"code": d["tracking_code"], "tax_code": d["tax_code"]})
                got: dict[str, Any] = r.json()
                return got if got.get("public_answer") == ANSWER else None

            for d in sent[:4]:
                found = await until(f"the answer on {d['tracking_code']}'s page",
                                    lambda d=d: tracked(d))
                assert found["status"] == "resolved", found
            r = await c.post(f"{reporting}/track", data={
                "code": codes[1], "tax_code": sent[1]["tax_code"]})
            assert ANSWER in r.text, r.text
            other = (await c.get(f"{reporting}/v1/track", params={
                "code": codes[4], "tax_code": sent[4]["tax_code"]})).json()
            assert other["public_answer"] is None and other["status"] != "resolved", other

        verify = await asyncio.to_thread(thaogo, "verify", cwd=tmp_path, env=env)
        assert verify.stdout.rstrip().endswith("0 differences"), verify.stdout + verify.stderr
        print(f"\nscreenshots: {artefacts}")
    finally:
        stop_up(up, log)


async def look(browser: Any, demo: dict[str, str], url: str, width: int, shot: Path) -> None:
    """The deputy's page at `width`, signed in afresh (a context of that viewport)."""
    ctx = await browser.new_context(bypass_csp=True, viewport={"width": width, "height": 844})
    page = await ctx.new_page()
    await sign_in(page, demo["permanent deputy"])
    await page.goto(url)
    await check(page, width, shot)
    await ctx.close()
