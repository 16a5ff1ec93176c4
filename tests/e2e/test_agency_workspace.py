"""The agency officer's day, in headless Chromium on the stack `thaogo up` starts: signed
in by the link it prints, the officer finds a new difficulty in the agency's queue, opens
it, acknowledges and resolves it from its page (forms posting to intake, which sends the
browser back); the business's `GET /v1/track` then says resolved, the week's report
preview counts it, and the checker finds 0 differences. Every page is checked by axe-core
and kept as a screenshot at desktop width and at 390 px."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from shared.calendar import week_window
from tests.conftest import REPO
from tests.e2e.test_sign_in import AXE, CHROMIUM, check, wait_until_up
from tests.e2e.test_up import start_up, stop_up, thaogo
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.browser,
              pytest.mark.timeout(400)]

DIFFICULTY = {
    "tax_code": "0100109106", "enterprise_name": "Công ty TNHH Dệt may Minh Phát",
    "province": "Bình Dương", "zone_type": "KCN", "zone_name": "KCN VSIP II",
    "category": "raw_materials", "kind": "difficulty", "urgency": "normal",
    "title": "Thiếu nguyên liệu sản xuất", "description": "Nguyên liệu nhập khẩu bị chậm 3 tuần.",
    "contact": {"name": "Phòng Hành chính", "phone": "0274 3822 000"},
}


async def test_an_agency_officer_acknowledges_and_resolves_from_the_workspace(
    tmp_path: Path,
) -> None:
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE} (scripts/test installs it)")
    from playwright.async_api import async_playwright

    env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    env["PYTHONPATH"] = str(REPO)
    ports = {s: free_port() for s in ("kafka", "intake", "router", "reporting", "notify",
                                      "smtp", "mailbox")}
    up, log = start_up(tmp_path, env, ports)
    where = os.environ.get("THAOGO_TEST_ARTEFACTS")
    artefacts = Path(where) if where else tmp_path / "artefacts"
    artefacts.mkdir(parents=True, exist_ok=True)
    intake = f"http://127.0.0.1:{ports['intake']}"
    reporting = f"http://127.0.0.1:{ports['reporting']}"
    try:
        await wait_until_up(tmp_path / "up.log", ports, tmp_path / ".thaogo" / "stack.json")
        printed = (tmp_path / "up.log").read_text()
        demo = dict(re.findall(r"^    (\w[\w ]+?) \(\S+\)\s+(http://\S+/workspace/enter\?\S+)$",
                               printed, re.M))
        token = (await asyncio.to_thread(thaogo, "token", "create", "--operator", "ops-e2e",
                                         cwd=tmp_path, env=env)).stdout.strip()
        week = week_window(datetime.now(UTC)).label
        report_url = f"{reporting}/v1/reports/binh-duong/{week}.json"
        async with httpx.AsyncClient() as c:
            before = total_resolved((await c.get(
                report_url, headers={"Authorization": f"Bearer {token}"})).json())
            sent = await c.post(f"{intake}/v1/difficulties", json=DIFFICULTY)
            assert sent.status_code == 202, sent.text
        code = sent.json()["tracking_code"]

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu"])
            try:
                ctx = await browser.new_context(bypass_csp=True,
                                                viewport={"width": 1280, "height": 900})
                page = await ctx.new_page()
                await page.goto(demo["agency officer"])
                await page.get_by_role("button", name="Đăng nhập").click()
                await page.wait_for_url("**/workspace/")
                await page.get_by_role("link", name=re.compile("Hồ sơ của cơ quan")).click()
                await page.wait_for_url("**/workspace/queue?lang=vi")
                # The router assigns it within a second or so; the officer reloads.
                row = page.locator(f"#row-{code}")
                for _ in range(100):
                    if await row.count():
                        break
                    await asyncio.sleep(0.3)
                    await page.reload()
                assert await row.count() == 1, await page.content()
                assert "Mới" in await row.inner_text() or "Sắp đến hạn" in await row.inner_text()
                await check(page, 1280, artefacts / "agency-queue-desktop.png")
                await row.get_by_role("link", name=code).click()
                await page.wait_for_url("**/workspace/difficulties/**")
                await check(page, 1280, artefacts / "agency-difficulty-desktop.png")
                difficulty_url = page.url

                # Acknowledge, by keyboard: the button is reached and pressed like any.
                await page.locator("#act-status-acknowledged button").focus()
                await page.keyboard.press("Enter")
                await page.wait_for_url(re.compile(r".*done=acknowledged.*"))
                assert "Đã cập nhật" in await page.locator("#done").inner_text()
                await check(page, 1280, artefacts / "agency-acknowledged-desktop.png")
                # The read model catches up: the page then offers no second acknowledgement.
                for _ in range(100):
                    await page.goto(difficulty_url)
                    if await page.locator("#act-status-acknowledged").count() == 0:
                        break
                    await asyncio.sleep(0.3)
                # The resolution form: what was done for the record, the answer the
                # business reads, and why it closes over co-handlers' open parts.
                await page.locator("#res-outcome").select_option("resolved")
                await page.locator("#res-done").fill(
                    "Đã làm việc với hải quan, nguyên liệu được thông quan ngày 20.")
                await page.locator("#res-legal").fill("Công văn 123/UBND-KT")
                await page.locator("#res-answer").fill(ANSWER)
                if await page.locator("#res-waive").count():
                    await page.locator("#res-waive").fill(
                        "Sở Công Thương đã trao đổi trực tiếp, không cần văn bản riêng.")
                await page.locator("#act-resolution button").click()
                await page.wait_for_url(re.compile(r".*done=resolved.*"))
                await check(page, 1280, artefacts / "agency-resolved-desktop.png")

                phone = await browser.new_context(bypass_csp=True,
                                                  viewport={"width": 390, "height": 844})
                await phone.add_cookies(await ctx.cookies())
                small = await phone.new_page()
                await small.goto(f"{reporting}/workspace/queue?status=all&lang=vi")
                await check(small, 390, artefacts / "agency-queue-phone.png")
                await small.goto(difficulty_url)
                await check(small, 390, artefacts / "agency-difficulty-phone.png")
                await small.goto(f"{reporting}/workspace/queue?lang=en&status=all")
                await check(small, 390, artefacts / "agency-queue-phone-en.png")
                await phone.close()
                await ctx.close()
            finally:
                await browser.close()

        async with httpx.AsyncClient() as c:
            for _ in range(100):
                tracked = (await c.get(f"{reporting}/v1/track",
                                       params={"code": code,
                                               "tax_code": "0100109106"})).json()
                if tracked["status"] == "resolved":
                    break
                await asyncio.sleep(0.3)
            assert tracked["status"] == "resolved", tracked
            assert tracked["agency_name_vi"] == "Ban Quản lý các khu công nghiệp tỉnh Bình Dương"
            # The business reads the public answer on its tracking page, and nothing of
            # what was done internally.
            page_ = await c.post(f"{reporting}/track",
                                 data={"code": code, "tax_code": "0100109106"})
            assert page_.status_code == 200 and ANSWER in page_.text
            assert "hải quan, nguyên liệu được thông quan" not in page_.text
            after = total_resolved((await c.get(
                report_url, headers={"Authorization": f"Bearer {token}"})).json())
        assert after == before + 1, (before, after)
        verify = await asyncio.to_thread(thaogo, "verify", cwd=tmp_path, env=env)
        assert verify.stdout.rstrip().endswith("0 differences"), verify.stdout + verify.stderr
        print(f"\nscreenshots: {artefacts}")
    finally:
        stop_up(up, log)
    assert up.returncode == 0, (tmp_path / "up.log").read_text()[-3000:]


ANSWER = "Nguyên liệu của doanh nghiệp đã được thông quan; doanh nghiệp liên hệ Chi cục Hải quan."


def total_resolved(report: dict[str, object]) -> int:
    rows = report["rows"]
    assert isinstance(rows, list), json.dumps(report)[:500]
    (total,) = [r for r in rows if r["dimension"] == "total"]
    return int(total["resolved"])
