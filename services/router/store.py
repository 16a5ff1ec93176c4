"""The router's SQL. Keyword-only functions over an asyncpg connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from shared.events import DifficultyAssigned, DifficultyReceived


async def already_processed(conn: asyncpg.Connection, *, event_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT event_id FROM processed_events WHERE event_id = ANY($1::text[])", list(event_ids)
    )
    return {r["event_id"] for r in rows}


async def mark_processed(conn: asyncpg.Connection, *, event_ids: Iterable[str], topic: str) -> None:
    await conn.execute(
        "INSERT INTO processed_events (event_id, topic) SELECT unnest($1::text[]), $2"
        " ON CONFLICT DO NOTHING",
        list(event_ids), topic,
    )


@dataclass
class NewDifficulties:
    """A batch of new difficulties and their assignments, shaped for `save_new_difficulties`:
    what repeats is sent once. An assignment names its difficulty and its routing step by
    position (1-based) in this batch's lists; each kind of document travels as one value,
    not one array element a document. asyncpg encodes an array element by element,
    at about a microsecond each, and a thousand difficulties make some 34,000 elements as
    plain columns: 25 ms of the router's CPU a batch (measured), against about 4 here."""

    assigned_at: datetime  # of every assignment: they are decided together
    difficulty_id: list[str] = field(default_factory=list)
    province_code: list[str] = field(default_factory=list)
    task_force: list[str | None] = field(default_factory=list)
    received_at: list[datetime] = field(default_factory=list)
    difficulty_json: list[bytes] = field(default_factory=list)
    # The routing steps used, one entry each.
    agency_id: list[str] = field(default_factory=list)
    member_id: list[str | None] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    rule: list[str] = field(default_factory=list)
    # The assignments.
    assignment_id: list[str] = field(default_factory=list)
    of_difficulty: list[int] = field(default_factory=list)
    of_step: list[int] = field(default_factory=list)
    assignment_json: list[bytes] = field(default_factory=list)

    def add_difficulty(self, d: DifficultyReceived, difficulty_id: str, json: bytes) -> int:
        """Returns its position, for `add_assignment`."""
        self.difficulty_id.append(difficulty_id)
        self.province_code.append(d.province_code)
        self.task_force.append(d.task_force)
        self.received_at.append(d.received_at)
        self.difficulty_json.append(json)
        return len(self.difficulty_id)

    def add_step(self, agency_id: str, member_id: str | None, role: str, level: str,
                 rule: str) -> int:
        """Returns its position, for `add_assignment`."""
        self.agency_id.append(agency_id)
        self.member_id.append(member_id)
        self.role.append(role)
        self.level.append(level)
        self.rule.append(rule)
        return len(self.agency_id)

    def add_assignment(self, assignment_id: str, of_difficulty: int, of_step: int,
                       json: bytes) -> None:
        self.assignment_id.append(assignment_id)
        self.of_difficulty.append(of_difficulty)
        self.of_step.append(of_step)
        self.assignment_json.append(json)

    def __len__(self) -> int:
        return len(self.difficulty_id)


# Between documents sent as one value. JSON text never holds this byte unescaped (control
# characters must be escaped in strings, and it is not whitespace), so the server splits
# them apart without parsing them.
_SEPARATOR = b"\x1e"


def _documents(documents: list[bytes], *, check: bool = False) -> bytes:
    """One value for many documents; none is empty (read back as no rows). `check`:
    refuse documents that hold the separator (they would not be JSON text), for
    documents that came from outside (though they have validated as JSON already)."""
    joined = _SEPARATOR.join(documents)
    if check and documents and joined.count(_SEPARATOR) != len(documents) - 1:
        raise ValueError("a document is not JSON text: it holds the separator byte")
    return joined


def _split(parameter: str) -> str:
    """SQL: the documents of a `_documents` parameter, one row each."""
    return f"string_to_table(NULLIF(convert_from({parameter}::bytea, 'UTF8'), ''), E'\\x1e')"


