"""Topic names and their partition counts: the one list every service and tool reads.

The message key of every difficulty event is the difficulty id, so all events of
one difficulty land on one partition and stay in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

DIFFICULTY_RECEIVED = "difficulty.received.v1"
DIFFICULTY_ASSIGNED = "difficulty.assigned.v1"
DIFFICULTY_STATUS = "difficulty.status.v1"
DIFFICULTY_URGENCY = "difficulty.urgency.v1"
MEMBER_REPORT = "member.report.v1"
REPORT_WEEKLY = "report.weekly.v1"
NOTIFICATION_SENT = "notification.sent.v1"
SIGN_IN_LINK = "sign-in.link.v1"
MEMBER_REMINDER = "member.reminder.v1"
DIRECTION_GIVEN = "direction.given.v1"
DIRECTION_PROGRESS = "direction.progress.v1"
COMPILATION_SAVED = "compilation.saved.v1"
POLICY_BOTTLENECK = "policy.bottleneck.v1"

DLQ_SUFFIX = ".dlq"

# An agency id is an ASCII slug that includes the province: "binh-duong.bql-kcn".
AGENCY_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*$"
_AGENCY_ID_RE = re.compile(AGENCY_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int


# Difficulty topics carry the bulk of the traffic and are keyed, so they get the
# partitions that consumer groups scale across; the rest are low-volume.
CORE_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(DIFFICULTY_RECEIVED, 8),
    TopicSpec(DIFFICULTY_ASSIGNED, 8),
    TopicSpec(DIFFICULTY_STATUS, 8),
    TopicSpec(DIFFICULTY_URGENCY, 2),
    TopicSpec(MEMBER_REPORT, 2),
    TopicSpec(REPORT_WEEKLY, 1),
    TopicSpec(NOTIFICATION_SENT, 4),
    TopicSpec(SIGN_IN_LINK, 1),
    TopicSpec(MEMBER_REMINDER, 1),
    TopicSpec(DIRECTION_GIVEN, 1),
    TopicSpec(DIRECTION_PROGRESS, 1),
    TopicSpec(COMPILATION_SAVED, 1),
    TopicSpec(POLICY_BOTTLENECK, 1),
)
AGENCY_TOPIC_PARTITIONS = 2
DLQ_PARTITIONS = 1

# The operators' triage queue, where the router sends what comes from a province without
# configuration: an agency id of no configuration, whose topic must exist all the same.
UNCONFIGURED_TRIAGE = "thaogo.triage"


def is_agency_id(agency_id: str) -> bool:
    return bool(_AGENCY_ID_RE.match(agency_id))


def agency_topic(agency_id: str) -> str:
    """The topic an agency's own systems read; it carries self-contained tasks."""
    if not is_agency_id(agency_id):
        raise ValueError(f"not an agency id (ascii 'province.agency' slug): {agency_id!r}")
    return f"agency.{agency_id}.v1"


def dlq(topic: str) -> str:
    return topic + DLQ_SUFFIX


def task_agency_ids(agency_ids: Iterable[str]) -> list[str]:
    """The agencies the router can send tasks to: those of the configurations, and the
    operators' triage queue of provinces without one."""
    return sorted({*agency_ids, UNCONFIGURED_TRIAGE})


def all_topics(agency_ids: Iterable[str] = ()) -> list[TopicSpec]:
    """Every topic the system writes to: core topics, their DLQs and one per agency that
    can be sent a task (the triage queue included). `thaogo topics`, the AsyncAPI
    document and the Strimzi KafkaTopics are all made from it."""
    specs = list(CORE_TOPICS)
    specs += [TopicSpec(dlq(t.name), DLQ_PARTITIONS) for t in CORE_TOPICS]
    specs += [TopicSpec(agency_topic(a), AGENCY_TOPIC_PARTITIONS)
              for a in task_agency_ids(agency_ids)]
    return specs
