"""Notify's pure rules: which messages are owed, under which key, when, and what they say.

A message key names what, about which, for whom, for which window and on which
channel, e.g. ``reminder_ack:<assignment>:2:binh-duong.bql-kcn:email``. It is the
primary key of `notify.messages`, so whoever computes an owed message again (a
replayed event, a second replica, a sweep after a restart) lands on the same row.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from shared import calendar
from shared.calendar import TZ, WeekWindow
from shared.deadlines import HANDLING_ROLES, at_central_level, central_schedule, resumed
from shared.events import (
    AssignmentRole,
    DifficultyAssigned,
    DifficultyUrgencyConfirmed,
    DirectionGiven,
    MemberReminderRequested,
    SignInLink,
    Status,
    Step,
    Urgency,
    WeeklyReport,
)
from shared.provinces import (
    Channel,
    ConfigSet,
    ContactPoint,
    Deadlines,
    Person,
    ProvinceConfig,
    email_key,
)

LOG_CHANNEL = "log"

# kinds
ASSIGNMENT = "assignment"
URGENT_DIFFICULTY = "urgent_difficulty"
REMINDER_ACK = "reminder_ack"
REMINDER_RESOLVE = "reminder_resolve"
ESCALATION_ACK = "escalation_ack"
ESCALATION_RESOLVE = "escalation_resolve"
WEEKLY_REMINDER = "weekly_reminder"
WEEKLY_MISSING = "weekly_missing"
WEEKLY_REPORT = "weekly_report"
INTERIM_REPORT = "interim_report"
SIGN_IN = "sign_in"
MEMBER_REMINDER = "member_reminder"
# A difficulty escalated to a central ministry: the permanent deputy is reminded to chase
# the ministry at the answer's deadline, then at each progress point after it.
CENTRAL_ANSWER = "central_answer"
CENTRAL_PROGRESS = "central_progress"
DIRECTION_DUE = "direction_due"
# A deputy by zone type told that an item of their zone went overdue: once per handling
# assignment and deadline (acknowledge, resolve), when the sweep first finds it passed,
# under the key zone_overdue:<assignment>:<phase>@<deadline epoch>:<deputy>:<channel>.
ZONE_OVERDUE = "zone_overdue"
KINDS = (ASSIGNMENT, URGENT_DIFFICULTY, REMINDER_ACK, REMINDER_RESOLVE, ESCALATION_ACK,
         ESCALATION_RESOLVE, WEEKLY_REMINDER, WEEKLY_MISSING, WEEKLY_REPORT, INTERIM_REPORT,
         SIGN_IN, MEMBER_REMINDER, CENTRAL_ANSWER, CENTRAL_PROGRESS, DIRECTION_DUE,
         ZONE_OVERDUE)


@dataclass(frozen=True, slots=True)
class Contact:
    channel: str
    address: str
    secret_env: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"channel": self.channel, "address": self.address, "secret_env": self.secret_env}


@dataclass(frozen=True, slots=True)
class Owed:
    """One message owed to one contact of one recipient."""

    key: str
    kind: str
    recipient_id: str
    channel: str
    address: str
    secret_env: str | None
    due_at: datetime
    urgent: bool
    payload: Mapping[str, Any]
    province_code: str | None = None
    difficulty_id: str | None = None
    week_label: str | None = None
    held: bool = False  # due_at was moved out of quiet hours


@dataclass(frozen=True, slots=True)
class Quiet:
    start: time = calendar.QUIET_START
    end: time = calendar.QUIET_END

    def release(self, t: datetime, urgent: bool) -> datetime:
        """When a message due at `t` may go: urgent ones at once, others after quiet hours."""
        return calendar.to_local(t) if urgent else calendar.next_allowed_send(t, self.start,
                                                                              self.end)


@dataclass(frozen=True, slots=True)
class Hours:
    """The agencies' office hours, on working days."""

    start: time = calendar.WORK_START
    end: time = calendar.WORK_END

    def opens(self, t: datetime) -> datetime:
        return calendar.next_working_hours(t, self.start, self.end)


def head_release(t: datetime, *, vouched: bool, hours: Hours) -> datetime:
    """When the head and the permanent deputy hear of an urgent item known at `t`. A
    business's own flag is its word alone: at once in office hours, else when they next
    open (not dropped). One an officer or a member vouched for (confirmed, or filed
    urgent themselves): at once, day or night."""
    return calendar.to_local(t) if vouched else hours.opens(t)


