"""Messages of assignments: the assignment itself, an urgent difficulty confirmed, and the
reminders and escalations that follow its deadlines (paused while the business is asked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notify.logic.owed import (
    ASSIGNMENT,
    URGENT_DIFFICULTY,
    Contact,
    Hours,
    Owed,
    Quiet,
    _head_and_deputy,
    contacts_of,
    fan_out,
    head_release,
)
from shared import calendar
from shared.deadlines import HANDLING_ROLES, at_central_level, central_schedule, resumed
from shared.events import (
    AssignmentRole,
    DifficultyAssigned,
    DifficultyUrgencyConfirmed,
    Status,
    Step,
    Urgency,
)
from shared.provinces import (
    ConfigSet,
    Deadlines,
    Person,
    ProvinceConfig,
)

# --- assignments --------------------------------------------------------------------------


def assignment_message_key(a: DifficultyAssigned) -> str:
    """One notice per assignment and recipient: replays and replicas map to the same key."""
    return f"assignment:{a.assignment_id}:{a.member_id or a.agency_id}"


def province_of(configs: ConfigSet, agency_id: str, province_code: str) -> ProvinceConfig | None:
    """The task force an assignment belongs to: the agency's own province, else (for a
    central ministry) the one of the difficulty's province code."""
    slug = agency_id.split(".", 1)[0]
    if slug in configs:
        return configs[slug]
    return configs.for_difficulty(province_code)


def _assignment_payload(a: DifficultyAssigned) -> dict[str, Any]:
    return {
        "assignment_id": str(a.assignment_id),
        "difficulty_id": str(a.difficulty_id),
        "tracking_code": a.tracking_code,
        "agency_id": a.agency_id,
        "role": a.role.value,
        "urgency": a.urgency.value,
        "category": a.category.value,
        "rule": a.rule,
        "reason": a.reason,
    }


def assignment_messages(
    a: DifficultyAssigned, configs: ConfigSet, *, now: datetime, quiet: Quiet,
    hours: Hours = Hours(),
) -> list[Owed]:
    """A new assignment: a notice to its agency (or member), and for an urgent difficulty
    a notice to the head and the permanent deputy (keyed by difficulty: once per
    difficulty). The urgency an assignment carries is the business's word until an
    officer or a member vouches for it (`confirmation_messages`): it reaches an agency at
    once, a person (a member) only outside quiet hours, and the head and the permanent
    deputy in office hours, whichever of them the person is."""
    cfg = province_of(configs, a.agency_id, a.province_code)
    urgent = a.urgency is Urgency.URGENT
    payload = _assignment_payload(a)
    recipient = a.member_id or a.agency_id
    leaders = {p.id for p in _head_and_deputy(cfg)} if cfg is not None else set()
    contacts: list[Contact] = []
    if a.member_id and cfg is not None and (p := cfg.person(a.member_id)) is not None:
        contacts = contacts_of(p.contacts)
    elif (agency := configs.agency(a.agency_id)) is not None:
        contacts = contacts_of(agency.contacts)
    common = {"province_code": a.province_code, "difficulty_id": str(a.difficulty_id)}
    due = head_release(now, vouched=False, hours=hours) if urgent and recipient in leaders \
        else now
    out = fan_out(base_key=assignment_message_key(a), kind=ASSIGNMENT, recipient_id=recipient,
                  contacts=contacts, due=due, urgent=urgent and not a.member_id, quiet=quiet,
                  payload=payload, owed_at=now, **common)
    if urgent and cfg is not None and a.role in (AssignmentRole.LEAD, AssignmentRole.TRIAGE):
        for person in _head_and_deputy(cfg):
            out += fan_out(
                base_key=urgent_difficulty_key(str(a.difficulty_id), person.id),
                kind=URGENT_DIFFICULTY, recipient_id=person.id,
                contacts=contacts_of(person.contacts),
                due=head_release(now, vouched=False, hours=hours), urgent=False, quiet=quiet,
                payload=payload, owed_at=now, **common,
            )
    return out


def urgent_difficulty_key(difficulty_id: str, person_id: str) -> str:
    """One alarm per urgent difficulty and person, whichever of its assignment and its
    confirmation notify learns of first: the confirmation hastens the same message."""
    return f"{URGENT_DIFFICULTY}:{difficulty_id}:{person_id}"


