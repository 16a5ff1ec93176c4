"""Notify's notices against the events: one for every assignment and weekly report,
the alarms of urgent difficulties, the business's notices at each public step, and every
delivery announced once (`Deliveries`, checked at a cut)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from shared import topics
from shared.calendar import TZ, is_working_day
from shared.deadlines import central_schedule
from shared.events import (
    Envelope,
    NotificationSent,
    PolicyBottleneck,
    WeeklyReport,
    deterministic_id,
)
from shared.provinces import ConfigSet, Deadlines
from thaogo.verify.fold import Case
from thaogo.verify.log import Log
from thaogo.verify.report import Report, compare_row


@dataclass(frozen=True)
class Deliveries:
    """Notify's delivered messages, and the announcements of them its outbox still holds,
    as of one moment before the checker reads the topics. Each message marked sent has its
    announcement enqueued in the same transaction, so by that moment it is either on
    notification.sent.v1 (the relay marks a row only once the broker has it) or queued."""

    sent: frozenset[str]
    queued: frozenset[str]  # event ids

    def differences(self, announcements: Iterable[Envelope[NotificationSent]],
                    state_after: Mapping[str, str], *, truncated: bool
                    ) -> list[tuple[str, str, object, object]]:
        """(message, what, expected, found) for each delivery announced other than once.
        `announcements` are read after this snapshot, `state_after` after them: a
        message sent in between may be announced already, never the other way round."""
        out: list[tuple[str, str, object, object]] = []
        announced: dict[str, set[str]] = defaultdict(set)
        for note in announcements:
            announced[note.data.notification_key].add(note.id)
        for key in sorted(self.sent):
            n = len(announced.get(key, ()))
            queued = deterministic_id("notification.sent", key) in self.queued
            if n > 1 or (n == 0 and not queued and not truncated):
                out.append((key, "events on " + topics.NOTIFICATION_SENT, 1, n))
        for key in sorted(announced):
            if state_after.get(key) != "sent":
                out.append((key, "state", "sent (announced)", state_after.get(key, "missing")))
        return out

    @classmethod
    async def snapshot(cls, dsn: str) -> Deliveries:
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                sent = await conn.fetch(
                    "SELECT message_key FROM notify.messages WHERE state = 'sent'")
                queued = await conn.fetch(
                    "SELECT event_id FROM notify.outbox WHERE sent_at IS NULL AND topic = $1",
                    topics.NOTIFICATION_SENT)
        finally:
            await conn.close()
        return cls(sent=frozenset(r["message_key"] for r in sent),
                   queued=frozenset(r["event_id"] for r in queued))


def _check_direction_reminders(configs: ConfigSet, log: Log, messages: Sequence[Any],
                               report: Report) -> None:
    """A tracked direction not done is reminded to whoever it names (while the
    configuration has them) on the working day before its due date, if that came after
    it was given, and on the day; a direction done may have had its reminders cancelled;
    no reminder without a direction."""
    reminded: dict[str, dict[str, str]] = defaultdict(dict)  # direction -> which -> state
    for m in messages:
        if m["kind"] == "direction_due":
            _, did, which, *_ = m["message_key"].split(":")
            reminded[did][which] = m["state"]
    done = {e.data.direction_id for e in log.progress if e.data.state.value == "done"}
    given = {e.data.direction_id: e.data for e in log.directions}
    for did, x in given.items():
        cfg = configs.get(x.task_force)
        if x.assignee_id is None or x.due_on is None or cfg is None or did in done:
            continue
        if cfg.agency(x.assignee_id) is None and all(
                m.id != x.assignee_id for m in cfg.task_force.active_members()):
            continue
        day = x.due_on - timedelta(days=1)
        while not is_working_day(day):
            day -= timedelta(days=1)
        owed = ["due"] + (["before"] if datetime(day.year, day.month, day.day, 8, tzinfo=TZ)
                          > x.given_at
                          else [])
        for which in owed:
            state = reminded.get(str(did), {}).get(which)
            if state is None or state == "cancelled":
                report.differ("notify", "messages", f"{did}:{which}",
                              f"direction reminder to {x.assignee_id}", "queued",
                              state or "missing")
    if topics.DIRECTION_GIVEN not in log.truncated:
        for did in reminded.keys() - {str(d) for d in given}:
            report.differ("notify", "messages", did, "cause",
                          "an event on " + topics.DIRECTION_GIVEN, "none")


async def check_notify(conn: asyncpg.Connection, configs: ConfigSet, log: Log,
                       cases: Mapping[uuid.UUID, Case], deliveries: Deliveries,
                       report: Report) -> None:
    messages = await conn.fetch(
        "SELECT message_key, kind, recipient_id, difficulty_id, state, urgent,"
        " payload->>'week_label' AS week_label FROM notify.messages")
    by_assignment: set[tuple[str, str]] = set()
    # (urgent difficulty, person) -> whether each of its messages is still pending but
    # not allowed at night
    alarms: dict[tuple[str, str], bool] = {}
    reported: set[tuple[str, str | None, str]] = set()  # (kind, week, recipient)
    interim: set[tuple[str, str]] = set()  # (urgent difficulty, recipient)
    for m in messages:
        report.compared["notify.messages"] += 1
        did = m["difficulty_id"]
        if (did is not None and (did not in cases or not cases[did].assignments)
                and topics.DIFFICULTY_ASSIGNED not in log.truncated):
            report.differ("notify", "messages", m["message_key"], "cause",
                          "an assigned difficulty", "none")
        parts = m["message_key"].split(":")
        if m["kind"] == "assignment" and len(parts) >= 3:
            by_assignment.add((parts[1], parts[2]))
        elif m["kind"] == "interim_report" and len(parts) >= 5:
            interim.add((parts[3], m["recipient_id"]))
        elif m["kind"] == "urgent_difficulty" and len(parts) >= 3:
            waits = m["state"] == "pending" and not m["urgent"]
            alarms[(parts[1], parts[2])] = alarms.get((parts[1], parts[2]), False) or waits
        else:
            reported.add((m["kind"], m["week_label"], m["recipient_id"]))
    for case in cases.values():
        for aid, a in case.assignments.items():
            if (str(aid), a.member_id or a.agency_id) not in by_assignment:
                report.differ("notify", "messages", aid, "assignment notice to "
                              + (a.member_id or a.agency_id), "queued", "missing")
    check_alarms(configs, log, cases, alarms, report)
    # Each publication on report.weekly.v1 is its own mail to the head and the permanent
    # deputy of its task force: the compiled week, the final report, and an interim
    # report (one urgent item, no figures) per urgent difficulty.
    for e in log.weekly:
        w = e.data
        for cfg in _task_forces_of_report(configs, w):
            for person in {cfg.task_force.head.id, cfg.task_force.permanent_deputy.id}:
                is_interim = not w.final and not w.rows and len(w.urgent_items) == 1
                found = ((str(w.urgent_items[0].difficulty_id), person) in interim
                         if is_interim else ("weekly_report", w.week_label, person) in reported)
                if not found:
                    report.differ("notify", "messages", f"{cfg.slug}:{w.week_label}",
                                  f"{'interim' if is_interim else 'weekly'} report to {person}",
                                  "queued", "missing")
    # A sign-in link is mailed to the e-mail contact of its recipient whose address the
    # person typed (the event carries its hash), if the configuration still has it.
    sign_ins = {k.rsplit(":", 1)[0] for k in (m["message_key"] for m in messages)
                if k.startswith("sign_in:")}
    for link in (e.data for e in log.sign_ins):
        cfg = configs.get(link.province)
        holder = cfg and (cfg.person(link.recipient_id) or cfg.agency(link.recipient_id))
        owed = bool(holder) and any(
            str(c.channel) == "email" and hashlib.sha256(
                c.address.strip().casefold().encode()).hexdigest() == link.address_sha256
            for c in (holder.contacts if holder else []))
        mailed = f"sign_in:{link.request_id}:{link.recipient_id}" in sign_ins
        if owed != mailed:
            report.differ("notify", "messages", str(link.request_id),
                          f"sign-in link to {link.recipient_id}",
                          "queued" if owed else "none", "queued" if mailed else "none")
    # A reminder the permanent deputy asked for goes to each channel of the member while
    # the configuration has them as an active member of that task force, once a request.
    asked = {k.rsplit(":", 1)[0] for k in (m["message_key"] for m in messages)
             if k.startswith("member_reminder:")}
    for r in (e.data for e in log.reminders):
        cfg = configs.get(r.task_force)
        owed = cfg is not None and any(m.id == r.member_id
                                       for m in cfg.task_force.active_members())
        reminded = f"member_reminder:{r.request_id}:{r.member_id}" in asked
        if owed != reminded:
            report.differ("notify", "messages", str(r.request_id),
                          f"reminder to {r.member_id}", "queued" if owed else "none",
                          "queued" if reminded else "none")
    if topics.MEMBER_REMINDER not in log.truncated:
        requested = {f"member_reminder:{e.data.request_id}:{e.data.member_id}"
                     for e in log.reminders}
        for key in asked - requested:
            report.differ("notify", "messages", key, "cause",
                          "an event on " + topics.MEMBER_REMINDER, "none")
    await _check_central(conn, configs, cases, messages, report)
    await _check_zone_alerts(conn, configs, cases, messages, report)
    _check_direction_reminders(configs, log, messages, report)
    check_business_notices(log, cases, messages, report)
    for key, what, expected, seen in deliveries.differences(
            log.sent, {m["message_key"]: m["state"] for m in messages},
            truncated=topics.NOTIFICATION_SENT in log.truncated):
        report.differ("notify", "messages", key, what, expected, seen)


def _business_steps(case: Case, bottlenecks: Sequence[PolicyBottleneck]) -> set[str]:
    """The public steps the business of `case` is told of by e-mail, as
    `<notice>:<cause>`: received; each lead (not a ministry) that takes it; an agency's
    question; the lead's answer (resolved, rejected, escalated; a ministry's, citing its
    letter); the business's "not resolved" that reopens it; each bottleneck it is merged
    into."""
    assert case.received is not None
    did = case.received.difficulty_id
    out = {f"received:{did}"}
    for aid, a in case.assignments.items():
        if a.role.value == "lead" and a.agency_level.value != "central":
            out.add(f"assigned:{aid}")
    for sid, st in case.statuses.items():
        status = st.status.value if st.status is not None else None
        if st.actor_kind.value == "business":
            if (st.feedback is not None and st.feedback.resolved is False
                    and status in ("in_progress", "reassign_requested")):
                out.add(f"reopened:{sid}")
        elif (step := st.step_taken()) is not None and step.value == "need_info" \
                and st.question:
            out.add(f"need_info:{sid}")
        elif (st.resolution is not None and st.resolution.ministry_letter is not None
              and status in ("resolved", "rejected")):
            out.add(f"ministry_answered:{sid}")
        elif status in ("resolved", "rejected", "escalated"):
            out.add(f"{status}:{sid}")
    for b in bottlenecks:
        if b.answer is None and any(it.difficulty_id == did for it in b.items):
            out.add(f"merged:{b.bottleneck_id}")
    return out


def check_business_notices(log: Log, cases: Mapping[uuid.UUID, Case],
                            messages: Sequence[Any], report: Report) -> None:
    """A business that gave an e-mail is mailed once at each public step of its difficulty
    (keys business_<notice>:<difficulty>:<cause>:email), and no other business is."""
    mailed: dict[str, set[str]] = defaultdict(set)
    for m in messages:
        kind, _, rest = m["message_key"].partition(":")
        if kind.startswith("business_") and m["message_key"].endswith(":email"):
            did, _, cause = rest.removesuffix(":email").partition(":")
            mailed[did].add(f"{kind.removeprefix('business_')}:{cause}")
    if {topics.DIFFICULTY_RECEIVED, topics.DIFFICULTY_ASSIGNED, topics.DIFFICULTY_STATUS,
            topics.POLICY_BOTTLENECK} & log.truncated:
        return
    bottlenecks = [e.data for e in log.bottlenecks]
    for did, case in cases.items():
        if case.received is None:
            continue
        owed = (_business_steps(case, bottlenecks)
                if (case.received.contact.email or "").strip() else set())
        got = mailed.pop(str(did), set())
        for step in sorted(owed - got):
            report.differ("notify", "messages", did, f"notice to the business: {step}",
                          "queued", "missing")
        for step in sorted(got - owed):
            report.differ("notify", "messages", did, f"notice to the business: {step}",
                          "none", "queued")
    for did in mailed:
        report.differ("notify", "messages", did, "cause", "an event on "
                      + topics.DIFFICULTY_RECEIVED, "none")


CENTRAL_KINDS = ("central_answer", "central_progress")


async def _check_central(conn: asyncpg.Connection, configs: ConfigSet,
                         cases: Mapping[uuid.UUID, Case], messages: Sequence[asyncpg.Record],
                         report: Report) -> None:
    """An assignment escalating to a central ministry is followed on the answer's deadline
    of its task force (in working or calendar days), and the permanent deputy is reminded
    to chase at exactly the points the sweep has passed: the answer's deadline (n = 1),
    then each progress point, under keys kind:assignment:n:deputy:channel, none other."""
    followed = {r["assignment_id"]: r for r in await conn.fetch(
        "SELECT assignment_id, central, resolve_deadline, resolve_due, next_check_at,"
        " closed_at FROM notify.assignments")}
    owed: dict[tuple[str, int], str] = {}  # (assignment, n) -> the deputy to remind
    for case in cases.values():
        for aid, a in case.assignments.items():
            if not (a.role.value == "escalation" and a.agency_level.value == "central"):
                continue
            slug = a.agency_id.split(".", 1)[0]
            cfg = configs.get(slug) or configs.for_difficulty(a.province_code)
            rule = (cfg.deadlines if cfg else Deadlines()).central
            points = central_schedule(a.assigned_at, rule)
            deputy = cfg.task_force.permanent_deputy.id if cfg else a.agency_id
            for n in range(1, len(points) + 1):
                owed[(str(aid), n)] = deputy
            row = followed.get(aid)
            if row is None:
                report.differ("notify", "assignments", aid, "row", "followed", "missing")
                continue
            compare_row(report, "notify", "assignments", aid, {
                "central": True, "resolve_deadline": points[0]}, row)
            # The sweep has passed every point before the next check: the latest of them is
            # owed (an earlier one may have been skipped by a sweep that came late).
            if row["closed_at"] is None and row["next_check_at"] is not None:
                passed = sum(1 for t in row["resolve_due"] if t < row["next_check_at"])
                if passed and not any(
                        m["message_key"].startswith(
                            f"{CENTRAL_KINDS[passed > 1]}:{aid}:{passed}:{deputy}:")
                        for m in messages):
                    report.differ("notify", "messages", aid, f"central reminder {passed}",
                                  "queued", "missing")
    for m in messages:
        if m["kind"] not in CENTRAL_KINDS:
            continue
        kind, aid, n, recipient = [*m["message_key"].split(":"), "", "", "", ""][:4]
        expected = owed.get((aid, int(n) if n.isdigit() else 0))
        if expected is None or recipient != expected or m["recipient_id"] != expected or (
                kind != CENTRAL_KINDS[n != "1"]):
            report.differ("notify", "messages", m["message_key"], "cause",
                          "a point of a central escalation's schedule, to its deputy", "none")


ZONE_OVERDUE = "zone_overdue"


async def _check_zone_alerts(conn: asyncpg.Connection, configs: ConfigSet,
                             cases: Mapping[uuid.UUID, Case],
                             messages: Sequence[asyncpg.Record], report: Report) -> None:
    """The deputies by zone type (#21 item 4): an assignment holding a difficulty in the
    province (lead, escalation to the head, triage) carries the deputies whose zone types
    include its zone (a row with none was followed before zones were: accepted); each
    alert names such an assignment and one of its deputies; and once the sweep has passed
    the resolve deadline of an open one, each of its deputies has the alert keyed
    zone_overdue:<assignment>:resolve@<deadline epoch>:<deputy>:<channel>."""
    expected: dict[str, list[str]] = {}  # assignment -> its zone's deputies
    for case in cases.values():
        for aid, a in case.assignments.items():
            cfg = configs.for_difficulty(a.province_code, case.received.task_force
                                         if case.received else None)
            central = a.role.value == "escalation" and a.agency_level.value == "central"
            if cfg is None or a.zone_type is None or central or a.role.value not in (
                    "lead", "escalation", "triage"):
                expected[str(aid)] = []
                continue
            tf = cfg.task_force
            expected[str(aid)] = sorted({d.id for d in (*tf.deputies, tf.permanent_deputy)
                                         if a.zone_type in d.zone_types})
    keys = {m["message_key"] for m in messages if m["kind"] == ZONE_OVERDUE}
    for r in await conn.fetch(
            "SELECT assignment_id, zone_deputies, resolve_deadline, resolve_due,"
            " next_check_at, closed_at FROM notify.assignments"
            " WHERE zone_deputies <> '[]'::jsonb"):
        followed = str(r["assignment_id"])
        zone = r["zone_deputies"]
        carried = sorted(d["id"] for d in (zone if isinstance(zone, list) else json.loads(zone)))
        compare_row(report, "notify", "assignments", followed, {
            "zone_deputies": expected.get(followed, [])}, {"zone_deputies": carried})
        if (r["closed_at"] is None and r["next_check_at"] is not None and r["resolve_due"]
                and r["resolve_due"][0] < r["next_check_at"]):
            step = f"resolve@{int(r['resolve_deadline'].timestamp())}"
            for deputy in carried:
                if not any(k.startswith(f"{ZONE_OVERDUE}:{followed}:{step}:{deputy}:")
                           for k in keys):
                    report.differ("notify", "messages", followed, f"zone alert to {deputy}",
                                  "queued", "missing")
    for key in keys:
        _, named, step, deputy = [*key.split(":"), "", "", ""][:4]
        if deputy not in expected.get(named, []) or step.split("@")[0] not in ("ack", "resolve"):
            report.differ("notify", "messages", key, "cause",
                          "an overdue assignment of the deputy's zone", "none")


def check_alarms(configs: ConfigSet, log: Log, cases: Mapping[uuid.UUID, Case],
                  alarms: Mapping[tuple[str, str], bool], report: Report) -> None:
    """The head and the permanent deputy hear of every urgent difficulty once it has a
    lead (or sits in triage), and of every confirmation of one; a confirmed one is not
    left waiting for office hours."""
    for did, case in cases.items():
        d = case.received
        holders = [a for a in case.assignments.values() if a.role.value in ("lead", "triage")]
        owed: dict[str, Any] = {}  # the task forces whose head and deputy are told
        if d is not None and d.urgency.value == "urgent":
            for a in holders:
                slug = a.agency_id.split(".", 1)[0]
                cfg = configs[slug] if slug in configs else configs.for_difficulty(
                    a.province_code)
                owed.update({cfg.slug: cfg} if cfg is not None else {})
        for c in case.confirmations.values():
            cfg = configs.for_difficulty(c.province_code, c.task_force)
            owed.update({cfg.slug: cfg} if cfg is not None else {})
        for cfg in owed.values():
            for person in {cfg.task_force.head.id, cfg.task_force.permanent_deputy.id}:
                found = alarms.get((str(did), person))
                if found is None:
                    report.differ("notify", "messages", did, "urgent alarm to " + person,
                                  "queued", "missing")
                elif found and case.confirmations:
                    report.differ("notify", "messages", did, "urgent alarm to " + person,
                                  "due at once (confirmed)", "held for office hours")


def _task_forces_of_report(configs: ConfigSet, w: WeeklyReport) -> list[Any]:
    """The task force(s) a report is of: the one its page names (a province code can
    have several), else those of its province code."""
    if w.page_url and "/reports/" in w.page_url:
        slug = w.page_url.split("/reports/", 1)[1].split("/", 1)[0]
        if slug in configs:
            return [configs[slug]]
    found = configs.for_difficulty(w.province_code)
    return [found] if found is not None else configs.by_province_code(w.province_code)
