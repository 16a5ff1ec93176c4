"""Policy bottlenecks in reporting's read model (#25 item 1): the latest event of a
bottleneck stands whichever order they arrive in, a redelivery changes nothing, and its
items leave the deputy's pool of items to group."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from services.reporting import grouping, store, usecases
from services.reporting.consumers import ReportingHandlers
from services.reporting.settings import GROUPING
from shared import db
from shared.calendar import TZ
from shared.events import (
    BottleneckAnswer,
    BottleneckItem,
    Category,
    LetterRef,
    Outcome,
    PolicyBottleneck,
)
from tests.reporting.conftest import env, received

pytestmark = [pytest.mark.db]

MON = datetime(2026, 11, 16, 9, 0, tzinfo=TZ)


async def test_the_latest_event_stands_and_its_items_leave_the_pool_to_group(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    ds = [received(MON + timedelta(minutes=n), n=n, tax_code=tax, category=Category.TAX,
                   title="Lỗi cấp mã hóa đơn điện tử")
          for n, tax in enumerate(("0100233488", "0100233488", "0312345678"))]
    for d in ds:
        await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    merged = PolicyBottleneck(
        bottleneck_id=uuid.uuid4(), task_force="binh-duong", province_code="79",
        title="Lỗi cấp mã hóa đơn điện tử", ministry_id="central.bo-tai-chinh",
        documents=["123/2020/ND-CP"], business_count=1,
        items=[BottleneckItem(difficulty_id=d.difficulty_id, title=d.title,
                              category=d.category) for d in ds[:2]],
        merged_by="binh-duong.to-cong-tac", merged_at=MON + timedelta(hours=1),
        changed_at=MON + timedelta(hours=1))
    answered = merged.model_copy(update={
        "changed_at": MON + timedelta(days=20), "answer": BottleneckAnswer(
            outcome=Outcome.RESOLVED, letter=LetterRef(number="4512/BTC-TCT",
                                                       dated=(MON + timedelta(days=19)).date()),
            public_answer="Bộ Tài chính đã hướng dẫn.", answered_by="binh-duong.to-cong-tac",
            answered_at=MON + timedelta(days=20))})
    # The answer arrives first, then the merge: the answer stands.
    first, then = env(answered), env(merged)
    assert await handlers.on_bottleneck([first], None) == 0  # type: ignore[arg-type]
    assert await handlers.on_bottleneck([then, first], None) == 1  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        [kept] = await store.bottlenecks_of(conn, task_force="binh-duong")
        left = await store.open_to_group(conn, task_force="binh-duong", limit=10)
        rows = await conn.fetchval("SELECT count(*) FROM bottleneck_items")
        of_member = await store.bottleneck_of(conn, difficulty_id=ds[0].difficulty_id)
        of_other = await store.bottleneck_of(conn, difficulty_id=ds[2].difficulty_id)
    assert kept == answered
    assert rows == 2 and of_member == answered and of_other is None
    assert [r["difficulty_id"] for r in left] == [ds[2].difficulty_id]
    assert left[0]["description"] == ds[2].description


async def test_the_groups_are_stored_for_their_items_and_regrouped_when_the_items_change(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    """The deputy's page reads the grouping stored for exactly its items (#21 item 7):
    the same groups as grouping them on the visit; an item arriving regroups them."""
    invoices = [received(MON + timedelta(minutes=n), n=n, tax_code=f"01002334{n:02d}",
                         category=Category.TAX, title="Lỗi cấp mã hóa đơn điện tử")
                for n in range(3)]
    for d in invoices:
        await handlers.on_received([env(d)], None)  # type: ignore[arg-type]

    async def grouped_now() -> list[grouping.Group]:
        async with pool.acquire() as conn:
            rows = await store.open_to_group(conn, task_force="binh-duong",
                                             limit=GROUPING.max_items)
        return grouping.group_rows(rows, alike=GROUPING.alike,
                                   citing_bonus=GROUPING.citing_bonus, floor=GROUPING.floor)

    async def stored() -> tuple[str, datetime]:
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT input_key, computed_at FROM shared_groupings"
                                      " WHERE task_force = 'binh-duong'")
        assert row is not None
        return row["input_key"], row["computed_at"]

    _, first = await usecases.shared_groups(pool, task_force="binh-duong", now=MON)
    assert first == await grouped_now() and [len(g.ids) for g in first] == [3]
    key = await stored()
    # Asked again with the same items: the stored grouping, not a new one.
    rows, again = await usecases.shared_groups(pool, task_force="binh-duong",
                                               now=MON + timedelta(hours=1))
    assert again == first and await stored() == key and len(rows) == 3
    # A fourth business raises a new obstacle twice: the items changed, so they regroup.
    flood = [received(MON + timedelta(hours=2, minutes=n), n=10 + n, tax_code=f"030000000{n}",
                      category=Category.LAND_CONSTRUCTION, title="Ngập úng đường vào KCN")
             .model_copy(update={"description": "Mưa lớn, xe hàng không vào được."})
             for n in range(2)]
    for d in flood:
        await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
    _, later = await usecases.shared_groups(pool, task_force="binh-duong",
                                            now=MON + timedelta(hours=3))
    assert later == await grouped_now() and [len(g.ids) for g in later] == [3, 2]
    assert (await stored())[0] != key[0]
    assert (await stored())[1] == MON + timedelta(hours=3)
