"""The router's SQL. Keyword-only functions over an asyncpg connection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from shared.deadlines import CLOSED
from shared.events import (
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    ZoneType,
)


async def already_stored(conn: asyncpg.Connection, *, difficulty_ids: Sequence[str]) -> set[str]:
    """The difficulties of these that are stored already, with their assignments."""
    rows = await conn.fetch(
        "SELECT difficulty_id::text FROM difficulties WHERE difficulty_id ="
        " ANY(string_to_array(convert_from($1::bytea, 'UTF8'), E'\\x1e')::uuid[])",
        _joined(difficulty_ids),
    )
    return {r[0] for r in rows}


@dataclass
class NewDifficulties:
    """A batch of new difficulties and their assignments, shaped for `save_new_difficulties`:
    what repeats is sent once. An assignment names its difficulty and its routing step by
    position (1-based) in this batch's lists. Many values travel joined into one
    (`_joined`), not as one array element each: asyncpg encodes an array element by
    element, at about a microsecond each, and a thousand difficulties have some 3,400
    assignments."""

    config_version: str  # of every assignment: one configuration decided them
    difficulty_id: list[str] = field(default_factory=list)
    province_code: list[str] = field(default_factory=list)
    task_force: list[str] = field(default_factory=list)  # "" for none
    received_at: list[datetime] = field(default_factory=list)
    difficulty_json: list[bytes] = field(default_factory=list)
    # What each difficulty's assignments copy from it (zone_type: the one routed on).
    tracking_code: list[str] = field(default_factory=list)
    urgency: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    zone_type: list[str] = field(default_factory=list)  # "" for none
    # The routing steps used, one entry each.
    agency_id: list[str] = field(default_factory=list)
    member_id: list[str | None] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    rule: list[str] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)
    # The assignments.
    assignment_id: list[bytes] = field(default_factory=list)
    of_difficulty: list[int] = field(default_factory=list)
    of_step: list[int] = field(default_factory=list)

    # Each routing step's position, so that a step many assignments took is sent once.
    _steps: dict[tuple[str, str | None, str, str, str, str], int] = field(
        default_factory=dict, repr=False, compare=False)

    def add(self, d: DifficultyReceived, json: bytes,
            assignments: Sequence[DifficultyAssigned]) -> None:
        """A new difficulty (its document `json`) and the assignments made of it, all as
        of its receipt under this batch's configuration version (`logic.decide`)."""
        zone_type = assignments[0].zone_type if assignments else d.zone_type
        of_difficulty = self.add_difficulty(d, str(d.difficulty_id), json, zone_type)
        steps = self._steps
        for a in assignments:
            step = (a.agency_id, a.member_id, a.role, a.agency_level, a.rule, a.reason)
            of_step = steps.get(step)
            if of_step is None:
                of_step = steps[step] = self.add_step(*step)
            self.add_assignment(str(a.assignment_id).encode(), of_difficulty, of_step)

    def add_difficulty(self, d: DifficultyReceived, difficulty_id: str, json: bytes,
                       zone_type: ZoneType | None) -> int:
        """Returns its position, for `add_assignment`."""
        self.difficulty_id.append(difficulty_id)
        self.province_code.append(d.province_code)
        self.task_force.append(d.task_force or "")
        self.received_at.append(d.received_at)
        self.difficulty_json.append(json)
        self.tracking_code.append(d.tracking_code)
        # The members themselves: they are their values (str enums), and `.value` is a
        # Python call.
        self.urgency.append(d.urgency)
        self.kind.append(d.kind)
        self.category.append(d.category)
        self.zone_type.append(zone_type or "")
        return len(self.difficulty_id)

    def add_step(self, agency_id: str, member_id: str | None, role: str, level: str,
                 rule: str, reason: str) -> int:
        """Returns its position, for `add_assignment`."""
        self.agency_id.append(agency_id)
        self.member_id.append(member_id)
        self.role.append(role)
        self.level.append(level)
        self.rule.append(rule)
        self.reason.append(reason)
        return len(self.agency_id)

    def add_assignment(self, assignment_id: bytes, of_difficulty: int, of_step: int) -> None:
        self.assignment_id.append(assignment_id)
        self.of_difficulty.append(of_difficulty)
        self.of_step.append(of_step)

    def __len__(self) -> int:
        return len(self.difficulty_id)


