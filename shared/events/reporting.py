"""Events of the task force's weekly cycle: members' reports, the compiled weekly report,
the head's directions and the saved compilation."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared import topics
from shared.events.envelope import CE_TYPE_PREFIX, EventData
from shared.events.vocabulary import (
    LongText,
    ShortText,
    Status,
)


class MemberReport(EventData):
    """A task-force member's weekly report (báo cáo tuần)."""

    topic: ClassVar[str] = topics.MEMBER_REPORT
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "member.report.v1"

    report_id: uuid.UUID
    member_id: str
    province_code: str
    week_label: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-W[0-9]{2}$")]
    received_summary: LongText
    solutions: LongText
    recommendations: LongText
    figures: dict[str, int] = Field(default_factory=dict)
    late: bool = False
    urgent: bool = False  # đột xuất: reported before the Friday cutoff because it cannot wait
    submitted_at: AwareDatetime

    def key(self) -> str:
        return f"{self.province_code}:{self.week_label}"


class BreakdownRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dimension: Literal["agency", "zone_type", "category", "total"]
    value: str
    received: int
    resolved: int
    open: int
    overdue: int
    escalated_central: int
    median_resolution_hours: float | None
    p90_resolution_hours: float | None
    # So the figures add up: carried_over + received == resolved + rejected + open
    # (carried_over: open at the window's start; rejected: closed in the window without
    # being resolved). Defaults for reports stored before these were counted.
    rejected: int = 0
    carried_over: int = 0
    # The lead's outcomes in the window (#20): of `resolved`, those only partly resolved;
    # and those passed up as beyond provincial authority.
    partly_resolved: int = 0
    escalated: int = 0


class ReportItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    difficulty_id: uuid.UUID
    tracking_code: str
    title: str
    agency_id: str | None
    status: Status
    received_at: AwareDatetime


class LeagueRow(BaseModel):
    """How one agency did in the week, as of its cutoff (the league table).

    A deadline is measured in the week its outcome became known: met, when it was met
    (by the deadline) in the week; missed, when the deadline passed in the week without
    it. So each acknowledgement and each resolution is measured once, in one week. A
    resolution no longer owed (the item rejected before its deadline) is not measured.
    The agency is the one holding the item (lead, escalation or triage)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency_id: str
    ack_measured: int = Field(ge=0)
    ack_on_time: int = Field(ge=0)
    ack_on_time_pct: float | None = Field(ge=0, le=100)  # null: nothing measured
    resolve_measured: int = Field(ge=0)
    resolved_on_time: int = Field(ge=0)
    resolved_on_time_pct: float | None = Field(ge=0, le=100)
    resolved: int = Field(ge=0)  # resolved in the week (the agency row's `resolved`)
    # Receipt to resolution, in working days (weekends and public holidays not counted),
    # over the items resolved in the week; null when none was.
    median_working_days: float | None = Field(ge=0)
    # The businesses' ratings (1 to 5) of the items resolved in the week; null when none
    # was rated.
    rated: int = Field(default=0, ge=0)
    rating_average: float | None = Field(default=None, ge=1, le=5)


class League(BaseModel):
    """The league table of a week: one row per agency that held an item during it, best
    resolved-on-time share first; agencies with nothing measured last."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_pct: float = Field(gt=0, le=100)  # the province's on-time target when compiled
    rows: list[LeagueRow]