async def save_new_difficulties(
    conn: asyncpg.Connection, *, batch: NewDifficulties, event_ids: Sequence[str], topic: str,
) -> None:
    """Store new difficulties, their assignments and the events they came from as
    processed, in one statement: one round trip while the broker takes the messages.
    The documents are stored as text, as sent: PostgreSQL splits them apart and never
    parses them (they are the router's own encoding, or bodies that validated)."""
    b = batch
    await conn.execute(
        "WITH d AS ("
        " INSERT INTO difficulties (difficulty_id, province_code, task_force, payload,"
        " received_at)"
        " SELECT i, p, t, j, r FROM ROWS FROM (unnest($1::uuid[]), unnest($2::text[]),"
        f" unnest($3::text[]), {_split('$4')},"
        " unnest($5::timestamptz[])) AS u(i, p, t, j, r)"
        " ON CONFLICT (difficulty_id) DO NOTHING),"
        " a AS ("
        " INSERT INTO assignments (assignment_id, difficulty_id, agency_id, member_id, role,"
        " level, rule, payload, assigned_at)"
        " SELECT u.i, ($1::uuid[])[u.d], s.ag, s.m, s.ro, s.l, s.ru, u.j, $15"
        " FROM ROWS FROM (unnest($6::uuid[]), unnest($7::int4[]), unnest($8::int4[]),"
        f" {_split('$9')}) AS u(i, d, k, j)"
        " JOIN ROWS FROM (unnest($10::text[]), unnest($11::text[]), unnest($12::text[]),"
        " unnest($13::text[]), unnest($14::text[])) WITH ORDINALITY AS s(ag, m, ro, l, ru, k)"
        " ON s.k = u.k"
        " ON CONFLICT (assignment_id) DO NOTHING)"
        " INSERT INTO processed_events (event_id, topic) SELECT unnest($16::text[]), $17"
        " ON CONFLICT DO NOTHING",
        b.difficulty_id, b.province_code, b.task_force, _documents(b.difficulty_json, check=True),
        b.received_at,
        b.assignment_id, b.of_difficulty, b.of_step, _documents(b.assignment_json),
        b.agency_id, b.member_id, b.role, b.level, b.rule, b.assigned_at,
        list(event_ids), topic,
    )


@dataclass
class AssignmentRows:
    """Assignments column by column, as the INSERT takes them (one array a column)."""

    assignment_id: list[str | uuid.UUID] = field(default_factory=list)
    difficulty_id: list[str | uuid.UUID] = field(default_factory=list)
    agency_id: list[str] = field(default_factory=list)
    member_id: list[str | None] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    rule: list[str] = field(default_factory=list)
    replaces: list[str | uuid.UUID | None] = field(default_factory=list)
    payload: list[str] = field(default_factory=list)
    assigned_at: list[datetime] = field(default_factory=list)

    def add(
        self, assignment_id: str | uuid.UUID, difficulty_id: str | uuid.UUID, agency_id: str,
        member_id: str | None, role: str, level: str, rule: str,
        replaces: str | uuid.UUID | None, payload: str, assigned_at: datetime,
    ) -> None:
        self.assignment_id.append(assignment_id)
        self.difficulty_id.append(difficulty_id)
        self.agency_id.append(agency_id)
        self.member_id.append(member_id)
        self.role.append(role)
        self.level.append(level)
        self.rule.append(rule)
        self.replaces.append(replaces)
        self.payload.append(payload)
        self.assigned_at.append(assigned_at)

    @classmethod
    def of(cls, assignments: Iterable[DifficultyAssigned]) -> AssignmentRows:
        rows = cls()
        for a in assignments:
            rows.add(a.assignment_id, a.difficulty_id, a.agency_id, a.member_id, a.role.value,
                     a.agency_level.value, a.rule, a.replaces, a.model_dump_json(),
                     a.assigned_at)
        return rows

    def __len__(self) -> int:
        return len(self.assignment_id)


async def save_assignments(
    conn: asyncpg.Connection, *, assignments: Sequence[DifficultyAssigned]
) -> None:
    await save_assignment_rows(conn, rows=AssignmentRows.of(assignments))


async def save_assignment_rows(conn: asyncpg.Connection, *, rows: AssignmentRows) -> None:
    """Insert assignments, deactivating those they replace. Column arrays rather than
    one JSON document that PostgreSQL would take apart: less CPU on both sides together
    (measured: client 43 + server 76 ms a thousand difficulties, against 12 + 116)."""
    superseded = [r for r in rows.replaces if r is not None]
    if superseded:
        await conn.execute(
            "UPDATE assignments SET active = false WHERE assignment_id = ANY($1::uuid[])",
            superseded,
        )
    r = rows
    await conn.execute(
        "INSERT INTO assignments (assignment_id, difficulty_id, agency_id, member_id, role, level,"
        " rule, replaces, payload, assigned_at)"
        " SELECT i, d, ag, m, ro, l, ru, rp, j, t FROM unnest($1::uuid[], $2::uuid[],"
        " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::text[],"
        " $10::timestamptz[]) AS u(i, d, ag, m, ro, l, ru, rp, j, t)"
        " ON CONFLICT (assignment_id) DO NOTHING",
        r.assignment_id, r.difficulty_id, r.agency_id, r.member_id, r.role, r.level, r.rule,
        r.replaces, r.payload, r.assigned_at,
    )


async def load_difficulty(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> DifficultyReceived | None:
    payload = await conn.fetchval(
        "SELECT payload FROM difficulties WHERE difficulty_id = $1", difficulty_id
    )
    return DifficultyReceived.model_validate_json(payload) if payload is not None else None


async def active_assignments(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> list[DifficultyAssigned]:
    rows = await conn.fetch(
        "SELECT payload FROM assignments WHERE difficulty_id = $1 AND active"
        " ORDER BY assigned_at",
        difficulty_id,
    )
    return [DifficultyAssigned.model_validate_json(r["payload"]) for r in rows]
