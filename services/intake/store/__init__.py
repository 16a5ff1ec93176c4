"""Intake's SQL. Keyword-only functions over an asyncpg connection.

Table names are schema-qualified so that the queries do not depend on the
connection's search_path.

By concern: `common` (the schema, enqueueing events), `difficulties` (idempotency,
accepting, urgency confirmations, assignments, a difficulty's state), `status` (status
updates and their hash chain, the business's tracking pair), `task_force` (member
reports, a member's week, the head's directions), `bottlenecks` (#25 item 1),
`attachments` (#20 item 10). Every public name is re-exported here: callers write
`store.X` as before.
"""

from __future__ import annotations

from services.intake.store.attachments import attachment, has_public_answer, insert_attachments
from services.intake.store.bottlenecks import (
    Candidate,
    bottleneck_answered,
    insert_bottleneck,
    lock_bottleneck,
    lock_candidates,
)
from services.intake.store.common import SCHEMA, enqueue, enqueue_to
from services.intake.store.difficulties import (
    DifficultyState,
    accept_difficulty,
    active_assignments,
    claim_idempotency_key,
    confirmation_of,
    difficulty,
    difficulty_by_code,
    find_idempotent,
    insert_difficulties,
    lock_difficulty,
    record_assignments,
    record_confirmations,
)
from services.intake.store.status import lock_tracked, question_of, record_status, reopened
from services.intake.store.task_force import (
    direction_for_update,
    insert_direction,
    member_items,
    member_report_revisions,
    set_direction_state,
    upsert_member_report,
)

# The names `from services.intake.store import X` has always given.
__all__ = [
    "SCHEMA",
    "Candidate",
    "DifficultyState",
    "accept_difficulty",
    "active_assignments",
    "attachment",
    "bottleneck_answered",
    "claim_idempotency_key",
    "confirmation_of",
    "difficulty",
    "difficulty_by_code",
    "direction_for_update",
    "enqueue",
    "enqueue_to",
    "find_idempotent",
    "has_public_answer",
    "insert_attachments",
    "insert_bottleneck",
    "insert_difficulties",
    "insert_direction",
    "lock_bottleneck",
    "lock_candidates",
    "lock_difficulty",
    "lock_tracked",
    "member_items",
    "member_report_revisions",
    "question_of",
    "record_assignments",
    "record_confirmations",
    "record_status",
    "reopened",
    "set_direction_state",
    "upsert_member_report",
]