def contacts_of(points: Iterable[ContactPoint]) -> list[Contact]:
    """One contact per channel (the first listed): an agency with e-mail and a webhook
    gets both, its systems and its people; two e-mail addresses do not double up."""
    out: dict[str, Contact] = {}
    for p in points:
        out.setdefault(str(p.channel), Contact(str(p.channel), p.address, p.secret_env))
    return list(out.values())


def fan_out(
    *,
    base_key: str,
    kind: str,
    recipient_id: str,
    contacts: Sequence[Contact],
    due: datetime,
    urgent: bool,
    quiet: Quiet,
    payload: Mapping[str, Any],
    province_code: str | None = None,
    difficulty_id: str | None = None,
    week_label: str | None = None,
    owed_at: datetime | None = None,
) -> list[Owed]:
    """The owed message on each contact; a recipient without contacts gets the log
    channel, so an owed message is visible rather than silently dropped. It is held when
    it goes later than `owed_at` (default: `due`, which quiet hours may move)."""
    release = quiet.release(due, urgent)
    held = release > calendar.to_local(owed_at or due)
    targets = list(contacts) or [Contact(LOG_CHANNEL, recipient_id)]
    return [
        Owed(
            key=f"{base_key}:{c.channel}", kind=kind, recipient_id=recipient_id,
            channel=c.channel, address=c.address, secret_env=c.secret_env, due_at=release,
            urgent=urgent, payload=payload, province_code=province_code,
            difficulty_id=difficulty_id, week_label=week_label, held=held,
        )
        for c in targets
    ]


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


def _head_and_deputy(cfg: ProvinceConfig) -> list[Person]:
    tf = cfg.task_force
    people: dict[str, Person] = {tf.head.id: tf.head}
    people.setdefault(tf.permanent_deputy.id, tf.permanent_deputy)
    return list(people.values())


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
    {Status.RESOLVED, Status.REJECTED, Status.ESCALATED, Status.REASSIGN_REQUESTED}
)
# An assignment done or declined by its holder is finished, whatever the difficulty does.
FINISHED_STEPS = frozenset({Step.DONE, Step.DECLINED})
# The clock of an assignment in this step stands still; any other step restarts it.
PAUSING_STEP = Step.NEED_INFO


# --- the weekly report ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeeklyFire:
    kind: str  # WEEKLY_REMINDER or WEEKLY_MISSING
    window: WeekWindow
    at: datetime
    slot: str  # "thu1600": part of the key, one per fire


def parse_weekly(spec: Sequence[str]) -> list[tuple[int, time]]:
    """["3 16:00", "4 09:00"] -> [(3, 16:00), (4, 09:00)] (0 = Monday)."""
    out: list[tuple[int, time]] = []
    for s in spec:
        day, _, hm = s.strip().partition(" ")
        out.append((int(day), time.fromisoformat(hm.strip())))
    return out


def _fire_in(w: WeekWindow, weekday: int, at: time) -> datetime | None:
    """The moment of `weekday at` within window w, counted back from its nominal Friday
    and moved as many days earlier as the cutoff was (a holiday Friday), so reminders
    keep their distance to the cutoff; None if that day is not a working day (nobody
    is reminded on a holiday)."""
    friday = w.friday
    moved = friday - w.end.astimezone(TZ).date()
    day = friday - timedelta(days=(calendar.FRIDAY - weekday) % 7) - moved
    if not calendar.is_working_day(day):
        return None
    return datetime.combine(day, at, tzinfo=TZ)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekly_fires(
    now: datetime, reminders: Sequence[tuple[int, time]], *, missing_grace: timedelta
) -> list[WeeklyFire]:
    """The weekly fires owed at `now`: each reminder whose time has come and whose week
    has not closed yet (a late reminder after the cutoff is pointless), and the missing
    list of a week that closed less than `missing_grace` ago."""
    local = calendar.to_local(now)
    current = calendar.week_window(local)
    out: list[WeeklyFire] = []
    for weekday, at in reminders:
        fire = _fire_in(current, weekday, at)
        if fire is not None and fire <= local <= current.end:
            out.append(WeeklyFire(WEEKLY_REMINDER, current, fire,
                                  f"{_DAYS[weekday]}{at.strftime('%H%M')}"))
    # The week that closed last (exactly at 12:00:00 the current window is still it).
    closed = current if local == current.end else calendar.previous_window(current)
    if closed.end <= local < closed.end + missing_grace:
        out.append(WeeklyFire(WEEKLY_MISSING, closed, closed.end, "cutoff"))
    return out


