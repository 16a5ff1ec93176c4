"""What intake does, whoever asks: the API, the web form and the CSV import accept a
submission through `accept`; agencies and members act on a difficulty through
`post_status`, `read_difficulty`, `submit_member_report` and `member_week`. Each takes
the `Intake` that main.py builds and raises a Refusal (or vn.InvalidField) for a 4xx.

By use-case family: `context` (the service, where who is asking stands on a case),
`submissions`, `handling` (agencies and members on a difficulty), `business` (the
tracking code's answers and feedback), `task_force` (the workspaces), `triage` (the
permanent deputy's corrections and merges). Every public name is re-exported here.
"""

from __future__ import annotations

from services.intake.usecases.business import (
    NO_SUCH_PAIR,
    NOT_WAITING,
    answer_question,
    give_feedback,
)
from services.intake.usecases.context import (
    ACTOR_KINDS,
    NO_SUCH_DIFFICULTY,
    SOURCE,
    AttachmentLimits,
    Intake,
    Outcome,
    member_of,
    seen_by,
    standing,
)
from services.intake.usecases.handling import (
    confirm_urgency,
    ministry_answered,
    post_resolution,
    post_status,
    post_step,
    read_difficulty,
    record_ministry_answer,
    register_letter,
)
from services.intake.usecases.submissions import (
    ImportedRow,
    Refused,
    RefusedRow,
    accept,
    check_may_import,
    import_difficulties,
    parse_submission,
    prepare_import,
    received_event,
)
from services.intake.usecases.task_force import (
    give_direction,
    member_week,
    post_direction_progress,
    remind_member,
    save_compilation,
    submit_member_report,
    task_force_role,
)
from services.intake.usecases.triage import correct_difficulty, merge_duplicate

# The names `from services.intake.usecases import X` has always given.
__all__ = [
    "ACTOR_KINDS",
    "NOT_WAITING",
    "NO_SUCH_DIFFICULTY",
    "NO_SUCH_PAIR",
    "SOURCE",
    "AttachmentLimits",
    "ImportedRow",
    "Intake",
    "Outcome",
    "Refused",
    "RefusedRow",
    "accept",
    "answer_question",
    "check_may_import",
    "confirm_urgency",
    "correct_difficulty",
    "give_direction",
    "give_feedback",
    "import_difficulties",
    "member_of",
    "member_week",
    "merge_duplicate",
    "ministry_answered",
    "parse_submission",
    "post_direction_progress",
    "post_resolution",
    "post_status",
    "post_step",
    "prepare_import",
    "read_difficulty",
    "received_event",
    "record_ministry_answer",
    "register_letter",
    "remind_member",
    "save_compilation",
    "seen_by",
    "standing",
    "submit_member_report",
    "task_force_role",
]
