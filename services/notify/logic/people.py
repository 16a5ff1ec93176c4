"""Messages one person asked for or is owed: sign-in links, the permanent deputy's reminders
to members, and reminders of the head's directions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from services.notify.logic.owed import (
    DIRECTION_DUE,
    MEMBER_REMINDER,
    SIGN_IN,
    Owed,
    Quiet,
    contacts_of,
    fan_out,
)
from shared import calendar
from shared.calendar import TZ
from shared.events import (
    DirectionGiven,
    MemberReminderRequested,
    SignInLink,
)
from shared.provinces import (
    Channel,
    ConfigSet,
    email_key,
)

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
