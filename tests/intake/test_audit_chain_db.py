"""The history chain on the real database and broker (#25 item 3): intake chains every
update in its transaction, many writers to one difficulty still give one valid chain,
the migration chains the rows accepted before, and `thaogo verify --audit` names an
edited, inserted or deleted row, and a chain rewritten past a published head."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.intake import store as intake_store
from shared import audit, db
from shared.events import (
    ActorKind,
    AuditHeads,
    ChainHead,
    DifficultyStatusChanged,
    Status,
    WeeklyReport,
    encode_body,
    encode_headers,
    new_envelope,
)
from tests.conftest import wait_until
from tests.intake.conftest import Intake
from tests.intake.test_status_api import BQL, assigned, post
from thaogo.verify import verify_audit

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "services" / "intake" / "migrations"


async def a_history(intake: Intake, steps: int = 3) -> str:
    """A difficulty with a lead agency and `steps` updates of its own."""
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    token = await intake.token(agency=BQL)
    for i in range(steps):
        r = await post(intake, did, token, {
            "status": "acknowledged" if i == 0 else "in_progress",
            "note": f"Bước {i + 1}: đã làm việc với doanh nghiệp \"A\"\n"})
        assert r.status_code == 202, r.text
    # The audit reads the events from their topic, without waiting for the services:
    # the history's events must have left by the outbox before a test reads or tampers.
    conn = await asyncpg.connect(intake.database_url)
    try:
        async def relayed() -> bool:
            return not await conn.fetchval(
                "SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL")

        await wait_until(relayed, timeout=60)
    finally:
        await conn.close()
    return did


def verify_cli(intake: Intake) -> tuple[int, list[str]]:
    """`thaogo verify --audit`, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "thaogo.cli", "verify", "--audit", "--bootstrap", intake.kafka,
         "--database-url", intake.database_url],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    return done.returncode, done.stdout.strip().splitlines()


async def test_tampering_is_caught_and_named(intake: Intake) -> None:
    did = await a_history(intake, 3)
    other = await a_history(intake, 2)
    conn = await asyncpg.connect(intake.database_url)
    try:
        rows = await conn.fetch(
            "SELECT status_id, position, prev_hash, chain_hash, note FROM intake.status_updates"
            " WHERE difficulty_id = $1 ORDER BY position", uuid.UUID(did))
        assert [r["position"] for r in rows] == [1, 2, 3]
        assert rows[0]["prev_hash"] == audit.GENESIS
        assert [r["prev_hash"] for r in rows[1:]] == [r["chain_hash"] for r in rows[:-1]]
        assert await conn.fetchval("SELECT chain_head FROM intake.difficulties"
                                   " WHERE difficulty_id = $1", uuid.UUID(did)) \
            == rows[-1]["chain_hash"]

        code, out = verify_cli(intake)
        assert code == 0, out
        assert out[-1].endswith(", 0 differences"), out
        assert any(line.startswith("audit: ") and "0 audit findings" in line for line in out)

        # An edited field.
        await conn.execute("UPDATE intake.status_updates SET note = 'đã xử lý xong'"
                           " WHERE status_id = $1", rows[1]["status_id"])
        code, out = verify_cli(intake)
        assert code == 1
        named = [line for line in out if line.startswith("audit\t")]
        assert named == [f"audit\t{did}\tposition 2 (row {rows[1]['status_id']})\tits content"
                         " does not match its hash (edited)"], out
        assert out[-1].endswith(", 1 difference")
        await conn.execute(
            "UPDATE intake.status_updates SET note = $2 WHERE status_id = $1",
            rows[1]["status_id"], rows[1]["note"])
        assert verify_cli(intake)[0] == 0

        # An inserted row: a copy of the last under a new id at the next position, linked
        # and hashed by the rules, but past the difficulty's head.
        last = await conn.fetchrow(
            "SELECT *, resolution::text AS resolution, feedback::text AS feedback,"
            " letter::text AS letter FROM intake.status_updates WHERE status_id = $1",
            rows[2]["status_id"])
        forged = {name: last[name] for name in audit.FIELDS}
        forged.update(status_id=uuid.uuid4(), position=4,
                      changed_at=last["changed_at"] + timedelta(minutes=1))
        assert (forged["resolution"], forged["feedback"], forged["letter"]) == (None,) * 3
        await conn.execute(
            "INSERT INTO intake.status_updates (status_id, difficulty_id, status, actor_kind,"
            " actor_id, assignment_id, note, changed_at, step, suggested_agency_id,"
            " target_agency_id, question, answer, position, prev_hash, chain_hash)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 4, $14, $15)",
            *(forged[n] for n in ("status_id", "difficulty_id", "status", "actor_kind",
                                  "actor_id", "assignment_id", "note", "changed_at", "step",
                                  "suggested_agency_id", "target_agency_id", "question",
                                  "answer")),
            rows[2]["chain_hash"], audit.link_hash(forged, rows[2]["chain_hash"]))
        code, out = verify_cli(intake)
        assert code == 1
        named = [line for line in out if line.startswith("audit\t")]
        assert len(named) == 1 and named[0].startswith(f"audit\t{did}\tposition 4\t"), out
        assert "inserted" in named[0]
        await conn.execute("DELETE FROM intake.status_updates WHERE status_id = $1",
                           forged["status_id"])
        assert verify_cli(intake)[0] == 0

        # A deleted row in the middle, and the last row of another difficulty.
        await conn.execute("DELETE FROM intake.status_updates WHERE status_id = $1",
                           rows[1]["status_id"])
        tail = await conn.fetchval(
            "DELETE FROM intake.status_updates WHERE difficulty_id = $1 AND position = 2"
            " RETURNING status_id", uuid.UUID(other))
        assert tail is not None
        code, out = verify_cli(intake)
        assert code == 1
        named = sorted(line for line in out if line.startswith("audit\t"))
        assert named == sorted([
            f"audit\t{did}\tposition 2\tposition 2 missing (deleted): the next row is at 3",
            f"audit\t{other}\tposition 2\tposition 2 missing (deleted): the difficulty's"
            " head records 2 rows"]), out
    finally:
        await conn.close()


