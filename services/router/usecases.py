"""What the router publishes for assignments, whichever path made them (a new
difficulty, an escalation, a re-assignment, a replay): each assignment on
`difficulty.assigned.v1`, and the task of each that is not a member's on its agency's
topic. Published as of the assignment (`assigned_at`, the time of its cause), under ids
derived from it: making or replaying it again writes the same bytes."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared import topics
from shared.events import (
    AgencyTask,
    AssignmentRole,
    DifficultyAssigned,
    DifficultyReceived,
    EventData,
    TaskDifficulty,
    deterministic_id,
)
from shared.kafka import Emitter


@dataclass(frozen=True, slots=True)
class Message:
    """One event to emit: `Emitter.emit`'s arguments."""

    data: EventData
    event_id: str
    topic: str
    time: datetime


def task_id(assignment_id: uuid.UUID) -> str:
    return deterministic_id(assignment_id, "task")


def status_url(base: str, difficulty_id: uuid.UUID) -> str:
    return f"{base.rstrip('/')}/v1/difficulties/{difficulty_id}/status"


def messages(
    assignments: Sequence[DifficultyAssigned], difficulty: DifficultyReceived, *,
    status_base: str, tasks: Container[uuid.UUID] | None = None,
) -> list[Message]:
    """The messages of one difficulty's assignments. `tasks`: those whose task is
    published (a replay publishes the open ones only); None for all."""
    out: list[Message] = []
    # A difficulty as its tasks carry it, made at most once each way.
    in_task: dict[bool, TaskDifficulty] = {}
    url = status_url(status_base, difficulty.difficulty_id)
    for a in assignments:
        out.append(Message(a, str(a.assignment_id), topics.DIFFICULTY_ASSIGNED, a.assigned_at))
        if a.role is AssignmentRole.MEMBER or (tasks is not None
                                               and a.assignment_id not in tasks):
            continue  # a member has no agency task: notify tells the person
        with_contact = AgencyTask.carries_contact(a.role)
        of = in_task.get(with_contact)
        if of is None:
            of = in_task[with_contact] = TaskDifficulty.of(difficulty, with_contact=with_contact)
        out.append(Message(AgencyTask(assignment=a, difficulty=of, status_url=url),
                           task_id(a.assignment_id), topics.agency_topic(a.agency_id),
                           a.assigned_at))
    return out


async def publish(
    emitter: Emitter, assignments: Sequence[DifficultyAssigned],
    difficulty: DifficultyReceived, *, status_base: str,
    tasks: Container[uuid.UUID] | None = None,
) -> Counter[str]:
    """Emit the messages of one difficulty's assignments; returns them by topic."""
    counts: Counter[str] = Counter()
    for m in messages(assignments, difficulty, status_base=status_base, tasks=tasks):
        await emitter.emit(m.data, event_id=m.event_id, topic=m.topic, time=m.time)
        counts[m.topic] += 1
    return counts
