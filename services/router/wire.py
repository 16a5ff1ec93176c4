"""What the router publishes and stores, encoded: routing steps straight to bytes.

`logic.decide` makes pydantic models, which is what escalation, re-assignment and
membership changes use. For new difficulties, the bulk of the traffic, the router
skips them: building three or four models a difficulty, serialising each, wrapping it
in an envelope and turning that into a header map, then the same again for its agency
task, was over half of the router's CPU (measured, bench/router.py). Here a routing
step's JSON is rendered once per configuration version, a difficulty's once, and each
assignment is those pieces joined around its id; headers are built as the byte pairs
the Kafka client sends.

tests/router/test_wire.py holds every byte to what `DifficultyAssigned`,
`AgencyTask` and `shared.events.encode_headers` would write, for every step of every
shipped configuration, so the two paths cannot drift apart.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from pydantic_core import from_json, to_json

from services.router.logic import Route, Step
from services.router.store import AssignmentRows, NewDifficulties
from shared import records, topics
from shared.events import (
    EVENT_ID_NAMESPACE,
    SPEC_VERSION,
    AgencyTask,
    AssignmentRole,
    DifficultyAssigned,
    DifficultyReceived,
    ZoneType,
)
from shared.records import RecordBatches

_NAMESPACE = EVENT_ID_NAMESPACE.bytes
_HASHED_NAMESPACE = hashlib.sha1(_NAMESPACE)
_ASSIGNED_TOPIC = topics.DIFFICULTY_ASSIGNED
# A message's headers, as `shared.events.encode_headers` orders them, encoded: what
# every message shares once, around the ids (always 36 characters) that differ.
_ID_LENGTH = 36
_HEADERS_START = b"".join((records.length(7),
                           records.header("ce_specversion", SPEC_VERSION.encode()),
                           records.header_name("ce_id", _ID_LENGTH)))
_ASSIGNED_TYPE = records.header("ce_type", DifficultyAssigned.ce_type.encode())
_TASK_TYPE = records.header("ce_type", AgencyTask.ce_type.encode())
_SUBJECT = records.header_name("ce_subject", _ID_LENGTH)
_HEADERS_END = records.header("content-type", b"application/json")
_STEP_CACHE_MAX = 50_000


def uuid5_text(name: bytes) -> bytes:
    """`str(uuid.uuid5(EVENT_ID_NAMESPACE, name))` as bytes, without the UUID object:
    `shared.events.deterministic_id` of the same parts, joined by "|"."""
    sha1 = _HASHED_NAMESPACE.copy()  # the namespace's share of the hash, done once
    sha1.update(name)
    h = sha1.hexdigest()
    # Version 5 in the 13th hex digit, the RFC 4122 variant (10xx) in the 17th.
    return (f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
            ).encode()


_VARIANT = {c: "89ab"[int(c, 16) & 0x3] for c in "0123456789abcdef"}


def task_body(assignment_json: bytes, difficulty_json: bytes, status_url_json: bytes) -> bytes:
    """An `AgencyTask` body from its parts' JSON, byte for byte what pydantic writes."""
    return b"".join((b'{"assignment":', assignment_json, b',"difficulty":', difficulty_json,
                     b',"status_url":', status_url_json, b"}"))


def _json(value: object) -> bytes:
    return to_json(value)


class _InTask:
    """A difficulty's JSON as its agencies' tasks carry it: whole in the lead's, without
    the business's contact in the others (`AgencyTask.carries_contact`). The second form
    is made at most once a difficulty, and only when a task needs it."""

    __slots__ = ("_without", "whole")

    def __init__(self, whole: bytes) -> None:
        self.whole = whole
        self._without: bytes | None = None

    def json(self, with_contact: bool) -> bytes:
        if with_contact:
            return self.whole
        if self._without is None:
            # Parsed and written again keeps the members' order: pydantic's bytes with
            # "contact":null, as `TaskDifficulty` would write them.
            fields = from_json(self.whole)
            fields["contact"] = None
            self._without = to_json(fields)
        return self._without


@dataclass(frozen=True, slots=True)
class _StepWire:
    """A routing step under one configuration version, rendered once."""

    id_suffix: bytes  # what follows the difficulty id in the assignment id's name
    fields: bytes  # the JSON members from "agency_id" to "replaces"
    task_topic: str | None  # the agency's topic; None for a member (notify tells people)
    with_contact: bool  # its task carries the business's contact (the lead's only)
    labels: tuple[str, str, str]  # thaogo_router_assignments_total{agency,rule_kind,role}
    triage_reason: str | None
    row: tuple[str, str | None, str, str, str, str]  # agency, member, role, level, rule, reason


@dataclass
class Encoded:
    """One batch of decisions, ready for the producer (`records`) and the database: new
    difficulties in `new`, assignments made as models (escalation, re-assignment) in
    `rows`."""

    records: RecordBatches
    new: NewDifficulties | None = None
    rows: AssignmentRows = field(default_factory=AssignmentRows)
    counted: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    triage: Counter[str] = field(default_factory=Counter)


