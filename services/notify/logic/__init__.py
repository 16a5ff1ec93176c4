"""Notify's pure rules: which messages are owed, under which key, when, and what they say.

A message key names what, about which, for whom, for which window and on which
channel, e.g. ``reminder_ack:<assignment>:2:binh-duong.bql-kcn:email``. It is the
primary key of `notify.messages`, so whoever computes an owed message again (a
replayed event, a second replica, a sweep after a restart) lands on the same row.

By concern: `owed` (kinds, contacts, hours, fan-out), `assignments`, `weekly`, `people`
(sign-in links, members' and directions' reminders), `rendering`. Every public name is
re-exported here.
"""

from __future__ import annotations

from services.notify.logic.assignments import (
    ACK_STATUSES,
    CLOSING_STATUSES,
    FINISHED_STEPS,
    PAUSING_STEP,
    Followed,
    Resumed,
    assignment_message_key,
    assignment_messages,
    confirmation_messages,
    follow,
    follows,
    province_of,
    reminder_schedule,
    resume,
    urgent_difficulty_key,
)
from services.notify.logic.owed import (
    ASSIGNMENT,
    CENTRAL_ANSWER,
    CENTRAL_PROGRESS,
    DIRECTION_DUE,
    ESCALATION_ACK,
    ESCALATION_RESOLVE,
    INTERIM_REPORT,
    KINDS,
    LOG_CHANNEL,
    MEMBER_REMINDER,
    REMINDER_ACK,
    REMINDER_RESOLVE,
    SIGN_IN,
    URGENT_DIFFICULTY,
    WEEKLY_MISSING,
    WEEKLY_REMINDER,
    WEEKLY_REPORT,
    Contact,
    Hours,
    Owed,
    Quiet,
    contacts_of,
    fan_out,
    head_release,
)
from services.notify.logic.people import (
    DIRECTION_REMINDER_AT,
    direction_reminder_key,
    direction_reminder_times,
    direction_reminders,
    member_reminder_key,
    member_reminder_messages,
    sign_in_message_key,
    sign_in_messages,
)
from services.notify.logic.rendering import (
    Rendered,
    render,
)
from services.notify.logic.weekly import (
    WeeklyFire,
    parse_weekly,
    report_url,
    weekly_fires,
    weekly_messages,
    weekly_report_key,
    weekly_report_messages,
)

# The names `from services.notify.logic import X` has always given.
__all__ = [
    "ACK_STATUSES",
    "ASSIGNMENT",
    "CENTRAL_ANSWER",
    "CENTRAL_PROGRESS",
    "CLOSING_STATUSES",
    "DIRECTION_DUE",
    "DIRECTION_REMINDER_AT",
    "ESCALATION_ACK",
    "ESCALATION_RESOLVE",
    "FINISHED_STEPS",
    "INTERIM_REPORT",
    "KINDS",
    "LOG_CHANNEL",
    "MEMBER_REMINDER",
    "PAUSING_STEP",
    "REMINDER_ACK",
    "REMINDER_RESOLVE",
    "SIGN_IN",
    "URGENT_DIFFICULTY",
    "WEEKLY_MISSING",
    "WEEKLY_REMINDER",
    "WEEKLY_REPORT",
    "Contact",
    "Followed",
    "Hours",
    "Owed",
    "Quiet",
    "Rendered",
    "Resumed",
    "WeeklyFire",
    "assignment_message_key",
    "assignment_messages",
    "confirmation_messages",
    "contacts_of",
    "direction_reminder_key",
    "direction_reminder_times",
    "direction_reminders",
    "fan_out",
    "follow",
    "follows",
    "head_release",
    "member_reminder_key",
    "member_reminder_messages",
    "parse_weekly",
    "province_of",
    "reminder_schedule",
    "render",
    "report_url",
    "resume",
    "sign_in_message_key",
    "sign_in_messages",
    "urgent_difficulty_key",
    "weekly_fires",
    "weekly_messages",
    "weekly_report_key",
    "weekly_report_messages",
]
