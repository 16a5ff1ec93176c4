"""Intake's request and answer models: what the API, the web form and the CSV import
accept, and what they answer. A submission is validated and cleaned here, field by field
(its text as stored, its tax code in standard form, its province known).

By concern, as the routes: `common` (the field types the requests share, the
idempotency key), `submissions` (a business's submission, the import's answer, the
vocabulary), `casework` (status, urgency, steps, resolution, the ministry's answer and
letter, reading a difficulty), `triage` (corrections and merges), `task_force` (a
member's report and week), `bottlenecks` (#25 item 1), `attachments` (#20 item 10).
Every public name is re-exported here.
"""

from __future__ import annotations

from services.intake.models.attachments import AttachmentsAccepted
from services.intake.models.bottlenecks import BottleneckAccepted, BottleneckAnswered, BottleneckIn
from services.intake.models.casework import (
    DifficultyOut,
    LetterIn,
    LetterNumber,
    MinistryAnswerIn,
    Note,
    PostableStatus,
    ResolutionAccepted,
    ResolutionIn,
    StatusAccepted,
    StatusIn,
    StepAccepted,
    StepIn,
    UrgencyConfirmedOut,
    UrgencyIn,
)
from services.intake.models.common import (
    DESCRIPTION_MAX,
    SHORT_TEXT_MAX,
    Description,
    IdempotencyKey,
    OptText,
    ProvinceName,
    TaxCode,
    Text,
    cleaned,
)
from services.intake.models.submissions import (
    Accepted,
    ContactIn,
    DifficultyIn,
    ImportResult,
    ImportRowOut,
    Label,
    Vocabulary,
    vocabulary,
)
from services.intake.models.task_force import (
    MemberReportAccepted,
    MemberReportIn,
    MemberWeekOut,
    ReportDraft,
    ReportDue,
    ReportText,
    WeekFigures,
    WeekItem,
)
from services.intake.models.triage import CorrectionIn, MergeAccepted, MergeIn

# The names `from services.intake.models import X` has always given, and `cleaned`
# (private while the models were one module, now what the modules share).
__all__ = [
    "DESCRIPTION_MAX",
    "SHORT_TEXT_MAX",
    "Accepted",
    "AttachmentsAccepted",
    "BottleneckAccepted",
    "BottleneckAnswered",
    "BottleneckIn",
    "ContactIn",
    "CorrectionIn",
    "Description",
    "DifficultyIn",
    "DifficultyOut",
    "IdempotencyKey",
    "ImportResult",
    "ImportRowOut",
    "Label",
    "LetterIn",
    "LetterNumber",
    "MemberReportAccepted",
    "MemberReportIn",
    "MemberWeekOut",
    "MergeAccepted",
    "MergeIn",
    "MinistryAnswerIn",
    "Note",
    "OptText",
    "PostableStatus",
    "ProvinceName",
    "ReportDraft",
    "ReportDue",
    "ReportText",
    "ResolutionAccepted",
    "ResolutionIn",
    "StatusAccepted",
    "StatusIn",
    "StepAccepted",
    "StepIn",
    "TaxCode",
    "Text",
    "UrgencyConfirmedOut",
    "UrgencyIn",
    "Vocabulary",
    "WeekFigures",
    "WeekItem",
    "cleaned",
    "vocabulary",
]