def confirmation_messages(
    c: DifficultyUrgencyConfirmed, configs: ConfigSet, *, now: datetime, quiet: Quiet
) -> list[Owed]:
    """The head and the permanent deputy told at once of an urgent difficulty an officer
    or a member vouched for; the store hastens a message held for office hours rather
    than adding a second one."""
    cfg = configs.for_difficulty(c.province_code, c.task_force)
    if cfg is None:
        return []
    payload = {"difficulty_id": str(c.difficulty_id), "tracking_code": c.tracking_code,
               "confirmed_by": c.actor_id, "confirmed_by_kind": c.actor_kind.value,
               "reported": c.reported, "confirmed_at": c.confirmed_at.isoformat()}
    out: list[Owed] = []
    for person in _head_and_deputy(cfg):
        out += fan_out(
            base_key=urgent_difficulty_key(str(c.difficulty_id), person.id),
            kind=URGENT_DIFFICULTY, recipient_id=person.id,
            contacts=contacts_of(person.contacts),
            due=now, urgent=True, quiet=quiet,
            payload=payload, province_code=c.province_code, difficulty_id=str(c.difficulty_id),
        )
    return out


def follows(a: DifficultyAssigned) -> bool:
    """Whether notify follows this assignment's deadlines. A member's assignment is
    their own field of work, not an agency's duty with a deadline."""
    return a.role is not AssignmentRole.MEMBER


@dataclass(frozen=True, slots=True)
class Followed:
    """An assignment under watch, ready for `store.follow_assignments`."""

    assignment_id: str
    difficulty_id: str
    tracking_code: str
    province_code: str
    agency_id: str
    urgent: bool
    assigned_at: datetime
    ack_deadline: datetime
    resolve_deadline: datetime
    ack_due: list[datetime]
    resolve_due: list[datetime]
    agency_contacts: list[dict[str, str | None]]
    deputy_id: str | None
    deputy_contacts: list[dict[str, str | None]]
    replaces: str | None = None
    # Waiting for a central ministry's answer: `resolve_due` is the answer's deadline and
    # the progress points after it, each a reminder to the permanent deputy to chase.
    central: bool = False
    # The deputies of the difficulty's zone type, alerted when a deadline passes
    # ([{id, contacts}]; `zone_deputies`).
    zone_deputies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def next_check_at(self) -> datetime:
        return min((*self.ack_due[:1], *self.resolve_due[:1]))


def reminder_schedule(
    deadline: datetime, deadlines: Deadlines, *, urgent: bool, quiet: Quiet
) -> list[datetime]:
    """When reminders 1..N are owed (the deadline, then every `reminder_every` working
    days), and last when the permanent deputy is told (one interval after reminder N)."""
    n = deadlines.reminders_before_escalation
    every = deadlines.reminder_every
    return [
        quiet.release(calendar.add_working_days(deadline, i * every), urgent)
        for i in range(n + 1)
    ]


def zone_deputies(a: DifficultyAssigned, cfg: ProvinceConfig | None) -> list[dict[str, Any]]:
    """Who is alerted when this assignment goes overdue, besides its agency: the deputies
    (the permanent deputy among them) whose zone types include the difficulty's zone. Only
    for the assignment that holds the difficulty in the province (lead, escalation to the
    head, triage): a co-handler's part is its lead's to chase, a ministry's the permanent
    deputy's (central_answer)."""
    if (cfg is None or a.zone_type is None or a.role not in HANDLING_ROLES
            or at_central_level(a.role, a.agency_level)):
        return []
    tf = cfg.task_force
    found: dict[str, Person] = {}
    for d in (*tf.deputies, tf.permanent_deputy):
        if a.zone_type in d.zone_types:
            found.setdefault(d.id, d)
    return [{"id": d.id, "contacts": [c.as_json() for c in contacts_of(d.contacts)]}
            for d in found.values()]


