"""Intake's tables against the events: accepted difficulties, the assignments intake
keeps with each holder's step, urgency confirmations and attachments."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared import topics
from shared.events import (
    AttachmentRef,
    DifficultyAssigned,
    DifficultyReceived,
)
from thaogo.verify.fold import Case, replaced, steps
from thaogo.verify.log import Log
from thaogo.verify.report import Report, compare_row, same


async def check_intake(conn: asyncpg.Connection, log: Log, cases: Mapping[uuid.UUID, Case],
                       report: Report) -> None:
    accepted = {r["difficulty_id"]: r for r in await conn.fetch(
        "SELECT difficulty_id, tracking_code, tax_code, province_code FROM intake.difficulties")}
    if topics.DIFFICULTY_RECEIVED in log.truncated:
        report.unchecked.append("intake: accepted difficulties whose event retention dropped")
    for did, row in accepted.items():
        report.compared["intake.difficulties"] += 1
        case = cases.get(did)
        if case is None or case.received is None:
            if topics.DIFFICULTY_RECEIVED not in log.truncated:
                report.differ("intake", "difficulties", did, "event on "
                              + topics.DIFFICULTY_RECEIVED, 1, 0)
            continue
        if len(case.event_ids) != 1:
            report.differ("intake", "difficulties", did, "distinct event ids on "
                          + topics.DIFFICULTY_RECEIVED, 1, len(case.event_ids))
        compare_row(report, "intake", "difficulties", did,
                     {"tracking_code": case.received.tracking_code,
                      "tax_code": case.received.tax_code,
                      "province_code": case.received.province_code}, row)
        report.compared["intake.difficulties"] -= 1  # counted once above
    for did, case in cases.items():
        if case.received is not None and did not in accepted:
            report.differ("intake", "difficulties", did, "row", "accepted difficulty",
                          "missing")
    rows = {r["assignment_id"]: r for r in await conn.fetch(
        "SELECT assignment_id, difficulty_id, agency_id, member_id, role, replaces, active,"
        " assigned_at, step, step_at FROM intake.assignments")}
    check_assignments(report, "intake", log, cases, rows, fields=(
        "difficulty_id", "agency_id", "member_id", "role", "replaces", "assigned_at"),
        extra=step_fields(cases))
    await _check_confirmations(conn, log, cases, report)


def step_fields(cases: Mapping[uuid.UUID, Case]) -> dict[uuid.UUID, dict[str, Any]]:
    """Each assignment's expected step and its time (none before any step)."""
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for case in cases.values():
        taken = steps(case)
        for aid in case.assignments:
            step, at = taken.get(aid, (None, None))
            out[aid] = {"step": step, "step_at": at}
    return out


def vouched(d: DifficultyReceived) -> bool:
    """Filed urgent by a member or an operator: intake confirms it as it arrives."""
    return d.urgency.value == "urgent" and d.urgency_source.value != "business"


async def _check_confirmations(conn: asyncpg.Connection, log: Log,
                               cases: Mapping[uuid.UUID, Case], report: Report) -> None:
    """One confirmation per confirmed difficulty, on its topic under one event id, as
    intake keeps it; one of its own for each difficulty a member or operator filed urgent;
    none of a difficulty that is not urgent."""
    rows = {r["difficulty_id"]: r for r in await conn.fetch(
        "SELECT difficulty_id, confirmation_id, actor_kind, actor_id, reported"
        " FROM intake.urgency_confirmations")}
    truncated = topics.DIFFICULTY_URGENCY in log.truncated
    for did, row in rows.items():
        report.compared["intake.urgency_confirmations"] += 1
        case = cases.get(did)
        events = list(case.confirmations.values()) if case else []
        if len(events) != 1:
            if events or not truncated:
                report.differ("intake", "urgency_confirmations", did,
                              "events on " + topics.DIFFICULTY_URGENCY, 1, len(events))
            continue
        c = events[0]
        for k, v in {"confirmation_id": c.confirmation_id, "actor_kind": c.actor_kind.value,
                     "actor_id": c.actor_id, "reported": c.reported}.items():
            if not same(v, row[k]):
                report.differ("intake", "urgency_confirmations", did, k, v, row[k])
    for did, case in cases.items():
        d = case.received
        if case.confirmations and did not in rows:
            report.differ("intake", "urgency_confirmations", did, "row", "confirmation",
                          "missing")
        if d is None:
            continue
        if vouched(d) and did not in rows and topics.DIFFICULTY_RECEIVED not in log.truncated:
            report.differ("intake", "urgency_confirmations", did, "row",
                          "reported urgent by " + d.urgency_source.value, "missing")
        if case.confirmations and d.urgency.value != "urgent":
            report.differ("intake", "urgency_confirmations", did, "urgency", "urgent",
                          d.urgency.value)