# Between values sent as one. JSON text never holds this byte unescaped (control
# characters must be escaped in strings, and it is not whitespace), nor do ids, codes
# and enum values, so the server splits them apart without parsing them.
_SEPARATOR = b"\x1e"


def _documents(documents: list[bytes], *, check: bool = False) -> bytes:
    """One value for many documents; none is empty (read back as no rows). `check`:
    refuse documents that hold the separator (they would not be JSON text), for
    documents that came from outside (though they have validated as JSON already)."""
    joined = _SEPARATOR.join(documents)
    if check and documents and joined.count(_SEPARATOR) != len(documents) - 1:
        raise ValueError("a document is not JSON text: it holds the separator byte")
    return joined


def _joined(values: Iterable[str]) -> bytes:
    """One value for many short ones, split apart by `_split`: the router's own (ids,
    enum values, positions), or fields whose pattern leaves the separator out (codes).
    Enum members join as their values (str enums: no call to `.value` or `str`)."""
    return "\x1e".join(values).encode()


def _split(parameter: str) -> str:
    """SQL: the values of a `_documents` or `_joined` parameter, one row each."""
    return f"string_to_table(NULLIF(convert_from({parameter}::bytea, 'UTF8'), ''), E'\\x1e')"


async def save_new_difficulties(conn: asyncpg.Connection, *, batch: NewDifficulties) -> None:
    """Store new difficulties and their assignments in one statement: one round trip
    while the broker takes the messages. A difficulty stored is its event processed
    (`already_stored`): intake mints the two ids together, one event a difficulty.
    The difficulties' documents are stored as text, as sent: PostgreSQL splits them
    apart and never parses them (they are the router's own encoding, or bodies that
    validated)."""
    b = batch
    await conn.execute(
        "WITH n AS ("
        f" SELECT * FROM ROWS FROM ({_split('$1')}, {_split('$2')}, {_split('$3')},"
        f" {_split('$4')}, unnest($5::timestamptz[]), {_split('$6')}, {_split('$7')},"
        f" {_split('$8')}, {_split('$9')}, {_split('$10')})"
        " WITH ORDINALITY AS n(i, p, t, j, r, tc, ur, ki, ca, zt, k)),"
        " d AS ("
        " INSERT INTO difficulties (difficulty_id, province_code, task_force, payload,"
        " received_at) SELECT i::uuid, p, NULLIF(t, ''), j, r FROM n"
        " ON CONFLICT (difficulty_id) DO NOTHING)"
        " INSERT INTO assignments (assignment_id, difficulty_id, tracking_code, province_code,"
        " agency_id, member_id, role, level, rule, reason, config_version, urgency, kind,"
        " category, zone_type, assigned_at)"
        " SELECT u.i::uuid, n.i::uuid, n.tc, n.p, s.ag, s.m, s.ro, s.l, s.ru, s.re, $20, n.ur,"
        " n.ki, n.ca, NULLIF(n.zt, ''), n.r"
        f" FROM ROWS FROM ({_split('$11')}, {_split('$12')}, {_split('$13')}) AS u(i, d, k)"
        " JOIN n ON n.k = u.d::int8"
        " JOIN ROWS FROM (unnest($14::text[]), unnest($15::text[]), unnest($16::text[]),"
        " unnest($17::text[]), unnest($18::text[]), unnest($19::text[]))"
        " WITH ORDINALITY AS s(ag, m, ro, l, ru, re, k) ON s.k = u.k::int8"
        " ON CONFLICT (difficulty_id, assignment_id) DO NOTHING",
        _joined(b.difficulty_id), _joined(b.province_code), _joined(b.task_force),
        _documents(b.difficulty_json, check=True),
        b.received_at, _joined(b.tracking_code), _joined(b.urgency), _joined(b.kind),
        _joined(b.category), _joined(b.zone_type),
        _documents(b.assignment_id), _joined(map(str, b.of_difficulty)),
        _joined(map(str, b.of_step)),
        b.agency_id, b.member_id, b.role, b.level, b.rule, b.reason,
        b.config_version,
    )