async def test_a_chain_rewritten_through_its_head_is_caught_by_the_published_week(
        intake: Intake) -> None:
    """Whoever rewrites a row and every hash after it, and the head, makes a chain that
    agrees with itself; the week's report published the old head on the topic."""
    did = uuid.UUID(await a_history(intake, 3))
    conn = await asyncpg.connect(intake.database_url)
    try:
        head = await conn.fetchrow("SELECT chain_length, chain_head FROM intake.difficulties"
                                   " WHERE difficulty_id = $1", did)
        now = datetime.now(UTC)
        week = f"test-{uuid.uuid4().hex[:6]}"
        report = WeeklyReport(
            report_id=uuid.uuid4(), province_code="74", week_label=week,
            window_start=now - timedelta(days=7), window_end=now, generated_at=now, rows=[],
            urgent_items=[], recommendations=[], members_reported=[], members_missing=[],
            audit=AuditHeads(
                merkle_root=audit.merkle_root([(did, head["chain_length"], head["chain_head"])]),
                heads=[ChainHead(difficulty_id=did, position=head["chain_length"],
                                 hash=head["chain_head"])]))
        env = new_envelope(report, source="test/reporting")
        producer = AIOKafkaProducer(bootstrap_servers=intake.kafka)
        await producer.start()
        try:
            await producer.send_and_wait(
                report.topic, encode_body(report), key=report.key().encode(),
                headers=[(k, v.encode()) for k, v in encode_headers(env).items()])
        finally:
            await producer.stop()
        assert (r := await verify_audit(intake.kafka, intake.database_url)).ok, r.summary()
        assert "latest reports: 74 " + week in (r.audit_summary or "")

        links = await conn.fetch(
            "SELECT *, resolution::text AS resolution, feedback::text AS feedback,"
            " letter::text AS letter FROM intake.status_updates WHERE difficulty_id = $1"
            " ORDER BY position", did)
        prev = audit.GENESIS
        for i, r in enumerate(links):
            rec = {name: r[name] for name in audit.FIELDS}
            if i == 0:
                rec["actor_id"] = "binh-duong.so-tai-chinh"
            h = audit.link_hash(rec, prev)
            await conn.execute("UPDATE intake.status_updates SET actor_id = $2, prev_hash = $3,"
                               " chain_hash = $4 WHERE status_id = $1",
                               r["status_id"], rec["actor_id"], prev, h)
            prev = h
        await conn.execute("UPDATE intake.difficulties SET chain_head = $2"
                           " WHERE difficulty_id = $1", did, prev)
        r = await verify_audit(intake.kafka, intake.database_url)
        published = [f for f in r.audit if f"published in 74 {week}" in f.problem]
        assert [(f.difficulty_id, f.position) for f in published] == [(did, 3)], r.summary()
        # The status events on the topic carried the old hashes as well.
        carried = [f.position for f in r.audit if "what its event carried" in f.problem]
        assert carried == [1, 2, 3], r.summary()
    finally:
        await conn.close()


async def test_many_writers_to_one_difficulty_make_one_chain(intake: Intake) -> None:
    did = await a_history(intake, 1)
    token = await intake.token(agency=BQL)
    answers = await asyncio.gather(*(
        post(intake, did, token, {"status": "in_progress", "note": f"Cập nhật {i}"})
        for i in range(24)))
    assert [a.status_code for a in answers] == [202] * 24
    conn = await asyncpg.connect(intake.database_url)
    try:
        rows = await conn.fetch(
            "SELECT *, resolution::text AS resolution, feedback::text AS feedback,"
            " letter::text AS letter FROM intake.status_updates WHERE difficulty_id = $1"
            " ORDER BY position", uuid.UUID(did))
        head = await conn.fetchrow("SELECT chain_length, chain_head FROM intake.difficulties"
                                   " WHERE difficulty_id = $1", uuid.UUID(did))
    finally:
        await conn.close()
    assert [r["position"] for r in rows] == list(range(1, 26))
    links = [audit.Link({n: r[n] for n in audit.FIELDS}, r["prev_hash"], r["chain_hash"])
             for r in rows]
    assert audit.check_chain(uuid.UUID(did), links,
                             audit.Head(head["chain_length"], head["chain_head"])) == []
    # The events carried each row's place in the chain: the full check holds them equal.
    r = await verify_audit(intake.kafka, intake.database_url)
    assert r.ok, r.summary()