class Wire:
    """Encodes routing decisions; one per router, its caches live as long as it does."""

    def __init__(self, *, source: str, status_url: str) -> None:
        self._source = records.header("ce_source", source.encode())
        self._status_url = status_url.rstrip("/")
        self._steps: dict[tuple[Step, str], _StepWire] = {}
        self._enums: dict[Enum, bytes] = {}

    def new_difficulties(
        self,
        difficulties: Sequence[DifficultyReceived],
        routes: Sequence[Route],
        *,
        into: RecordBatches,
        config_version: str,
        bodies: Sequence[bytes | None] | None = None,
    ) -> Encoded:
        """The assignments of new difficulties (`logic.route` of each), encoded. `bodies`:
        each difficulty's JSON as it arrived, if known (it validated as the difficulty,
        so it is forwarded and stored as is: serialising it again was 4% of the
        router's CPU, measured). A new difficulty's assignments are made, and published,
        as of its receipt (`received_at`), not of this call: routing it again after a
        commit lost with the broker's answer writes the same bytes the consumers already
        hold, and a replay (`replay`) the same headers."""
        new = NewDifficulties(config_version=config_version)
        out = Encoded(into, new=new)
        version = _json(config_version)
        # Per batch: the JSON after "replaces" by (urgency, kind, category, zone type),
        # keyed by identity (enum members are singletons, and hashing one by value is a
        # Python call); and by route, its steps rendered with their positions in `new`
        # (routes are memoised, so a batch holds a few step tuples many times over, and a
        # step's hash is a Python call over its fields), and how many difficulties took it.
        tails: dict[tuple[int, int, int, int], bytes] = {}
        positions: dict[tuple[str, str | None, str, str, str, str], int] = {}
        placed: dict[int, list[tuple[_StepWire, int]]] = {}
        taken: Counter[int] = Counter()
        for i, (d, (zone_type, steps)) in enumerate(zip(difficulties, routes, strict=True)):
            did = str(d.difficulty_id)
            did_b = did.encode()
            head = b"".join((b'","difficulty_id":"', did_b, b'","tracking_code":',
                             _json(d.tracking_code), b',"province_code":',
                             _json(d.province_code), b","))
            shape = (id(d.urgency), id(d.kind), id(d.category), id(zone_type))
            shaped = tails.get(shape)
            if shaped is None:
                shaped = tails[shape] = self._tail(d, zone_type)
            tail = b"".join((shaped, _json(d.received_at), b"}"))
            shared = self._shared_headers(d.received_at)
            difficulty_json = (bodies[i] if bodies is not None else None
                               ) or d.model_dump_json().encode()
            of_difficulty = new.add_difficulty(d, did, difficulty_json, zone_type)
            url = _json(f"{self._status_url}/v1/difficulties/{did}/status")
            route = placed.get(id(steps))
            if route is None:
                route = placed[id(steps)] = [
                    self._place(step, config_version, version, new, positions) for step in steps]
            taken[id(steps)] += 1
            in_task = _InTask(difficulty_json)
            for sw, of_step in route:
                aid = uuid5_text(did_b + sw.id_suffix)
                body = b"".join((b'{"assignment_id":"', aid, head, sw.fields, tail))
                self._queue(into, aid, did_b, body, shared, sw.task_topic,
                            in_task.json(sw.with_contact), url)
                new.add_assignment(aid, of_difficulty, of_step)
        for route_id, route in placed.items():
            n = taken[route_id]
            for sw, _ in route:
                out.counted[sw.labels] += n
                if sw.triage_reason is not None:
                    out.triage[sw.triage_reason] += n
        return out

    def _place(
        self, step: Step, config_version: str, version_json: bytes, new: NewDifficulties,
        positions: dict[tuple[str, str | None, str, str, str, str], int],
    ) -> tuple[_StepWire, int]:
        """A step rendered, and its position in `new` (added there the first time)."""
        sw = self._step(step, config_version, version_json)
        of_step = positions.get(sw.row)
        if of_step is None:
            of_step = positions[sw.row] = new.add_step(*sw.row)
        return sw, of_step

    def _tail(self, d: DifficultyReceived, zone_type: ZoneType | None) -> bytes:
        """The JSON after "replaces", up to the value of "assigned_at"."""
        enum = self._enum
        return b"".join((b',"replaces":null,"urgency":', enum(d.urgency), b',"kind":',
                         enum(d.kind), b',"category":', enum(d.category), b',"zone_type":',
                         enum(zone_type) if zone_type else b"null", b',"assigned_at":'))

    def assignments(
        self, assignments: Sequence[DifficultyAssigned], difficulty: DifficultyReceived,
        *, into: RecordBatches,
    ) -> Encoded:
        """Assignments made as models (escalation, re-assignment) of one difficulty, each
        published as of its `assigned_at`, as `replay` publishes it again."""
        out = Encoded(into)
        in_task = _InTask(difficulty.model_dump_json().encode())
        did = str(difficulty.difficulty_id)
        url = _json(f"{self._status_url}/v1/difficulties/{did}/status")
        for a in assignments:
            body = a.model_dump_json().encode()
            task_topic = (None if a.role is AssignmentRole.MEMBER
                          else topics.agency_topic(a.agency_id))
            self._queue(into, str(a.assignment_id).encode(), did.encode(), body,
                        self._shared_headers(a.assigned_at), task_topic,
                        in_task.json(AgencyTask.carries_contact(a.role)), url)
            out.counted[_labels(a.agency_id, a.rule, a.role)] += 1
            if a.role is AssignmentRole.TRIAGE:
                out.triage[a.rule.rsplit(".", 1)[-1]] += 1
        out.rows = AssignmentRows.of(assignments)
        return out

    def replay(
        self, assignments: Sequence[DifficultyAssigned], difficulty_json: bytes, *,
        tasks: Container[uuid.UUID], into: RecordBatches,
    ) -> Counter[str]:
        """Assignments of one difficulty published before, encoded again as they were:
        the same event ids, keys and bodies, the time each was assigned (what it was
        published with), and the task of those in `tasks` (the open ones) on its
        agency's topic; for a broker that lost them. Returns the messages by topic."""
        counts: Counter[str] = Counter()
        in_task = _InTask(difficulty_json)
        for a in assignments:
            did = str(a.difficulty_id)
            task_topic = (topics.agency_topic(a.agency_id)
                          if a.assignment_id in tasks and a.role is not AssignmentRole.MEMBER
                          else None)
            self._queue(into, str(a.assignment_id).encode(), did.encode(),
                        a.model_dump_json().encode(), self._shared_headers(a.assigned_at),
                        task_topic, in_task.json(AgencyTask.carries_contact(a.role)),
                        _json(f"{self._status_url}/v1/difficulties/{did}/status"))
            counts[_ASSIGNED_TOPIC] += 1
            if task_topic is not None:
                counts[task_topic] += 1
        return counts

    def _shared_headers(self, now: datetime) -> tuple[bytes, bytes]:
        """The headers between the id and the subject, of an assignment and of a task:
        the same for every message of a batch."""
        time_header = records.header("ce_time", now.isoformat().encode())
        return (b"".join((self._source, _ASSIGNED_TYPE, time_header)),
                b"".join((self._source, _TASK_TYPE, time_header)))

    @staticmethod
    def _queue(
        into: RecordBatches, aid: bytes, did: bytes, body: bytes, shared: tuple[bytes, bytes],
        task_topic: str | None, difficulty_json: bytes, status_url: bytes,
    ) -> None:
        into.add(_ASSIGNED_TOPIC, did, body, b"".join((
            _HEADERS_START, aid, shared[0], _SUBJECT, did, _HEADERS_END)))
        if task_topic is not None:
            # The task's subject is the same difficulty; only its id and type differ.
            into.add(task_topic, did, task_body(body, difficulty_json, status_url), b"".join((
                _HEADERS_START, uuid5_text(aid + b"|task"), shared[1], _SUBJECT, did,
                _HEADERS_END)))

    def _step(self, step: Step, config_version: str, version_json: bytes) -> _StepWire:
        key = (step, config_version)
        sw = self._steps.get(key)
        if sw is None:
            if len(self._steps) >= _STEP_CACHE_MAX:
                self._steps.clear()  # configurations changed many times over
            sw = self._steps[key] = _StepWire(
                id_suffix=f"|{step.role.value}|{step.agency_id}|{step.member_id}|None".encode(),
                fields=b"".join((
                    b'"agency_id":', _json(step.agency_id),
                    b',"agency_level":', _json(step.agency_level),
                    b',"role":', _json(step.role),
                    b',"member_id":', _json(step.member_id),
                    b',"rule":', _json(step.rule),
                    b',"reason":', _json(step.reason),
                    b',"config_version":', version_json)),
                task_topic=(None if step.role is AssignmentRole.MEMBER
                            else topics.agency_topic(step.agency_id)),
                with_contact=AgencyTask.carries_contact(step.role),
                labels=_labels(step.agency_id, step.rule, step.role),
                triage_reason=(step.rule.rsplit(".", 1)[-1]
                               if step.role is AssignmentRole.TRIAGE else None),
                row=(step.agency_id, step.member_id, step.role.value, step.agency_level.value,
                     step.rule, step.reason),
            )
        return sw

    def _enum(self, value: Enum) -> bytes:
        b = self._enums.get(value)
        if b is None:
            b = self._enums[value] = _json(value)
        return b


def _labels(agency_id: str, rule: str, role: AssignmentRole) -> tuple[str, str, str]:
    return (agency_id, rule.split(".")[0], role.value)


__all__ = ["Encoded", "Wire", "task_body", "uuid5_text"]
