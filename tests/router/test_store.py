"""The router's two ways of storing assignments must leave the same rows: the batch
statement for new difficulties (positions and JSON arrays, services/router/store.py)
and the plain one that escalation and re-assignment use."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench.common import difficulty
from services.router import logic, store
from shared import db
from shared.events import AssignmentRole, DifficultyAssigned, DifficultyReceived
from shared.provinces import ConfigHolder
from shared.service import migrations_dir

pytestmark = [pytest.mark.db]

NOW = datetime(2026, 11, 20, 3, 4, 5, 678901, tzinfo=UTC)


async def _migrated(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await db.init_connection(conn)
    await db.migrate(conn, schema="router", folder=migrations_dir("router"))
    await conn.execute("SET search_path TO router, public")
    return conn


async def _contents(conn: asyncpg.Connection) -> dict[str, list[dict[str, Any]]]:
    return {
        "difficulties": [dict(r) for r in await conn.fetch(
            "SELECT difficulty_id, province_code, task_force, payload::text AS payload,"
            " received_at FROM difficulties ORDER BY difficulty_id")],
        "assignments": [dict(r) for r in await conn.fetch(
            f"SELECT {store.ASSIGNMENT}, active FROM assignments ORDER BY assignment_id")]
    }


def in_order(assignments: list[DifficultyAssigned]) -> list[DifficultyAssigned]:
    """As `store.active_assignments` gives them: oldest first, the holder before
    co-handlers before members, each by id."""
    rank = {AssignmentRole.CO_HANDLER: 1, AssignmentRole.MEMBER: 2}
    return sorted(assignments, key=lambda a: (a.assigned_at, rank.get(a.role, 0),
                                              a.assignment_id))


def _batch() -> list[DifficultyReceived]:
    # Triage, every zone type, members, a province without configuration, and text that
    # JSON must escape.
    ds = [difficulty(i) for i in range(40)]
    ds.append(difficulty(41, province=("01", "Lào Cai \"cũ\"", "lao-cai")))
    ds.append(difficulty(42).model_copy(update={"title": 'Dấu "ngoặc" \\ và\ndòng mới'}))
    ds.append(difficulty(43).model_copy(update={"task_force": None}))
    return ds


def _wired(ds: list[DifficultyReceived]) -> store.NewDifficulties:
    """`ds` decided and shaped as the router's batch statement takes them."""
    configs = ConfigHolder().current
    new = store.NewDifficulties(config_version=configs.version)
    for d in ds:
        new.add(d, d.model_dump_json().encode(), logic.decide(
            d, configs.for_difficulty(d.province_code, d.task_force),
            config_version=configs.version, now=d.received_at))
    return new


async def test_the_batch_statement_stores_what_the_plain_one_does(
        postgres_url: str) -> None:
    from tests.conftest import create_database

    configs = ConfigHolder().current
    ds = _batch()
    new = _wired(ds)

    batch_db = await _migrated(await create_database(postgres_url))
    plain_db = await _migrated(await create_database(postgres_url))
    try:
        assert await store.already_stored(batch_db, difficulty_ids=new.difficulty_id) == set()
        await store.save_new_difficulties(batch_db, batch=new)
        # Replayed: nothing more, nothing changed.
        await store.save_new_difficulties(batch_db, batch=new)
        assert await store.already_stored(batch_db, difficulty_ids=[
            *new.difficulty_id[:3], str(uuid.uuid4())]) == set(new.difficulty_id[:3])

        models = [a for d in ds for a in logic.decide(
            d, configs.for_difficulty(d.province_code, d.task_force),
            config_version=configs.version, now=d.received_at)]
        await plain_db.execute(
            "INSERT INTO difficulties (difficulty_id, province_code, task_force, payload,"
            " received_at) SELECT i, p, t, j::json, r FROM unnest($1::uuid[], $2::text[],"
            " $3::text[], $4::text[], $5::timestamptz[]) AS u(i, p, t, j, r)",
            [d.difficulty_id for d in ds], [d.province_code for d in ds],
            [d.task_force for d in ds], [d.model_dump_json() for d in ds],
            [d.received_at for d in ds])
        await store.save_assignments(plain_db, assignments=models)

        got, want = await _contents(batch_db), await _contents(plain_db)
        assert len(got["assignments"]) == len(models) > len(ds)
        assert got == want
        # What escalation reads back is the models themselves.
        d = ds[0]
        back = await store.active_assignments(batch_db, difficulty_id=d.difficulty_id)
        assert back == in_order([a for a in models if a.difficulty_id == d.difficulty_id])
        assert back[0].role is AssignmentRole.LEAD  # what a status that names none moves
        assert await store.load_difficulty(batch_db, difficulty_id=d.difficulty_id) == d
    finally:
        await batch_db.close()
        await plain_db.close()