# An assignment's columns, in the order of `AssignmentRows`.
_COLUMNS = ("assignment_id, difficulty_id, tracking_code, province_code, agency_id, member_id,"
            " role, level, rule, reason, config_version, replaces, urgency, kind, category,"
            " zone_type, assigned_at")
ASSIGNMENT = _COLUMNS.replace(" level,", " level AS agency_level,")
"""SQL: the columns an assignment is read back from, named as `assignment` takes them."""


def assignment(row: asyncpg.Record) -> DifficultyAssigned:
    """An assignment read back (`SELECT {ASSIGNMENT} FROM assignments`)."""
    return DifficultyAssigned.model_validate(dict(row.items()))


@dataclass
class AssignmentRows:
    """Assignments column by column, as the INSERT takes them (one array a column)."""

    assignment_id: list[uuid.UUID] = field(default_factory=list)
    difficulty_id: list[uuid.UUID] = field(default_factory=list)
    tracking_code: list[str] = field(default_factory=list)
    province_code: list[str] = field(default_factory=list)
    agency_id: list[str] = field(default_factory=list)
    member_id: list[str | None] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    rule: list[str] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)
    config_version: list[str] = field(default_factory=list)
    replaces: list[uuid.UUID | None] = field(default_factory=list)
    urgency: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    zone_type: list[str | None] = field(default_factory=list)
    assigned_at: list[datetime] = field(default_factory=list)

    @classmethod
    def of(cls, assignments: Iterable[DifficultyAssigned]) -> AssignmentRows:
        rows = cls()
        for a in assignments:
            rows.assignment_id.append(a.assignment_id)
            rows.difficulty_id.append(a.difficulty_id)
            rows.tracking_code.append(a.tracking_code)
            rows.province_code.append(a.province_code)
            rows.agency_id.append(a.agency_id)
            rows.member_id.append(a.member_id)
            rows.role.append(a.role.value)
            rows.level.append(a.agency_level.value)
            rows.rule.append(a.rule)
            rows.reason.append(a.reason)
            rows.config_version.append(a.config_version)
            rows.replaces.append(a.replaces)
            rows.urgency.append(a.urgency.value)
            rows.kind.append(a.kind.value)
            rows.category.append(a.category.value)
            rows.zone_type.append(a.zone_type.value if a.zone_type is not None else None)
            rows.assigned_at.append(a.assigned_at)
        return rows

    def __len__(self) -> int:
        return len(self.assignment_id)


async def save_assignments(
    conn: asyncpg.Connection, *, assignments: Sequence[DifficultyAssigned]
) -> None:
    await save_assignment_rows(conn, rows=AssignmentRows.of(assignments))


async def save_assignment_rows(conn: asyncpg.Connection, *, rows: AssignmentRows) -> None:
    """Insert assignments, deactivating those they replace."""
    superseded = [(d, r) for d, r in zip(rows.difficulty_id, rows.replaces, strict=True)
                  if r is not None]
    if superseded:
        # What an assignment replaces is of the same difficulty.
        await conn.execute(
            "UPDATE assignments a SET active = false FROM unnest($1::uuid[], $2::uuid[])"
            " AS s(d, i) WHERE a.difficulty_id = s.d AND a.assignment_id = s.i",
            [d for d, _ in superseded], [r for _, r in superseded],
        )
    r = rows
    await conn.execute(
        f"INSERT INTO assignments ({_COLUMNS}) SELECT * FROM unnest($1::uuid[], $2::uuid[],"
        " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
        " $10::text[], $11::text[], $12::uuid[], $13::text[], $14::text[], $15::text[],"
        " $16::text[], $17::timestamptz[]) ON CONFLICT (difficulty_id, assignment_id)"
        " DO NOTHING",
        r.assignment_id, r.difficulty_id, r.tracking_code, r.province_code, r.agency_id,
        r.member_id, r.role, r.level, r.rule, r.reason, r.config_version, r.replaces,
        r.urgency, r.kind, r.category, r.zone_type, r.assigned_at,
    )


