"""Fixtures for reporting's database tests: a fresh database with reporting's schema,
a pool on it, handlers wired to it, and builders of events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from services.reporting.consumers import ReportingHandlers
from services.reporting.main import SERVICE
from services.reporting.metrics import ProjectionMetrics
from services.reporting.settings import ReportingSettings
from shared import db
from shared.events import (
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    Category,
    Contact,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    Envelope,
    EventData,
    Kind,
    Status,
    Urgency,
    ZoneType,
    deterministic_id,
)
from shared.kafka import make_broker
from shared.metrics import new_registry
from shared.provinces import ConfigHolder
from shared.service import Runtime, migrations_dir


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[db.Pool]:
    conn = await db.asyncpg.connect(database_url)
    try:
        await db.migrate(conn, schema=SERVICE, folder=migrations_dir(SERVICE))
    finally:
        await conn.close()
    p = await db.create_pool(database_url, schema=SERVICE, max_size=5)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
def handlers(pool: db.Pool, database_url: str) -> ReportingHandlers:
    s = ReportingSettings(database_url=database_url)
    rt = Runtime.create(SERVICE, s, lambda reg: make_broker("127.0.0.1:1", client_id="t",
                                                            registry=reg))
    rt.pool = pool
    return ReportingHandlers(rt, ConfigHolder(), ProjectionMetrics.create(new_registry("t")))


def env(data: EventData, event_id: str | None = None) -> Envelope[Any]:
    return Envelope(id=event_id or str(uuid.uuid4()), source="test",
                    time=datetime.now().astimezone(), data=data)


def received(
    at: datetime, *, n: int = 0, urgency: Urgency = Urgency.NORMAL,
    zone: ZoneType | None = ZoneType.KCN, category: Category = Category.RAW_MATERIALS,
    kind: Kind = Kind.DIFFICULTY, title: str = "Thiếu nguyên liệu sản xuất",
    tax_code: str = "0100233488",
) -> DifficultyReceived:
    did = uuid.uuid4()
    return DifficultyReceived(
        difficulty_id=did, tracking_code=f"TG-{did.hex[:4].upper()}-{n:04d}", received_at=at,
        province_code="79", province_name="Bình Dương", task_force="binh-duong",
        tax_code=tax_code, enterprise_name=f"Công ty TNHH Thử nghiệm {n}", zone_type=zone,
        category=category, kind=kind, title=title,
        description="Nguyên liệu nhập khẩu bị chậm, đề nghị tháo gỡ.", urgency=urgency,
        contact=Contact(name="Nguyễn Văn A", phone="0912345678", email="a@example.vn"),
    )


def assigned(
    d: DifficultyReceived, at: datetime, *, agency: str = "binh-duong.bql-kcn",
    level: AgencyLevel = AgencyLevel.PROVINCE, role: AssignmentRole = AssignmentRole.LEAD,
    replaces: uuid.UUID | None = None,
) -> DifficultyAssigned:
    return DifficultyAssigned(
        assignment_id=uuid.UUID(deterministic_id(d.difficulty_id, agency, role.value)),
        difficulty_id=d.difficulty_id, tracking_code=d.tracking_code, province_code="79",
        agency_id=agency, agency_level=level, role=role, rule="zone_type:KCN->lead",
        reason="test", config_version="v", replaces=replaces, urgency=d.urgency, kind=d.kind,
        category=d.category, zone_type=d.zone_type, assigned_at=at,
    )


def status(d: DifficultyReceived, s: Status, at: datetime) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=d.difficulty_id, province_code="79", status=s,
        actor_kind=ActorKind.AGENCY, actor_id="binh-duong.bql-kcn", changed_at=at,
    )
