"""The task force's people at work, in headless Chromium on the stack `thaogo up` starts
(#21 items 3-5, 7): a member submits the weekly report from the form of their week and
the permanent deputy sees it in the week's compilation; the deputy dispatches an item
from the triage queue and the chosen agency holds it, corrects another's zone type (the
router routes it again) and merges a third, by keyboard, into the first as a duplicate
(#20 item 3); the deputy reminds a member who
has not reported and the reminder reaches the local mailbox; the head gives a direction
and it comes back on the head's page; a deputy by zone type sees their zone's items.
Every page is checked at desktop width and at 390 px (no sideways scroll, screenshots
kept, no serious or critical axe-core violation), and the checker finds 0 differences."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import REPO
from tests.e2e.test_sign_in import AXE, CHROMIUM, check, wait_until_up
from tests.e2e.test_up import start_up, stop_up, thaogo
from tests.faults.harness import read_topics
from thaogo.demo import tax_code
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.browser,
              pytest.mark.timeout(500)]

TARGET = "binh-duong.so-cong-thuong"
CLUSTERS_LEAD = "binh-duong.so-cong-thuong"  # the lead for zone type CCN
SOLUTIONS = "Phối hợp Sở Công Thương tìm nguồn nguyên liệu thay thế cho 3 doanh nghiệp."
RECOMMEND = "Đề nghị Bộ Công Thương hỗ trợ thủ tục nhập khẩu nguyên liệu."
DIRECTION = "Sở Công Thương rà soát, báo cáo trước thứ Năm tuần sau."
# No zone type and no zone name: the router cannot route it; triage it is.
UNROUTABLE = {
    "tax_code": "0100109106", "enterprise_name": "Công ty TNHH Dệt may Minh Phát",
    "province": "Bình Dương", "category": "raw_materials", "kind": "difficulty",
    "urgency": "normal", "title": "Thiếu nguyên liệu sản xuất vải",
    "description": "Nguyên liệu nhập khẩu bị chậm 3 tuần.",
    "contact": {"name": "Phòng Hành chính", "phone": "0274 3822 000"},
}


async def sign_in(page: Any, link: str) -> None:
    await page.goto(link)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url("**/workspace/")


async def until(what: str, probe: Any, tries: int = 150) -> Any:
    for _ in range(tries):
        if found := await probe():
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"never happened: {what}")


async def test_members_report_the_deputy_triages_and_compiles_the_head_directs(
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
    reporting = f"http://127.0.0.1:{ports['reporting']}"
    where = os.environ.get("THAOGO_TEST_ARTEFACTS")
    artefacts = Path(where) if where else tmp_path / "artefacts"
    artefacts.mkdir(parents=True, exist_ok=True)
    try:
        await wait_until_up(tmp_path / "up.log", ports, stack_file)
        stack = json.loads(stack_file.read_text())
        printed = (tmp_path / "up.log").read_text()
        demo = dict(re.findall(r"^    (\w[\w ]+?) \(\S+\)\s+(http://\S+/workspace/enter\?\S+)$",
                               printed, re.M))
        async with httpx.AsyncClient() as c:
            codes = []
            # The first is dispatched, the second corrected, the third merged into the
            # first; the fourth stays in the queue, whose forms are then looked at.
            for n in range(4):
                sent = await c.post(f"http://127.0.0.1:{ports['intake']}/v1/difficulties",
                                    json={**UNROUTABLE, "tax_code": UNROUTABLE["tax_code"]
                                          if n == 0 else tax_code(7100 + n)})
                assert sent.status_code == 202, sent.text
                codes.append(sent.json()["tracking_code"])
            code = codes[0]
        # A deputy by zone type signs in with a token of their own id.
        token = await asyncio.to_thread(thaogo, "token", "create", "--member",
                                        "binh-duong.to-pho-kcn", cwd=tmp_path, env=env)
        assert token.returncode == 0, token.stderr

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu"])
            try:
                await act(browser, reporting, demo, codes)
                for name, width in (("desktop", 1280), ("phone", 390)):
                    await look(browser, reporting, demo, token.stdout.strip(), name, width,
                               artefacts)
            finally:
                await browser.close()

        # The chosen agency holds the item: its lead in reporting, its task on its topic.
        conn = await asyncpg.connect(stack["THAOGO_DATABASE_URL"])
        try:
            async def held() -> bool:
                return await conn.fetchval(
                    "SELECT lead_agency_id FROM reporting.difficulties WHERE tracking_code = $1",
                    code) == TARGET
            await until("the chosen agency holds the item", held)
            reminder = await until("the reminder queued", lambda: conn.fetchval(
                "SELECT message_key FROM notify.messages WHERE kind = 'member_reminder'"))
            assert reminder.startswith("member_reminder:")
        finally:
            await conn.close()
        bootstrap = stack["THAOGO_KAFKA_BOOTSTRAP"]
        await until("the task on the chosen agency's topic",
                    lambda: on_topic(bootstrap, f"agency.{TARGET}.v1", code))
        # The corrected item (zone type CCN) went to the clusters' lead, the industry
        # department; the merged one is closed, pointing to the first.
        await until("the corrected item on the clusters' lead's topic",
                    lambda: on_topic(bootstrap, f"agency.{CLUSTERS_LEAD}.v1", codes[1]))
        conn = await asyncpg.connect(stack["THAOGO_DATABASE_URL"])
        try:
            async def merged() -> bool:
                return await conn.fetchval(
                    "SELECT d.status = 'merged' AND k.tracking_code = $2"
                    " FROM reporting.difficulties d JOIN reporting.difficulties k"
                    " ON k.difficulty_id = d.merged_into WHERE d.tracking_code = $1",
                    codes[2], code) is True
            await until("the duplicate merged into the first", merged)
        finally:
            await conn.close()

        verify = await asyncio.to_thread(thaogo, "verify", cwd=tmp_path, env=env)
        assert verify.stdout.rstrip().endswith("0 differences"), verify.stdout + verify.stderr
        print(f"\nscreenshots: {artefacts}")
    finally:
        stop_up(up, log)


async def on_topic(bootstrap: str, topic: str, needle: str) -> bool:
    """Whether `needle` is in a message on `topic` now: the whole topic, every partition,
    to its end offsets (a single fetch may bring back one partition's records only)."""
    return any(needle in r.value.decode() for r in await read_topics(bootstrap, [topic]))


async def act(browser: Any, reporting: str, demo: dict[str, str], codes: list[str]) -> None:
    """What each person does, once, at desktop width."""
    code = codes[0]
    # The member writes the weekly report under the three headings and sends it.
    member = await (await browser.new_context()).new_page()
    await sign_in(member, demo["member"])
    await member.get_by_role("link", name="Công việc tuần của tôi").click()
    received = await member.locator("#received_summary").input_value()
    assert received.startswith("Tuần "), received  # pre-filled with the member's figures
    await member.fill("#solutions", SOLUTIONS)
    await member.fill("#recommendations", RECOMMEND)
    await member.get_by_role("button", name="Gửi báo cáo").click()
    await member.wait_for_url("**/workspace/my-week?**")
    assert await member.locator("#done").is_visible(), await member.content()
    await until("the report among the member's own", lambda: reload_has(
        member, "#past-reports", "Đúng hạn"))

    # The permanent deputy: the compilation has it, the triage queue has the item.
    deputy = await (await browser.new_context()).new_page()
    await sign_in(deputy, demo["permanent deputy"])
    await deputy.goto(f"{reporting}/workspace/compilation")
    await until("the report in the compilation", lambda: reload_has(
        deputy, "#report-binh-duong\\.m01", SOLUTIONS))
    await deputy.goto(f"{reporting}/workspace/triage")
    await until("the item in triage", lambda: reload_has(deputy, "#triage-queue", code))
    item = deputy.locator(f"#item-{code}")
    await item.get_by_label("Cơ quan chủ trì (gõ để tìm)").fill(TARGET)
    await item.get_by_role("button", name="Giao xử lý").click()
    await deputy.wait_for_url("**/workspace/triage?**")
    assert "Đã giao hồ sơ" in await deputy.locator("#done").inner_text()
    await until("the item out of triage", lambda: reload_lacks(deputy, "#triage-queue", code))
    # The second item's zone type was missing: corrected, it is routed again.
    item = deputy.locator(f"#item-{codes[1]}")
    await item.get_by_text("Sửa loại khu, lĩnh vực, tỉnh").click()
    await item.get_by_label("Loại khu").select_option("CCN")
    # The page is already at /workspace/triage?… (the dispatch's answer): wait for this
    # form's own answer, not for an address the old page matches.
    async with deputy.expect_navigation(url="**/workspace/triage?**"):
        await item.get_by_role("button", name="Sửa và phân loại lại").click()
    assert "Đã sửa thông tin" in await deputy.locator("#done").inner_text()
    await until("the corrected item out of triage",
                lambda: reload_lacks(deputy, "#triage-queue", codes[1]))
    # The third repeats the first: merged into it, by keyboard alone.
    item = deputy.locator(f"#item-{codes[2]}")
    await item.locator("details.merge summary").focus()
    await deputy.keyboard.press("Enter")
    await item.get_by_label("Mã hồ sơ của phản ánh được giữ").focus()
    await deputy.keyboard.type(code.lower())
    async with deputy.expect_navigation(url="**/workspace/triage?**"):
        await deputy.keyboard.press("Enter")
    assert "Đã gộp hồ sơ" in await deputy.locator("#done").inner_text()
    await until("the duplicate out of triage",
                lambda: reload_lacks(deputy, "#triage-queue", codes[2]))
    # One click reminds a member who has not reported.
    async with deputy.expect_navigation(url="**/workspace/triage?**"):
        await deputy.locator("#missing button").first.click()
    assert "Đã gửi lời nhắc" in await deputy.locator("#done").inner_text()

    # The head gives a direction, and reads it back.
    head = await (await browser.new_context()).new_page()
    await sign_in(head, demo["head"])
    await head.get_by_role("link", name="Điều hành của Tổ trưởng").click()
    await head.fill("#direction", DIRECTION)
    # Who must act and by when (#22 item 1): the agency the direction names, a week on.
    await head.select_option("#assignee_id", TARGET)
    await head.fill("#due_on", (date.today() + timedelta(days=7)).isoformat())
    # The head's page is already at /workspace/head?lang=vi: wait for the form's answer.
    async with head.expect_navigation(url="**/workspace/head?**"):
        await head.get_by_role("button", name="Gửi ý kiến chỉ đạo").click()
    await until("the direction on the head's page", lambda: reload_has(
        head, "#directions", DIRECTION))
    assert SOLUTIONS in (await head.locator("#compilation").text_content() or "")


async def reload_has(page: Any, where: str, text: str) -> bool:
    await page.reload()
    return text in await page.locator(where).inner_text()


async def reload_lacks(page: Any, where: str, text: str) -> bool:
    return not await reload_has(page, where, text)


async def look(browser: Any, reporting: str, demo: dict[str, str], deputy_token: str,
               name: str, width: int, artefacts: Path) -> None:
    """Every page of every role at `width`: in Vietnamese, and one in English."""
    shown = {"member": ["my-week"], "permanent deputy": ["triage", "compilation", "zone"],
             "head": ["head"]}
    for role, paths in shown.items():
        ctx = await browser.new_context(bypass_csp=True, viewport={"width": width, "height": 844})
        page = await ctx.new_page()
        await sign_in(page, demo[role])
        for path in paths:
            await page.goto(f"{reporting}/workspace/{path}")
            if path == "triage":
                # The item left in the queue, every form of it open: dispatch, correct,
                # merge and reject are all looked at.
                assert await page.locator("#triage-queue details").count() >= 3
                await page.evaluate(
                    "document.querySelectorAll('details').forEach(d => d.open = true)")
            await check(page, width, artefacts / f"{path}-{name}.png")
        await page.goto(f"{reporting}/workspace/{paths[0]}?lang=en")
        assert await page.locator("html").get_attribute("lang") == "en"
        await check(page, width, artefacts / f"{paths[0]}-en-{name}.png")
        await ctx.close()
    # The deputy by zone type (industrial parks) signs in with a token.
    ctx = await browser.new_context(bypass_csp=True, viewport={"width": width, "height": 844})
    page = await ctx.new_page()
    await page.goto(f"{reporting}/reports/login")
    await page.fill("input[name=token]", deputy_token)
    await page.locator("form button[type=submit]").click()
    await page.goto(f"{reporting}/workspace/")
    assert "Trần Văn Hải" in await page.content()
    await page.get_by_role("link", name="Hồ sơ theo khu vực phụ trách").click()
    assert "Khu công nghiệp" in await page.content()
    await check(page, width, artefacts / f"zone-deputy-{name}.png")
    await ctx.close()
