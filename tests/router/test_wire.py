"""The router's hot path encodes new difficulties' assignments without pydantic models
(services/router/wire.py). What it writes must be exactly what the models would have
written, byte for byte, or agencies, notify and reporting would read something else."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.common import difficulty
from services.router import logic, store
from services.router.store import AssignmentRows, NewDifficulties
from services.router.wire import Encoded, Wire, task_body, uuid5_text
from shared import topics
from shared.events import (
    AgencyTask,
    AssignmentRole,
    Category,
    Contact,
    DifficultyAssigned,
    DifficultyReceived,
    Envelope,
    ZoneType,
    deterministic_id,
    encode_headers,
)
from shared.kafka import key_partitioner
from shared.provinces import ConfigHolder, ConfigSet
from shared.records import RecordBatches
from tests.conftest import read_back, record_batches

SOURCE = "thaogo/router"
STATUS = "http://127.0.0.1:8001"
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


def expected(a: DifficultyAssigned, d: DifficultyReceived) -> list[tuple[str, bytes, bytes,
                                                                         list[tuple[str, bytes]]]]:
    """What the model path publishes for one assignment: (topic, key, value, headers)."""
    env = Envelope(id=str(a.assignment_id), source=SOURCE, time=a.assigned_at, data=a)
    headers = encode_headers(env)
    out = [(topics.DIFFICULTY_ASSIGNED, a.key().encode(), a.model_dump_json().encode(),
            [(k, v.encode()) for k, v in headers.items()])]
    if a.role is not AssignmentRole.MEMBER:
        task = AgencyTask.of(a, d, f"{STATUS}/v1/difficulties/{d.difficulty_id}/status")
        task_headers = {**headers, "ce_id": deterministic_id(a.assignment_id, "task"),
                        "ce_type": AgencyTask.ce_type}
        out.append((topics.agency_topic(a.agency_id), task.key().encode(),
                    task.model_dump_json().encode(),
                    [(k, v.encode()) for k, v in task_headers.items()]))
    return out


PARTITIONS = 4


def into() -> RecordBatches:
    return record_batches(PARTITIONS)


Message = tuple[str, bytes, bytes, list[tuple[str, bytes]]]


def published(out: Encoded) -> list[Message]:
    """What consumers read, each message on its key's partition; by topic and key, in
    the order published (a key's messages keep their order on its partition)."""
    got: list[Message] = []
    for topic, partition, key, value, headers in read_back(out.records):
        assert partition == key_partitioner(key, range(PARTITIONS), range(PARTITIONS))
        got.append((topic, key or b"", value or b"", headers))
    return by_key(got)


def by_key(messages: list[Message]) -> list[Message]:
    return sorted(messages, key=lambda m: (m[0], m[1]))  # stable: the order within a key


def columns(rows: AssignmentRows) -> dict[str, list[object]]:
    return {f.name: [str(v) if isinstance(v, uuid.UUID) else v for v in getattr(rows, f.name)]
            for f in dataclasses.fields(rows)}


def expanded(new: NewDifficulties) -> AssignmentRows:
    """The batch's assignments as one row each, their positions followed."""
    rows = AssignmentRows()
    for aid, di, k in zip(new.assignment_id, new.of_difficulty, new.of_step, strict=True):
        d, s = di - 1, k - 1
        row = {
            "assignment_id": aid.decode(), "difficulty_id": new.difficulty_id[d],
            "tracking_code": new.tracking_code[d], "province_code": new.province_code[d],
            "agency_id": new.agency_id[s], "member_id": new.member_id[s],
            "role": new.role[s], "level": new.level[s], "rule": new.rule[s],
            "reason": new.reason[s], "config_version": new.config_version, "replaces": None,
            "urgency": new.urgency[d], "kind": new.kind[d], "category": new.category[d],
            "zone_type": new.zone_type[d] or None, "assigned_at": new.received_at[d],
        }
        assert list(row) == [f.name for f in dataclasses.fields(rows)]
        for name, value in row.items():
            getattr(rows, name).append(value)
    return rows


def test_new_difficulties_are_encoded_as_the_models_would_be() -> None:
    configs = ConfigHolder().current
    ds = list(varied(configs))
    routes = [logic.route(d, configs.for_difficulty(d.province_code, d.task_force)) for d in ds]
    out = Wire(source=SOURCE, status_url=STATUS + "/").new_difficulties(
        ds, routes, into=into(), config_version=configs.version)

    models = [a for d in ds for a in logic.decide(
        d, configs.for_difficulty(d.province_code, d.task_force),
        config_version=configs.version, now=d.received_at)]
    by_id = {d.difficulty_id: d for d in ds}
    assert published(out) == by_key(
        [m for a in models for m in expected(a, by_id[a.difficulty_id])])
    assert out.new is not None and not len(out.rows)
    assert columns(expanded(out.new)) == columns(AssignmentRows.of(models))
    assert out.new.difficulty_json == [d.model_dump_json().encode() for d in ds]
    assert out.new.difficulty_id == [str(d.difficulty_id) for d in ds]
    assert out.new.received_at == [d.received_at for d in ds]
    assert out.new.task_force == [d.task_force or "" for d in ds]
    assert out.new.province_code == [d.province_code for d in ds]
    # Each step is sent once: positions, not copies.
    steps = list(zip(out.new.agency_id, out.new.member_id, out.new.role, out.new.level,
                     out.new.rule, out.new.reason, strict=True))
    assert len(steps) == len(set(steps))
    assert out.counted == Counter((a.agency_id, a.rule.split(".")[0], a.role.value)
                                  for a in models)
    assert out.triage == Counter(a.rule.rsplit(".", 1)[-1] for a in models
                                 if a.role is AssignmentRole.TRIAGE)
    # The sample covers what the encoder distinguishes.
    assert {a.role for a in models} == set(AssignmentRole) - {AssignmentRole.ESCALATION}
    assert {a.zone_type for a in models} >= set(ZoneType) | {None}
    assert any(a.member_id for a in models) and any(a.agency_id == logic.UNCONFIGURED_TRIAGE
                                                   for a in models)
    for topic, _, value, _ in published(out):  # and every message decodes as its model
        model = AgencyTask if topic.startswith("agency.") else DifficultyAssigned
        model.model_validate_json(value or b"")


def test_assignments_made_as_models_are_encoded_the_same_way() -> None:
    configs = ConfigHolder().current
    d = difficulty(3)
    cfg = configs.for_difficulty(d.province_code, d.task_force)
    assert cfg is not None
    lead = logic.decide(d, cfg, config_version=configs.version, now=NOW)[0]
    up = logic.escalate(lead, d.category, cfg, config_version=configs.version, now=NOW,
                        note='"khẩn"\n')
    out = Wire(source=SOURCE, status_url=STATUS).assignments([up], d, into=into())
    assert published(out) == by_key(expected(up, d))
    assert columns(out.rows) == columns(AssignmentRows.of([up]))
    assert out.new is None


def test_replayed_assignments_are_the_messages_first_published() -> None:
    """A broker that lost its messages gets them back from the router's rows
    (thaogo/rebuild.py): the same ids, keys, bodies and headers, tasks only of the open
    assignments."""
    configs = ConfigHolder().current
    ds = list(varied(configs))
    routes = [logic.route(d, configs.for_difficulty(d.province_code, d.task_force)) for d in ds]
    wire = Wire(source=SOURCE, status_url=STATUS)
    first = published(wire.new_difficulties(ds, routes, into=into(),
                                            config_version=configs.version))
    models = [a for d in ds for a in logic.decide(
        d, configs.for_difficulty(d.province_code, d.task_force),
        config_version=configs.version, now=d.received_at)]
    replayed = into()
    counts: Counter[str] = Counter()
    for d in ds:
        counts += wire.replay([a for a in models if a.difficulty_id == d.difficulty_id],
                              d.model_dump_json().encode(),
                              tasks={a.assignment_id for a in models}, into=replayed)
    again = published(Encoded(replayed))
    assert again == first
    assert counts == Counter(m[0] for m in first)

    # Closed or replaced: the assignment again, its task not.
    closed = into()
    wire.replay([a for a in models if a.difficulty_id == ds[0].difficulty_id],
                ds[0].model_dump_json().encode(), tasks=set(), into=closed)
    assert {m[0] for m in published(Encoded(closed))} == {topics.DIFFICULTY_ASSIGNED}


@pytest.mark.parametrize("status_url", [
    "http://127.0.0.1:8001/v1/difficulties/x/status",
    "https://một-cửa.example.vn/v1/difficulties/\"quoted\"\\/status",
])
def test_a_spliced_task_is_byte_for_byte_the_models_json(status_url: str) -> None:
    from pydantic_core import to_json

    configs = ConfigHolder().current
    for n in range(8):  # every zone type, several categories
        d = difficulty(n)
        decided = logic.decide(d, configs.for_difficulty(d.province_code, d.task_force),
                               config_version=configs.version, now=datetime.now(UTC))
        for a in decided:
            task = AgencyTask.of(a, d, status_url)
            spliced = task_body(a.model_dump_json().encode(),
                                task.difficulty.model_dump_json().encode(), to_json(status_url))
            assert spliced == task.model_dump_json().encode()


@given(st.lists(st.one_of(st.text(), st.none(), st.uuids()), min_size=1, max_size=5))
def test_uuid5_text_is_the_shared_deterministic_id(parts: list[object]) -> None:
    name = "|".join(str(p) for p in parts).encode()
    assert uuid5_text(name).decode() == deterministic_id(*parts)


@pytest.mark.parametrize("parts", [
    ("3f0c6a1e-9a53-4d6e-8f0e-2f4b8f1c0a11", "lead", "binh-duong.bql-kcn", None, None),
    ("3f0c6a1e-9a53-4d6e-8f0e-2f4b8f1c0a11", "member", "binh-duong.to-cong-tac", "thành-viên-1",
     uuid.UUID("6f1c2f0e-5b0a-4e53-9a43-3c1d1f0a7b11")),
])
def test_assignment_ids_are_the_shared_deterministic_ids(parts: tuple[object, ...]) -> None:
    assert str(logic.assignment_uuid(*parts)) == deterministic_id(*parts)


def test_documents_travel_as_one_value_split_on_a_byte_json_text_never_holds() -> None:
    assert store._documents([b'{"a":1}', b'{"b":"x"}']) == b'{"a":1}\x1e{"b":"x"}'
    assert store._documents([]) == b""  # read back as no rows, not one empty one
    with pytest.raises(ValueError, match="separator"):
        store._documents([b'{"a":"\x1e"}'], check=True)


def test_a_difficulty_is_forwarded_as_it_arrived() -> None:
    """The body that validated is what agencies get and what is stored, as it came (here
    with other spacing than pydantic's); without one, the model is serialised."""
    configs = ConfigHolder().current
    ds = [difficulty(1), difficulty(2)]
    routes = [logic.route(d, configs.for_difficulty(d.province_code, d.task_force)) for d in ds]
    arrived = ds[0].model_dump_json().encode().replace(b'":', b'": ')
    assert DifficultyReceived.model_validate_json(arrived) == ds[0]
    out = Wire(source=SOURCE, status_url=STATUS).new_difficulties(
        ds, routes, into=into(), config_version=configs.version,
        bodies=[arrived, None])
    assert out.new is not None
    assert out.new.difficulty_json == [arrived, ds[1].model_dump_json().encode()]
    tasks = [(key, AgencyTask.model_validate_json(value or b""), value or b"")
             for topic, key, value, _ in published(out) if topic.startswith("agency.")]
    # The lead's task forwards the body as it came; the others' are without the contact.
    assert tasks and all(
        (arrived in value) == (key == str(ds[0].difficulty_id).encode()
                               and task.assignment.role is AssignmentRole.LEAD)
        for key, task, value in tasks)
    for _, task, _ in tasks:
        full = next(d for d in ds if d.difficulty_id == task.difficulty.difficulty_id)
        assert task.difficulty == AgencyTask.of(task.assignment, full, "").difficulty


def test_only_the_lead_agencys_task_carries_the_business_contact() -> None:
    """#20 item 7: co-handlers, central ministries and triage queues get the difficulty
    without the contact person's name, phone and e-mail; on every path the router
    publishes tasks by (new difficulties, assignments made as models, replays)."""
    configs = ConfigHolder().current
    person = Contact(name="Nguyễn Thị Lan", phone="0912 345 678", email="lan@cty-a.vn")
    ds = [d.model_copy(update={"contact": person}) for d in varied(configs)]
    routes = [logic.route(d, configs.for_difficulty(d.province_code, d.task_force)) for d in ds]
    wire = Wire(source=SOURCE, status_url=STATUS)
    models = [a for d in ds for a in logic.decide(
        d, configs.for_difficulty(d.province_code, d.task_force),
        config_version=configs.version, now=d.received_at)]
    d = ds[0]
    cfg = configs.for_difficulty(d.province_code, d.task_force)
    assert cfg is not None
    lead = next(a for a in models if a.difficulty_id == d.difficulty_id
                and a.role is AssignmentRole.LEAD)
    up = logic.escalate(lead, d.category, cfg, config_version=configs.version, now=NOW)
    replayed = into()
    for one in ds:
        wire.replay([a for a in models if a.difficulty_id == one.difficulty_id],
                    one.model_dump_json().encode(), tasks={a.assignment_id for a in models},
                    into=replayed)
    paths = [wire.new_difficulties(ds, routes, into=into(), config_version=configs.version),
             wire.assignments([up], d, into=into()), Encoded(replayed)]
    by_id = {one.difficulty_id: one for one in ds}
    roles: Counter[tuple[AssignmentRole, bool]] = Counter()
    for out in paths:
        for topic, _, value, _ in published(out):
            if topic.startswith("agency."):
                task = AgencyTask.model_validate_json(value)
                has = task.difficulty.contact is not None
                roles[task.assignment.role, has] += 1
                assert has == (task.assignment.role is AssignmentRole.LEAD), task.assignment
                contact = by_id[task.difficulty.difficulty_id].contact
                personal = [contact.name, contact.phone, contact.email]
                assert has == any(p is not None and p.encode() in value for p in personal)
    assert {r for r, _ in roles} == {AssignmentRole.LEAD, AssignmentRole.CO_HANDLER,
                                     AssignmentRole.TRIAGE, AssignmentRole.ESCALATION}
