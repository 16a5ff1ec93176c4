"""Intake running in-process (ASGI) on the real broker and a fresh real database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.intake import main
from services.intake.settings import IntakeSettings
from shared import auth
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    Category,
    DifficultyAssigned,
    Kind,
    Urgency,
    encode_body,
    encode_headers,
    new_envelope,
)
from shared.provinces import ConfigHolder, default_config_dir
from thaogo.demo import tax_code


@dataclass
class Intake:
    client: httpx.AsyncClient
    database_url: str
    kafka: str
    app: Any

    async def token(self, *, agency: str | None = None, member: str | None = None) -> str:
        kind = auth.TokenKind.AGENCY if agency else auth.TokenKind.MEMBER
        _, token = await auth.create(self.database_url, configs=ConfigHolder().current,
                                     kind=kind, subject_id=agency or member or "")
        return token

    async def submit(self, **overrides: Any) -> dict[str, Any]:
        r = await self.client.post("/v1/difficulties", json=submission(**overrides))
        assert r.status_code == 202, r.text
        return dict(r.json())

    async def assign(self, difficulty_id: str, agency_id: str, *, member_id: str | None = None,
                     replaces: uuid.UUID | None = None,
                     role: AssignmentRole | None = None) -> uuid.UUID:
        """Publish an assignment as the router does; intake's consumer learns it."""
        a = DifficultyAssigned(
            assignment_id=uuid.uuid4(), difficulty_id=uuid.UUID(difficulty_id),
            tracking_code="TG-TEST-0001", province_code="79", agency_id=agency_id,
            agency_level=AgencyLevel.PROVINCE,
            role=role or (AssignmentRole.MEMBER if member_id else AssignmentRole.LEAD),
            member_id=member_id, rule="test", reason="test", config_version="test",
            replaces=replaces, urgency=Urgency.NORMAL, kind=Kind.DIFFICULTY,
            category=Category.RAW_MATERIALS, assigned_at=_now(),
        )
        env = new_envelope(a, source="test/router", event_id=str(a.assignment_id))
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka, enable_idempotence=False)
        await producer.start()
        try:
            await producer.send_and_wait(
                a.topic, encode_body(a), key=a.key().encode(),
                headers=[(k, v.encode()) for k, v in encode_headers(env).items()],
            )
        finally:
            await producer.stop()
        return a.assignment_id


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def submission(n: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tax_code": tax_code(2000 + n),
        "enterprise_name": "Công ty TNHH Thử nghiệm",
        "province": "Bình Dương",
        "zone_type": "KCN",
        "zone_name": "KCN VSIP II",
        "category": "raw_materials",
        "kind": "difficulty",
        "title": "Thiếu nguyên liệu sản xuất",
        "description": "Nguyên liệu nhập khẩu bị chậm, đề nghị hỗ trợ.",
        "urgency": "normal",
        "contact": {"name": "Nguyễn Văn A", "phone": "0912345678", "email": "a@example.vn"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def intake_settings(topics_ready: str, database_url: str) -> Callable[..., IntakeSettings]:
    def make(**overrides: Any) -> IntakeSettings:
        values: dict[str, Any] = dict(
            kafka_bootstrap=topics_ready, database_url=database_url,
            assignments_group_id=f"test-intake-{uuid.uuid4().hex[:8]}",
        )
        values.update(overrides)
        return IntakeSettings(**values)

    return make


@pytest.fixture
async def intake(
    intake_settings: Callable[..., IntakeSettings], request: pytest.FixtureRequest
) -> AsyncIterator[Intake]:
    overrides = getattr(request, "param", {})
    s = intake_settings(**overrides)
    app = main.build(s)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            yield Intake(client, s.database_url, s.kafka_bootstrap, app)


def dissolved_config(tmp_path: Path, slug: str, on: date) -> Path:
    """A copy of the shipped province configuration in which `slug`'s task force is
    dissolved on `on`."""
    folder = tmp_path / "provinces"
    folder.mkdir(parents=True, exist_ok=True)
    for f in default_config_dir().glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if f.stem == slug:
            assert "dissolved_on: null" in text
            text = text.replace("dissolved_on: null", f"dissolved_on: {on.isoformat()}")
        (folder / f.name).write_text(text, encoding="utf-8")
    return folder