def _assignment_fields(a: DifficultyAssigned) -> dict[str, Any]:
    return {
        "difficulty_id": a.difficulty_id, "agency_id": a.agency_id, "member_id": a.member_id,
        "role": a.role.value, "replaces": a.replaces, "assigned_at": a.assigned_at,
        "level": a.agency_level.value, "agency_level": a.agency_level.value, "rule": a.rule,
        "tracking_code": a.tracking_code, "province_code": a.province_code,
        "reason": a.reason, "config_version": a.config_version, "urgency": a.urgency.value,
        "kind": a.kind.value, "category": a.category.value,
        "zone_type": a.zone_type.value if a.zone_type else None,
    }


def check_assignments(
    report: Report, service: str, log: Log, cases: Mapping[uuid.UUID, Case],
    rows: Mapping[uuid.UUID, Mapping[str, Any]], *, fields: Sequence[str],
    extra: Mapping[uuid.UUID, Mapping[str, Any]] | None = None,
) -> None:
    """The assignments a service keeps equal the assignment events, active exactly when
    nothing replaces them; nothing kept that no event announced."""
    truncated = topics.DIFFICULTY_ASSIGNED in log.truncated
    for case in cases.values():
        gone = replaced(case)
        for aid, a in case.assignments.items():
            row = rows.get(aid)
            if row is None:
                report.differ(service, "assignments", aid, "row", "assigned", "missing")
                continue
            every = _assignment_fields(a)
            expected = {k: every[k] for k in fields}
            expected["active"] = aid not in gone
            if extra is not None and aid in extra:
                expected.update(extra[aid])
            compare_row(report, service, "assignments", aid, expected, row)
    known = {aid for c in cases.values() for aid in c.assignments}
    for aid in rows.keys() - known:
        if not truncated:
            report.differ(service, "assignments", aid, "row", "none (no event)", "present")
    if truncated:
        report.unchecked.append(f"{service}: assignments whose events retention dropped")


def attached(log: Log) -> dict[uuid.UUID, dict[str, Any]]:
    """Each attached document as the events describe it (#20 item 10): the business's
    with its submission, and each with the update it came with."""
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for r in log.received:
        for a in r.data.attachments:
            out[a.attachment_id] = _attachment(a, r.data.difficulty_id, None, "business",
                                               r.data.received_at)
    for c in log.status:
        for a in c.data.attachments:
            out[a.attachment_id] = _attachment(a, c.data.difficulty_id, c.data.status_id,
                                               c.data.actor_kind.value, c.data.changed_at)
    return out


def _attachment(a: AttachmentRef, difficulty_id: uuid.UUID, status_id: uuid.UUID | None,
                actor_kind: str, at: datetime) -> dict[str, Any]:
    return {"difficulty_id": difficulty_id, "status_id": status_id,
            "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
            "public": a.public, "actor_kind": actor_kind, "attached_at": at}


async def check_attachments(conn: asyncpg.Connection, log: Log, report: Report,
                            service: str) -> None:
    """Intake's documents and reporting's list of them, each as the events say; and each
    of intake's files still the bytes its hash names (a file changed in place, not
    through the service, shows here)."""
    kind = "attached_by_kind" if service == "intake" else "actor_kind"
    intact = ("encode(sha256(content), 'hex') = sha256" if service == "intake"
              else "true")
    rows = {r["attachment_id"]: r for r in await conn.fetch(
        f"SELECT attachment_id, difficulty_id, status_id, content_type, size, sha256, public,"
        f" {kind} AS actor_kind, attached_at, {intact} AS intact FROM {service}.attachments")}
    events = attached(log)
    truncated = bool({topics.DIFFICULTY_RECEIVED, topics.DIFFICULTY_STATUS} & log.truncated)
    for aid, expected in events.items():
        row = rows.get(aid)
        if row is None:
            report.differ(service, "attachments", aid, "row", "present", "missing")
            continue
        compare_row(report, service, "attachments", aid, expected, row)
        if not row["intact"]:
            report.differ(service, "attachments", aid, "content", "bytes of its sha256",
                          "other bytes")
    for aid in rows.keys() - events.keys():
        if not truncated:
            report.differ(service, "attachments", aid, "row", "none (no event)", "present")
