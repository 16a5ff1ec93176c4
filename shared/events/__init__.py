"""Event schemas for every topic, one pydantic model per (type, version).

Events travel in CloudEvents 1.0 binary content mode: the JSON body is the
event's data, and the attributes (`id`, `source`, `type`, `time`, `subject`)
are Kafka headers `ce_id`, `ce_source`, ... The message key is the difficulty
id (or, for events not about one difficulty, the natural key named below).

Consumers deduplicate on `ce_id`. Producers derive `ce_id` deterministically
from what caused the event wherever a retry could re-emit it, so a replay
carries the same id and is recognised downstream.

The models live by topic family in this package's modules (`vocabulary`, `envelope`,
`difficulty`, `reporting`, `notification`, `bottleneck`); every public name is re-exported here, so
`from shared.events import X` is the one way to name them.
"""

from __future__ import annotations

from shared.events.bottleneck import BottleneckAnswer, BottleneckItem, PolicyBottleneck
from shared.events.difficulty import (
    AgencyTask,
    BusinessAnswer,
    Contact,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    Feedback,
    LetterRef,
    Resolution,
    TaskDifficulty,
)
from shared.events.envelope import (
    CE_TYPE_PREFIX,
    EVENT_ID_NAMESPACE,
    SPEC_VERSION,
    DecodeError,
    E,
    Envelope,
    EventData,
    RecordHeaders,
    decode,
    deterministic_id,
    encode_body,
    encode_headers,
    headers_for,
    new_envelope,
    record_headers,
)
from shared.events.notification import (
    MemberReminderRequested,
    NotificationSent,
    SignInLink,
)
from shared.events.reporting import (
    DIRECTION_STATE_LABELS,
    BreakdownRow,
    CompilationSaved,
    DirectionGiven,
    DirectionProgress,
    DirectionState,
    DirectionStatus,
    League,
    LeagueRow,
    MemberReport,
    MemberReportSummary,
    ReportItem,
    WeeklyReport,
)
from shared.events.vocabulary import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    OUTCOME_STATUS,
    STATUS_LABELS,
    STEP_LABELS,
    STEP_OF_STATUS,
    ZONE_TYPE_LABELS,
    ActorKind,
    AgencyId,
    AgencyLevel,
    AssignmentRole,
    Category,
    Kind,
    LongText,
    Outcome,
    ShortText,
    Status,
    Step,
    Urgency,
    UrgencySource,
    ZoneType,
)

EVENT_TYPES: tuple[type[EventData], ...] = (
    DifficultyReceived,
    DifficultyAssigned,
    AgencyTask,
    BusinessAnswer,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    MemberReport,
    WeeklyReport,
    NotificationSent,
    SignInLink,
    MemberReminderRequested,
    DirectionGiven,
    DirectionProgress,
    CompilationSaved,
    PolicyBottleneck,
)
BY_CE_TYPE: dict[str, type[EventData]] = {t.ce_type: t for t in EVENT_TYPES}


# The names `from shared.events import X` has always given.
__all__ = [
    "BY_CE_TYPE",
    "CATEGORY_LABELS",
    "CE_TYPE_PREFIX",
    "DIRECTION_STATE_LABELS",
    "EVENT_ID_NAMESPACE",
    "EVENT_TYPES",
    "OUTCOME_LABELS",
    "OUTCOME_STATUS",
    "SPEC_VERSION",
    "STATUS_LABELS",
    "STEP_LABELS",
    "STEP_OF_STATUS",
    "ZONE_TYPE_LABELS",
    "ActorKind",
    "AgencyId",
    "AgencyLevel",
    "AgencyTask",
    "AssignmentRole",
    "BottleneckAnswer",
    "BottleneckItem",
    "BreakdownRow",
    "BusinessAnswer",
    "Category",
    "CompilationSaved",
    "Contact",
    "DecodeError",
    "DifficultyAssigned",
    "DifficultyReceived",
    "DifficultyStatusChanged",
    "DifficultyUrgencyConfirmed",
    "DirectionGiven",
    "DirectionProgress",
    "DirectionState",
    "DirectionStatus",
    "E",
    "Envelope",
    "EventData",
    "Feedback",
    "Kind",
    "League",
    "LeagueRow",
    "LetterRef",
    "LongText",
    "MemberReminderRequested",
    "MemberReport",
    "MemberReportSummary",
    "NotificationSent",
    "Outcome",
    "PolicyBottleneck",
    "RecordHeaders",
    "ReportItem",
    "Resolution",
    "ShortText",
    "SignInLink",
    "Status",
    "Step",
    "TaskDifficulty",
    "Urgency",
    "UrgencySource",
    "WeeklyReport",
    "ZoneType",
    "decode",
    "deterministic_id",
    "encode_body",
    "encode_headers",
    "headers_for",
    "new_envelope",
    "record_headers",
]
