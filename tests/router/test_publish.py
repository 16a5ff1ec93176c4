"""What the router publishes for assignments (services/router/usecases.py), on every
path: new difficulties, escalations and re-assignments, replays."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from bench.common import difficulty
from services.router import logic, usecases
from shared import topics
from shared.events import (
    AgencyTask,
    AssignmentRole,
    Category,
    Contact,
    DifficultyAssigned,
    DifficultyReceived,
    Envelope,
    EventData,
    TaskDifficulty,
    ZoneType,
    decode,
    deterministic_id,
    encode_body,
    record_headers,
)
from shared.kafka import Message
from shared.provinces import ConfigHolder, ConfigSet

STATUS = "http://127.0.0.1:8001/"
NOW = datetime(2026, 11, 20, 3, 4, 5, 678901, tzinfo=UTC)


def varied(configs: ConfigSet) -> Iterator[DifficultyReceived]:
    """Difficulties across every shipped province: each registered zone (by name, type
    given or not), unknown and missing zones, every category, and members' areas."""
    n = 0
    for cfg in configs.values():
        p = cfg.province
        where = (p.province_code, p.name_vi, p.slug)
        areas: list[str | None] = [*sorted({a for m in cfg.task_force.members for a in m.areas})]
        areas = areas or [None]
        zones: list[tuple[ZoneType | None, str | None]] = [
            (z.type, z.name) for z in cfg.zones] + [(None, z.name) for z in cfg.zones[:3]]
        zones += [(ZoneType.NONE, None), (None, "KCN không có thật"), (None, None),
                  (ZoneType.KCN, "Khu chưa đăng ký")]
        for i, (zone_type, zone_name) in enumerate(zones):
            for category in list(Category)[i % 3::3]:
                n += 1
                base = difficulty(n, province=where)
                yield base.model_copy(update={
                    "zone_type": zone_type, "zone_name": zone_name, "category": category,
                    "ward": areas[n % len(areas)], "tracking_code": f"TG-W{n:07d}",
                })
    # A province without a configuration goes to the operators' triage queue.
    yield difficulty(n + 1, province=("01", "Lào Cai \"cũ\"", "lao-cai"))


@functools.cache
def shipped() -> ConfigSet:
    return ConfigHolder().current


def decided(configs: ConfigSet, d: DifficultyReceived) -> list[DifficultyAssigned]:
    return logic.decide(d, configs.for_difficulty(d.province_code, d.task_force),
                        config_version=configs.version, now=d.received_at)


SOURCE = "thaogo/router"


def as_emitted(topic: str, event_id: str, data: EventData, time: datetime) -> Message:
    """A message as `Emitter.emit` encodes it: the one way every service publishes."""
    env: Envelope[EventData] = Envelope(id=event_id, source=SOURCE, time=time, data=data)
    return Message(topic, data.key().encode(), encode_body(data), record_headers(env))


def test_each_assignment_and_each_agencys_task_as_of_the_assignment() -> None:
    configs = ConfigHolder().current
    for d in varied(configs):
        made = decided(configs, d)
        got = usecases.messages(made, d, status_base=STATUS, source=SOURCE)
        want: list[Message] = []
        for a in made:
            # Valid as published: the fast construction in logic skips validation.
            assert DifficultyAssigned.model_validate_json(a.model_dump_json()) == a
            # As of its receipt: a replay writes the same bytes.
            want.append(as_emitted(topics.DIFFICULTY_ASSIGNED, str(a.assignment_id), a,
                                   d.received_at))
            if a.role is not AssignmentRole.MEMBER:
                want.append(as_emitted(
                    topics.agency_topic(a.agency_id), deterministic_id(a.assignment_id, "task"),
                    AgencyTask.of(a, d, f"http://127.0.0.1:8001/v1/difficulties/"
                                        f"{d.difficulty_id}/status"), d.received_at))
        # Encoded in one piece, byte for byte what emitting each event would write.
        assert got == want
        for m in got:  # what the agencies and the projections decode
            model = AgencyTask if m.topic != topics.DIFFICULTY_ASSIGNED else DifficultyAssigned
            env = decode(model, m.value, m.headers)
            assert (env.source, env.time, env.subject) == (SOURCE, d.received_at,
                                                           str(d.difficulty_id))


