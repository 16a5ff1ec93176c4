"""`thaogo verify`: what the services derived, held against what the events say.

The checker reads every topic from its beginning, folds the events with its own small
rules (written here, not borrowed from the services' projections, so a bug there cannot
hide itself) and compares the result with each service's tables, field by field:

- intake: every accepted difficulty is on `difficulty.received.v1` under one event id,
  and every event there is a difficulty intake accepted; the assignments intake keeps
  (who may update what) are the events' assignments, with the same active flags and
  each with the step its holder last took;
- router: every assignment event is a stored assignment with the same fields, active
  exactly when no later assignment replaces it; one active assignment per (difficulty,
  role, agency, member); each traceable to a received difficulty; every agency's task on
  its topic, with the business's contact in the lead agency's task only;
- reporting: each difficulty's status, lead agency, deadlines, acknowledged / resolved /
  closed times, central escalation, task force and the lead's latest outcome and public
  answer, its zone type, category and province as the permanent deputy's latest
  correction left them, and the difficulty a duplicate was merged into; its
  assignments, each with its own step; every resolution as given; every stored weekly
  report published once, as stored, with breakdowns that add up to their
  totals and a league table that agrees with itself and with the report's agency rows;
- intake's urgency confirmations: one per confirmed difficulty, on its topic under one
  event id, and one for every difficulty a member or operator filed urgent;
- intake's history chains (shared/audit.py): every row's hash recomputed, every chain
  held against its difficulty's head, the positions and hashes its events carried and
  every chain head a weekly report published (`thaogo verify --audit` runs this alone);
- notify: a notice for every agency assignment and every published weekly report, an
  alarm to the head and the permanent deputy of every urgent difficulty with a lead (none
  still held for office hours once confirmed), none about a difficulty that does not
  exist, and every delivered message announced on
  `notification.sent.v1` under one event id.

Differences are printed one a line (service, table, id, field, expected, found). What
the topics no longer hold (retention dropped their beginning) is said, not guessed.

Before comparing, it waits until the services have caught up: every consumer group of
theirs committed up to the end of its topics and every outbox is empty. A read model is
eventually consistent; comparing it while events are still in flight would report the
flight, not a fault. Notify's deliveries are the exception: it may owe mail for many
minutes after a burst, so they are checked at a cut (`Deliveries`) instead of waited for.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import audit, topics
from shared.audit import Finding
from shared.calendar import TZ, is_working_day
from shared.deadlines import central_schedule, deadlines_for
from shared.events import (
    AgencyTask,
    AttachmentRef,
    BusinessAnswer,
    CompilationSaved,
    DecodeError,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    DirectionGiven,
    DirectionProgress,
    Envelope,
    EventData,
    MemberReminderRequested,
    NotificationSent,
    PolicyBottleneck,
    SignInLink,
    WeeklyReport,
    decode,
    deterministic_id,
)
from shared.provinces import ConfigSet, Deadlines

# The services' consumer groups start with this (their settings' defaults).
GROUP_PREFIX = "thaogo-"
SCHEMAS_WITH_OUTBOX = ("intake", "reporting", "notify")
# Roles that hold a difficulty (the one whose deadlines count), as the design says.
HOLDING_ROLES = frozenset({"lead", "escalation", "triage"})
# What counts as an agency having taken the case in hand.
TAKEN_IN_HAND = frozenset({"acknowledged", "in_progress", "resolved", "rejected", "escalated"})
CLOSING = frozenset({"resolved", "rejected", "merged"})
# What a change that names an assignment but no step did to it (events before steps).
STEP_OF_STATUS = {"acknowledged": "acknowledged", "in_progress": "in_progress",
                  "resolved": "done", "rejected": "done", "escalated": "done",
                  "reassign_requested": "declined"}


@dataclass(frozen=True, slots=True)
class Difference:
    service: str
    table: str
    id: str
    field: str
    expected: Any
    found: Any

    def __str__(self) -> str:
        return (f"{self.service}\t{self.table}\t{self.id}\t{self.field}\t"
                f"expected {_show(self.expected)}\tfound {_show(self.found)}")


def _show(v: Any) -> str:
    if isinstance(v, datetime):
        return v.isoformat()
    return json.dumps(v, default=str, ensure_ascii=False) if not isinstance(v, str) else v


@dataclass
class Report:
    differences: list[Difference] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)  # decoded events per topic
    undecodable: Counter[str] = field(default_factory=Counter)
    compared: Counter[str] = field(default_factory=Counter)  # rows compared per table
    unchecked: list[str] = field(default_factory=list)  # what retention made impossible
    audit: list[Finding] = field(default_factory=list)  # what the history chains show
    audit_summary: str | None = None

    def differ(self, service: str, table: str, id_: object, fld: str, expected: Any,
               found: Any) -> None:
        self.differences.append(Difference(service, table, str(id_), fld, expected, found))

    @property
    def ok(self) -> bool:
        return not self.differences and not self.audit

    def summary(self) -> str:
        lines = [str(d) for d in self.differences] + [str(f) for f in self.audit]
        if self.audit_summary is not None:
            lines.append(self.audit_summary)
        lines += [f"not checked: {u}" for u in self.unchecked]
        n = len(self.differences) + len(self.audit)  # an audit finding is a difference too
        lines.append(
            f"{sum(self.events.values())} events read"
            + (f" ({sum(self.undecodable.values())} undecodable, left to the dead-letter"
               " topics)" if self.undecodable else "")
            + f", {sum(self.compared.values())} rows compared, "
            + f"{n} difference{'s' if n != 1 else ''}")
        return "\n".join(lines)


# --- reading the log -----------------------------------------------------------------------


@dataclass
class Log:
    """Every decoded event of the topics read, in log order per partition."""

    received: list[Envelope[DifficultyReceived]] = field(default_factory=list)
    assigned: list[Envelope[DifficultyAssigned]] = field(default_factory=list)
    status: list[Envelope[DifficultyStatusChanged]] = field(default_factory=list)
    urgency: list[Envelope[DifficultyUrgencyConfirmed]] = field(default_factory=list)
    weekly: list[Envelope[WeeklyReport]] = field(default_factory=list)
    sent: list[Envelope[NotificationSent]] = field(default_factory=list)
    sign_ins: list[Envelope[SignInLink]] = field(default_factory=list)
    reminders: list[Envelope[MemberReminderRequested]] = field(default_factory=list)
    directions: list[Envelope[DirectionGiven]] = field(default_factory=list)
    progress: list[Envelope[DirectionProgress]] = field(default_factory=list)
    compilations: list[Envelope[CompilationSaved]] = field(default_factory=list)
    bottlenecks: list[Envelope[PolicyBottleneck]] = field(default_factory=list)
    tasks: dict[str, list[Envelope[AgencyTask]]] = field(default_factory=dict)
    answers: dict[str, list[Envelope[BusinessAnswer]]] = field(default_factory=dict)
    truncated: set[str] = field(default_factory=set)  # topics whose beginning is gone


_MODELS: dict[str, type[EventData]] = {
    topics.DIFFICULTY_RECEIVED: DifficultyReceived,
    topics.DIFFICULTY_ASSIGNED: DifficultyAssigned,
    topics.DIFFICULTY_STATUS: DifficultyStatusChanged,
    topics.DIFFICULTY_URGENCY: DifficultyUrgencyConfirmed,
    topics.REPORT_WEEKLY: WeeklyReport,
    topics.NOTIFICATION_SENT: NotificationSent,
    topics.SIGN_IN_LINK: SignInLink,
    topics.MEMBER_REMINDER: MemberReminderRequested,
    topics.DIRECTION_GIVEN: DirectionGiven,
    topics.DIRECTION_PROGRESS: DirectionProgress,
    topics.COMPILATION_SAVED: CompilationSaved,
    topics.POLICY_BOTTLENECK: PolicyBottleneck,
}


# The checker fetches what is there and wants the answer now: a fetch of a partition
# with nothing new otherwise waits the broker's default 500 ms for data that will not
# come, and settling asks every group's topics for their high watermarks several times
# (7 of a test's 8 s of checking went to that wait).
FETCH_WAIT_MS = 10


async def read_log(bootstrap: str, names: Iterable[str], report: Report, log: Log,
                   **security: Any) -> None:
    """Read each topic from its beginning up to the end it had when reading started."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                client_id="thaogo-verify", fetch_max_wait_ms=FETCH_WAIT_MS,
                                **security)
    await consumer.start()
    try:
        present = await consumer.topics()
        wanted = sorted(set(names) & present)
        tps = [TopicPartition(t, p) for t in wanted
               for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            return
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        log.truncated |= {tp.topic for tp in tps if begin[tp] > 0}
        for tp in tps:
            consumer.seek(tp, begin[tp])
        # Up to the high watermark that fetching reports: the embedded broker's answer
        # to ListOffsets (`end_offsets`) counts batches, not records, and falls short.
        left = set(tps)
        while left:
            got = await consumer.getmany(*left, timeout_ms=500, max_records=5000)
            for tp, records in got.items():
                for r in records:
                    _keep(log, report, tp.topic, r.value, r.headers)
            for tp in list(left):
                hw = consumer.highwater(tp)
                if hw is not None and await consumer.position(tp) >= hw:
                    left.discard(tp)
    finally:
        await consumer.stop()


def _keep(log: Log, report: Report, topic: str, value: bytes | None, headers: Any) -> None:
    model: type[EventData] = _MODELS.get(topic, AgencyTask)
    # An agency's topic carries its tasks and the business's answers to its questions.
    if model is AgencyTask and _ce_type(headers) == BusinessAnswer.ce_type:
        model = BusinessAnswer
    try:
        env = decode(model, value, headers)
    except DecodeError:
        report.undecodable[topic] += 1
        return
    report.events[topic] += 1
    kept: dict[type[EventData], list[Any]] = {
        DifficultyReceived: log.received, DifficultyAssigned: log.assigned,
        DifficultyStatusChanged: log.status, DifficultyUrgencyConfirmed: log.urgency,
        WeeklyReport: log.weekly, NotificationSent: log.sent, SignInLink: log.sign_ins,
        MemberReminderRequested: log.reminders, DirectionGiven: log.directions,
        DirectionProgress: log.progress, CompilationSaved: log.compilations,
        PolicyBottleneck: log.bottlenecks,
    }
    into: list[Any] = (log.tasks.setdefault(topic, []) if model is AgencyTask
                       else log.answers.setdefault(topic, []) if model is BusinessAnswer
                       else kept[model])
    into.append(env)


def _ce_type(headers: Any) -> str | None:
    for k, v in headers or ():
        if k == "ce_type":
            return bytes(v).decode("utf-8", "replace") if v is not None else None
    return None


# --- the fold ------------------------------------------------------------------------------


@dataclass
class Case:
    """One difficulty as its events make it."""

    received: DifficultyReceived | None = None
    event_ids: set[str] = field(default_factory=set)  # of its received events
    assignments: dict[uuid.UUID, DifficultyAssigned] = field(default_factory=dict)
    statuses: dict[uuid.UUID, DifficultyStatusChanged] = field(default_factory=dict)
    # Its confirmations as urgent by event id: one expected (intake keeps the first).
    confirmations: dict[str, DifficultyUrgencyConfirmed] = field(default_factory=dict)


def fold(log: Log) -> dict[uuid.UUID, Case]:
    cases: dict[uuid.UUID, Case] = defaultdict(Case)
    for e in log.received:
        c = cases[e.data.difficulty_id]
        c.received = c.received or e.data
        c.event_ids.add(e.id)
    for a in log.assigned:
        cases[a.data.difficulty_id].assignments[a.data.assignment_id] = a.data
    for s in log.status:
        cases[s.data.difficulty_id].statuses[s.data.status_id] = s.data
    for u in log.urgency:
        cases[u.data.difficulty_id].confirmations[u.id] = u.data
    for c in cases.values():
        # The permanent deputy's latest correction stands: every service holds the
        # difficulty as corrected (its zone type, category, province and task force).
        fix = _latest(s for s in c.statuses.values() if s.correction is not None)
        if c.received is not None and fix is not None and fix.correction is not None:
            c.received = c.received.model_copy(update=fix.correction.model_dump())
    return dict(cases)


def replaced(case: Case) -> set[uuid.UUID]:
    return {a.replaces for a in case.assignments.values() if a.replaces is not None}


@dataclass(frozen=True, slots=True)
class Derived:
    """What reporting must hold for one difficulty, by the design's rules."""

    task_force: str | None
    status: str
    status_at: datetime
    lead_assignment_id: uuid.UUID | None
    lead_agency_id: str | None
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    acknowledged_at: datetime | None
    closed_at: datetime | None
    resolved_at: datetime | None
    escalated_central_at: datetime | None
    outcome: str | None  # of the latest resolution
    outcome_at: datetime | None
    public_answer: str | None
    escalated_at: datetime | None  # first resolution passing it up
    letter_number: str | None  # the latest letter to the ministry the deputy registered
    letter_date: date | None


def _latest(changes: Iterable[DifficultyStatusChanged]) -> DifficultyStatusChanged | None:
    return max(changes, key=lambda s: (s.changed_at, s.status_id.bytes), default=None)


def steps(case: Case) -> dict[uuid.UUID, tuple[str, datetime]]:
    """Each assignment's own state: the step of the latest change naming it."""
    out: dict[uuid.UUID, tuple[str, datetime]] = {}
    for s in sorted(case.statuses.values(), key=lambda s: (s.changed_at, s.status_id.bytes)):
        if s.assignment_id is None:
            continue
        step = s.step.value if s.step else STEP_OF_STATUS.get(s.status.value if s.status
                                                              else "")
        if step is not None:
            out[s.assignment_id] = (step, s.changed_at)
    return out


def task_force_of(configs: ConfigSet, d: DifficultyReceived) -> str | None:
    cfg = configs.for_difficulty(d.province_code, d.task_force)
    return cfg.slug if cfg is not None else d.task_force


def due_of(configs: ConfigSet, d: DifficultyReceived, a: DifficultyAssigned
           ) -> tuple[datetime | None, datetime | None]:
    """An assignment's deadlines: only one that holds the case has them, counted in the
    deadlines of the task force of its difficulty."""
    if a.role.value not in HOLDING_ROLES:
        return None, None
    cfg = configs.for_difficulty(d.province_code, d.task_force)
    due = deadlines_for(a.assigned_at, a.urgency, cfg.deadlines if cfg else Deadlines(),
                        central=a.role.value == "escalation" and a.agency_level.value == "central")
    return due.ack, due.resolve


def derive(configs: ConfigSet, case: Case) -> Derived:
    d = case.received
    assert d is not None
    gone = replaced(case)
    holders = [a for a in case.assignments.values()
               if a.assignment_id not in gone and a.role.value in HOLDING_ROLES]
    holder = max(holders, key=lambda a: (a.assigned_at, a.assignment_id.bytes), default=None)
    # A co-handler's or member's step moves its own part only (status null).
    latest = _latest(s for s in case.statuses.values() if s.status is not None)
    status = (latest.status.value if latest and latest.status
              else ("assigned" if holder else "received"))
    since = latest.changed_at if latest else (holder.assigned_at if holder else d.received_at)
    taken = [s.changed_at for s in case.statuses.values()
             if s.status is not None and s.status.value in TAKEN_IN_HAND
             and (holder is None or s.changed_at >= holder.assigned_at)]
    answered = _latest(s for s in case.statuses.values() if s.resolution is not None)
    passed_up = [s.changed_at for s in case.statuses.values()
                 if s.resolution is not None and s.resolution.outcome.value == "escalated"]
    letter = _latest(s for s in case.statuses.values() if s.letter is not None)
    central = [a.assigned_at for a in case.assignments.values()
               if a.agency_level.value == "central"]
    ack_due, resolve_due = due_of(configs, d, holder) if holder else (None, None)
    closed = latest.changed_at if latest and status in CLOSING else None
    return Derived(
        task_force=task_force_of(configs, d),
        status=status,
        status_at=max(d.received_at, since),
        lead_assignment_id=holder.assignment_id if holder else None,
        lead_agency_id=holder.agency_id if holder else None,
        ack_due_at=ack_due,
        resolve_due_at=resolve_due,
        acknowledged_at=min(taken, default=None),
        closed_at=closed,
        resolved_at=closed if status == "resolved" else None,
        escalated_central_at=min(central, default=None),
        outcome=answered.resolution.outcome.value if answered and answered.resolution else None,
        outcome_at=answered.changed_at if answered else None,
        public_answer=(answered.resolution.public_answer if answered and answered.resolution
                       else None),
        escalated_at=min(passed_up, default=None),
        letter_number=letter.letter.number if letter and letter.letter else None,
        letter_date=letter.letter.dated if letter and letter.letter else None,
    )


# --- the comparisons -----------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        # PostgreSQL keeps microseconds; events may carry as much.
        return abs((a - b).total_seconds()) < 1e-6
    return bool(a == b)


def _compare_row(report: Report, service: str, table: str, id_: object,
                 expected: Mapping[str, Any], row: Mapping[str, Any]) -> None:
    report.compared[f"{service}.{table}"] += 1
    for k, v in expected.items():
        if not _same(v, row[k]):
            report.differ(service, table, id_, k, v, row[k])


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
        _compare_row(report, "intake", "difficulties", did,
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
    _check_assignments(report, "intake", log, cases, rows, fields=(
        "difficulty_id", "agency_id", "member_id", "role", "replaces", "assigned_at"),
        extra=_step_fields(cases))
    await _check_confirmations(conn, log, cases, report)


def _step_fields(cases: Mapping[uuid.UUID, Case]) -> dict[uuid.UUID, dict[str, Any]]:
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
            if not _same(v, row[k]):
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


def _check_assignments(
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
            _compare_row(report, service, "assignments", aid, expected, row)
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
        _compare_row(report, service, "attachments", aid, expected, row)
        if not row["intact"]:
            report.differ(service, "attachments", aid, "content", "bytes of its sha256",
                          "other bytes")
    for aid in rows.keys() - events.keys():
        if not truncated:
            report.differ(service, "attachments", aid, "row", "none (no event)", "present")


async def check_router(conn: asyncpg.Connection, log: Log, cases: Mapping[uuid.UUID, Case],
                       report: Report) -> None:
    rows = {r["assignment_id"]: r for r in await conn.fetch(
        "SELECT assignment_id, difficulty_id, agency_id, member_id, role, level, rule, replaces,"
        " active, assigned_at, tracking_code, province_code, reason, config_version, urgency,"
        " kind, category, zone_type FROM router.assignments")}
    _check_assignments(report, "router", log, cases, rows, fields=(
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
            _compare_row(report, "intake", str(where), s.status_id, {
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
    due = _step_fields(cases)
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
        merged = _latest(s for s in case.statuses.values() if s.merged_into is not None)
        expected = dict(vars_of(derive(configs, case)), tracking_code=d.tracking_code,
                        category=d.category.value, urgency=d.urgency.value,
                        zone_type=d.zone_type.value if d.zone_type else None,
                        province_code=d.province_code,
                        merged_into=merged.merged_into.difficulty_id
                        if merged and merged.merged_into else None)
        _compare_row(report, "reporting", "difficulties", did, expected, row)
    for did in rows.keys() - {k for k, c in cases.items() if c.received is not None}:
        if topics.DIFFICULTY_RECEIVED not in log.truncated:
            report.differ("reporting", "difficulties", did, "row", "none (no event)", "present")
    assignment_rows = {r["assignment_id"]: r for r in await conn.fetch(
        "SELECT assignment_id, difficulty_id, agency_id, agency_level, member_id, role, rule,"
        " replaces, active, assigned_at, ack_due_at, resolve_due_at, step, step_at"
        " FROM reporting.assignments")}
    _check_assignments(report, "reporting", log, cases, assignment_rows, fields=(
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
        _compare_row(report, "reporting", "feedback", sid, {
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
        _compare_row(report, "reporting", "resolutions", sid, {
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
            _check_league(report, key, body["league"], body.get("rows") or [])
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


def _check_league(report: Report, key: str, league: Mapping[str, Any],
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
    _check_business_notices(log, cases, messages, report)
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


def _check_business_notices(log: Log, cases: Mapping[uuid.UUID, Case],
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
            _compare_row(report, "notify", "assignments", aid, {
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
        _compare_row(report, "notify", "assignments", followed, {
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


# --- waiting until the services caught up ----------------------------------------------------


async def backlog(bootstrap: str, conn: asyncpg.Connection, **security: Any) -> dict[str, int]:
    """What the services still have to do: each consumer group's lag and each outbox's
    unsent rows (empty when everything is done). Not waited for: notify's deliveries and
    their announcements on notification.sent.v1, which go on for as long as notify owes
    mail (after a burst, for many minutes); `Deliveries` checks them at a cut instead."""
    left: dict[str, int] = {}
    present = {r["table_schema"] for r in await conn.fetch(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'")}
    for schema in sorted(present & set(SCHEMAS_WITH_OUTBOX)):
        n = await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL"
                                " AND topic <> $1", topics.NOTIFICATION_SENT)
        if n:
            left[f"{schema}.outbox"] = int(n)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="thaogo-verify",
                                **security)
    await admin.start()
    try:
        groups = sorted(str(g[0]) for g in await admin.list_consumer_groups()
                        if str(g[0]).startswith(GROUP_PREFIX))
    finally:
        await admin.close()
    for g in groups:
        lag = await _group_lag(bootstrap, g, **security)
        if lag:
            left[g] = lag
    return left


async def _group_lag(bootstrap: str, group: str, **security: Any) -> int:
    """How far `group` is behind the end of the topics it consumes. A topic it consumes
    is one where it committed on some partition; a partition of it without a commit yet
    counts from its beginning. (The embedded broker does not answer the admin client's
    OffsetFetch, so the group's own consumer asks, without joining.)"""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, client_id="thaogo-verify",
                                fetch_max_wait_ms=FETCH_WAIT_MS, **security)
    await consumer.start()
    try:
        present = await consumer.topics()
        lag = 0
        for t in sorted((set(_MODELS) - {topics.NOTIFICATION_SENT}) & present):
            tps = [TopicPartition(t, p) for p in sorted(consumer.partitions_for_topic(t) or ())]
            committed = {tp: await consumer.committed(tp) for tp in tps}
            if all(c is None for c in committed.values()):
                continue
            begin = await consumer.beginning_offsets(tps)
            start = {tp: committed[tp] or begin[tp] for tp in tps}
            lag += sum(h - start[tp] for tp, h in (await _high_watermarks(
                consumer, start)).items())
        return lag
    finally:
        await consumer.stop()


async def _high_watermarks(consumer: AIOKafkaConsumer, start: Mapping[TopicPartition, int]
                           ) -> dict[TopicPartition, int]:
    """Each partition's high watermark as a fetch from `start` reports it (see read_log
    for why not `end_offsets`)."""
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    hw: dict[TopicPartition, int] = {}
    while len(hw) < len(start):
        await consumer.getmany(*(start.keys() - hw.keys()), timeout_ms=200, max_records=1)
        hw.update({tp: h for tp in start if (h := consumer.highwater(tp)) is not None})
    return hw


async def settle(bootstrap: str, dsn: str, *, timeout: float, **security: Any
                 ) -> dict[str, int]:
    """Wait until nothing is in flight (or the timeout); returns what is left."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(dsn)
    try:
        quiet_since: float | None = None
        while True:
            left = await backlog(bootstrap, conn, **security)
            now = time.monotonic()
            if not left:
                # Twice in a row, a moment apart: a relay may be between its read of the
                # outbox and its publish.
                if quiet_since is not None and now - quiet_since >= 0.5:
                    return {}
                quiet_since = quiet_since or now
            else:
                quiet_since = None
            if now > deadline:
                return left
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


# --- the history chains (#25 item 3) --------------------------------------------------------


_CHAIN_ROWS = (
    "SELECT status_id, difficulty_id, position, status, actor_kind, actor_id, assignment_id,"
    " note, changed_at, step, suggested_agency_id, target_agency_id,"
    " resolution::text AS resolution, question, answer, feedback::text AS feedback,"
    " letter::text AS letter, co_agency_ids::text AS co_agency_ids,"
    " correction::text AS correction, merged_into::text AS merged_into,"
    " duplicate::text AS duplicate, prev_hash, chain_hash"
    " FROM intake.status_updates ORDER BY difficulty_id, position, status_id")


async def check_audit(conn: asyncpg.Connection, report: Report, log: Log) -> None:
    """Recompute every difficulty's history chain from intake's rows (shared.audit) and
    hold it against the difficulty's head, against every chain head a compiled weekly
    report published on the topic (the database cannot rewrite those), and against the
    position and hash each status event carried. Inside the caller's transaction."""
    heads = {r["difficulty_id"]: audit.Head(r["chain_length"], r["chain_head"])
             for r in await conn.fetch(
                 "SELECT difficulty_id, chain_length, chain_head FROM intake.difficulties")}
    published: dict[uuid.UUID, list[tuple[int, str, str]]] = defaultdict(list)
    latest: dict[str, WeeklyReport] = {}
    for e in log.weekly:
        w = e.data
        if w.audit is None:
            continue
        for h in w.audit.heads:
            published[h.difficulty_id].append((h.position, h.hash,
                                               f"{w.province_code} {w.week_label}"))
        if (w.province_code not in latest
                or latest[w.province_code].window_end < w.window_end):
            latest[w.province_code] = w
    carried = {e.data.status_id: (e.data.chain_position, e.data.chain_hash)
               for e in log.status if e.data.chain_hash is not None}
    chains = rows = checked_heads = 0
    findings = report.audit

    def judge(did: uuid.UUID, links: list[audit.Link]) -> None:
        nonlocal chains, checked_heads
        chains += 1
        findings.extend(audit.check_chain(did, links, heads.get(did)))
        for position, hash_, week in published.get(did, ()):
            checked_heads += 1
            if (f := audit.check_published(did, links, position, hash_, week)) is not None:
                findings.append(f)

    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = None
    links: list[audit.Link] = []
    async for r in conn.cursor(_CHAIN_ROWS, prefetch=2000):
        rows += 1
        if r["difficulty_id"] != current:
            if current is not None:
                judge(current, links)
            current, links = r["difficulty_id"], []
            seen.add(current)
        record = {name: r[name] for name in (*audit.FIELDS, *audit.LATER_FIELDS)}
        links.append(audit.Link(record, r["prev_hash"], r["chain_hash"]))
        if (c := carried.get(r["status_id"])) is not None and c != (r["position"],
                                                                    r["chain_hash"]):
            findings.append(Finding(current, r["position"], "its position or hash is not"
                                    f" what its event carried ({c[0]}, {c[1]})",
                                    r["status_id"]))
    if current is not None:
        judge(current, links)
    for did, head in heads.items():  # chains whose every row is gone
        if did not in seen and (head.length or did in published):
            judge(did, [])
    against = ", ".join(f"{w.province_code} {w.week_label}" for w in latest.values())
    report.audit_summary = (
        f"audit: {chains} history chains, {rows} rows recomputed, {checked_heads} published"
        f" heads checked" + (f" (latest reports: {against})" if against else
                             " (no weekly report has published heads yet)")
        + f", {len(findings)} audit finding{'s' if len(findings) != 1 else ''}")


async def verify_audit(bootstrap: str, dsn: str, **security: Any) -> Report:
    """`thaogo verify --audit`: the history chains alone, with the published weekly
    reports read from their topic (no waiting for the services: a chain is written in
    the same transaction as its row)."""
    report = Report()
    log = Log()
    await read_log(bootstrap, [topics.REPORT_WEEKLY, topics.DIFFICULTY_STATUS], report, log,
                   **security)
    if topics.REPORT_WEEKLY in log.truncated:
        report.unchecked.append("audit: heads of weekly reports whose retention dropped")
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await check_audit(conn, report, log)
    finally:
        await conn.close()
    return report


# --- the whole check ----------------------------------------------------------------------


SERVICES = ("intake", "router", "reporting", "notify")


async def verify(bootstrap: str, dsn: str, configs: ConfigSet, *, settle_timeout: float = 60,
                 services: Sequence[str] = SERVICES, **security: Any) -> Report:
    """Compare the state of `services` (all four by default; a test that feeds the topics
    itself checks the services it runs) with the events on the broker at `bootstrap`."""
    report = Report()
    left = await settle(bootstrap, dsn, timeout=settle_timeout, **security)
    if left:
        report.unchecked.append(
            "the services had not caught up after "
            f"{settle_timeout:.0f} s: " + ", ".join(f"{k} {v}" for k, v in sorted(left.items())))
    deliveries = await Deliveries.snapshot(dsn) if "notify" in services else None
    log = Log()
    await read_log(bootstrap, _MODELS, report, log, **security)
    # Agencies' topics: every configured agency's, and any other an assignment named
    # (the triage queue of a province without configuration).
    agencies = {*configs.agency_ids(), *(a.data.agency_id for a in log.assigned
                                         if a.data.role.value != "member")}
    await read_log(bootstrap, [topics.agency_topic(a) for a in agencies], report, log,
                   **security)
    cases = fold(log)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            if "intake" in services:
                await check_intake(conn, log, cases, report)
                await check_audit(conn, report, log)
                check_business_answers(log, cases, report)
                await check_attachments(conn, log, report, "intake")
            if "router" in services:
                await check_router(conn, log, cases, report)
            if "reporting" in services:
                await check_reporting(conn, configs, log, cases, report)
                await check_attachments(conn, log, report, "reporting")
            if deliveries is not None:
                await check_notify(conn, configs, log, cases, deliveries, report)
    finally:
        await conn.close()
    return report


__all__ = ["Deliveries", "Difference", "Report", "attached", "check_alarms", "check_attachments",
           "check_audit", "derive", "fold",
           "read_log", "settle", "verify", "verify_audit"]
