"""The fold: each difficulty's events gathered (`Case`), and what the checker's own
small rules derive from them (`Derived`): status, lead, deadlines, times, steps."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.deadlines import deadlines_for
from shared.events import (
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
)
from shared.provinces import ConfigSet, Deadlines
from thaogo.verify.log import Log

# Roles that hold a difficulty (the one whose deadlines count), as the design says.
HOLDING_ROLES = frozenset({"lead", "escalation", "triage"})
# What counts as an agency having taken the case in hand.
TAKEN_IN_HAND = frozenset({"acknowledged", "in_progress", "resolved", "rejected", "escalated"})
CLOSING = frozenset({"resolved", "rejected", "merged"})
# What a change that names an assignment but no step did to it (events before steps).
STEP_OF_STATUS = {"acknowledged": "acknowledged", "in_progress": "in_progress",
                  "resolved": "done", "rejected": "done", "escalated": "done",
                  "reassign_requested": "declined"}


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
        fix = latest_change(s for s in c.statuses.values() if s.correction is not None)
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


def latest_change(changes: Iterable[DifficultyStatusChanged]) -> DifficultyStatusChanged | None:
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
    latest = latest_change(s for s in case.statuses.values() if s.status is not None)
    status = (latest.status.value if latest and latest.status
              else ("assigned" if holder else "received"))
    since = latest.changed_at if latest else (holder.assigned_at if holder else d.received_at)
    taken = [s.changed_at for s in case.statuses.values()
             if s.status is not None and s.status.value in TAKEN_IN_HAND
             and (holder is None or s.changed_at >= holder.assigned_at)]
    answered = latest_change(s for s in case.statuses.values() if s.resolution is not None)
    passed_up = [s.changed_at for s in case.statuses.values()
                 if s.resolution is not None and s.resolution.outcome.value == "escalated"]
    letter = latest_change(s for s in case.statuses.values() if s.letter is not None)
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
