"""The web form in headless Chromium (Debian's, driven by Playwright) against a live intake
process on the real database and broker: a business fills it in, sees the error next to
the field it concerns, corrects it and gets its tracking code; the form switches to
English. Works without JavaScript, so the browser runs with JavaScript off."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import ServiceProcess, stack_env
from thaogo.demo import tax_code
from thaogo.embedded import free_port

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.browser, pytest.mark.e2e,
              pytest.mark.timeout(180)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def served(topics_ready: str, database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    proc = ServiceProcess("intake", free_port(), stack_env(topics_ready, database_url),
                          tmp_path / "intake.log")
    proc.start()
    try:
        await proc.wait_ready()
        yield proc.url
    finally:
        proc.stop()


async def test_a_business_submits_the_form_and_gets_its_tracking_code(
    served: str, database_url: str
) -> None:
    from playwright.async_api import async_playwright

    good = tax_code(4242)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    hostile = '<img src=x onerror="document.title=\'pwned\'">Công ty "Ánh Dương" & Co'
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(java_script_enabled=False, locale="vi-VN")
            page = await context.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            refused: list[str] = []  # what the Content-Security-Policy blocked, if anything
            page.on("console", lambda m: refused.append(m.text)
                    if "Content Security Policy" in m.text else None)
            first = await page.goto(served + "/")
            assert first is not None
            policy = first.headers["content-security-policy"]
            assert "script-src 'none'" in policy and "frame-ancestors 'none'" in policy
            assert first.headers["x-content-type-options"] == "nosniff"
            assert await page.locator("html").get_attribute("lang") == "vi"
            assert "Mã số thuế" in await page.locator('label[for="f-tax_code"]').inner_text()

            await page.fill("#f-tax_code", bad)
            await page.fill("#f-enterprise_name", hostile)
            await page.fill("#f-province", "binh duong")
            await page.select_option("#f-zone_type", "KCN")
            await page.fill("#f-zone_name", "VSIP II")
            await page.select_option("#f-category", "goods_transport")
            await page.fill("#f-title", "Xe chở hàng bị chặn ở chốt")
            await page.fill("#f-description", "Dòng 1\nDòng 2: đề nghị cấp giấy đi đường.")
            await page.fill("#f-contact\\.name", "Trần Thị C")
            await page.fill("#f-contact\\.phone", "0912 345 678")
            await page.click("#submit")

            error = page.locator('[data-field="tax_code"] [data-error-for="tax_code"]')
            assert "chữ số kiểm tra" in await error.inner_text()
            assert await page.locator("[data-error-for]").count() == 1
            # What the business typed comes back as text, never as markup.
            assert await page.input_value("#f-enterprise_name") == hostile
            assert await page.locator("img").count() == 0
            assert await page.title() != "pwned"
            assert await page.input_value("#f-description") == (
                "Dòng 1\nDòng 2: đề nghị cấp giấy đi đường.")

            await page.fill("#f-tax_code", good)
            await page.click("#submit")
            code = (await page.locator("#tracking-code").inner_text()).strip()
            difficulty_id = (await page.locator("#difficulty-id").inner_text()).strip()
            assert code.startswith("TG-")
            assert all(u.startswith(served) for u in requests), requests
            # The page's inline style applies under the policy (1.6rem of 16px).
            assert await page.locator("#tracking-code").evaluate(
                "e => getComputedStyle(e).fontSize") == "25.6px"
            assert not refused

            await page.goto(served + "/?lang=en")
            assert await page.locator("html").get_attribute("lang") == "en"
            assert "Tax code" in await page.locator('label[for="f-tax_code"]').inner_text()
            await page.click("#switch-lang")
            assert "Mã số thuế" in await page.locator('label[for="f-tax_code"]').inner_text()
            await context.close()
        finally:
            await browser.close()

    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT difficulty_id::text AS id, tax_code, payload->>'enterprise_name' AS name,"
            " payload->>'channel' AS channel FROM intake.difficulties"
            " WHERE tracking_code = $1", code)
        outbox = await conn.fetchval(
            "SELECT count(*) FROM intake.outbox WHERE topic = 'difficulty.received.v1'"
            " AND key = $1", difficulty_id.encode())
        total = await conn.fetchval("SELECT count(*) FROM intake.difficulties")
    finally:
        await conn.close()
    assert row is not None and row["id"] == difficulty_id and row["tax_code"] == good
    assert (row["name"], row["channel"]) == (hostile, "web")
    assert outbox == 1 and total == 1


async def test_the_form_honours_accept_language_and_replays_a_double_submit(
    served: str, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=served) as c:
        r = await c.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert r.status_code == 200 and 'lang="en"' in r.text and "Tax code" in r.text
        form = {"tax_code": tax_code(7), "enterprise_name": "B", "province": "79",
                "category": "tax", "title": "T", "description": "D", "contact.name": "An",
                "idempotency_key": "web-double-click", "lang": "vi"}
        first = await c.post("/", data=form)
        again = await c.post("/", data=form)
    assert first.status_code == again.status_code == 200
    # One difficulty: one tracking code, shown and in the tracking page's link.
    assert 'id="tracking-code"' in first.text
    assert len(set(re.findall(r"TG-[0-9A-Z]{4}-[0-9A-Z]{4}", first.text))) == 1
    assert 'id="track-link"' in first.text
    code = first.text.split('id="tracking-code">')[1].split("<")[0]
    assert code in again.text
    # Back to the same page to report something else: a new difficulty, not a conflict.
    async with httpx.AsyncClient(base_url=served) as c:
        other = await c.post("/", data={**form, "title": "Khác"})
    assert other.status_code == 200 and 'id="tracking-code"' in other.text
    assert code not in other.text
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM intake.difficulties") == 2
    finally:
        await conn.close()