def weekly_messages(
    fire: WeeklyFire, cfg: ProvinceConfig, reported: set[str], *, quiet: Quiet
) -> list[Owed]:
    """Reminders to active members who have not reported, or the list of them to the
    permanent deputy."""
    missing = [m for m in cfg.task_force.active_members() if m.id not in reported]
    label = fire.window.label
    code = cfg.province.province_code
    if fire.kind == WEEKLY_REMINDER:
        out: list[Owed] = []
        for m in missing:
            out += fan_out(
                base_key=f"{WEEKLY_REMINDER}:{label}:{fire.slot}:{m.id}", kind=WEEKLY_REMINDER,
                recipient_id=m.id, contacts=contacts_of(m.contacts), due=fire.at, urgent=False,
                quiet=quiet, week_label=label, province_code=code,
                payload={"week_label": label, "province": cfg.slug, "name": m.name,
                         "cutoff": fire.window.end.isoformat()},
            )
        return out
    deputy = cfg.task_force.permanent_deputy
    return fan_out(
        base_key=f"{WEEKLY_MISSING}:{cfg.slug}:{label}:{deputy.id}", kind=WEEKLY_MISSING,
        recipient_id=deputy.id, contacts=contacts_of(deputy.contacts), due=fire.at,
        urgent=False, quiet=quiet, week_label=label, province_code=code,
        payload={"week_label": label, "province": cfg.slug,
                 "missing": [{"id": m.id, "name": m.name, "title": m.title} for m in missing]},
    )


def report_url(base_url: str, province: str, week_label: str) -> str:
    return f"{base_url.rstrip('/')}/reports/{province}/{week_label}"


def weekly_report_key(r: WeeklyReport, slug: str, person_id: str) -> tuple[str, str]:
    """(kind, key) of the mail of one publication on `report.weekly.v1` to one person.

    Three publications share the topic (services/reporting/usecases.py): the compiled
    week, the final report (week "final"), and any number of urgent interim reports of a
    week, one per urgent difficulty. Each is its own message: an interim keyed like the
    compiled week would take its key, and the Friday mail would be dropped as a replay."""
    if r.interim:
        item = r.urgent_items[0].difficulty_id
        return INTERIM_REPORT, f"{INTERIM_REPORT}:{slug}:{r.week_label}:{item}:{person_id}"
    return WEEKLY_REPORT, f"{WEEKLY_REPORT}:{slug}:{r.week_label}:{person_id}"


def _task_force_of_page(page_url: str | None) -> str | None:
    """The task force a report is of, from its page (`.../reports/<slug>/<week>`): a
    province code can have several task forces (former provinces), each its own head."""
    if not page_url:
        return None
    parts = urlsplit(page_url).path.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 3 and parts[-3] == "reports" else None


def _report_payload(r: WeeklyReport, slug: str, url: str) -> dict[str, Any]:
    if r.interim:
        item = r.urgent_items[0]
        return {"week_label": r.week_label, "province": slug, "url": url,
                "tracking_code": item.tracking_code, "title": item.title,
                "received_at": item.received_at.isoformat()}
    return {"week_label": r.week_label, "province": slug, "url": url,
            "members_missing": len(r.members_missing), "urgent_items": len(r.urgent_items),
            "final": r.final, "handed_over": len(r.handed_over)}


def weekly_report_messages(
    r: WeeklyReport, configs: ConfigSet, *, base_url: str, now: datetime, quiet: Quiet,
    hours: Hours = Hours(),
) -> list[Owed]:
    """The compiled rollup, the final report or an urgent interim report, to the head and
    the permanent deputy of its task force(s). The link is the report's own `page_url`,
    signed by reporting so that it opens without signing in; only a report without one
    (a reporting that signs nothing) gets a plain link, behind the sign-in. An interim
    report is of an item only the business may have called urgent: it waits for office
    hours (the alarm of a vouched-for item is `URGENT_DIFFICULTY`, at once)."""
    named = _task_force_of_page(r.page_url)
    if named is not None and named in configs:
        targets = [configs[named]]
    elif (cfg := configs.for_difficulty(r.province_code)) is not None:
        targets = [cfg]
    else:
        targets = configs.by_province_code(r.province_code)
    out: list[Owed] = []
    for c in targets:
        url = r.page_url or report_url(base_url, c.slug, r.week_label)
        payload = _report_payload(r, c.slug, url)
        for person in _head_and_deputy(c):
            kind, key = weekly_report_key(r, c.slug, person.id)
            out += fan_out(
                base_key=key, kind=kind, recipient_id=person.id,
                contacts=contacts_of(person.contacts),
                due=head_release(now, vouched=False, hours=hours) if r.interim else now,
                urgent=False, quiet=quiet, owed_at=now,
                payload=payload, province_code=r.province_code, week_label=r.week_label,
            )
    return out


