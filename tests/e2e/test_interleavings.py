"""Derived state under concurrency: thousands of difficulties whose received,
assignment and status events reach two reporting and two notify replicas in every
order, each group's topics consumed by separate consumers at once. After each seed's
shuffle, the consistency checker must find 0 differences.

The events are written straight to the topics (intake and the router are not running):
only so can the order across topics be chosen, which is the point of the test."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from shared.events import (
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    Category,
    Contact,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    EventData,
    Kind,
    Status,
    Urgency,
    ZoneType,
    deterministic_id,
    encode_body,
    encode_headers,
    new_envelope,
)
from shared.provinces import ConfigHolder
from tests.conftest import ServiceProcess, Stack, stack_env
from thaogo.demo import tax_code
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(900)]

SEEDS = (11, 23, 47)
PER_SEED = 1000
LEADS = ("binh-duong.bql-kcn", "binh-duong.so-cong-thuong", "binh-duong.so-ke-hoach-dau-tu")
CO_HANDLERS = ("binh-duong.so-lao-dong", "binh-duong.so-y-te", "binh-duong.cong-an-tinh")
CENTRAL = "central.bo-cong-thuong"


def case_events(rng: random.Random, n: int, seed: int, start: datetime) -> list[EventData]:
    """One difficulty's events: received; a lead and maybe a co-handler; maybe a move to
    another lead or an escalation to central level (replacing the lead); statuses."""
    did = uuid.UUID(deterministic_id("interleavings", seed, n))
    received_at = start + timedelta(seconds=n)
    urgency = Urgency.URGENT if rng.random() < 0.05 else Urgency.NORMAL
    common = {"difficulty_id": did, "province_code": "79"}
    received = DifficultyReceived(
        **common, tracking_code=f"TG-S{seed}-{n:05d}", received_at=received_at,
        province_name="Bình Dương", task_force="binh-duong", tax_code=tax_code(seed * 10_000 + n),
        enterprise_name=f"Công ty TNHH Thử tải {seed}-{n}", zone_type=ZoneType.KCN,
        category=Category.LABOUR, kind=Kind.DIFFICULTY, title=f"Thiếu lao động {n}",
        description="Doanh nghiệp thiếu lao động.", urgency=urgency,
        contact=Contact(name="Nguyễn Văn A", phone="0912345678"),
    )
    out: list[EventData] = [received]

    def assigned(agency: str, role: AssignmentRole, level: AgencyLevel, at: datetime,
                 replaces: uuid.UUID | None = None) -> DifficultyAssigned:
        return DifficultyAssigned(
            **common, assignment_id=uuid.UUID(deterministic_id(did, role, agency, at)),
            tracking_code=received.tracking_code, agency_id=agency, agency_level=level,
            role=role, rule=f"test.{role.value}", reason="interleavings", config_version="t",
            replaces=replaces, urgency=urgency, kind=Kind.DIFFICULTY, category=Category.LABOUR,
            zone_type=ZoneType.KCN, assigned_at=at)

    t = received_at + timedelta(milliseconds=rng.randint(1, 900))
    lead = assigned(rng.choice(LEADS), AssignmentRole.LEAD, AgencyLevel.PROVINCE, t)
    out.append(lead)
    if rng.random() < 0.6:
        out.append(assigned(rng.choice(CO_HANDLERS), AssignmentRole.CO_HANDLER,
                            AgencyLevel.PROVINCE, t))
    holder = lead
    if rng.random() < 0.25:
        t += timedelta(hours=rng.randint(1, 30))
        moved = rng.random() < 0.5
        holder = assigned(
            CENTRAL if not moved else rng.choice([a for a in LEADS if a != lead.agency_id]),
            AssignmentRole.ESCALATION if not moved else AssignmentRole.LEAD,
            AgencyLevel.CENTRAL if not moved else AgencyLevel.PROVINCE, t,
            replaces=lead.assignment_id)
        out.append(holder)
    for status in rng.choice([(), (Status.ACKNOWLEDGED,),
                              (Status.ACKNOWLEDGED, Status.IN_PROGRESS),
                              (Status.IN_PROGRESS, Status.RESOLVED),
                              (Status.ACKNOWLEDGED, Status.REJECTED)]):
        t += timedelta(minutes=rng.randint(1, 600))
        out.append(DifficultyStatusChanged(
            **common, status_id=uuid.UUID(deterministic_id(did, status, t)), status=status,
            actor_kind=ActorKind.AGENCY, actor_id=holder.agency_id,
            assignment_id=holder.assignment_id, changed_at=t))
    return out


async def publish_shuffled(bootstrap: str, events: list[EventData]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5,
                                enable_idempotence=False)
    await producer.start()
    try:
        futures = []
        for data in events:
            env = new_envelope(data, source="thaogo/test",
                               event_id=deterministic_id("interleavings-event", data.key(),
                                                         data.model_dump_json()))
            futures.append(await producer.send(
                data.topic, encode_body(data), key=data.key().encode(),
                headers=[(k, v.encode()) for k, v in encode_headers(env).items()]))
        for f in futures:
            await f
    finally:
        await producer.stop()


async def test_every_order_of_events_derives_the_same_state(
    private_topics: str, database_url: str, tmp_path: Path
) -> None:
    env = stack_env(private_topics, database_url,
                    THAOGO_REPORTING_MAX_RECORDS="50", THAOGO_NOTIFY_MAX_RECORDS="50")
    names = ("reporting", "reporting", "notify", "notify")
    stack = Stack({f"{n}#{i}": ServiceProcess(n, free_port(), env, tmp_path / f"{n}{i}.log")
                   for i, n in enumerate(names)})
    assert ConfigHolder().current.agency("binh-duong.bql-kcn") is not None
    start = datetime.now(UTC) - timedelta(days=3)
    try:
        await stack.start()
        for seed in SEEDS:
            rng = random.Random(seed)
            events = [e for n in range(PER_SEED) for e in case_events(rng, n, seed, start)]
            # Every order: across topics and, within a topic, across difficulties and
            # within one difficulty's own events.
            rng.shuffle(events)
            await publish_shuffled(private_topics, events)
            report = await stack.verify(settle_timeout=300)
            print(f"seed {seed}: {len(events)} events; {report.summary().splitlines()[-1]}")
            assert report.ok and not report.unchecked, report.summary()
    finally:
        stack.stop()
