"""Confirming a business's urgent flag (#20 item 9), on the real broker and database
(intake in-process): who may, what is refused and why, and the one event it publishes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from shared import auth, topics
from shared.events import AssignmentRole, DifficultyUrgencyConfirmed
from shared.provinces import ConfigHolder
from tests.conftest import wait_until
from tests.intake.conftest import Intake
from tests.intake.test_status_api import BQL, SCT, assigned

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(120)]


async def confirm(intake: Intake, did: str, token: str | None, body: dict[str, Any]) -> Any:
    headers = {"Accept-Language": "en"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await intake.client.post(f"/v1/difficulties/{did}/urgency", json=body,
                                    headers=headers)


async def test_the_lead_confirms_once_and_the_event_leaves_by_the_outbox(
    intake: Intake,
) -> None:
    did = (await intake.submit(urgency="urgent"))["difficulty_id"]
    await assigned(intake, did, BQL)
    await assigned(intake, did, SCT, role=AssignmentRole.CO_HANDLER)
    lead, co = await intake.token(agency=BQL), await intake.token(agency=SCT)
    _, other_member = await auth.create(intake.database_url, configs=ConfigHolder().current,
                                        kind=auth.TokenKind.MEMBER,
                                        subject_id="thanh-hoa.m01")

    r = await confirm(intake, did, co, {})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "Authorization", r.text
    r = await confirm(intake, did, other_member, {})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "difficulty_id", r.text
    r = await confirm(intake, did, None, {})
    assert r.status_code == 401
    r = await confirm(intake, did, lead, {"note": "x" * 2_001})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note", r.text
    r = await confirm(intake, did, lead, {"urgent": True})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "urgent", r.text

    r = await confirm(intake, did, lead, {"note": "Cháy kho"})
    assert r.status_code == 202, r.text
    first = r.json()
    cid = str(DifficultyUrgencyConfirmed.id_for(uuid.UUID(did)))
    assert first["confirmation_id"] == cid and first["confirmed_by"] == BQL
    r = await confirm(intake, did, lead, {"note": "lần nữa"})
    assert r.status_code == 200 and r.json() == first

    conn = await asyncpg.connect(intake.database_url)
    try:
        rows = await conn.fetch("SELECT event_id, topic FROM intake.outbox WHERE topic = $1"
                                " AND key = $2", topics.DIFFICULTY_URGENCY, did.encode())
        assert [(r["event_id"], r["topic"]) for r in rows] == [(cid, topics.DIFFICULTY_URGENCY)]
    finally:
        await conn.close()

    consumer = AIOKafkaConsumer(topics.DIFFICULTY_URGENCY, bootstrap_servers=intake.kafka,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        async def published() -> dict[str, Any] | None:
            got = await consumer.getmany(timeout_ms=500)
            for records in got.values():
                for rec in records:
                    if dict(rec.headers)["ce_id"].decode() == cid:
                        return dict(json.loads(rec.value or b"{}"))
            return None

        event = await wait_until(published, timeout=30)
        assert event["actor_id"] == BQL and event["note"] == "Cháy kho"
        assert event["reported"] is False
    finally:
        await consumer.stop()


async def test_nothing_to_confirm_on_a_normal_difficulty_or_an_unknown_one(
    intake: Intake,
) -> None:
    did = (await intake.submit())["difficulty_id"]
    await assigned(intake, did, BQL)
    lead = await intake.token(agency=BQL)
    r = await confirm(intake, did, lead, {})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "urgency", r.text
    r = await confirm(intake, str(uuid.uuid4()), lead, {})
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "difficulty_id"
