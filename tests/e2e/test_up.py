"""`thaogo up` as a newcomer runs it, on its embedded broker and PostgreSQL: the other
commands find the running stack through its data directory with no flag, the demo
goes through, and the consistency checker finds 0 differences; Ctrl-C leaves nothing
running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest

from shared.calendar import previous_window, week_window
from shared.provinces import ConfigHolder
from tests.conftest import REPO, wait_until
from thaogo import demo
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(300)]


def thaogo(*args: str, cwd: Path, env: dict[str, str], timeout: float = 180
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "thaogo.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def start_up(cwd: Path, env: dict[str, str], ports: dict[str, int]
             ) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = open(cwd / "up.log", "wb")  # noqa: SIM115
    up = subprocess.Popen(
        [sys.executable, "-m", "thaogo.cli", "up",
         *(a for s, p in ports.items() for a in (f"--{s}-port", str(p)))],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return up, log


async def test_the_commands_find_the_running_stack_by_its_data_directory(
    tmp_path: Path,
) -> None:
    # A newcomer's shell: no THAOGO_ settings at all; the data directory is the default
    # one, ./.thaogo, in the folder the commands run from.
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    env["PYTHONPATH"] = str(REPO)
    # But no quiet hours (21:00-07:00 in Vietnam), as in every stack test: the zone
    # deputies' alerts this test waits for must not depend on the hour it runs at.
    env.update(THAOGO_NOTIFY_QUIET_START="00:00", THAOGO_NOTIFY_QUIET_END="00:00")
    ports = {s: free_port() for s in ("kafka", "intake", "router", "reporting", "notify")}
    up, log = start_up(tmp_path, env, ports)
    stack_file = tmp_path / ".thaogo" / "stack.json"
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient() as client:
            while True:
                assert up.poll() is None, (tmp_path / "up.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()
                try:
                    ready = [(await client.get(f"http://127.0.0.1:{ports[s]}/readyz")).status_code
                             for s in ("intake", "router", "reporting", "notify")]
                    if ready == [200] * 4 and stack_file.exists():
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        assert oct(stack_file.stat().st_mode & 0o777) == "0o600"
        assert json.loads(stack_file.read_text())["intake_url"].endswith(str(ports["intake"]))

        demo = await asyncio.to_thread(
            thaogo, "demo", "--url", f"http://127.0.0.1:{ports['intake']}", cwd=tmp_path,
            env=env)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        token = await asyncio.to_thread(thaogo, "token", "create", "--operator", "ops-desk",
                                        cwd=tmp_path, env=env)
        assert token.returncode == 0, token.stderr
        running = json.loads(stack_file.read_text())
        await the_demo_filled_the_workspaces(
            f"http://127.0.0.1:{ports['reporting']}", token.stdout.strip().splitlines()[-1],
            running["THAOGO_DATABASE_URL"], demo.stdout)
        await the_zone_deputies_heard_of_what_is_overdue(running["mailbox_url"])
        verify = await asyncio.to_thread(thaogo, "verify", cwd=tmp_path, env=env)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert verify.stdout.rstrip().endswith("0 differences"), verify.stdout
    finally:
        stop_up(up, log)
    out = (tmp_path / "up.log").read_text()
    assert up.returncode == 0, out[-3000:]
    assert "stopped: nothing left running" in out
    assert not stack_file.exists()


async def the_demo_filled_the_workspaces(reporting: str, token: str, database_url: str,
                                         said: str) -> None:
    """#21 item 8: what `thaogo demo` made of Bình Dương's workspaces, as the week's
    report and the read model show it once the pipeline has carried it through: items
    overdue (one long enough to wait for the head), one in triage, one waiting for the
    business, one resolved with its public answer and a rating, one at a ministry with
    its letter; the members' reports (one late, one missing); the deputy's draft; the
    head's direction."""
    assert "workspaces of binh-duong filled" in said, said
    cfg = ConfigHolder().current["binh-duong"]
    members = [m.id for m in cfg.task_force.active_members()]
    now = datetime.now(UTC)
    this_week, last_week = week_window(now), previous_window(week_window(now))
    headers = {"Authorization": f"Bearer {token}"}

    async def report(week: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as c:
            r = await c.get(f"{reporting}/v1/reports/binh-duong/{week}.json", headers=headers)
        assert r.status_code == 200, r.text
        got: dict[str, Any] = r.json()
        return got

    titles = {c.name: c.title for c in demo.CASES}
    # Never acknowledged for 20 days: long overdue; at the ministry: needs central action.
    waits = {titles["overdue"]: "long_overdue", titles["central"]: "central"}

    async def carried() -> dict[str, Any] | None:
        got = await report(this_week.label)
        whys = {w["title"]: w["why"] for w in got["waiting"]}
        return got if (whys == waits and got["directions"]
                       and len(got["member_reports"]) == len(members) - 2) else None

    week = await wait_until(carried, timeout=90)
    total = next(r for r in week["rows"] if r["dimension"] == "total")
    assert total["overdue"] == 2 and total["resolved"] == 1, total
    central = next(w for w in week["waiting"] if w["why"] == "central")
    assert central["agency_id"] == "central.bo-tai-chinh" and central["letter_number"]
    assert week["members_missing"] == members[-2:]
    (direction,) = week["directions"]
    assert direction["assignee_id"] == "binh-duong.so-cong-thuong"
    assert direction["state"] == "open"
    rated = [r for r in week["league"]["rows"] if r["rated"]]
    assert [(r["agency_id"], r["rating_average"]) for r in rated] == [
        ("binh-duong.bql-kcn", 5.0)]

    conn = await asyncpg.connect(database_url)
    try:
        triage = await conn.fetchval(
            "SELECT count(*) FROM reporting.difficulties WHERE task_force = 'binh-duong'"
            " AND lead_agency_id = $1 AND closed_at IS NULL", cfg.rules.triage)
        asked = await conn.fetchval(
            "SELECT count(*) FROM reporting.assignments a JOIN reporting.difficulties d"
            " USING (difficulty_id) WHERE d.task_force = 'binh-duong' AND a.active"
            " AND a.step = 'need_info'")
        answered = await conn.fetchval(
            "SELECT public_answer FROM reporting.difficulties WHERE task_force = 'binh-duong'"
            " AND status = 'resolved'")
        # Last week's report was published at its cut-off, before the demo: the late one
        # is in the members' reports the deputy's compilation of that week reads.
        async def late_one() -> list[asyncpg.Record] | None:
            return list(await conn.fetch(
                "SELECT member_id, late FROM reporting.member_reports WHERE week_label = $1"
                " AND member_id = ANY($2::text[])", last_week.label, members)) or None

        late = await wait_until(late_one, timeout=60)
        draft = await conn.fetchrow(
            "SELECT submitted, body FROM reporting.compilations WHERE task_force = 'binh-duong'"
            " AND week_label = $1", this_week.label)
    finally:
        await conn.close()
    assert [(r["member_id"], r["late"]) for r in late] == [(members[-2], True)]
    assert (triage, asked) == (1, 1)
    assert answered and answered.startswith("Sở Y tế đã phê duyệt")
    assert draft is not None and not draft["submitted"] and "Tình hình tiếp nhận" in draft["body"]


async def the_zone_deputies_heard_of_what_is_overdue(mailbox: str) -> None:
    """#21 item 4 on the real stack: the demo's register has an item of an industrial park
    that nobody acknowledged (20 days ago) and one of a cluster still unresolved (25 days
    ago); notify's sweep mails the parks' deputy and the clusters' deputy, through the
    mail channel to the local mailbox, once per deadline passed."""
    cfg = ConfigHolder().current["binh-duong"]
    address = {d.id: next(c.address for c in d.contacts if str(c.channel) == "email")
               for d in cfg.task_force.deputies}
    parks, clusters = address["binh-duong.to-pho-kcn"], address["binh-duong.to-pho-ccn"]

    async def alerts() -> list[dict[str, Any]] | None:
        async with httpx.AsyncClient(timeout=30) as c:
            got = [m for m in (await c.get(mailbox.rstrip("/") + "/messages.json")).json()
                   if "trong khu vực đồng chí phụ trách quá hạn" in m["subject"]]
        seen = {(to, "tiếp nhận" in m["subject"]) for m in got
                for to in (parks, clusters) if to in m["to"]}
        # The park's item: both deadlines passed; the cluster's: resolving (it was
        # acknowledged, late, before the sweep could find it).
        return got if {(parks, True), (parks, False), (clusters, False)} <= seen else None

    got = await wait_until(alerts, timeout=120)
    assert all(parks in m["to"] or clusters in m["to"] for m in got)
    assert len(got) == len({(m["to"], m["subject"]) for m in got})  # once each
    assert all("Đề nghị đồng chí đôn đốc" in m["text"] for m in got)


def stop_up(up: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Ctrl-C, as a person stops it; killed only if it has not stopped in a minute (the
    test then fails on its return code)."""
    up.send_signal(signal.SIGINT)
    try:
        up.wait(60)
    finally:
        if up.poll() is None:
            up.kill()
        log.close()