class DirectionState(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


DIRECTION_STATE_LABELS: dict[DirectionState, tuple[str, str]] = {
    DirectionState.OPEN: ("Chưa thực hiện", "Open"),
    DirectionState.IN_PROGRESS: ("Đang thực hiện", "In progress"),
    DirectionState.DONE: ("Đã hoàn thành", "Done"),
}


class MemberReportSummary(BaseModel):
    """A member's report of the week under the three headings, as last sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    member_id: ShortText
    late: bool
    urgent: bool = False
    submitted_at: AwareDatetime
    received_summary: LongText = ""
    solutions: LongText = ""
    recommendations: LongText = ""


class DirectionStatus(BaseModel):
    """A direction of the head with where it stood at the report's cutoff."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direction_id: uuid.UUID
    body: Annotated[str, StringConstraints(max_length=4000)]
    given_at: AwareDatetime
    assignee_id: ShortText | None = None
    due_on: date | None = None
    state: DirectionState = DirectionState.OPEN
    state_at: AwareDatetime | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class WeeklyReport(EventData):
    """The compiled weekly rollup of one province (or its final mandate report)."""

    topic: ClassVar[str] = topics.REPORT_WEEKLY
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "report.weekly.v1"

    report_id: uuid.UUID
    province_code: str
    week_label: str  # ISO week of the closing Friday, "2026-W48"; "final" for a mandate report
    window_start: AwareDatetime
    window_end: AwareDatetime
    generated_at: AwareDatetime
    final: bool = False
    rows: list[BreakdownRow]
    urgent_items: list[ReportItem]
    recommendations: list[ReportItem]
    members_reported: list[str]
    members_missing: list[str]
    page_url: str | None = None
    # Final report only: open items handed over at dissolution (with the agency holding
    # each), and the items that went to central level during the mandate.
    handed_over: list[ReportItem] = Field(default_factory=list)
    central_items: list[ReportItem] = Field(default_factory=list)
    # Compiled weeks only, frozen at the cutoff; null in interim and final reports and in
    # reports compiled before league tables were.
    league: League | None = None
    # Compiled weeks only, as of the cutoff; absent in reports compiled before they were.
    compiled_text: str | None = None  # the permanent deputy's text, once submitted
    member_reports: list[MemberReportSummary] = Field(default_factory=list)
    directions: list[DirectionStatus] = Field(default_factory=list)

    def key(self) -> str:
        return f"{self.province_code}:{self.week_label}"

    @property
    def interim(self) -> bool:
        """An urgent interim report, published as an urgent item arrives: no rows and
        exactly one urgent item (a compiled week always has its total row)."""
        return not self.final and not self.rows and len(self.urgent_items) == 1


class DirectionGiven(EventData):
    """A direction of the head to the task force (ý kiến chỉ đạo), given in the head's
    workspace; reporting keeps it for the task force's pages."""

    topic: ClassVar[str] = topics.DIRECTION_GIVEN
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "direction.given.v1"

    direction_id: uuid.UUID
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")]
    given_by: ShortText  # the head's id
    week_label: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-W[0-9]{2}$")]
    body: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    given_at: AwareDatetime
    # Who must act (an agency id or a member id of the configuration) and by when (a local
    # date): the direction is then tracked work. Absent in directions given before it was
    # (they are recorded, not tracked).
    assignee_id: ShortText | None = None
    due_on: date | None = None

    def key(self) -> str:
        return self.task_force


class DirectionProgress(EventData):
    """Whoever must act on a direction says where it stands (in progress, done), from
    their workspace; the latest `posted_at` is the direction's status."""

    topic: ClassVar[str] = topics.DIRECTION_PROGRESS
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "direction.progress.v1"

    progress_id: uuid.UUID
    direction_id: uuid.UUID
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")]
    state: DirectionState
    note: Annotated[str, StringConstraints(max_length=2000)] = ""
    posted_by: ShortText  # the assignee's id (agency or member)
    posted_at: AwareDatetime

    def key(self) -> str:
        return str(self.direction_id)


class CompilationSaved(EventData):
    """The permanent deputy's compiled text of a week, saved as a draft or submitted to
    the head; the latest `saved_at` of a (task force, week) is what stands."""

    topic: ClassVar[str] = topics.COMPILATION_SAVED
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "compilation.saved.v1"

    compilation_id: uuid.UUID
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")]
    week_label: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-W[0-9]{2}$")]
    body: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    submitted: bool
    saved_by: ShortText  # the permanent deputy's id
    saved_at: AwareDatetime

    def key(self) -> str:
        return f"{self.task_force}:{self.week_label}"
