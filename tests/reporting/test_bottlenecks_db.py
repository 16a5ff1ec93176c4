"""Policy bottlenecks in reporting's read model (#25 item 1): the latest event of a
bottleneck stands whichever order they arrive in, a redelivery changes nothing, and its
items leave the deputy's pool of items to group."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from services.reporting import store
from services.reporting.consumers import ReportingHandlers
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
