"""The business's notices through notify's consumers on a real PostgreSQL: a step and its
contact arrive on different topics in either order, and at once; each step is owed once
however often its events are read again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry

from services.notify.consumers import NotifyHandlers
from services.notify.metrics import NotifyMetrics
from services.notify.settings import NotifySettings
from shared import db
from shared.calendar import TZ, ManualClock
from shared.events import (
    ActorKind,
    DifficultyStatusChanged,
    Envelope,
    Outcome,
    Resolution,
    Status,
    new_envelope,
)
from shared.provinces import ConfigHolder
from shared.service import Runtime, migrations_dir
from tests.reporting.conftest import assigned, received

pytestmark = [pytest.mark.db]

AT = datetime(2026, 3, 9, 9, tzinfo=TZ)


@dataclass
class Db:
    """What the consumers use of the runtime: its pool."""

    pool: db.Pool

    def db(self) -> db.Pool:
        return self.pool


@pytest.fixture
async def handlers(database_url: str) -> AsyncIterator[tuple[NotifyHandlers, db.Pool]]:
    p = await db.create_pool(database_url, schema="notify", max_size=6)
    async with p.acquire() as conn:
        await db.migrate(conn, schema="notify", folder=migrations_dir("notify"))
    h = NotifyHandlers(rt=cast(Runtime, Db(p)), config=ConfigHolder(), clock=ManualClock(AT),
                       settings=NotifySettings(report_base_url="https://thaogo.example.vn"),
                       metrics=NotifyMetrics.create(CollectorRegistry()))
    try:
        yield h, p
    finally:
        await p.close()


async def notices(pool: db.Pool, did: uuid.UUID) -> list[tuple[str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT kind, address FROM messages WHERE difficulty_id = $1"
                                " AND kind LIKE 'business_%' ORDER BY kind", did)
    return [(r["kind"], r["address"]) for r in rows]


def resolved(did: uuid.UUID) -> Envelope[DifficultyStatusChanged]:
    return new_envelope(DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=did, province_code="79", status=Status.RESOLVED,
        actor_kind=ActorKind.AGENCY, actor_id="binh-duong.bql-kcn", changed_at=AT,
        resolution=Resolution(outcome=Outcome.RESOLVED, done="x", public_answer="Đã xong.")),
        source="t")


async def test_steps_before_their_contact_are_told_when_it_comes_and_once(
    handlers: tuple[NotifyHandlers, db.Pool],
) -> None:
    h, pool = handlers
    d = received(AT)
    a, st = new_envelope(assigned(d, AT), source="t"), resolved(d.difficulty_id)
    got: Any = None  # the emitter: these consumers publish nothing
    await h.on_assigned([a], got)
    await h.on_status([st], got)
    assert await notices(pool, d.difficulty_id) == []  # no contact yet
    r = new_envelope(d, source="t")
    await h.on_received([r], got)
    told = [("business_assigned", "a@example.vn"), ("business_received", "a@example.vn"),
            ("business_resolved", "a@example.vn")]
    assert await notices(pool, d.difficulty_id) == told
    # Read again, every one of them: nothing new.
    assert await h.on_received([r], got) == 1
    await h.on_assigned([a], got)
    assert await h.on_status([st], got) == 1
    assert await notices(pool, d.difficulty_id) == told


async def test_a_step_and_its_contact_at_once_are_told(
    handlers: tuple[NotifyHandlers, db.Pool],
) -> None:
    h, pool = handlers
    for _ in range(5):  # two consumers racing, each in its own transaction
        d = received(AT)
        got: Any = None
        await asyncio.gather(h.on_received([new_envelope(d, source="t")], got),
                             h.on_status([resolved(d.difficulty_id)], got))
        assert [k for k, _ in await notices(pool, d.difficulty_id)] == [
            "business_received", "business_resolved"]


async def test_a_business_with_nothing_to_reach_is_told_nothing_and_its_steps_not_kept(
    handlers: tuple[NotifyHandlers, db.Pool],
) -> None:
    h, pool = handlers
    d = received(AT)
    d = d.model_copy(update={"contact": d.contact.model_copy(
        update={"email": None, "phone": "028 3822 1234"})})
    got: Any = None
    await h.on_status([resolved(d.difficulty_id)], got)

    async def kept() -> tuple[int, str | None]:
        async with pool.acquire() as conn:
            n = await conn.fetchval("SELECT count(*) FROM business_steps"
                                    " WHERE difficulty_id = $1", d.difficulty_id)
            name = await conn.fetchval("SELECT name FROM business_contacts"
                                       " WHERE difficulty_id = $1", d.difficulty_id)
        return n, name

    assert (await kept())[0] == 1  # its contact not known yet
    await h.on_received([new_envelope(d, source="t")], got)
    await h.on_assigned([new_envelope(assigned(d, AT), source="t")], got)
    assert await kept() == (0, "")  # nor who it is
    assert await notices(pool, d.difficulty_id) == []