# --- sign-in links -------------------------------------------------------------------------


def sign_in_message_key(e: SignInLink) -> str:
    return f"{SIGN_IN}:{e.request_id}:{e.recipient_id}"


def sign_in_messages(e: SignInLink, configs: ConfigSet, *, now: datetime) -> list[Owed]:
    """The mail with a sign-in link, at once (quiet hours are for reminders, not for a
    person waiting at the sign-in page), to the one e-mail contact of the recipient whose
    address the person typed; never on another channel (a link in a webhook or a Zalo
    message would reach systems and people it does not sign in). None if the
    configuration no longer has that contact."""
    cfg = configs.get(e.province)
    if cfg is None:
        return []
    found = cfg.person(e.recipient_id)
    agency = cfg.agency(e.recipient_id)
    points = found.contacts if found is not None else agency.contacts if agency else []
    address = next((p.address for p in points
                    if p.channel is Channel.EMAIL and email_key(p.address) == e.address_sha256),
                   None)
    if address is None:
        return []
    return [Owed(
        key=f"{sign_in_message_key(e)}:email", kind=SIGN_IN, recipient_id=e.recipient_id,
        channel=str(Channel.EMAIL), address=address, secret_env=None, due_at=now, urgent=True,
        payload={"url": e.url, "expires_at": e.expires_at.isoformat(), "role": e.role,
                 "lang": e.lang, "province": e.province},
        province_code=cfg.province.province_code,
    )]


# --- reminders the permanent deputy asks for -----------------------------------------------


def member_reminder_key(e: MemberReminderRequested) -> str:
    return f"{MEMBER_REMINDER}:{e.request_id}:{e.member_id}"


def member_reminder_messages(e: MemberReminderRequested, configs: ConfigSet, *,
                             quiet: Quiet, now: datetime) -> list[Owed]:
    """The reminder the permanent deputy asked for, on each of the member's channels (as
    the scheduled weekly reminder, quiet hours included); none if the member is no longer
    an active member of that task force."""
    cfg = configs.get(e.task_force)
    member = next((m for m in cfg.task_force.active_members() if m.id == e.member_id),
                  None) if cfg is not None else None
    if cfg is None or member is None:
        return []
    window = calendar.week_window_by_label(e.week_label)
    return fan_out(
        base_key=member_reminder_key(e), kind=MEMBER_REMINDER, recipient_id=member.id,
        contacts=contacts_of(member.contacts), due=now, urgent=False, quiet=quiet,
        week_label=e.week_label, province_code=cfg.province.province_code,
        payload={"week_label": e.week_label, "province": cfg.slug, "name": member.name,
                 "cutoff": window.end.isoformat(),
                 "by": cfg.task_force.permanent_deputy.name})


# --- reminders of the head's directions (#22 item 1) ---------------------------------------

DIRECTION_REMINDER_AT = time(8, 0)  # local: the start of the working day


def direction_reminder_times(given_at: datetime, due_on: date) -> list[tuple[str, datetime]]:
    """("before", 08:00 of the working day before the due date) and ("due", 08:00 of the
    due date), local. The one before is left out when it would come before the direction
    was given (nothing to remind of yet); the one on the day always stands."""
    day = due_on - timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    before = datetime.combine(day, DIRECTION_REMINDER_AT, TZ)
    due = datetime.combine(due_on, DIRECTION_REMINDER_AT, TZ)
    return ([("before", before)] if before > given_at else []) + [("due", due)]


def direction_reminder_key(direction_id: object, which: str) -> str:
    return f"{DIRECTION_DUE}:{direction_id}:{which}"


