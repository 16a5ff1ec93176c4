"""The router's tables against the events: every assignment, active exactly when no
later one replaces it, and every agency's task on its topic; and the business's answers."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import asyncpg

from shared import topics
from shared.events import (
    BusinessAnswer,
    DifficultyAssigned,
    DifficultyStatusChanged,
)
from thaogo.verify.fold import Case
from thaogo.verify.intake import check_assignments
from thaogo.verify.log import Log
from thaogo.verify.report import Report, compare_row


async def check_router(conn: asyncpg.Connection, log: Log, cases: Mapping[uuid.UUID, Case],
                       report: Report) -> None:
    rows = {r["assignment_id"]: r for r in await conn.fetch(
        "SELECT assignment_id, difficulty_id, agency_id, member_id, role, level, rule, replaces,"
        " active, assigned_at, tracking_code, province_code, reason, config_version, urgency,"
        " kind, category, zone_type FROM router.assignments")}
    check_assignments(report, "router", log, cases, rows, fields=(
        "difficulty_id", "agency_id", "member_id", "role", "level", "rule", "replaces",
        "assigned_at", "tracking_code", "province_code", "reason", "config_version",
        "urgency", "kind", "category", "zone_type"))
    # Published again (at least once), an assignment must say the same: consumers keep
    # the first of an event id, and a second that differs would leave them apart.
    first: dict[uuid.UUID, DifficultyAssigned] = {}
    for e in log.assigned:
        seen = first.setdefault(e.data.assignment_id, e.data)
        if seen != e.data:
            report.differ("router", topics.DIFFICULTY_ASSIGNED, e.data.assignment_id,
                          "published again with other content", seen.model_dump(mode="json"),
                          e.data.model_dump(mode="json"))
    holders: Counter[tuple[Any, ...]] = Counter(
        (r["difficulty_id"], r["role"], r["agency_id"], r["member_id"])
        for r in rows.values() if r["active"])
    for (did, role, agency, member), n in holders.items():
        if n > 1:
            report.differ("router", "assignments", did, f"active {role} of {member or agency}",
                          1, n)
    stored = {r["difficulty_id"] for r in await conn.fetch(
        "SELECT difficulty_id FROM router.difficulties")}
    for did, case in cases.items():
        if (case.assignments and case.received is None
                and topics.DIFFICULTY_RECEIVED not in log.truncated):
            report.differ("router", "assignments", did, "cause",
                              "a received difficulty", "none")
        if case.received is not None:
            report.compared["router.difficulties"] += 1
            if did not in stored:
                report.differ("router", "difficulties", did, "row", "routed", "missing")
    # Every assignment to an agency put its task on the agency's topic.
    tasks = {uuid.UUID(str(t.data.assignment.assignment_id)): t
             for ts in log.tasks.values() for t in ts}
    for case in cases.values():
        for aid, a in case.assignments.items():
            if a.role.value == "member":
                continue
            topic = topics.agency_topic(a.agency_id)
            report.compared[f"router.{topic}"] += 1
            task = tasks.get(aid)
            if task is None:
                if topic not in log.truncated:
                    report.differ("router", topic, aid, "task", "on the agency's topic",
                                  "missing")
            elif task.data.assignment != a:
                report.differ("router", topic, aid, "task.assignment",
                              a.model_dump(mode="json"),
                              task.data.assignment.model_dump(mode="json"))
            # The business's contact goes to the lead agency only.
            elif (task.data.difficulty.contact is not None) != (a.role.value == "lead"):
                report.differ("router", topic, aid, "task.difficulty.contact",
                              "present" if a.role.value == "lead" else "null",
                              "null" if task.data.difficulty.contact is None else "present")


def check_business_answers(log: Log, cases: Mapping[uuid.UUID, Case], report: Report) -> None:
    """#20 item 4: every answer of the business answers a part that was waiting for it (its
    previous step need_info, with a question) and reached the asking agency's topic once,
    with that question; nothing reached an agency's topic that the business did not say."""
    given: dict[uuid.UUID, tuple[str, BusinessAnswer]] = {}
    for topic, envs in log.answers.items():
        for e in envs:
            given[e.data.status_id] = (topic, e.data)
    expected: set[uuid.UUID] = set()
    for case in cases.values():
        last: dict[uuid.UUID, DifficultyStatusChanged] = {}
        for s in sorted(case.statuses.values(), key=lambda s: (s.changed_at, str(s.status_id))):
            before = last.get(s.assignment_id) if s.assignment_id else None
            if s.assignment_id is not None and s.step_taken() is not None:
                last[s.assignment_id] = s
            if s.actor_kind.value != "business" or s.feedback is not None:
                continue
            report.compared["intake.business_answers"] += 1
            expected.add(s.status_id)
            asked = before.step_taken() if before is not None else None
            if before is None or asked is None or asked.value != "need_info":
                report.differ("intake", "business_answers", s.status_id,
                              "previous step of the part", "need_info", asked)
                continue
            a = case.assignments.get(s.assignment_id) if s.assignment_id else None
            where = topics.agency_topic(a.agency_id) if a else None
            got = given.get(s.status_id)
            if got is None:
                if where not in log.truncated:
                    report.differ("intake", str(where), s.status_id, "business answer",
                                  "on the agency's topic", "missing")
                continue
            compare_row(report, "intake", str(where), s.status_id, {
                "topic": where, "assignment_id": s.assignment_id,
                "difficulty_id": s.difficulty_id, "question": before.question,
                "answer": s.answer, "answered_at": s.changed_at},
                {"topic": got[0], "assignment_id": got[1].assignment_id,
                 "difficulty_id": got[1].difficulty_id, "question": got[1].question,
                 "answer": got[1].answer, "answered_at": got[1].answered_at})
    if topics.DIFFICULTY_STATUS not in log.truncated:
        for sid in given.keys() - expected:
            report.differ("intake", given[sid][0], sid, "cause",
                          "an answer on " + topics.DIFFICULTY_STATUS, "none")
