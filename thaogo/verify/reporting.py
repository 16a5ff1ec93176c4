"""Reporting's read model against the events: each difficulty, its assignments,
resolutions, feedback, the compiled week, bottlenecks and every published weekly report
(breakdowns that add up, a league table that agrees with itself)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared import topics
from shared.events import (
    CompilationSaved,
    DifficultyStatusChanged,
    DirectionProgress,
    Envelope,
    PolicyBottleneck,
    WeeklyReport,
)
from shared.provinces import ConfigSet
from thaogo.verify.fold import Case, Derived, derive, due_of, latest_change
from thaogo.verify.intake import check_assignments, step_fields
from thaogo.verify.log import Log
from thaogo.verify.report import Report, compare_row


async def check_reporting(conn: asyncpg.Connection, configs: ConfigSet, log: Log,
                          cases: Mapping[uuid.UUID, Case], report: Report) -> None:
    # Every sign-in link reporting recorded was published for notify to mail, and no
    # other (sign-in.link.v1 is short-lived: a truncated topic cannot say).
    links = {r["request_id"] for r in await conn.fetch(
        "SELECT request_id FROM reporting.sign_in_links")}
    report.compared["reporting.sign_in_links"] += len(links)
    if topics.SIGN_IN_LINK not in log.truncated:
        published = {e.data.request_id for e in log.sign_ins}
        for rid in links ^ published:
            report.differ("reporting", "sign_in_links", rid, "event on " + topics.SIGN_IN_LINK,
                          "present" if rid in links else "none",
                          "present" if rid in published else "none")
    # The head's directions: one row per event on direction.given.v1, as it says.
    kept = {r["direction_id"]: r for r in await conn.fetch(
        "SELECT direction_id, task_force, given_by, week_label, body, given_at, assignee_id,"
        " due_on FROM reporting.directions")}
    report.compared["reporting.directions"] += len(kept)
    given = {e.data.direction_id: e.data for e in log.directions}
    for did, x in given.items():
        row = kept.get(did)
        if row is None:
            report.differ("reporting", "directions", did, "row", "present", "missing")
            continue
        for name in ("task_force", "given_by", "week_label", "body", "given_at",
                     "assignee_id", "due_on"):
            if row[name] != getattr(x, name):
                report.differ("reporting", "directions", did, name, getattr(x, name),
                              row[name])
    if topics.DIRECTION_GIVEN not in log.truncated:
        for did in kept.keys() - given.keys():
            report.differ("reporting", "directions", did, "cause",
                          "an event on " + topics.DIRECTION_GIVEN, "none")
    await _check_compiled_week(conn, log, report)
    await _check_bottlenecks(conn, log, report)
    rows = {r["difficulty_id"]: r for r in await conn.fetch(
        "SELECT difficulty_id, task_force, status, status_at, lead_assignment_id,"
        " lead_agency_id, ack_due_at, resolve_due_at, acknowledged_at, closed_at, resolved_at,"
        " escalated_central_at, tracking_code, category, urgency, outcome, outcome_at,"
        " public_answer, escalated_at, letter_number, letter_date, zone_type, province_code,"
        " merged_into FROM reporting.difficulties")}
    due = step_fields(cases)
    for did, case in cases.items():
        d = case.received
        if d is None:
            continue
        for aid, a in case.assignments.items():
            ack, resolve = due_of(configs, d, a)
            due[aid].update(ack_due_at=ack, resolve_due_at=resolve)
        row = rows.get(did)
        if row is None:
            report.differ("reporting", "difficulties", did, "row", "projected", "missing")
            continue
        merged = latest_change(s for s in case.statuses.values() if s.merged_into is not None)
        expected = dict(vars_of(derive(configs, case)), tracking_code=d.tracking_code,
                        category=d.category.value, urgency=d.urgency.value,
                        zone_type=d.zone_type.value if d.zone_type else None,
                        province_code=d.province_code,
                        merged_into=merged.merged_into.difficulty_id
                        if merged and merged.merged_into else None)
        compare_row(report, "reporting", "difficulties", did, expected, row)
    for did in rows.keys() - {k for k, c in cases.items() if c.received is not None}:
        if topics.DIFFICULTY_RECEIVED not in log.truncated:
            report.differ("reporting", "difficulties", did, "row", "none (no event)", "present")
    assignment_rows = {r["assignment_id"]: r for r in await conn.fetch(
        "SELECT assignment_id, difficulty_id, agency_id, agency_level, member_id, role, rule,"
        " replaces, active, assigned_at, ack_due_at, resolve_due_at, step, step_at"
        " FROM reporting.assignments")}
    check_assignments(report, "reporting", log, cases, assignment_rows, fields=(
        "difficulty_id", "agency_id", "agency_level", "member_id", "role", "rule", "replaces",
        "assigned_at"), extra=due)
    await _check_resolutions(conn, log, cases, report)
    await _check_feedback(conn, log, cases, report)
    await _check_weekly(conn, log, cases, report)


async def _check_feedback(conn: asyncpg.Connection, log: Log,
                          cases: Mapping[uuid.UUID, Case], report: Report) -> None:
    """Every word of a business on its closed difficulty (#20 item 6) is kept as given,
    given on a difficulty its lead had closed, and nothing else is kept."""
    rows = {r["status_id"]: r for r in await conn.fetch(
        "SELECT status_id, difficulty_id, resolved, rating, comment, given_at"
        " FROM reporting.feedback")}
    given: dict[uuid.UUID, DifficultyStatusChanged] = {}
    reopened: dict[uuid.UUID, int] = {}
    for case in cases.values():
        status: str | None = None
        for s in sorted(case.statuses.values(), key=lambda s: (s.changed_at, str(s.status_id))):
            before, status = status, (s.status.value if s.status is not None else status)
            if s.feedback is None:
                continue
            given[s.status_id] = s
            if before not in ("resolved", "rejected"):
                report.differ("intake", "feedback", s.status_id, "difficulty status",
                              "resolved or rejected", before)
            # "Not resolved" reopens a resolved case: to its lead the first time, then to
            # the permanent deputy's triage; anything else moves nothing.
            reopens = before == "resolved" and s.feedback.resolved is False
            times = reopened.setdefault(s.difficulty_id, 0)
            want = (None if not reopens else "in_progress" if times < 1
                    else "reassign_requested")
            if (s.status.value if s.status else None) != want:
                report.differ("intake", "feedback", s.status_id, "status", want, s.status)
            reopened[s.difficulty_id] += 1 if s.status is not None else 0
    for sid, s in given.items():
        f = s.feedback
        assert f is not None
        row = rows.get(sid)
        report.compared["reporting.feedback"] += 1
        if row is None:
            report.differ("reporting", "feedback", sid, "row", "kept", "missing")
            continue
        compare_row(report, "reporting", "feedback", sid, {
            "difficulty_id": s.difficulty_id, "resolved": f.resolved, "rating": f.rating,
            "comment": f.comment, "given_at": s.changed_at}, row)
    if topics.DIFFICULTY_STATUS not in log.truncated:
        for sid in rows.keys() - given.keys():
            report.differ("reporting", "feedback", sid, "row", "none (no event)", "present")


async def _check_resolutions(conn: asyncpg.Connection, log: Log,
                             cases: Mapping[uuid.UUID, Case], report: Report) -> None:
    """Every resolution on the status topic is kept as given, and nothing else is."""
    rows = {r["status_id"]: r for r in await conn.fetch(
        "SELECT status_id, difficulty_id, assignment_id, actor_id, outcome, done, legal_basis,"
        " public_answer, reason, waived, waiver_reason, resolved_at, ministry_letter_number,"
        " ministry_letter_date FROM reporting.resolutions")}
    given = {sid: s for c in cases.values() for sid, s in c.statuses.items()
             if s.resolution is not None}
    for sid, s in given.items():
        r = s.resolution
        assert r is not None
        row = rows.get(sid)
        if row is None:
            report.differ("reporting", "resolutions", sid, "row", "kept", "missing")
            continue
        compare_row(report, "reporting", "resolutions", sid, {
            "difficulty_id": s.difficulty_id, "assignment_id": s.assignment_id,
            "actor_id": s.actor_id, "outcome": r.outcome.value, "done": r.done,
            "legal_basis": r.legal_basis, "public_answer": r.public_answer,
            "reason": r.reason, "waived": list(r.waived), "waiver_reason": r.waiver_reason,
            "resolved_at": s.changed_at,
            "ministry_letter_number": r.ministry_letter.number if r.ministry_letter else None,
            "ministry_letter_date": r.ministry_letter.dated if r.ministry_letter else None,
        }, row)
    if topics.DIFFICULTY_STATUS not in log.truncated:
        for sid in rows.keys() - given.keys():
            report.differ("reporting", "resolutions", sid, "row", "none (no event)",
                          "present")


async def _check_compiled_week(conn: asyncpg.Connection, log: Log, report: Report) -> None:
    """Each direction's progress one row per event, as it says; each (task force, week)'s
    compiled text the latest save of it."""
    kept = {r["progress_id"]: r for r in await conn.fetch(
        "SELECT progress_id, direction_id, state, note, posted_by, posted_at"
        " FROM reporting.direction_progress")}
    report.compared["reporting.direction_progress"] += len(kept)
    posted = {e.data.progress_id: e.data for e in log.progress}
    for pid, x in posted.items():
        row = kept.get(pid)
        if row is None:
            report.differ("reporting", "direction_progress", pid, "row", "present", "missing")
            continue
        want = {"direction_id": x.direction_id, "state": x.state.value, "note": x.note,
                "posted_by": x.posted_by, "posted_at": x.posted_at}
        for name, value in want.items():
            if row[name] != value:
                report.differ("reporting", "direction_progress", pid, name, value, row[name])
    if topics.DIRECTION_PROGRESS not in log.truncated:
        for pid in kept.keys() - posted.keys():
            report.differ("reporting", "direction_progress", pid, "cause",
                          "an event on " + topics.DIRECTION_PROGRESS, "none")
    latest: dict[tuple[str, str], CompilationSaved] = {}
    for e in log.compilations:
        k = (e.data.task_force, e.data.week_label)
        if k not in latest or latest[k].saved_at < e.data.saved_at:
            latest[k] = e.data
    rows = {(r["task_force"], r["week_label"]): r for r in await conn.fetch(
        "SELECT task_force, week_label, compilation_id, body, submitted, saved_by, saved_at"
        " FROM reporting.compilations")}
    report.compared["reporting.compilations"] += len(rows)
    for k, c in latest.items():
        row = rows.get(k)
        if row is None:
            report.differ("reporting", "compilations", ":".join(k), "row", "present",
                          "missing")
            continue
        for name in ("compilation_id", "body", "submitted", "saved_by", "saved_at"):
            if row[name] != getattr(c, name):
                report.differ("reporting", "compilations", ":".join(k), name,
                              getattr(c, name), row[name])
    if topics.COMPILATION_SAVED not in log.truncated:
        for k in rows.keys() - latest.keys():
            report.differ("reporting", "compilations", ":".join(k), "cause",
                          "an event on " + topics.COMPILATION_SAVED, "none")


async def _check_bottlenecks(conn: asyncpg.Connection, log: Log, report: Report) -> None:
    """Each policy bottleneck as its latest event says, each member item once; each
    difficulty closed with a bottleneck's answer is a member of that bottleneck, answered,
    and was closed with the answer's letter and text (#25 item 1)."""
    latest: dict[uuid.UUID, PolicyBottleneck] = {}
    for sent in log.bottlenecks:
        x = sent.data
        if x.bottleneck_id not in latest or latest[x.bottleneck_id].changed_at < x.changed_at:
            latest[x.bottleneck_id] = x
    rows = {r["bottleneck_id"]: r for r in await conn.fetch(
        "SELECT bottleneck_id, task_force, ministry_id, title, business_count, merged_at,"
        " changed_at, answered_at, payload FROM reporting.bottlenecks")}
    report.compared["reporting.bottlenecks"] += len(rows)
    for bid, b in latest.items():
        row = rows.get(bid)
        if row is None:
            report.differ("reporting", "bottlenecks", bid, "row", "present", "missing")
            continue
        want = {"task_force": b.task_force, "ministry_id": b.ministry_id, "title": b.title,
                "business_count": b.business_count, "merged_at": b.merged_at,
                "changed_at": b.changed_at,
                "answered_at": b.answer.answered_at if b.answer else None,
                "payload": b.model_dump(mode="json")}
        for name, value in want.items():
            got = json.loads(row[name]) if name == "payload" and isinstance(
                row[name], str) else row[name]
            if got != value:
                report.differ("reporting", "bottlenecks", bid, name, value, got)
    members = {r["difficulty_id"]: r["bottleneck_id"] for r in await conn.fetch(
        "SELECT difficulty_id, bottleneck_id FROM reporting.bottleneck_items")}
    report.compared["reporting.bottleneck_items"] += len(members)
    merged = {it.difficulty_id: b.bottleneck_id for b in latest.values() for it in b.items}
    for did in merged.keys() | members.keys():
        if merged.get(did) != members.get(did):
            if topics.POLICY_BOTTLENECK in log.truncated and did not in merged:
                continue
            report.differ("reporting", "bottleneck_items", did, "bottleneck_id",
                          merged.get(did), members.get(did))
    if topics.POLICY_BOTTLENECK not in log.truncated:
        for bid in rows.keys() - latest.keys():
            report.differ("reporting", "bottlenecks", bid, "cause",
                          "an event on " + topics.POLICY_BOTTLENECK, "none")
        for changed in log.status:
            r = changed.data.resolution
            if r is None or r.bottleneck_id is None:
                continue
            found = latest.get(r.bottleneck_id)
            answer = found.answer if found is not None else None
            if (answer is None or merged.get(changed.data.difficulty_id) != r.bottleneck_id
                    or r.ministry_letter != answer.letter
                    or r.public_answer != answer.public_answer):
                report.differ("events", topics.DIFFICULTY_STATUS, changed.data.status_id,
                              "bottleneck answer", "the answer of a bottleneck it is in",
                              str(r.bottleneck_id))


def _direction_states(log: Log) -> dict[uuid.UUID, list[DirectionProgress]]:
    """Each direction's progress, in the order it was posted."""
    out: dict[uuid.UUID, list[DirectionProgress]] = defaultdict(list)
    for e in log.progress:
        out[e.data.direction_id].append(e.data)
    for steps in out.values():
        steps.sort(key=lambda x: (x.posted_at, x.progress_id))
    return out


def _check_report_directions(report: Report, key: str, body: Mapping[str, Any], log: Log
                             ) -> None:
    """A compiled week's directions are directions the head gave, as given, each in the
    state its progress events put it in at the week's end."""
    if not body.get("directions") or body.get("final") or not body.get("rows"):
        return
    given = {e.data.direction_id: e.data for e in log.directions}
    states = _direction_states(log)
    end = min(datetime.fromisoformat(body["window_end"]),
              datetime.fromisoformat(body["generated_at"]))
    for d in body["directions"]:
        did = uuid.UUID(d["direction_id"])
        x = given.get(did)
        if x is None:
            if topics.DIRECTION_GIVEN not in log.truncated:
                report.differ("reporting", "weekly_reports", f"{key}:{did}", "direction",
                              "an event on " + topics.DIRECTION_GIVEN, "none")
            continue
        for name, value in (("body", x.body), ("assignee_id", x.assignee_id),
                            ("due_on", x.due_on.isoformat() if x.due_on else None)):
            if d.get(name) != value:
                report.differ("reporting", "weekly_reports", f"{key}:{did}", name, value,
                              d.get(name))
        if topics.DIRECTION_PROGRESS in log.truncated:
            continue
        by_then = [p for p in states.get(did, []) if p.posted_at <= end]
        state = by_then[-1].state.value if by_then else "open"
        if d.get("state") != state:
            report.differ("reporting", "weekly_reports", f"{key}:{did}", "state", state,
                          d.get("state"))


def vars_of(d: Derived) -> dict[str, Any]:
    return {k: getattr(d, k) for k in Derived.__slots__}


async def _check_weekly(conn: asyncpg.Connection, log: Log, cases: Mapping[uuid.UUID, Case],
                        report: Report) -> None:
    """Every stored weekly report published as stored; every urgent difficulty reported
    at once (an interim report); nothing published that is neither."""
    stored = await conn.fetch(
        "SELECT task_force, week_label, event_id, report FROM reporting.weekly_reports")
    published: dict[str, list[Envelope[WeeklyReport]]] = defaultdict(list)
    for e in log.weekly:
        published[e.id].append(e)
    interim = {r["difficulty_id"]: r["event_id"] for r in await conn.fetch(
        "SELECT difficulty_id, event_id FROM reporting.urgent_alerts")}
    for did, case in cases.items():
        if case.received is None or case.received.urgency.value != "urgent":
            continue
        report.compared["reporting.urgent_alerts"] += 1
        if did not in interim:
            report.differ("reporting", "urgent_alerts", did, "row", "an interim report",
                          "missing")
        elif interim[did] not in published and topics.REPORT_WEEKLY not in log.truncated:
            report.differ("reporting", "urgent_alerts", did, "published on "
                          + topics.REPORT_WEEKLY, 1, 0)
    for r in stored:
        key = f"{r['task_force']}:{r['week_label']}"
        report.compared["reporting.weekly_reports"] += 1
        body = r["report"] if isinstance(r["report"], dict) else json.loads(r["report"])
        events = published.get(r["event_id"], [])
        if not events:
            if topics.REPORT_WEEKLY not in log.truncated:
                report.differ("reporting", "weekly_reports", key, "published on "
                              + topics.REPORT_WEEKLY, 1, 0)
        else:
            sent = events[0].data.model_dump(mode="json")
            for part in ("rows", "league"):
                if sent[part] != body.get(part):
                    report.differ("reporting", "weekly_reports", key, part, sent[part],
                                  body.get(part))
        _check_breakdowns(report, key, body.get("rows") or [])
        _check_report_directions(report, key, body, log)
        if body.get("league") is not None:
            check_league(report, key, body["league"], body.get("rows") or [])
    ids = {r["event_id"] for r in stored} | set(interim.values())
    for eid, events in published.items():
        if eid not in ids:
            d = events[0].data
            report.differ("reporting", "weekly_reports", f"{d.province_code}:{d.week_label}",
                          "row", "stored (published)", "missing")


_COUNTS = ("received", "resolved", "rejected", "carried_over", "open", "overdue",
           "escalated_central", "partly_resolved", "escalated")


def _check_breakdowns(report: Report, key: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Each breakdown (by agency, zone type, category) adds up to the total, and in every
    row what the week began with and received is what it resolved, rejected and left
    open."""
    total = next((r for r in rows if r["dimension"] == "total"), None)
    if total is None:
        report.differ("reporting", "weekly_reports", key, "rows", "a total row", "none")
        return
    for r in rows:
        if "carried_over" not in r:
            continue  # stored before the week's balance was kept
        came = int(r["carried_over"]) + int(r["received"])
        went = int(r["resolved"]) + int(r["rejected"]) + int(r["open"])
        if came != went:
            report.differ("reporting", "weekly_reports", f"{key}:{r['dimension']}:{r['value']}",
                          "carried over + received", went, came)
    for dim in ("agency", "zone_type", "category"):
        part = [r for r in rows if r["dimension"] == dim]
        for c in _COUNTS:
            s = sum(int(r.get(c, 0)) for r in part)
            if s != int(total.get(c, 0)):
                report.differ("reporting", "weekly_reports", key, f"sum of {c} by {dim}",
                              total[c], s)


def _share(n: int, of: int) -> float | None:
    return None if of == 0 else round(100 * n / of, 1)


def check_league(report: Report, key: str, league: Mapping[str, Any],
                  rows: Sequence[Mapping[str, Any]]) -> None:
    """The league table against its own counts and the same report's agency rows. (It is
    not recomputed from the events: a week published before late events of its own came,
    say at a restart, is frozen as it was, by design.)"""
    by_agency = {r["value"]: r for r in rows if r["dimension"] == "agency"}
    ranked = [r["agency_id"] for r in league["rows"]]
    if sorted(ranked) != sorted(set(by_agency) - {"unknown"}):
        report.differ("reporting", "weekly_reports", key, "league agencies",
                      sorted(set(by_agency) - {"unknown"}), sorted(ranked))
    for r in league["rows"]:
        at = f"{key}:league:{r['agency_id']}"
        for n, of, pct in (("ack_on_time", "ack_measured", "ack_on_time_pct"),
                           ("resolved_on_time", "resolve_measured", "resolved_on_time_pct")):
            if not 0 <= r[n] <= r[of]:
                report.differ("reporting", "weekly_reports", at, n, f"0..{r[of]}", r[n])
            if r[pct] != _share(r[n], r[of]):
                report.differ("reporting", "weekly_reports", at, pct, _share(r[n], r[of]),
                              r[pct])
        agency_row = by_agency.get(r["agency_id"])
        if agency_row is not None and agency_row["resolved"] != r["resolved"]:
            report.differ("reporting", "weekly_reports", at, "resolved",
                          agency_row["resolved"], r["resolved"])
        if (r["median_working_days"] is None) != (r["resolved"] == 0):
            report.differ("reporting", "weekly_reports", at, "median_working_days",
                          "a figure" if r["resolved"] else "null", r["median_working_days"])
        if (r["rating_average"] is None) != (r["rated"] == 0) or r["rated"] > r["resolved"]:
            report.differ("reporting", "weekly_reports", at, "rated, rating_average",
                          f"0..{r['resolved']} rated, an average only if any",
                          [r["rated"], r["rating_average"]])
    # Best resolved-on-time share first; nothing measured last.
    shares = [r["resolved_on_time_pct"] for r in league["rows"]]
    measured = [s for s in shares if s is not None]
    if shares[:len(measured)] != sorted(measured, reverse=True):
        report.differ("reporting", "weekly_reports", key, "league order",
                      "best resolved-on-time share first", shares)
