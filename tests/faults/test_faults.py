"""Faults while difficulties flow through the four services (real processes, the real
broker and PostgreSQL), then a count of what became of every accepted difficulty:
on its topic, assigned, projected, in the week's report and known to notify, each
exactly once in effect, and no message delivered twice.

Volume: the issue asks for 20,000 difficulties. Single POSTs from this one client top
out at about 70 a second on this 2-core machine, so most of them come as bulk CSV
imports (every accepted row committed with its outbox event in one transaction), while
a paced stream of single POSTs keeps intake's single path busy through every fault.
Killing each service in turn carries the full 20,000; the broker cut and the database
restart carry `N` single POSTs and one import of `SMALL_IMPORT` rows, sent while the
fault is on, to keep the suite's time. Each test files its counts table, shown at the
end of the run (tests/faults/conftest.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared import topics
from shared.kafka import ensure_topics
from shared.provinces import ConfigHolder
from tests.conftest import ServiceProcess, create_database, stack_env, wait_until
from tests.faults.conftest import CuttableBroker, Mail
from tests.faults.harness import (
    LEAD_ROLES,
    SERVICES,
    Imports,
    Load,
    count,
    metric,
    operator_token,
    service_stack,
    start_all,
    submission,
    wait_settled,
)
from thaogo.embedded import EmbeddedPostgres, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(600)]

N = 1200
RATE = 40.0  # a second: N takes 30 s or more, long enough for every fault to strike mid-stream
SMALL_IMPORT = 2_000  # rows of the import sent while the broker is cut or the database down
# Up to how long the checker waits for the services to catch up after the load: notify
# still owes the notices of the last minutes' assignments (each to the mail sink, which
# shares these 2 cores with everything else).
SETTLE_S = 300

# The volume, in the scenario it names first: 4 imports of 4,500 rows, one sent
# before each kill, and single POSTs flowing from the start until both the last kill has
# struck and at least 2,000 of them are in (so 20,000 or a few hundred more in all).
VOLUME = 20_000
IMPORTS, IMPORT_ROWS = 4, 4_500
SINGLES = VOLUME - IMPORTS * IMPORT_ROWS
SINGLES_RATE = 25.0

FileCounts = Callable[[str], None]


def accepted_at_least(load: Load, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(load.accepted) >= n

    return check


async def finish(task: asyncio.Task[None], load: Load,
                 imports: Imports | None = None) -> set[str]:
    """Every accepted id: from the 202s and from the import answers, each exactly once."""
    await asyncio.wait_for(task, 180)
    assert not load.failed, load.failed[:10]
    assert len(load.accepted) == load.total
    if imports is None:
        return load.ids
    assert not imports.failed, imports.failed[:10]
    assert len(imports.accepted) == imports.total
    ids = load.ids | imports.ids
    assert len(ids) == load.total + imports.total, "one id answered for two submissions"
    return ids


def verdict(title: str, load: Load, table: str, problems: list[str],
            file_counts: FileCounts, imports: Imports | None = None) -> None:
    bulk = f"\n   imports: {imports.summary()}" if imports is not None else ""
    file_counts(f"{table}\n   single POSTs: answers {dict(load.answers)}; offered {load.total} "
                f"at <= {load.rate}/s, accepted at {load.rate_achieved:.0f}/s{bulk}")
    assert not problems, f"{title}: " + "; ".join(problems)


# How far each consumer has got: the rows it wrote for the difficulties it consumed.
PROGRESS = {
    "router": "SELECT count(*) FROM router.assignments WHERE role = ANY($1::text[])",
    "reporting": "SELECT count(*) FROM reporting.difficulties",
    "notify": "SELECT count(DISTINCT difficulty_id) FROM notify.messages"
              " WHERE kind = 'assignment'",
}


async def progress(conn: asyncpg.Connection, name: str) -> int:
    sql = PROGRESS[name]
    return int(await conn.fetchval(sql, *((LEAD_ROLES,) if "$1" in sql else ())))


@pytest.mark.timeout(900)
async def test_kill_each_service_while_20000_difficulties_flow(
    private_topics: str, database_url: str, tmp_path: Path, mail: Mail,
    file_counts: FileCounts,
) -> None:
    stack = service_stack(private_topics, database_url, tmp_path, smtp_port=mail.port)
    conn = await asyncpg.connect(database_url)
    try:
        await start_all(stack)
        since = datetime.now(UTC)
        intake = stack["intake"].url
        # Open-ended: stopped below, once every kill has struck mid-stream.
        load = Load(intake, total=10 * SINGLES, rate=SINGLES_RATE, concurrency=16)
        imports = Imports(intake, await operator_token(database_url), files=IMPORTS,
                          rows=IMPORT_ROWS, first=10 * SINGLES)
        task = asyncio.create_task(load.run())
        killed: list[str] = []
        for i, name in enumerate(SERVICES):
            accepted_before = len(load.accepted) + len(imports.accepted)
            sending = asyncio.create_task(imports.send(i))
            if name == "intake":
                # Intake dies with the file in its hands (reading, validating or
                # committing it): the client's retry under the same key must end with
                # each row imported once.
                await asyncio.wait_for(imports.posted.setdefault(i, asyncio.Event()).wait(),
                                       60)
                await asyncio.sleep(0.5)
                stack[name].kill()  # kill -9: no commit, no goodbye
                killed.append(f"intake with import {i + 1} "
                              f"{'answered' if sending.done() else 'in flight'}")
                stack[name].start()
                await asyncio.wait_for(sending, imports.give_up_s + 30)
                continue
            await asyncio.wait_for(sending, imports.give_up_s + 30)
            # A consumer dies once it is into this file's rows, with the rest of them
            # (and the single POSTs) still coming: the table shows how far it had got.
            into_file = accepted_before + IMPORT_ROWS // 10

            async def reached(name: str = name, into_file: int = into_file) -> bool:
                return await progress(conn, name) >= into_file

            await wait_until(reached, timeout=120, interval=0.1)
            stack[name].kill()
            killed.append(f"{name} at {await progress(conn, name)} of "
                          f"{len(load.accepted) + len(imports.accepted)} accepted")
            # Started again at once, ready when it is: its start-up overlaps the next
            # import and kill, so that every kill lands mid-stream.
            stack[name].start()
        # Every kill struck while single POSTs were coming in: they stop only now.
        await wait_until(accepted_at_least(load, SINGLES), timeout=180)
        load.stop()
        for name in SERVICES:
            await stack[name].wait_ready(timeout=120)
        ids = await finish(task, load, imports)
        assert len(ids) >= VOLUME
        flowed = time.monotonic()
        await wait_settled(database_url, ids, timeout=300)
        settled = time.monotonic()
        c = await count(database_url, private_topics, ids,
                        smtp_message_ids=mail.message_ids(), report_url=stack["reporting"].url,
                        since=since)
        c.info["killed"] = "; ".join(killed)
        c.info["seconds: accepting / settling after / counting"] = (
            f"{flowed - load.started:.0f} / {settled - flowed:.0f} / "
            f"{time.monotonic() - settled:.0f}")
        verdict("kill -9", load, c.table("kill -9 each service, 20,000 difficulties"),
                c.problems(), file_counts, imports)
        judged = await stack.assert_consistent(settle_timeout=SETTLE_S)
        file_counts(f"consistency checker: {judged.summary().splitlines()[-1]}")
    finally:
        await conn.close()
        stack.stop()


async def test_cut_every_service_off_the_broker_and_restore(
    cuttable_broker: CuttableBroker, database_url: str, tmp_path: Path, mail: Mail,
    file_counts: FileCounts,
) -> None:
    broker = cuttable_broker
    await ensure_topics(broker.bootstrap, topics.all_topics(ConfigHolder().current.agency_ids()))
    stack = service_stack(broker.bootstrap, database_url, tmp_path, smtp_port=mail.port)
    intake = stack["intake"].url
    conn = await asyncpg.connect(database_url)
    try:
        await start_all(stack)
        since = datetime.now(UTC)
        load = Load(intake, total=N, rate=RATE, concurrency=16)
        imports = Imports(intake, await operator_token(database_url), files=1,
                          rows=SMALL_IMPORT, first=N)
        task = asyncio.create_task(load.run())
        await wait_until(accepted_at_least(load, N // 4), timeout=120)

        interrupted = "outbox relay interrupted"
        before_cut = stack["intake"].log_path.read_text().count(interrupted)
        broker.proxy.cut()
        cut_since = time.monotonic()
        cut_at = len(load.accepted)
        # Intake keeps accepting while no service reaches the broker, one by one and a
        # file at once...
        await imports.send(0)
        await wait_until(accepted_at_least(load, cut_at + N // 4), timeout=120)
        # ...its outbox holds what it accepted, and its backlog gauge says so. (A request
        # in flight at the cut may have been published before it: at most one a client.)
        accepted_while_cut = len(load.accepted) - cut_at + len(imports.accepted)
        unsent = await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL")
        assert unsent >= accepted_while_cut - load.concurrency, (unsent, accepted_while_cut)

        async def backlog_shown() -> float | None:
            v = await metric(intake, "thaogo_outbox_backlog_rows")
            return v if v and v > 0 else None

        shown = await wait_until(backlog_shown, timeout=30)

        # Hold the cut until the relay's publish has timed out and it started over: an
        # outage longer than the producer's request timeout, not a blip it rides out.
        async def relay_gave_up() -> bool:
            return stack["intake"].log_path.read_text().count(interrupted) > before_cut

        await wait_until(relay_gave_up, timeout=90, interval=1)
        assert not broker.proxy.is_open and broker.proxy.open_connections() == 0

        broker.proxy.restore()
        cut_for = time.monotonic() - cut_since
        ids = await finish(task, load, imports)
        await wait_settled(database_url, ids, timeout=180)

        async def backlog_drained() -> bool:
            return await metric(intake, "thaogo_outbox_backlog_rows") == 0

        await wait_until(backlog_drained, timeout=30)
        c = await count(database_url, broker.bootstrap, ids,
                        smtp_message_ids=mail.message_ids(), report_url=stack["reporting"].url,
                        since=since)
        c.info["while cut off"] = (f"{cut_for:.0f} s; intake accepted {accepted_while_cut} "
                                   f"(import included), outbox unsent {unsent}, "
                                   f"backlog gauge {shown:.0f}")
        verdict("broker cut", load, c.table("every service cut off the broker"), c.problems(),
                file_counts, imports)
        judged = await stack.assert_consistent(settle_timeout=SETTLE_S)
        file_counts(f"consistency checker: {judged.summary().splitlines()[-1]}")
    finally:
        await conn.close()
        stack.stop()


async def test_restart_postgres_under_load(
    private_topics: str, private_postgres: EmbeddedPostgres, tmp_path: Path, mail: Mail,
    file_counts: FileCounts,
) -> None:
    pg = private_postgres
    server_url = pg.url
    database_url = await create_database(server_url)
    stack = service_stack(private_topics, database_url, tmp_path, smtp_port=mail.port)
    try:
        await start_all(stack)
        since = datetime.now(UTC)
        intake = stack["intake"].url
        load = Load(intake, total=N, rate=RATE, concurrency=16)
        imports = Imports(intake, await operator_token(database_url), files=1,
                          rows=SMALL_IMPORT, first=N)
        task = asyncio.create_task(load.run())
        await wait_until(accepted_at_least(load, N // 3), timeout=120)

        # The database goes while intake has a file in its hands: reading it, or in the
        # transaction that commits its rows.
        sending = asyncio.create_task(imports.send(0))
        await asyncio.wait_for(imports.posted.setdefault(0, asyncio.Event()).wait(), 60)
        await asyncio.sleep(0.5)
        before = sum(load.answers.values()) - load.answers["202"]
        pg.stop()  # pg_ctl stop: fast shutdown, every session is cut
        down_at = len(load.accepted)
        import_at_stop = "answered" if sending.done() else "in flight"

        async def refused_while_down() -> bool:
            return sum(load.answers.values()) - load.answers["202"] - before >= 50

        await wait_until(refused_while_down, timeout=60)
        during = dict(load.answers)
        pg.start()  # the same data directory, hence the same socket and URL
        assert pg.url == server_url
        await asyncio.wait_for(sending, imports.give_up_s + 30)
        ids = await finish(task, load, imports)
        await wait_settled(database_url, ids, timeout=180)
        c = await count(database_url, private_topics, ids,
                        smtp_message_ids=mail.message_ids(), report_url=stack["reporting"].url,
                        since=since)
        c.info["database stopped at"] = (f"{down_at} single POSTs accepted, the import "
                                         f"{import_at_stop}")
        c.info["single POST answers up to the restart"] = during
        verdict("postgres restart", load, c.table("PostgreSQL restarted under load"),
                c.problems(), file_counts, imports)
        judged = await stack.assert_consistent(settle_timeout=SETTLE_S)
        file_counts(f"consistency checker: {judged.summary().splitlines()[-1]}")
    finally:
        stack.stop()


async def test_intake_answers_503_with_retry_after_while_the_database_is_down(
    private_topics: str, private_postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    pg = private_postgres
    database_url = await create_database(pg.url)
    env = stack_env(private_topics, database_url, THAOGO_INTAKE_RATE_LIMIT_ENABLED="false")
    intake = ServiceProcess("intake", free_port(), env, tmp_path / "intake.log")
    intake.start()
    try:
        await intake.wait_ready()
        pg.stop()
        async with httpx.AsyncClient(base_url=intake.url) as client:
            r = await client.post("/v1/difficulties", json=submission(0), timeout=30)
        print(f"\nintake with its database down: {r.status_code} {dict(r.headers)} {r.text}")
        assert r.status_code == 503, r.text
        assert "retry-after" in r.headers
    finally:
        intake.stop()