async def load_difficulty(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> DifficultyReceived | None:
    payload = await conn.fetchval(
        "SELECT payload FROM difficulties WHERE difficulty_id = $1", difficulty_id
    )
    return DifficultyReceived.model_validate_json(payload) if payload is not None else None


async def correct_difficulty(conn: asyncpg.Connection, *, difficulty: DifficultyReceived
                             ) -> None:
    """The stored difficulty replaced by its corrected form (the permanent deputy's
    correction from triage): what its later tasks and escalations carry."""
    await conn.execute(
        "UPDATE difficulties SET payload = $2, province_code = $3, task_force = $4"
        " WHERE difficulty_id = $1",
        difficulty.difficulty_id, difficulty.model_dump_json(), difficulty.province_code,
        difficulty.task_force)


async def active_assignments(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> list[DifficultyAssigned]:
    """Oldest first; of those decided together, the one holding the difficulty (lead,
    triage or escalation) first, then co-handlers, then members, each by id."""
    rows = await conn.fetch(
        f"SELECT {ASSIGNMENT} FROM assignments WHERE difficulty_id = $1 AND active"
        " ORDER BY assigned_at, CASE role WHEN 'co_handler' THEN 1 WHEN 'member' THEN 2"
        " ELSE 0 END, assignment_id",
        difficulty_id,
    )
    return [assignment(r) for r in rows]


# Assignments to publish again (`thaogo.rebuild`): those assigned since a moment, and
# every open one (active, not a member's, its difficulty not closed), whose task its
# agency still needs however old it is; a difficulty's in the order they were decided,
# each row with its difficulty's document.
_REPLAY = f"""
    SELECT {ASSIGNMENT}, open, (SELECT payload FROM difficulties d
                                WHERE d.difficulty_id = s.difficulty_id) AS difficulty
    FROM (SELECT a.*, a.active AND a.role <> 'member' AND NOT EXISTS (
            SELECT 1 FROM closed_difficulties c WHERE c.difficulty_id = a.difficulty_id)
            AS open
          FROM assignments a) s
    WHERE assigned_at >= $1 OR open
    ORDER BY difficulty_id, assigned_at, CASE role WHEN 'co_handler' THEN 1
             WHEN 'member' THEN 2 ELSE 0 END, assignment_id
"""


async def assignments_to_replay(
    conn: asyncpg.Connection, *, since: datetime, chunk: int = 5000,
) -> AsyncIterator[list[tuple[DifficultyAssigned, bool, str]]]:
    """(assignment, open, its difficulty's document), a chunk at a time, every
    difficulty's assignments within one chunk; in a transaction of the caller's."""
    rows: list[tuple[DifficultyAssigned, bool, str]] = []
    async for r in conn.cursor(_REPLAY, since, prefetch=chunk):
        a = DifficultyAssigned.model_validate(
            {k: v for k, v in r.items() if k not in ("open", "difficulty")})
        if len(rows) >= chunk and rows[-1][0].difficulty_id != a.difficulty_id:
            yield rows
            rows = []
        rows.append((a, bool(r["open"]), str(r["difficulty"])))
    if rows:
        yield rows


# Membership moves (jobs.py): open member assignments whose holder left, and the
# difficulties closed meanwhile (their member items stay put).
_OPEN_ELSEWHERE = f"""
    SELECT {ASSIGNMENT} FROM assignments a
    WHERE a.active AND a.role = 'member' AND a.member_id IS NOT NULL
      AND a.member_id <> ALL($1::text[])
      AND NOT EXISTS (SELECT 1 FROM closed_difficulties c WHERE c.difficulty_id = a.difficulty_id)
    ORDER BY a.assigned_at, a.assignment_id
"""


async def record_closures(
    conn: asyncpg.Connection, *, changes: Sequence[DifficultyStatusChanged]
) -> None:
    closing = [(c, c.status) for c in changes
               if c.status in CLOSED]
    if not closing:
        return
    await conn.execute(
        "INSERT INTO closed_difficulties (difficulty_id, status, closed_at)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])"
        " ON CONFLICT (difficulty_id) DO NOTHING",
        [c.difficulty_id for c, _ in closing], [str(s) for _, s in closing],
        [c.changed_at for c, _ in closing],
    )


async def open_member_assignments_elsewhere(
    conn: asyncpg.Connection, *, holder_ids: Sequence[str]
) -> list[DifficultyAssigned]:
    """Open member assignments held by someone who is no longer a holder."""
    rows = await conn.fetch(_OPEN_ELSEWHERE, sorted(holder_ids))
    return [assignment(r) for r in rows]
