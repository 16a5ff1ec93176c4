"""Reading difficulties: a business's tracking, the queue with its filters, one
difficulty's detail and letter, open and overdue by agency."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.reporting.store.projections import STATUS_EVENT_TYPE

# --- read side --------------------------------------------------------------------------------


async def track(
    conn: asyncpg.Connection, *, tracking_code: str, tax_code: str
) -> dict[str, Any] | None:
    """A business's own difficulty, by its tracking code and tax code (its credentials):
    what `/v1/track` and the tracking page say of it."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, tracking_code, title, status, received_at, status_at,"
        " resolved_at, lead_agency_id, resolve_due_at, outcome, outcome_at, public_answer,"
        " merged_into FROM difficulties WHERE tracking_code = $1 AND tax_code = $2",
        tracking_code, tax_code,
    )
    return dict(row) if row is not None else None


async def _public_steps(conn: asyncpg.Connection, difficulty_id: uuid.UUID
                        ) -> list[dict[str, Any]]:
    steps = await conn.fetch(
        "SELECT status, changed_at FROM status_history WHERE difficulty_id = $1"
        " AND status IS NOT NULL ORDER BY changed_at, status_id", difficulty_id)
    return [dict(r) for r in steps]


async def kept_case(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
                    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The difficulty a duplicate was merged into, as the duplicate's business may read
    it on its own tracking page: its public progress and answer (#20 item 3), never who
    raised it (no business name, tax code or title: another business's)."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, tracking_code, status, received_at, resolved_at,"
        " lead_agency_id, resolve_due_at, outcome, outcome_at, public_answer"
        " FROM difficulties WHERE difficulty_id = $1", difficulty_id)
    if row is None:
        return None
    return dict(row), await _public_steps(conn, difficulty_id)


async def track_case(
    conn: asyncpg.Connection, *, tracking_code: str, tax_code: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """`track`, with the difficulty's public steps in order (its statuses and when; never
    an agency's own part, who wrote what, or the notes)."""
    row = await track(conn, tracking_code=tracking_code, tax_code=tax_code)
    if row is None:
        return None
    return row, await _public_steps(conn, row["difficulty_id"])


async def attachments_of(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID,
                         public_only: bool = False) -> list[asyncpg.Record]:
    """The files attached to a difficulty, oldest first; `public_only`: those its business
    reads (its own, and the public answer's)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT attachment_id, status_id, content_type, size, public, actor_kind, attached_at"
        " FROM attachments WHERE difficulty_id = $1 AND (public OR NOT $2)"
        " ORDER BY attached_at, attachment_id", difficulty_id, public_only)
    return rows


async def waiting_questions(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
                            ) -> list[dict[str, Any]]:
    """The questions waiting for the business's answer (#20 item 4): each active part in
    need_info, with the question its latest need_info step put (kept in the event) and
    the agency asking."""
    rows = await conn.fetch(
        "SELECT a.assignment_id, a.agency_id, q.changed_at AS asked_at, q.question"
        " FROM assignments a CROSS JOIN LATERAL ("
        "  SELECT h.changed_at, e.payload->>'question' AS question FROM status_history h"
        "  JOIN events e ON e.event_type = $2 AND e.difficulty_id = h.difficulty_id"
        "   AND e.payload->>'status_id' = h.status_id::text"
        "  WHERE h.assignment_id = a.assignment_id AND h.step = 'need_info'"
        "  ORDER BY h.changed_at DESC, h.status_id DESC LIMIT 1) q"
        " WHERE a.difficulty_id = $1 AND a.active AND a.step = 'need_info'"
        " ORDER BY q.changed_at, a.assignment_id", difficulty_id, STATUS_EVENT_TYPE)
    return [dict(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ListFilter:
    task_forces: Sequence[str] | None = None
    agency_id: str | None = None
    status: str | None = None
    zone_type: str | None = None
    category: str | None = None
    received_after: datetime | None = None
    received_until: datetime | None = None
    words: Sequence[str] = ()  # folded; every one must appear
    after: tuple[datetime, uuid.UUID] | None = None  # keyset cursor
    held_by: str | None = None  # an agency: only what it holds an active assignment on
    open_only: bool = False  # only what is not closed (resolved or rejected)


# The deadline an item runs to next: acknowledging it while nobody has, then resolving it;
# none once closed. The queue is ordered by it, so overdue items come first, then what is
# due soon; new items (not acknowledged) run to the nearest deadline of all.
NEXT_DUE = ("CASE WHEN closed_at IS NOT NULL THEN NULL WHEN acknowledged_at IS NULL"
            " THEN COALESCE(ack_due_at, resolve_due_at) ELSE resolve_due_at END")
_NEXT_DUE_KEY = f"COALESCE({NEXT_DUE}, 'infinity'::timestamptz)"


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _all_words(words: Sequence[str]) -> str:
    """A regular expression matching a text that holds each word (anywhere, any order,
    as a substring: what LIKE '%word%' matches), every character not a letter or digit
    taken literally."""
    return "^" + "".join("(?=.*" + "".join(c if c.isalnum() else "\\" + c for c in w) + ")"
                         for w in words)


# A search newest first looks among this many of the newest items in scope first.
SEARCH_RECENT = 5_000


async def list_difficulties(
    conn: asyncpg.Connection, *, f: ListFilter, now: datetime, limit: int,
    by_deadline: bool = False,
) -> list[dict[str, Any]]:
    """Newest first, keyset-paged on (received_at, difficulty_id); or, `by_deadline`
    (an agency's queue), the nearest next deadline first, keyset-paged on (next_due_at or
    infinity, received_at, difficulty_id) as `after` (a 3-tuple then) gives it."""
    order = (f"{_NEXT_DUE_KEY}, received_at, difficulty_id" if by_deadline
             else "received_at DESC, difficulty_id DESC")

    def statement(head: str, *, scope_only: bool = False, extra: Sequence[str] = (),
                  tail: str = "", pattern: bool = False) -> tuple[str, list[Any]]:
        """`head` WHERE the filter's conditions (only those of its scope: neither who
        holds an item nor the words) ORDER BY `order` `tail`; `extra` and `tail` may name
        the values given after the filter's as {0}, {1}, ...; the words as one `pattern`
        or a LIKE each."""
        where: list[str] = []
        args: list[Any] = [now] if "$1" in head else []  # the overdue flag's moment

        def arg(v: Any) -> str:
            args.append(v)
            return f"${len(args)}"

        if f.held_by is not None and not scope_only:
            where.append("EXISTS (SELECT 1 FROM assignments a WHERE a.agency_id ="
                         f" {arg(f.held_by)} AND a.active AND a.difficulty_id = d.difficulty_id)")
        if f.open_only:
            where.append("closed_at IS NULL")
        if f.task_forces is not None and len(f.task_forces) == 1:
            # Not = ANY of one: an index on (task_force, received_at) is then walked in
            # its order, newest first, instead of read whole and sorted.
            where.append(f"task_force = {arg(f.task_forces[0])}")
        elif f.task_forces is not None:
            where.append(f"task_force = ANY({arg(list(f.task_forces))}::text[])")
        if f.agency_id:
            where.append(f"lead_agency_id = {arg(f.agency_id)}")
        if f.status:
            where.append(f"status = {arg(f.status)}")
        if f.zone_type:
            where.append(f"zone_type = {arg(f.zone_type)}")
        if f.category:
            where.append(f"category = {arg(f.category)}")
        if f.received_after is not None:
            where.append(f"received_at > {arg(f.received_after)}")
        if f.received_until is not None:
            where.append(f"received_at <= {arg(f.received_until)}")
        if not scope_only and pattern and f.words:
            where.append(f"search ~ {arg(_all_words(f.words))}")
        elif not scope_only:
            for word in f.words:
                where.append(f"search LIKE {arg('%' + _like_escape(word) + '%')}")
        if f.after is not None and by_deadline:
            due, at, did = f.after  # type: ignore[misc]
            where.append(f"({_NEXT_DUE_KEY}, received_at, difficulty_id) >"
                         f" ({arg(due)}, {arg(at)}, {arg(did)})")
        elif f.after is not None:
            where.append(f"(received_at, difficulty_id) < ({arg(f.after[0])},"
                         f" {arg(f.after[1])})")
        n = len(args)
        marks = [f"${n + 1 + i}" for i in range(8)]
        where += [x.format(*marks) for x in extra]
        return (head + (" WHERE " + " AND ".join(where) if where else "")
                + f" ORDER BY {order} " + tail.format(*marks)), args

    sql, args = statement(_LIST_COLUMNS, tail="LIMIT {0}")
    if not f.words:
        return [dict(r) for r in await conn.fetch(sql, *args, limit)]
    # Words: planned for these very words each time (asyncpg prepares the statement, and
    # after five runs PostgreSQL keeps a generic plan, blind to how common the words
    # are). Newest first, the most recent SEARCH_RECENT items in scope are searched
    # first, then the older ones only if those held fewer than `limit`; the two parts
    # give the rows and the order the one query gives. Among the recent ones the words
    # are one pattern, which PostgreSQL estimates by trying it on its sample of the
    # column: a LIKE a word it estimated word by word and multiplied, twenty times too
    # few for words that go together ("nguyen lieu"), so it read every candidate instead
    # of walking the newest first and stopping at the page (1.1 s with 1,000,000
    # difficulties, `python -m bench.pages`, when the whole table was one part). The
    # older ones are read with a LIKE a word, which costs less a row than the pattern
    # when rare words make that a reading of the whole table.
    async with conn.transaction(readonly=True):
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        if by_deadline:
            return [dict(r) for r in await conn.fetch(sql, *args, limit)]
        bound_sql, bound_args = statement(
            "SELECT received_at, difficulty_id FROM difficulties d", scope_only=True,
            tail=f"OFFSET {SEARCH_RECENT - 1} LIMIT 1")
        bound = await conn.fetchrow(bound_sql, *bound_args)
        if bound is None:  # fewer items in scope than that: one query
            return [dict(r) for r in await conn.fetch(sql, *args, limit)]
        recent_sql, recent_args = statement(
            _LIST_COLUMNS, extra=["(received_at, difficulty_id) >= ({0}, {1})"],
            tail="LIMIT {2}", pattern=True)
        recent = [dict(r) for r in await conn.fetch(recent_sql, *recent_args, *bound, limit)]
        if len(recent) >= limit:
            return recent
        older_sql, older_args = statement(
            _LIST_COLUMNS, extra=["(received_at, difficulty_id) < ({0}, {1})"],
            tail="LIMIT {2}")
        older = await conn.fetch(older_sql, *older_args, *bound, limit - len(recent))
        return recent + [dict(r) for r in older]


_LIST_COLUMNS = (
    "SELECT difficulty_id, tracking_code, title, enterprise_name, task_force, province_code,"
    " zone_type, category, kind, urgency, status, received_at, status_at, resolved_at,"
    f" lead_agency_id, ack_due_at, resolve_due_at, acknowledged_at, {NEXT_DUE} AS next_due_at,"
    " COALESCE(closed_at IS NULL AND (resolve_due_at < $1 OR (ack_due_at < $1"
    "   AND (acknowledged_at IS NULL OR acknowledged_at > $1))), false) AS overdue"
    " FROM difficulties d")


async def difficulty_detail(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> dict[str, Any] | None:
    """One difficulty for its page: the row (the submission without the contact, which
    reporting never keeps), its active and past assignments and its status history."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, tracking_code, title, enterprise_name, task_force, province_code,"
        " zone_type, category, kind, urgency, status, received_at, status_at, resolved_at,"
        f" lead_agency_id, ack_due_at, resolve_due_at, acknowledged_at, {NEXT_DUE} AS next_due_at,"
        " closed_at, outcome, public_answer, letter_number, letter_date, payload"
        " FROM difficulties WHERE difficulty_id = $1", difficulty_id)
    if row is None:
        return None
    assignments = await conn.fetch(
        "SELECT assignment_id, agency_id, agency_level, member_id, role, rule, active,"
        " assigned_at, ack_due_at, resolve_due_at, step FROM assignments"
        " WHERE difficulty_id = $1"
        " ORDER BY assigned_at, assignment_id", difficulty_id)
    # The notes travel in the events only (status_history keeps the steps).
    history = await conn.fetch(
        "SELECT h.status, h.step, h.actor_kind, h.actor_id, h.changed_at,"
        " e.payload->>'note' AS note, e.payload->>'question' AS question,"
        " e.payload->>'answer' AS answer, e.payload->'feedback' AS feedback,"
        " e.payload->'feedback'->>'comment' AS comment,"
        " e.payload->'letter'->>'number' AS letter_number,"
        " jsonb_array_length(coalesce(e.payload->'attachments', '[]')) AS attached,"
        " e.payload->'merged_into'->>'tracking_code' AS merged_into_code,"
        " e.payload->'duplicate'->>'tracking_code' AS duplicate_code,"
        " e.payload->'correction' AS correction"
        " FROM status_history h LEFT JOIN events e ON e.event_type = $2"
        "  AND e.difficulty_id = h.difficulty_id AND e.payload->>'status_id' = h.status_id::text"
        " WHERE h.difficulty_id = $1 ORDER BY h.changed_at, h.status_id",
        difficulty_id, STATUS_EVENT_TYPE)
    return {**dict(row), "assignments": [dict(a) for a in assignments],
            "history": [dict(h) for h in history]}


async def letter_case(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
                      ) -> dict[str, Any] | None:
    """What the letter to the ministry says of one difficulty: the submission (without the
    contact), the lead's latest resolution passing it up, the ministry's active assignment
    and the agencies that led it; None without a difficulty."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, tracking_code, title, province_code, task_force, status,"
        " received_at, letter_number, letter_date, payload FROM difficulties"
        " WHERE difficulty_id = $1", difficulty_id)
    if row is None:
        return None
    escalation = await conn.fetchrow(
        "SELECT done, reason, public_answer, legal_basis, resolved_at FROM resolutions"
        " WHERE difficulty_id = $1 AND outcome = 'escalated'"
        " ORDER BY resolved_at DESC, status_id DESC LIMIT 1", difficulty_id)
    ministry = await conn.fetchrow(
        "SELECT agency_id, assigned_at, resolve_due_at FROM assignments"
        " WHERE difficulty_id = $1 AND active AND role = 'escalation'"
        "   AND agency_level = 'central'"
        " ORDER BY assigned_at DESC, assignment_id DESC LIMIT 1", difficulty_id)
    leads = await conn.fetch(
        "SELECT DISTINCT agency_id FROM assignments WHERE difficulty_id = $1 AND role = 'lead'",
        difficulty_id)
    return {**dict(row), "escalation": dict(escalation) if escalation else None,
            "ministry": dict(ministry) if ministry else None,
            "leads": sorted(r["agency_id"] for r in leads)}


async def open_and_overdue_by_agency(
    conn: asyncpg.Connection, *, now: datetime
) -> list[tuple[str, int, int]]:
    """(agency, open, overdue) over every open difficulty: the partial index bounds it."""
    rows = await conn.fetch(
        "SELECT COALESCE(lead_agency_id, 'unknown') AS agency, count(*) AS open,"
        " count(*) FILTER (WHERE resolve_due_at < $1 OR (ack_due_at < $1"
        "   AND (acknowledged_at IS NULL OR acknowledged_at > $1))) AS overdue"
        " FROM difficulties WHERE closed_at IS NULL GROUP BY 1",
        now,
    )
    return [(r["agency"], r["open"], r["overdue"]) for r in rows]


async def tracking_codes(
    conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await conn.fetch(
        "SELECT difficulty_id, tracking_code FROM difficulties"
        " WHERE difficulty_id = ANY($1::uuid[])", list(difficulty_ids))
    return {r["difficulty_id"]: r["tracking_code"] for r in rows}


# --- the public view (#25 item 2) ----------------------------------------------------------


async def published_weeks(conn: asyncpg.Connection, *, task_force: str, before: datetime
                          ) -> list[str]:
    """The compiled weeks of a task force published and closed by `before`, newest first
    (not its final report)."""
    rows = await conn.fetch(
        "SELECT week_label FROM weekly_reports WHERE task_force = $1 AND week_label <> 'final'"
        " AND (report->>'window_end')::timestamptz <= $2 ORDER BY week_label DESC",
        task_force, before)
    return [r["week_label"] for r in rows]


async def central_escalations(conn: asyncpg.Connection, *, task_force: str, end: datetime
                              ) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """By `end`: how many difficulties of the task force went to each central ministry,
    and each ministry's answer by letter (the ministry that held the difficulty when the
    answer was recorded). Counts and letters only: nothing of the businesses."""
    sent = {r["agency_id"]: r["n"] for r in await conn.fetch(
        "SELECT a.agency_id, count(DISTINCT a.difficulty_id) AS n FROM assignments a"
        " JOIN difficulties d USING (difficulty_id)"
        " WHERE d.task_force = $1 AND a.agency_level = 'central' AND a.assigned_at <= $2"
        " GROUP BY a.agency_id", task_force, end)}
    answers = await conn.fetch(
        "SELECT m.agency_id, r.difficulty_id, r.ministry_letter_number AS number,"
        " r.ministry_letter_date AS dated FROM resolutions r"
        " JOIN difficulties d USING (difficulty_id)"
        " JOIN LATERAL (SELECT x.agency_id FROM assignments x"
        "   WHERE x.difficulty_id = r.difficulty_id AND x.agency_level = 'central'"
        "   AND x.assigned_at <= r.resolved_at ORDER BY x.assigned_at DESC LIMIT 1) m ON true"
        " WHERE d.task_force = $1 AND r.ministry_letter_number IS NOT NULL"
        " AND r.resolved_at <= $2", task_force, end)
    return sent, [dict(r) for r in answers]
