"""Two router replicas reconcile the same membership change at the same time, on the
real database and broker: each open item moves once (one row, one event id), a closed
item does not move, and a later pass finds nothing to do."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.router import store
from services.router.jobs import Membership
from services.router.logic import RULE_REMOVED
from services.router.metrics import RouterMetrics
from services.router.settings import RouterSettings
from services.router.store import record_closures
from shared import db, topics
from shared.events import ActorKind, DifficultyStatusChanged, Status
from shared.kafka import make_broker
from shared.metrics import new_registry
from shared.provinces import ConfigHolder
from shared.service import Runtime, migrations_dir
from tests.conftest import wait_until
from tests.taskforce.conftest import TopicReader, edit_province
from tests.taskforce.test_membership_unit import held_by

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(120)]

SLUG = "binh-duong"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[db.Pool]:
    conn = await db.asyncpg.connect(database_url)
    try:
        await db.migrate(conn, schema="router", folder=migrations_dir("router"))
    finally:
        await conn.close()
    p = await db.create_pool(database_url, schema="router", max_size=6)
    try:
        yield p
    finally:
        await p.close()


async def replica(kafka: str, pool: db.Pool, holder: ConfigHolder) -> Membership:
    s = RouterSettings(kafka_bootstrap=kafka)
    rt = Runtime.create("router", s, lambda reg: make_broker(kafka, client_id="t", registry=reg))
    rt.pool = pool
    await rt.producer.start()
    return Membership(rt=rt, config=holder, metrics=RouterMetrics.create(new_registry("t")))


async def test_two_replicas_move_each_open_item_once(
    private_topics: str, pool: db.Pool, config_dir: Path
) -> None:
    m03 = [held_by(f"{SLUG}.m03") for _ in range(3)]
    async with pool.acquire() as conn:
        await store.save_assignments(conn, assignments=m03)
        await record_closures(conn, changes=[DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=m03[2].difficulty_id, province_code="79",
            status=Status.RESOLVED, actor_kind=ActorKind.AGENCY, actor_id=f"{SLUG}.so-lao-dong",
            changed_at=datetime.now(UTC))])

    def remove_m03(data: dict[str, Any]) -> None:
        data["task_force"]["members"] = [m for m in data["task_force"]["members"]
                                         if m["id"] != f"{SLUG}.m03"]

    edit_province(config_dir, SLUG, remove_m03)
    reader = await TopicReader.start(private_topics, topics.DIFFICULTY_ASSIGNED)
    replicas = [await replica(private_topics, pool, ConfigHolder(config_dir)) for _ in range(2)]
    try:
        moved = await asyncio.gather(*(r.reconcile() for r in replicas))
        assert sum(moved) >= 2  # each replica may emit; the ids are what count

        async def seen() -> set[str]:
            return {h["ce_id"] for h, _ in await reader.poll()}

        ids = await wait_until(lambda: _two(seen), timeout=30)
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT assignment_id, member_id, rule, replaces, active"
                                    " FROM assignments ORDER BY assigned_at")
        new = [r for r in rows if r["rule"] == RULE_REMOVED]
        assert {str(r["assignment_id"]) for r in new} == ids
        assert sorted(r["replaces"] for r in new) == sorted(a.assignment_id for a in m03[:2])
        assert {r["member_id"] for r in new} == {f"{SLUG}.to-pho-thuong-truc"}
        old_active = {r["assignment_id"]: r["active"] for r in rows if r["rule"] != RULE_REMOVED}
        assert old_active == {m03[0].assignment_id: False, m03[1].assignment_id: False,
                              m03[2].assignment_id: True}  # the resolved one stays
        # Done is done: the next pass of either replica moves nothing.
        assert [await r.reconcile() for r in replicas] == [0, 0]
    finally:
        await reader.stop()
        for r in replicas:
            await r.rt.producer.stop()


async def _two(seen: Any) -> set[str] | None:
    ids: set[str] = await seen()
    return ids if len(ids) == 2 else None
