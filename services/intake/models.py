"""Intake's request and answer models: what the API, the web form and the CSV import
accept, and what they answer. Validation lives here; cleaning in logic.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Header
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from services.intake import logic
from shared.errors import FieldError
from shared.events import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    ZONE_TYPE_LABELS,
    Category,
    Kind,
    Status,
    TaskDifficulty,
    Urgency,
    ZoneType,
)

# The same key and body give the same answer and create nothing; another body is a 409.
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
OptText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text300
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 .-]{8,20}$")] | None = None
    email: EmailStr | None = None


class DifficultyIn(BaseModel):
    """A difficulty (khó khăn, vướng mắc) or recommendation (kiến nghị) from a business."""

    model_config = ConfigDict(extra="forbid")

    tax_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = Field(
        description="Mã số thuế: 10 digits, or 13 for a branch (0123456789-001)"
    )
    enterprise_name: Text300
    province: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=100)] = Field(
        description="Province code or name, current or former (before July 2025)"
    )
    zone_type: ZoneType | None = None
    zone_name: OptText = None
    category: Category
    kind: Kind = Kind.DIFFICULTY
    title: Text300
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=10_000)]
    urgency: Urgency = Urgency.NORMAL
    contact: ContactIn
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    sector: OptText = None
    ward: OptText = None
    district: OptText = None
    channel: OptText = None


class Accepted(BaseModel):
    difficulty_id: uuid.UUID
    tracking_code: str
    status: str = "received"


PostableStatus = Literal[
    "acknowledged", "in_progress", "resolved", "escalated", "rejected", "reassign_requested"
]


class StatusIn(BaseModel):
    """A status update from the agency (or member) the difficulty is assigned to."""

    model_config = ConfigDict(extra="forbid")

    status: PostableStatus
    note: Annotated[str, StringConstraints(max_length=10_000)] | None = Field(
        default=None,
        description="Required for resolved (the resolution) and for escalated and rejected "
        "(the reason)",
    )
    target_agency_id: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None,
        description="With reassign_requested, from the permanent deputy only: the agency of "
        "the task force that is to lead (a dispatch from the triage queue, or a correction "
        "of the routing). Without it an agency's request goes to the permanent deputy's "
        "triage queue.",
    )


class StatusAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    status: Status


class UrgencyIn(BaseModel):
    """An officer's or a member's word that an urgent difficulty is urgent."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)] | None = (
        Field(default=None, description="Why it cannot wait (for the head's message)"))


class UrgencyConfirmedOut(BaseModel):
    confirmation_id: uuid.UUID
    difficulty_id: uuid.UUID
    confirmed_by: str
    reported: bool = Field(description="Filed urgent by a member or operator, rather than "
                           "confirmed afterwards")
    confirmed_at: datetime


class DifficultyOut(BaseModel):
    """A difficulty as the caller may read it, and where the caller stands in it."""

    standing: logic.Standing
    difficulty: TaskDifficulty


ReportText = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class MemberReportIn(BaseModel):
    """A task-force member's weekly report (báo cáo tuần)."""

    model_config = ConfigDict(extra="forbid")

    received_summary: ReportText = Field(description="Tình hình tiếp nhận")
    solutions: ReportText = Field(description="Kết quả, giải pháp tháo gỡ")
    recommendations: ReportText = Field(description="Kiến nghị, đề xuất")
    figures: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")],
                  Annotated[int, Field(ge=0, le=1_000_000_000)]] = Field(
        default_factory=dict, max_length=50
    )
    week_label: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-W[0-9]{2}$")] | None = Field(
        default=None, description="ISO week of the closing Friday; default the current week. "
        "A past week is accepted and marked late."
    )
    urgent: bool = False


class MemberReportAccepted(BaseModel):
    report_id: uuid.UUID
    week_label: str
    late: bool
    revision: int = Field(description="1 for the first report of the week; more replaces it")


class ImportRowOut(BaseModel):
    row: int = Field(description="Row number as a spreadsheet shows it (the header is 1)")
    accepted: bool
    difficulty_id: uuid.UUID | None = None
    tracking_code: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class ImportResult(BaseModel):
    accepted: int
    refused: int
    rows: list[ImportRowOut]


class WeekItem(BaseModel):
    difficulty_id: uuid.UUID
    tracking_code: str
    title: str
    category: str
    status: Status
    urgency: Urgency
    received_at: datetime
    assigned_at: datetime
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool


class WeekFigures(BaseModel):
    received: int = Field(description="Assigned to the member and received this week")
    resolved: int = Field(description="Resolved this week")
    open: int
    overdue: int


class ReportDue(BaseModel):
    week_label: str
    due_at: datetime
    reported: bool
    revision: int | None = None
    late_if_submitted_now: bool


class ReportDraft(BaseModel):
    """A MemberReportIn with what the system knows filled in."""

    week_label: str
    received_summary: str
    solutions: str = ""
    recommendations: str = ""
    figures: dict[str, int]


class MemberWeekOut(BaseModel):
    member_id: str
    province_code: str
    week_label: str
    window_start: datetime
    window_end: datetime
    open: list[WeekItem]
    overdue: list[WeekItem]
    resolved_this_week: list[WeekItem]
    figures: WeekFigures
    reports_due: list[ReportDue]
    draft: ReportDraft


class Label(BaseModel):
    code: str
    vi: str
    en: str


class Vocabulary(BaseModel):
    categories: list[Label]
    zone_types: list[Label]
    kinds: list[Label]
    urgencies: list[Label]
    statuses: list[Label]


def vocabulary() -> Vocabulary:
    def labels(d: dict[Any, tuple[str, str]]) -> list[Label]:
        return [Label(code=str(k), vi=vi, en=en) for k, (vi, en) in d.items()]

    return Vocabulary(
        categories=labels(CATEGORY_LABELS),
        zone_types=labels(ZONE_TYPE_LABELS),
        kinds=labels({Kind.DIFFICULTY: ("Khó khăn, vướng mắc", "Difficulty"),
                      Kind.RECOMMENDATION: ("Kiến nghị", "Recommendation")}),
        urgencies=labels({Urgency.NORMAL: ("Thông thường", "Normal"),
                          Urgency.URGENT: ("Khẩn, đột xuất", "Urgent")}),
        statuses=labels({s: STATUS_LABELS[s] for s in logic.POSTABLE}),
    )

