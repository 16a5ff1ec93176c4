"""What a message owed is: its kinds, contacts, quiet and office hours, and the fan-out of
one message to each of a person's contact points."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from shared import calendar
from shared.provinces import (
    ContactPoint,
    Person,
    ProvinceConfig,
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
KINDS = (ASSIGNMENT, URGENT_DIFFICULTY, REMINDER_ACK, REMINDER_RESOLVE, ESCALATION_ACK,
         ESCALATION_RESOLVE, WEEKLY_REMINDER, WEEKLY_MISSING, WEEKLY_REPORT, INTERIM_REPORT,
         SIGN_IN, MEMBER_REMINDER, CENTRAL_ANSWER, CENTRAL_PROGRESS, DIRECTION_DUE)


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


def _head_and_deputy(cfg: ProvinceConfig) -> list[Person]:
    tf = cfg.task_force
    people: dict[str, Person] = {tf.head.id: tf.head}
    people.setdefault(tf.permanent_deputy.id, tf.permanent_deputy)
    return list(people.values())
