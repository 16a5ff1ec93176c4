"""Intake's request and answer models: what the API, the web form and the CSV import
accept, and what they answer. A submission is validated and cleaned here, field by field
(its text as stored, its tax code in standard form, its province known)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Header
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
)

from services.intake import logic
from shared import vn
from shared.errors import FieldError
from shared.events import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    ZONE_TYPE_LABELS,
    AttachmentRef,
    Category,
    Contact,
    DifficultyReceived,
    Kind,
    Outcome,
    Status,
    Step,
    TaskDifficulty,
    Urgency,
    UrgencySource,
    ZoneType,
)

# The same key and body give the same answer and create nothing; another body is a 409.
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
# --- a submission, cleaned on its model ------------------------------------------------------

SHORT_TEXT_MAX = 300
DESCRIPTION_MAX = 10_000


def _cleaned(max_len: int, *, multiline: bool = False) -> AfterValidator:
    """Text as stored: NFC, trimmed, spaces collapsed, no control or invisible
    characters (`vn.nfc_clean`, whose InvalidField gives the 422 its reasons in both
    languages)."""

    def clean(value: str, info: ValidationInfo) -> str:
        return vn.nfc_clean(value, max_len, field=info.field_name or "text",
                            multiline=multiline)

    return AfterValidator(clean)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _known_province(value: str) -> str:
    vn.resolve_province(value)  # InvalidField names the province otherwise
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                        max_length=SHORT_TEXT_MAX), _cleaned(SHORT_TEXT_MAX)]
# Empty optional text is no text.
OptText = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=SHORT_TEXT_MAX),
              _cleaned(SHORT_TEXT_MAX)] | None,
    BeforeValidator(_blank_is_none)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=DESCRIPTION_MAX),
                        _cleaned(DESCRIPTION_MAX, multiline=True)]
TaxCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20),
                    AfterValidator(vn.normalize_tax_code)]
ProvinceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=100), AfterValidator(_known_province)]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 .-]{8,20}$")] | None = None
    email: EmailStr | None = None


class DifficultyIn(BaseModel):
    """A difficulty (khó khăn, vướng mắc) or recommendation (kiến nghị) from a business,
    as it will be stored: validated and cleaned field by field, every refusal at once."""

    model_config = ConfigDict(extra="forbid")

    tax_code: TaxCode = Field(
        description="Mã số thuế: 10 digits, or 13 for a branch (0123456789-001)"
    )
    enterprise_name: Text
    province: ProvinceName = Field(
        description="Province code or name, current or former (before July 2025)"
    )
    zone_type: ZoneType | None = None
    zone_name: OptText = None
    category: Category
    kind: Kind = Kind.DIFFICULTY
    title: Text
    description: Description
    urgency: Urgency = Urgency.NORMAL
    contact: ContactIn
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    sector: OptText = None
    ward: OptText = None
    district: OptText = None
    channel: OptText = None

    def received(self, *, difficulty_id: uuid.UUID, code: str, now: datetime,
                 urgency_source: UrgencySource = UrgencySource.BUSINESS) -> DifficultyReceived:
        """The event of this submission, with its province resolved (the task force its
        province names; usecases.received_event may choose a former province's)."""
        province = vn.resolve_province(self.province)
        c = self.contact
        return DifficultyReceived(
            difficulty_id=difficulty_id,
            tracking_code=code,
            received_at=now,
            province_code=province.code,
            province_name=province.name,
            task_force=province.task_force_slug,
            contact=Contact(name=c.name, phone=c.phone, email=c.email),
            urgency_source=urgency_source,
            **self.model_dump(exclude={"province", "contact"}),
        )


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
    co_agency_ids: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=20,
        description="With a dispatch (target_agency_id), from the permanent deputy only: "
        "agencies of the task force that co-handle it beside the lead, each its own "
        "co_handler assignment.")


class StatusAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    status: Status


class CorrectionIn(BaseModel):
    """The permanent deputy's correction of a difficulty waiting in triage: what is given
    replaces the difficulty's own; the router routes it again."""

    model_config = ConfigDict(extra="forbid")

    zone_type: ZoneType | Literal[""] | None = Field(
        default=None, description="KCN, KKT, CCN or NONE; an empty string clears a zone type "
        "given wrongly; absent keeps it")
    category: Category | None = Field(default=None, description="The category; absent keeps it")
    province: ProvinceName | None = Field(
        default=None, description="Province code or name, current or former: a province of "
        "another task force moves the difficulty there; absent keeps it")
    note: Annotated[str, StringConstraints(max_length=2_000)] | None = Field(
        default=None, description="Why (internal)")


class MergeIn(BaseModel):
    """The permanent deputy merges a duplicate into the difficulty that carries on."""

    model_config = ConfigDict(extra="forbid")

    into: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=60)] = Field(
        description="The kept difficulty, by its tracking code or its id; of the same task "
        "force, not itself merged")
    note: Annotated[str, StringConstraints(max_length=2_000)] | None = Field(
        default=None, description="Why (internal)")


class MergeAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    status: Status
    merged_into: uuid.UUID
    kept_tracking_code: str


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