def direction_reminders(e: DirectionGiven, configs: ConfigSet, *, quiet: Quiet
                        ) -> list[Owed]:
    """The reminders of a tracked direction to whoever must act, on each of their
    channels; none for a direction that names nobody (given before directions were
    tracked) or someone the configuration no longer has."""
    cfg = configs.get(e.task_force)
    if cfg is None or e.assignee_id is None or e.due_on is None:
        return []
    holder = cfg.agency(e.assignee_id) or next(
        (m for m in cfg.task_force.active_members() if m.id == e.assignee_id), None)
    if holder is None:
        return []
    out: list[Owed] = []
    for which, at in direction_reminder_times(e.given_at, e.due_on):
        out += fan_out(
            base_key=direction_reminder_key(e.direction_id, which), kind=DIRECTION_DUE,
            recipient_id=e.assignee_id, contacts=contacts_of(holder.contacts), due=at,
            urgent=False, quiet=quiet, province_code=cfg.province.province_code,
            payload={"which": which, "due_on": e.due_on.isoformat(), "body": e.body,
                     "province": cfg.slug, "by": cfg.task_force.head.name})
    return out


# --- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str = field(default="")


def _fmt(iso: Any) -> str:
    try:
        return calendar.to_local(datetime.fromisoformat(str(iso))).strftime("%H:%M %d/%m/%Y")
    except ValueError:
        return str(iso)