async def test_assignments_stored_as_documents_read_back_the_same_once_migrated(
        postgres_url: str, tmp_path: Path) -> None:
    """005 takes the stored documents apart into columns: what escalation reads back
    after the upgrade is what was assigned before it."""
    from tests.conftest import create_database

    configs = ConfigHolder().current
    ds = _batch()
    models = [a for d in ds for a in logic.decide(
        d, configs.for_difficulty(d.province_code, d.task_force),
        config_version=configs.version, now=d.received_at)]
    for m in sorted(migrations_dir("router").glob("00[1-4]_*.sql")):
        shutil.copy(m, tmp_path / m.name)
    conn = await asyncpg.connect(await create_database(postgres_url))
    try:
        await db.migrate(conn, schema="router", folder=tmp_path)
        await conn.execute("SET search_path TO router, public")
        await conn.execute(
            "INSERT INTO assignments (assignment_id, difficulty_id, agency_id, member_id,"
            " role, level, rule, replaces, payload, assigned_at) SELECT * FROM unnest("
            " $1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],"
            " $7::text[], $8::uuid[], $9::text[], $10::timestamptz[])",
            [a.assignment_id for a in models], [a.difficulty_id for a in models],
            [a.agency_id for a in models], [a.member_id for a in models],
            [a.role.value for a in models], [a.agency_level.value for a in models],
            [a.rule for a in models], [a.replaces for a in models],
            [a.model_dump_json() for a in models], [a.assigned_at for a in models])
        assert await db.migrate(conn, schema="router", folder=migrations_dir("router")) == [
            "router/005_assignment_columns"]
        for d in ds:
            assert await store.active_assignments(conn, difficulty_id=d.difficulty_id) == (
                in_order([a for a in models if a.difficulty_id == d.difficulty_id]))
    finally:
        await conn.close()


async def test_replay_reads_recent_assignments_and_every_open_one(postgres_url: str) -> None:
    """What `thaogo/rebuild.py` publishes again: assignments since a moment, and the
    open ones (active, held by an agency, difficulty not closed) whatever their age;
    a difficulty's in order, never split across chunks, with its document as stored."""
    from datetime import timedelta

    from tests.conftest import create_database

    ds = _batch()
    new = _wired(ds)
    conn = await _migrated(await create_database(postgres_url))
    try:
        await store.save_new_difficulties(conn, batch=new)
        closed, replaced = ds[0].difficulty_id, ds[1].difficulty_id
        await conn.execute("INSERT INTO closed_difficulties VALUES ($1, 'resolved', $2)",
                           closed, NOW)
        await conn.execute("UPDATE assignments SET active = false WHERE difficulty_id = $1",
                           replaced)
        every = await conn.fetch(f"SELECT {store.ASSIGNMENT}, active FROM assignments")

        def is_open(r: asyncpg.Record) -> bool:
            return bool(r["active"] and r["role"] != "member"
                        and r["difficulty_id"] not in (closed, replaced))

        async def replayed(since: datetime) -> list[tuple[DifficultyAssigned, bool, str]]:
            rows: list[tuple[DifficultyAssigned, bool, str]] = []
            async with conn.transaction():
                async for chunk in store.assignments_to_replay(conn, since=since, chunk=7):
                    # A chunk holds whole difficulties.
                    assert {a.difficulty_id for a, _, _ in chunk}.isdisjoint(
                        {a.difficulty_id for a, _, _ in rows})
                    rows += chunk
            return rows

        at = max(d.received_at for d in ds)  # what the new difficulties were assigned at
        recent = await replayed(at - timedelta(days=1))
        assert len(recent) == len(every)
        assert {a.assignment_id: o for a, o, _ in recent} == {
            r["assignment_id"]: is_open(r) for r in every}
        by_id = {d.difficulty_id: d for d in ds}
        for a, _, doc in recent:
            assert DifficultyReceived.model_validate_json(doc) == by_id[a.difficulty_id]
        for d in ds:
            mine = [a for a, _, _ in recent if a.difficulty_id == d.difficulty_id]
            assert mine == in_order(mine)

        later = await replayed(at + timedelta(days=1))
        assert {a.assignment_id for a, o, _ in later} == {
            r["assignment_id"] for r in every if is_open(r)}
        assert all(o for _, o, _ in later)
    finally:
        await conn.close()