def follow(a: DifficultyAssigned, configs: ConfigSet, *, quiet: Quiet) -> Followed | None:
    if not follows(a):
        return None
    cfg = province_of(configs, a.agency_id, a.province_code)
    deadlines = cfg.deadlines if cfg is not None else Deadlines()
    d = deadlines.for_urgency(a.urgency)
    urgent = a.urgency is Urgency.URGENT
    ack = calendar.add_working_days(a.assigned_at, d.ack)
    resolve = calendar.add_working_days(a.assigned_at, d.resolve)
    agency = configs.agency(a.agency_id)
    deputy = cfg.task_force.permanent_deputy if cfg is not None else None
    deputy_contacts = [c.as_json() for c in contacts_of(deputy.contacts if deputy else ())]
    if at_central_level(a.role, a.agency_level):
        points = central_schedule(a.assigned_at, deadlines.central)
        return Followed(
            assignment_id=str(a.assignment_id), difficulty_id=str(a.difficulty_id),
            tracking_code=a.tracking_code, province_code=a.province_code,
            agency_id=a.agency_id, urgent=urgent, assigned_at=a.assigned_at,
            ack_deadline=points[0], resolve_deadline=points[0], ack_due=[],
            resolve_due=[quiet.release(t, urgent) for t in points],
            agency_contacts=[], deputy_id=deputy.id if deputy else None,
            deputy_contacts=deputy_contacts, replaces=str(a.replaces) if a.replaces else None,
            central=True,
        )
    return Followed(
        assignment_id=str(a.assignment_id), difficulty_id=str(a.difficulty_id),
        tracking_code=a.tracking_code, province_code=a.province_code, agency_id=a.agency_id,
        urgent=urgent, assigned_at=a.assigned_at, ack_deadline=ack, resolve_deadline=resolve,
        ack_due=reminder_schedule(ack, deadlines, urgent=urgent, quiet=quiet),
        resolve_due=reminder_schedule(resolve, deadlines, urgent=urgent, quiet=quiet),
        agency_contacts=[c.as_json() for c in contacts_of(agency.contacts if agency else ())],
        deputy_id=deputy.id if deputy else None, deputy_contacts=deputy_contacts,
        replaces=str(a.replaces) if a.replaces else None, zone_deputies=zone_deputies(a, cfg),
    )


@dataclass(frozen=True, slots=True)
class Resumed:
    """A followed assignment's clock after a wait for the business."""

    ack_deadline: datetime
    resolve_deadline: datetime
    ack_due: list[datetime]
    resolve_due: list[datetime]
    next_check_at: datetime | None


def resume(*, paused_at: datetime, resumed_at: datetime, ack_deadline: datetime,
           resolve_deadline: datetime, ack_due: Sequence[datetime],
           resolve_due: Sequence[datetime], acknowledged: bool, urgent: bool,
           quiet: Quiet) -> Resumed:
    """Every deadline and reminder still ahead when the clock stopped moves on by the
    working time waited (shared.deadlines.resumed), a moved reminder out of quiet hours as
    when it was first scheduled; what had come before the wait stays sent. The next check
    is the first time still owed."""
    def moved(t: datetime) -> datetime:
        return t if t <= paused_at else quiet.release(
            resumed(t, paused_at=paused_at, resumed_at=resumed_at), urgent)

    ack = [moved(t) for t in ack_due]
    res = [moved(t) for t in resolve_due]
    ahead = [t for t in (ack if not acknowledged else []) + res if t > paused_at]
    return Resumed(
        ack_deadline=resumed(ack_deadline, paused_at=paused_at, resumed_at=resumed_at),
        resolve_deadline=resumed(resolve_deadline, paused_at=paused_at,
                                 resumed_at=resumed_at),
        ack_due=ack, resolve_due=res, next_check_at=min(ahead) if ahead else None)


ACK_STATUSES = frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS})
# The agency is done with the assignment (or it moved elsewhere): no more reminders.
CLOSING_STATUSES = frozenset(
    {Status.RESOLVED, Status.REJECTED, Status.MERGED, Status.ESCALATED,
     Status.REASSIGN_REQUESTED}
)
# An assignment done or declined by its holder is finished, whatever the difficulty does.
FINISHED_STEPS = frozenset({Step.DONE, Step.DECLINED})
# The clock of an assignment in this step stands still; any other step restarts it.
PAUSING_STEP = Step.NEED_INFO