Note = Annotated[str, StringConstraints(max_length=10_000)]


class StepIn(BaseModel):
    """A step on the caller's own part of a difficulty (its assignment)."""

    model_config = ConfigDict(extra="forbid")

    step: Step = Field(description="acknowledged, in_progress (may repeat, each a progress "
                       "note), need_info (a question to the business), done (say what was done; "
                       "not for the lead, which closes with a resolution) or "
                       "declined (\"not ours\", with the reason)")
    note: Note | None = Field(default=None, description="Required for done (what was done) "
                              "and declined (why it is not yours); internal, never shown to "
                              "the business")
    question: Note | None = Field(default=None, description="Required with need_info: what "
                                  "the business is asked, shown on its tracking page; the "
                                  "part's clock stands still until it answers")
    suggested_agency_id: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="With declined: the agency of the task force that should "
        "act, as advice to the permanent deputy (nothing is routed to it)")
    assignment_id: uuid.UUID | None = Field(
        default=None, description="Which of the caller's assignments, if it has several on "
        "the difficulty; default its own (as holder first)")


class StepAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    assignment_id: uuid.UUID
    step: Step
    status: Status | None = Field(description="The difficulty's status after the step: "
                                  "moved by the lead's steps only, else null")


class ResolutionIn(BaseModel):
    """How the lead agency (or the permanent deputy) closes a difficulty or passes it up."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    done: Note = Field(description="What was done (for the task force's record)")
    legal_basis: Annotated[str, StringConstraints(max_length=300)] | None = Field(
        default=None, description="The legal basis or document cited, with its number and "
        "symbol, e.g. \"Công văn 123/UBND-KT\"")
    public_answer: Note = Field(description="The answer the business reads on its tracking "
                                "page; kept apart from internal notes")
    reason: Note | None = Field(default=None, description="Required for rejected (why out "
                                "of scope) and escalated (why beyond provincial authority)")
    note: Note | None = Field(default=None, description="Internal note, never shown to the "
                              "business")
    waive_open_parts_reason: Note | None = Field(
        default=None, description="To close while co-handlers' parts are still open: why "
        "the difficulty closes without them (recorded with the parts waived)")


class ResolutionAccepted(BaseModel):
    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    outcome: Outcome
    status: Status
    waived: list[uuid.UUID] = Field(description="Co-handlers' assignments closed without "
                                    "their parts done")


class AttachmentsAccepted(BaseModel):
    status_id: uuid.UUID = Field(description="The history entry recording who attached them")
    difficulty_id: uuid.UUID
    attachments: list[AttachmentRef] = Field(description="Each file as kept: its id (to "
                                             "download it), checked type, size and SHA-256")


LetterNumber = Annotated[str, StringConstraints(min_length=1, max_length=60,
                                               pattern=r"^[0-9]+/[^\s/].*$")]


class MinistryAnswerIn(BaseModel):
    """The central ministry's answer to an escalated difficulty, as its letter says."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["resolved", "partly_resolved", "rejected"] = "resolved"
    letter_number: LetterNumber = Field(description="The ministry's letter, number and "
                                        "symbol, e.g. \"4512/BTC-CST\"")
    letter_date: date = Field(description="The date of the ministry's letter")
    public_answer: Note = Field(description="The ministry's answer as the business reads it "
                                "on its tracking page")
    note: Note | None = Field(default=None, description="Internal note")


class LetterIn(BaseModel):
    """The province's letter passing an escalated difficulty to the ministry, registered."""

    model_config = ConfigDict(extra="forbid")

    letter_number: LetterNumber = Field(description="Number and symbol as registered, e.g. "
                                        "\"125/UBND-KT\"")
    letter_date: date = Field(description="The date the letter was signed")


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



# --- policy bottlenecks (#25 item 1) -----------------------------------------------------------


class BottleneckIn(BaseModel):
    """Recommendations many businesses share, merged by the permanent deputy into one
    policy bottleneck for a central ministry."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, _cleaned(SHORT_TEXT_MAX)] = Field(
        description="What the bottleneck is, as the ministry reads it")
    ministry_id: Annotated[str, StringConstraints(max_length=120)] = Field(
        description="The central ministry (an agency of level central in the configuration)")
    difficulty_ids: list[uuid.UUID] = Field(
        min_length=2, max_length=logic.BOTTLENECK_MAX_ITEMS,
        description="The difficulties and recommendations merged, open, of the task force")


class BottleneckAccepted(BaseModel):
    bottleneck_id: uuid.UUID
    ministry_id: str
    business_count: int = Field(description="Distinct businesses (tax codes) among the items")
    item_count: int
    documents: list[str] = Field(description="Keys of the legal documents the items cite, "
                                 "most cited first")


class BottleneckAnswered(BaseModel):
    bottleneck_id: uuid.UUID
    outcome: Outcome
    closed: list[uuid.UUID] = Field(description="The member difficulties closed with the "
                                    "ministry's answer")
    already_closed: list[uuid.UUID] = Field(description="Members closed before the answer "
                                            "came, left as they were")