@settings(deadline=None)  # the first example loads the shipped configuration
@given(st.text(max_size=40), st.text(max_size=40), st.sampled_from(
    ['"contact":', '"contact":{"name":', '\\"contact\\":null', '"}', '\\']))
def test_a_tasks_difficulty_is_the_difficulty_encoded_as_a_task(
        name: str, text: str, quoted: str) -> None:
    """With the contact or without, whatever the texts hold (the key quoted in them
    included), the spliced encoding is the model's."""
    configs = shipped()
    d = difficulty(7).model_copy(update={
        "contact": Contact(name=name + quoted, phone=quoted, email=text),
        "description": quoted + text, "title": text[:30] + quoted})
    for a in decided(configs, d):
        if a.role is AssignmentRole.MEMBER:
            continue
        task = AgencyTask.of(a, d, "http://x/\"s\"/status")
        assert AgencyTask.encode(encode_body(a), TaskDifficulty.encode(
            d, encode_body(d), with_contact=AgencyTask.carries_contact(a.role)),
            to_json("http://x/\"s\"/status")) == encode_body(task)


def test_a_replay_publishes_the_messages_first_published_and_open_tasks_only() -> None:
    configs = ConfigHolder().current
    d = next(iter(varied(configs)))
    made = decided(configs, d)
    first = usecases.messages(made, d, status_base=STATUS, source=SOURCE)
    open_ = {a.assignment_id for a in made if a.role is AssignmentRole.LEAD}
    # The difficulty as the router stores it and reads it back for the replay.
    stored = DifficultyReceived.model_validate_json(d.model_dump_json())
    again = usecases.messages(made, stored, status_base=STATUS, source=SOURCE, tasks=open_)
    assert again == [m for m in first if m.topic == topics.DIFFICULTY_ASSIGNED
                     or decode(AgencyTask, m.value, m.headers).data.assignment.assignment_id
                     in open_]
    assert len(again) == len(made) + len(open_)


def test_only_the_lead_agencys_task_carries_the_business_contact() -> None:
    """#20 item 7: co-handlers, central ministries and triage queues get the difficulty
    without the contact person's name, phone and e-mail."""
    configs = ConfigHolder().current
    person = Contact(name="Nguyễn Thị Lan", phone="0912 345 678", email="lan@cty-a.vn")
    ds = [d.model_copy(update={"contact": person}) for d in varied(configs)]
    made = {d.difficulty_id: decided(configs, d) for d in ds}
    d = ds[0]
    cfg = configs.for_difficulty(d.province_code, d.task_force)
    assert cfg is not None
    lead = next(a for a in made[d.difficulty_id] if a.role is AssignmentRole.LEAD)
    up = logic.escalate(lead, d.category, cfg, config_version=configs.version, now=NOW)
    published = [m for one in ds for m in usecases.messages(
        made[one.difficulty_id], one, status_base=STATUS, source=SOURCE)]
    published += usecases.messages([up], d, status_base=STATUS, source=SOURCE)
    roles: Counter[tuple[AssignmentRole, bool]] = Counter()
    for m in published:
        if m.topic == topics.DIFFICULTY_ASSIGNED:
            continue
        task = decode(AgencyTask, m.value, m.headers).data
        has = task.difficulty.contact is not None
        roles[task.assignment.role, has] += 1
        assert has == (task.assignment.role is AssignmentRole.LEAD), task.assignment
        assert m.value is not None
        assert has == any(p.encode() in m.value for p in (person.name, person.phone,
                                                          person.email))
    assert {r for r, _ in roles} == {AssignmentRole.LEAD, AssignmentRole.CO_HANDLER,
                                     AssignmentRole.TRIAGE, AssignmentRole.ESCALATION}
