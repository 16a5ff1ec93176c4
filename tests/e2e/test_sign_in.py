"""People sign in, on the stack `thaogo up` starts as a newcomer runs it: a sign-in link
asked for by e-mail goes through reporting, sign-in.link.v1 and notify's mail channel to
the local mailbox `thaogo up` starts; read there, it signs in once; the session cookie
works and signing out ends it; a used or expired link is refused, and so is a form
without its CSRF value. The links `thaogo up` prints sign in as each demo role. The
other commands find the stack with no flag, and the checker finds 0 differences with the
sign-in events folded. The pages are checked in headless Chromium at desktop width and at
390 px, with axe-core."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared import auth
from shared.provinces import default_config_dir
from tests.conftest import REPO
from tests.e2e.test_up import start_up, stop_up, thaogo
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(400)]

AXE = REPO / ".test-tools/node_modules/axe-core/axe.min.js"
CHROMIUM = "/usr/bin/chromium"
MEMBER = "m01@binh-duong.example.vn"  # binh-duong.m01, Phạm Minh Tuấn
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, page[:500]
    return found.group(1)


async def wait_until_up(up_log: Path, ports: dict[str, int], stack_file: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(400):
            try:
                ready = [(await client.get(f"http://127.0.0.1:{ports[s]}/readyz")).status_code
                         for s in ("intake", "router", "reporting", "notify")]
                box = (await client.get(f"http://127.0.0.1:{ports['mailbox']}/")).status_code
                if ready == [200] * 4 and box == 200 and await asyncio.to_thread(
                        stack_file.exists):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise AssertionError((await asyncio.to_thread(up_log.read_text))[-3000:])


async def mailed_link(mailbox: str, seen: set[str]) -> str:
    """The sign-in link of the newest sign-in mail not in `seen`, read from the mailbox's
    pages as a person would: the list, then the message."""
    async with httpx.AsyncClient(base_url=mailbox) as box:
        for _ in range(200):
            listing = (await box.get("/")).text
            keys = [k for k in re.findall(r'href="/messages/([^"?]+)\?lang=vi">\[thaogo\] '
                                          r"Đường dẫn đăng nhập", listing) if k not in seen]
            if keys:
                seen.add(keys[0])
                page = (await box.get(f"/messages/{keys[0]}")).text
                assert MEMBER in page
                found = re.search(r'<a href="(http://[^"]+/workspace/sign-in/link\?code=[^"]+)"',
                                  page)
                assert found, page
                return found.group(1).replace("&amp;", "&")
            await asyncio.sleep(0.3)
    raise AssertionError("no sign-in mail reached the mailbox")


async def ask_for_link(c: httpx.AsyncClient, address: str) -> None:
    form = await c.get("/workspace/sign-in")
    sent = await c.post("/workspace/sign-in", data={"email": address,
                                                    "csrf_token": csrf_of(form.text)})
    assert sent.status_code == 200 and 'id="sent"' in sent.text, sent.text


async def use_link(c: httpx.AsyncClient, link: str) -> httpx.Response:
    opened = await c.get(link)
    assert opened.status_code == 200, opened.text
    return await c.post("/workspace/sign-in/link", data={
        "code": link.split("code=", 1)[1], "csrf_token": csrf_of(opened.text)})


async def test_people_sign_in_by_mail_and_by_the_links_thaogo_up_prints(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    env["PYTHONPATH"] = str(REPO)
    ports = {s: free_port() for s in ("kafka", "intake", "router", "reporting", "notify",
                                      "smtp", "mailbox")}
    up, log = start_up(tmp_path, env, ports)
    data = tmp_path / ".thaogo"
    stack_file = data / "stack.json"
    reporting = f"http://127.0.0.1:{ports['reporting']}"
    mailbox = f"http://127.0.0.1:{ports['mailbox']}"
    shipped = (default_config_dir() / "tien-giang.yaml").read_text(encoding="utf-8")
    try:
        await wait_until_up(tmp_path / "up.log", ports, stack_file)
        stack = json.loads(stack_file.read_text())
        assert stack["mailbox_url"] == f"{mailbox}/"
        printed = (tmp_path / "up.log").read_text()
        assert f"Mailbox (mail sent)        {mailbox}/" in printed
        demo = dict(re.findall(r"^    (\w[\w ]+?) \(\S+\)\s+(http://\S+/workspace/enter\?\S+)$",
                               printed, re.M))
        assert set(demo) == {"agency officer", "member", "permanent deputy", "head", "operator"}

        # Each printed link signs in as its role.
        expected = {"agency officer": "Ban Quản lý các khu công nghiệp tỉnh Bình Dương",
                    "member": "Phạm Minh Tuấn", "permanent deputy": "Nguyễn Thanh Bình",
                    "head": "Mai Hùng Dũng", "operator": "up-demo"}
        for role, link in demo.items():
            async with httpx.AsyncClient(base_url=reporting) as c:
                opened = await c.get(link)
                assert opened.status_code == 200, (role, opened.text)
                done = await c.post("/workspace/enter", data={
                    **dict(re.findall(r'name="(tok|exp|sig)" value="([^"]+)"', opened.text)),
                    "csrf_token": csrf_of(opened.text)})
                assert done.status_code == 303 and done.headers["location"] == "/workspace/"
                landing = await c.get("/workspace/")
                assert expected[role] in landing.text, (role, landing.text)

        seen: set[str] = set()
        async with httpx.AsyncClient(base_url=reporting) as c:
            # Without the page's CSRF value, or with another, a form is refused.
            form = await c.get("/workspace/sign-in")
            for forged in ({"email": MEMBER}, {"email": MEMBER, "csrf_token": "x" * 43}):
                refused = await c.post("/workspace/sign-in", data=forged)
                assert refused.status_code == 403
                assert refused.json()["errors"][0]["field"] == "csrf_token"
            assert (await c.post("/reports/login", data={"token": "tgm_x"})).status_code == 403
            # An address in no configuration gets the same answer, and no mail.
            await ask_for_link(c, "nobody@example.invalid")

            await ask_for_link(c, MEMBER.upper())
            link = await mailed_link(mailbox, seen)
            signed_in = await use_link(c, link)
            assert signed_in.status_code == 303, signed_in.text
            cookie = signed_in.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie
            sid = c.cookies[auth.SESSION_COOKIE]
            assert not sid.startswith("tg")  # a session id, not a token
            landing = await c.get("/workspace/")
            assert landing.status_code == 200 and "Phạm Minh Tuấn" in landing.text
            assert (await c.get("/reports")).status_code == 200  # a member reads reports
            # Once only: the same link again is refused, and says why.
            again = await c.post("/workspace/sign-in/link", data={
                "code": link.split("code=", 1)[1], "csrf_token": csrf_of(landing.text)})
            assert again.status_code == 410 and "đã được dùng" in again.text
            assert (await c.get(link)).status_code == 410
            # Signing out ends the session on the server, not only in this browser.
            out = await c.post("/workspace/sign-out", data={"csrf_token": csrf_of(landing.text)})
            assert out.status_code == 303
        async with httpx.AsyncClient(base_url=reporting, cookies={auth.SESSION_COOKIE: sid}) as c:
            assert (await c.get("/workspace/")).status_code == 303
            assert (await c.get("/reports")).status_code == 401

            # An expired link (15 minutes passed: moved back in its store) is refused.
            await ask_for_link(c, MEMBER)
            late = await mailed_link(mailbox, seen)
            code = late.split("code=", 1)[1]
            conn = await asyncpg.connect(stack["THAOGO_DATABASE_URL"])
            try:
                moved = await conn.execute(
                    "UPDATE reporting.sign_in_links SET expires_at = now() - interval '1 second',"
                    " created_at = now() - interval '15 minutes 1 second'"
                    " WHERE link_hash = $1", hashlib.sha256(code.encode()).digest())
                assert moved == "UPDATE 1"
            finally:
                await conn.close()
            expired = await c.get(late)
            assert expired.status_code == 410 and "hết hạn" in expired.text
            form = await c.get("/workspace/sign-in")
            refused = await c.post("/workspace/sign-in/link", data={
                "code": code, "csrf_token": csrf_of(form.text)})
            assert refused.status_code == 410

        # The commands find the running stack by its data directory, with no flag.
        token = await asyncio.to_thread(thaogo, "token", "create", "--operator", "ops-desk",
                                        cwd=tmp_path, env=env)
        assert token.returncode == 0 and token.stdout.startswith("tgo_"), token.stderr
        listed = await asyncio.to_thread(thaogo, "token", "list", cwd=tmp_path, env=env)
        purposes = {line.split()[2] for line in listed.stdout.splitlines()}
        assert {"command", "sign-in", "up"} <= purposes, listed.stdout
        migrated = await asyncio.to_thread(thaogo, "migrate", cwd=tmp_path, env=env)
        assert migrated.returncode == 0, migrated.stderr
        dissolved = await asyncio.to_thread(thaogo, "taskforce", "dissolve", "tien-giang",
                                            "--on", "2031-01-02", cwd=tmp_path, env=env)
        assert dissolved.returncode == 0, dissolved.stderr
        assert "2031-01-02" in (data / "provinces" / "tien-giang.yaml").read_text()
        assert (default_config_dir() / "tien-giang.yaml").read_text(encoding="utf-8") == shipped
        verify = await asyncio.to_thread(thaogo, "verify", cwd=tmp_path, env=env)
        assert verify.stdout.rstrip().endswith("0 differences"), verify.stdout + verify.stderr

        await check_pages_in_chromium(reporting, mailbox, demo["member"],
                                      tmp_path / "artefacts")
    finally:
        stop_up(up, log)
    out = (tmp_path / "up.log").read_text()
    assert up.returncode == 0, out[-3000:]
    assert "stopped: nothing left running" in out


async def check_pages_in_chromium(reporting: str, mailbox: str, member_link: str,
                                  artefacts: Path) -> None:
    """The sign-in page, the mailbox's list and one message, and the workspace, at 1280
    and 390 px: no sideways scroll, screenshots kept, and no serious or critical axe-core
    violation."""
    from playwright.async_api import async_playwright

    where = os.environ.get("THAOGO_TEST_ARTEFACTS")
    artefacts = Path(where) if where else artefacts
    artefacts.mkdir(parents=True, exist_ok=True)
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE} (scripts/test installs it)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox",
                                                                            "--disable-gpu"])
        try:
            for name, width in (("desktop", 1280), ("phone", 390)):
                ctx = await browser.new_context(bypass_csp=True,
                                                viewport={"width": width, "height": 844})
                page = await ctx.new_page()
                # The workspace, signed in by the printed member link.
                await page.goto(member_link)
                await page.get_by_role("button", name="Đăng nhập").click()
                await page.wait_for_url("**/workspace/")
                pages = {"workspace": None, "sign-in": f"{reporting}/workspace/sign-in",
                         "mailbox": f"{mailbox}/"}
                for what, url in pages.items():
                    if url is not None:
                        await page.goto(url)
                    if what == "mailbox":
                        await page.locator("#messages a").first.click()
                        await check(page, width, artefacts / f"mailbox-message-{name}.png")
                        await page.goto(url)  # type: ignore[arg-type]
                    await check(page, width, artefacts / f"{what}-{name}.png")
                await ctx.close()
        finally:
            await browser.close()
    print(f"\nscreenshots: {artefacts}")


async def check(page: object, width: int, shot: Path) -> None:
    from playwright.async_api import Page

    assert isinstance(page, Page)
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{shot.name}: the page scrolls sideways ({scroll} px)"
    await page.screenshot(path=str(shot), full_page=True)
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
    serious = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, json.dumps(serious, ensure_ascii=False, indent=1)