async def test_record_status_takes_the_chain_lock_itself(intake: Intake) -> None:
    """Writers that did not lock the difficulty first (store.record_status alone, each on
    its own connection) still queue on the chain's head."""
    did = uuid.UUID(await a_history(intake, 1))
    pool = await db.create_pool(intake.database_url, schema="intake", min_size=8, max_size=8)
    try:
        async def write(i: int) -> None:
            ev = new_envelope(DifficultyStatusChanged(
                status_id=uuid.uuid4(), difficulty_id=did, province_code="74",
                status=Status.IN_PROGRESS, actor_kind=ActorKind.AGENCY, actor_id=BQL,
                note=f"song song {i}", changed_at=datetime.now(UTC)), source="test/intake")
            async with pool.acquire() as c, c.transaction():
                await intake_store.record_status(c, event=ev)

        await asyncio.gather(*(write(i) for i in range(16)))
        async with pool.acquire() as conn:
            positions = await conn.fetch(
                "SELECT position FROM intake.status_updates WHERE difficulty_id = $1"
                " ORDER BY position", did)
    finally:
        await pool.close()
    assert [p["position"] for p in positions] == list(range(1, 18))
    r = await verify_audit(intake.kafka, intake.database_url)
    assert r.ok, r.summary()


async def test_the_migration_chains_the_rows_accepted_before(database_url: str,
                                                             tmp_path: Path) -> None:
    """Rows written before 008 (every kind of value, text PostgreSQL and Python must
    escape alike) are chained by the migration's SQL exactly as shared.audit hashes."""
    before = tmp_path / "before"
    before.mkdir()
    for f in sorted(MIGRATIONS.glob("*.sql")):
        if int(f.name[:3]) < 8:
            shutil.copy(f, before / f.name)
    conn = await asyncpg.connect(database_url)
    await db.init_connection(conn)
    try:
        await db.migrate(conn, schema="intake", folder=before)
        dids = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
        for i, d in enumerate(dids):
            await conn.execute(
                "INSERT INTO intake.difficulties (difficulty_id, tracking_code, tax_code,"
                " province_code, payload, received_at) VALUES ($1, $2, '0312345678', '74',"
                " '{}'::jsonb, now())", d, f"BD-T-{i}")
        t0 = datetime(2026, 11, 30, 1, 2, 3, 450001, tzinfo=UTC)
        awkward = ["Đã cấp \"giấy phép\"\\ số 12\n\tngày 1/12", "\x01\x1f控制 ☃ \u2028 end",
                   "Nghị định 30/2020/NĐ-CP", None]
        rows: list[tuple[Any, ...]] = []
        for n in range(9):
            d = dids[n % 2]
            rows.append((uuid.uuid4(), d, ["acknowledged", "in_progress", None][n % 3],
                         "agency", BQL, uuid.uuid4() if n % 2 else None, awkward[n % 4],
                         t0 + timedelta(seconds=n // 2), "in_progress" if n % 3 else None,
                         {"outcome": "resolved", "done": awkward[0], "waived": [],
                          "ministry_letter": {"number": "12/UBND", "dated": "2026-11-30"},
                          "n": 1.5} if n == 4 else None,
                         {"resolved": False, "rating": 2, "comment": awkward[1]}
                         if n == 7 else None, awkward[(n + 1) % 4] if n == 5 else None))
        await conn.executemany(
            "INSERT INTO intake.status_updates (status_id, difficulty_id, status, actor_kind,"
            " actor_id, assignment_id, note, changed_at, step, resolution, feedback, question)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)", rows)
        await db.migrate(conn, schema="intake", folder=MIGRATIONS)

        stored = await conn.fetch(
            "SELECT *, resolution::text AS resolution, feedback::text AS feedback,"
            " letter::text AS letter FROM intake.status_updates"
            " ORDER BY difficulty_id, position")
        heads = {r["difficulty_id"]: audit.Head(r["chain_length"], r["chain_head"])
                 for r in await conn.fetch("SELECT difficulty_id, chain_length, chain_head"
                                           " FROM intake.difficulties")}
    finally:
        await conn.close()
    by: dict[uuid.UUID, list[audit.Link]] = {}
    for r in stored:
        by.setdefault(r["difficulty_id"], []).append(
            audit.Link({n: r[n] for n in audit.FIELDS}, r["prev_hash"], r["chain_hash"]))
    assert sorted(len(v) for v in by.values()) == [4, 5]
    for d, links in by.items():
        # Accepted order (changed_at, then status_id), positions from 1.
        assert [x.record["changed_at"] for x in links] == sorted(
            x.record["changed_at"] for x in links)
        assert audit.check_chain(d, links, heads[d]) == [], d
    assert heads[dids[2]] == audit.Head(0, None)  # no history, no chain