def render(kind: str, p: Mapping[str, Any]) -> Rendered:
    """Subject and body in Vietnamese. Built from the stored payload at send time."""
    code = p.get("tracking_code", "")
    if kind == ASSIGNMENT:
        urgent = " KHẨN" if p.get("urgency") == "urgent" else ""
        subject = f"[thaogo]{urgent} Giao xử lý hồ sơ {code}"
        text = (f"Cơ quan được giao xử lý khó khăn, vướng mắc mã {code}"
                f" (vai trò: {p.get('role')}, lĩnh vực: {p.get('category')}).\n"
                f"Căn cứ: {p.get('reason')}")
    elif kind == URGENT_DIFFICULTY:
        subject = f"[thaogo] KHẨN: khó khăn đột xuất {code}"
        lines = []
        if p.get("agency_id"):
            lines.append(f"Khó khăn đột xuất mã {code} đã được giao cho {p.get('agency_id')}.")
            lines.append(f"Căn cứ: {p.get('reason')}")
        if p.get("confirmed_by"):
            how = "phản ánh" if p.get("reported") else "xác nhận"
            lines.append(f"Tính khẩn cấp do {p.get('confirmed_by')} {how}"
                         f" lúc {_fmt(p.get('confirmed_at'))}.")
        else:
            lines.append("Doanh nghiệp tự đánh dấu khẩn; chưa được cơ quan, thành viên"
                         " Tổ công tác xác nhận.")
        text = "\n".join(lines)
    elif kind in (REMINDER_ACK, REMINDER_RESOLVE):
        what = "tiếp nhận" if kind == REMINDER_ACK else "giải quyết"
        subject = f"[thaogo] Nhắc lần {p.get('n')}: quá hạn {what} hồ sơ {code}"
        text = (f"Hồ sơ {code} chưa được {what}; hạn là {_fmt(p.get('deadline'))}."
                " Đề nghị cơ quan cập nhật trạng thái.")
    elif kind in (ESCALATION_ACK, ESCALATION_RESOLVE):
        what = "tiếp nhận" if kind == ESCALATION_ACK else "giải quyết"
        subject = f"[thaogo] Báo cáo Tổ phó Thường trực: {code} quá hạn {what}"
        text = (f"Hồ sơ {code} giao {p.get('agency_id')} chưa được {what} sau"
                f" {p.get('reminders')} lần nhắc; hạn là {_fmt(p.get('deadline'))}.")
    elif kind == ZONE_OVERDUE:
        what = "tiếp nhận" if p.get("phase") == "ack" else "giải quyết"
        subject = f"[thaogo] Hồ sơ {code} trong khu vực đồng chí phụ trách quá hạn {what}"
        text = (f"Hồ sơ {code} do {p.get('agency_id')} chủ trì chưa được {what}; hạn là "
                f"{_fmt(p.get('deadline'))}. Đề nghị đồng chí đôn đốc, phối hợp tháo gỡ.")
    elif kind in (CENTRAL_ANSWER, CENTRAL_PROGRESS):
        subject = (f"[thaogo] Đến hạn Bộ, ngành trả lời hồ sơ {code}" if kind == CENTRAL_ANSWER
                   else f"[thaogo] Đôn đốc Bộ, ngành lần {p.get('n')}: hồ sơ {code}")
        text = (f"Hồ sơ {code} đã kiến nghị {p.get('agency_id')}; hạn trả lời là "
                f"{_fmt(p.get('deadline'))}. Đề nghị đôn đốc Bộ, ngành và ghi nhận văn bản "
                "trả lời khi nhận được.")
    elif kind in (WEEKLY_REMINDER, MEMBER_REMINDER):
        subject = f"[thaogo] Nhắc nộp báo cáo tuần {p.get('week_label')}"
        text = (f"Kính gửi {p.get('name')}: báo cáo tuần {p.get('week_label')} hạn"
                f" {_fmt(p.get('cutoff'))}. Hệ thống chưa nhận được báo cáo của đồng chí.")
        if kind == MEMBER_REMINDER:
            text += f"\nTổ phó Thường trực {p.get('by')} đề nghị đồng chí gửi báo cáo."
    elif kind == DIRECTION_DUE:
        due = str(p.get("due_on", ""))
        when = ".".join(reversed(due.split("-"))).replace(".", "/")
        subject = (f"[thaogo] Hôm nay là hạn thực hiện ý kiến chỉ đạo ({when})"
                   if p.get("which") == "due" else
                   f"[thaogo] Nhắc: ý kiến chỉ đạo đến hạn ngày {when}")
        text = (f"Ý kiến chỉ đạo của Tổ trưởng {p.get('by')}, hạn {when}:\n{p.get('body')}\n"
                "Đề nghị cập nhật tiến độ thực hiện trong không gian làm việc.")
    elif kind == WEEKLY_MISSING:
        missing = p.get("missing") or []
        names = "\n".join(f"- {m['name']} ({m['title']})" for m in missing) or "(không có)"
        subject = (f"[thaogo] Thành viên chưa báo cáo tuần {p.get('week_label')}:"
                   f" {len(missing)}")
        text = f"Danh sách thành viên chưa nộp báo cáo tuần {p.get('week_label')}:\n{names}"
    elif kind == WEEKLY_REPORT and p.get("final"):
        subject = "[thaogo] Báo cáo tổng kết nhiệm vụ của Tổ công tác"
        text = (f"Tổ công tác đã giải thể; báo cáo tổng kết toàn bộ thời gian hoạt động đã"
                f" sẵn sàng: {p.get('url')}\nHồ sơ còn mở bàn giao: {p.get('handed_over')}.")
    elif kind == INTERIM_REPORT:
        subject = f"[thaogo] Báo cáo đột xuất tuần {p.get('week_label')}: {code}"
        text = (f"Báo cáo đột xuất (chưa phải báo cáo tổng hợp tuần {p.get('week_label')}):"
                f" khó khăn khẩn mã {code} tiếp nhận lúc {_fmt(p.get('received_at'))}.\n"
                f"{p.get('title')}\nXem: {p.get('url')}")
    elif kind == SIGN_IN:
        subject = "[thaogo] Đường dẫn đăng nhập / Sign-in link"
        text = (f"Đường dẫn đăng nhập thaogo của đồng chí (dùng một lần, hết hạn lúc"
                f" {_fmt(p.get('expires_at'))}):\n{p.get('url')}\n\n"
                "Your thaogo sign-in link (works once, expires at the time above).\n"
                "Nếu đồng chí không yêu cầu, hãy bỏ qua thư này. / If you did not ask for it,"
                " ignore this mail.")
        body = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line)
        link = html.escape(str(p.get("url")), quote=True)
        body += f'<p><a href="{link}">Đăng nhập / Sign in</a></p>'
        return Rendered(subject=subject, text=text, html=(
            f'<!doctype html><html lang="vi"><meta charset="utf-8"><body>{body}</body></html>'))
    elif kind == WEEKLY_REPORT:
        subject = f"[thaogo] Báo cáo tổng hợp tuần {p.get('week_label')}"
        text = (f"Báo cáo tổng hợp tuần {p.get('week_label')} đã sẵn sàng: {p.get('url')}\n"
                f"Việc khẩn: {p.get('urgent_items')}; thành viên chưa báo cáo:"
                f" {p.get('members_missing')}.")
    else:
        subject, text = f"[thaogo] {kind}", str(dict(p))
    body = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
    if url := p.get("url"):
        body += f'<p><a href="{html.escape(str(url), quote=True)}">Xem báo cáo</a></p>'
    page = f'<!doctype html><html lang="vi"><meta charset="utf-8"><body>{body}</body></html>'
    return Rendered(subject=subject, text=text, html=page)
