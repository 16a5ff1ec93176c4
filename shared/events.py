"""Event schemas for every topic, one pydantic model per (type, version).

Events travel in CloudEvents 1.0 binary content mode: the JSON body is the
event's data, and the attributes (`id`, `source`, `type`, `time`, `subject`)
are Kafka headers `ce_id`, `ce_source`, ... The message key is the difficulty
id (or, for events not about one difficulty, the natural key named below).

Consumers deduplicate on `ce_id`. Producers derive `ce_id` deterministically
from what caused the event wherever a retry could re-emit it, so a replay
carries the same id and is recognised downstream.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from shared import topics

SPEC_VERSION = "1.0"
CE_TYPE_PREFIX = "vn.thaogo."
# Namespace for deterministic event ids (uuid5 of a cause).
EVENT_ID_NAMESPACE = uuid.UUID("6f1c2f0e-5b0a-4e53-9a43-3c1d1f0a7b11")


# --- closed vocabularies (with Vietnamese and English labels) -----------------


class ZoneType(StrEnum):
    KCN = "KCN"  # khu công nghiệp, industrial park
    KKT = "KKT"  # khu kinh tế, economic zone
    CCN = "CCN"  # cụm công nghiệp, industrial cluster
    NONE = "NONE"  # ngoài khu, cụm công nghiệp


ZONE_TYPE_LABELS: dict[ZoneType, tuple[str, str]] = {
    ZoneType.KCN: ("Khu công nghiệp", "Industrial park"),
    ZoneType.KKT: ("Khu kinh tế", "Economic zone"),
    ZoneType.CCN: ("Cụm công nghiệp", "Industrial cluster"),
    ZoneType.NONE: ("Ngoài khu, cụm công nghiệp", "Outside parks and clusters"),
}


class Category(StrEnum):
    RAW_MATERIALS = "raw_materials"
    GOODS_TRANSPORT = "goods_transport"
    PRODUCTION_PLAN = "production_plan"
    LABOUR = "labour"
    HEALTH_SAFETY = "health_safety"
    FINANCE_CREDIT = "finance_credit"
    SOCIAL_SECURITY = "social_security"
    TAX = "tax"
    EXPORT_MARKET = "export_market"
    ADMIN_PROCEDURE = "admin_procedure"
    INVESTMENT_PROJECT = "investment_project"
    LAND_CONSTRUCTION = "land_construction"
    OTHER = "other"


CATEGORY_LABELS: dict[Category, tuple[str, str]] = {
    Category.RAW_MATERIALS: ("Nguyên liệu sản xuất, chuỗi cung ứng", "Raw materials, supply chain"),
    Category.GOODS_TRANSPORT: ("Lưu thông hàng hóa, vận tải", "Moving goods, transport permits"),
    Category.PRODUCTION_PLAN: (
        "Phương án sản xuất (3 tại chỗ, an toàn)",
        "Production plans (3 on-site, safe production)",
    ),
    Category.LABOUR: ("Lao động", "Labour"),
    Category.HEALTH_SAFETY: ("Y tế, phòng chống dịch", "Health and epidemic safety"),
    Category.FINANCE_CREDIT: ("Tài chính, tín dụng", "Finance and credit"),
    Category.SOCIAL_SECURITY: ("An sinh xã hội, bảo hiểm", "Social security, insurance"),
    Category.TAX: ("Thuế", "Tax"),
    Category.EXPORT_MARKET: ("Thị trường xuất khẩu, FTA", "Export markets, FTAs"),
    Category.ADMIN_PROCEDURE: ("Thủ tục hành chính", "Administrative procedures"),
    Category.INVESTMENT_PROJECT: ("Dự án đầu tư", "Investment projects"),
    Category.LAND_CONSTRUCTION: ("Đất đai, xây dựng", "Land and construction"),
    Category.OTHER: ("Khác", "Other"),
}


class Kind(StrEnum):
    DIFFICULTY = "difficulty"  # khó khăn, vướng mắc
    RECOMMENDATION = "recommendation"  # kiến nghị


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"  # đột xuất


class UrgencySource(StrEnum):
    """Who marked a difficulty urgent. A business's own flag reaches its lead agency at
    once but wakes the head and the permanent deputy only once an officer or a member
    confirms it (`DifficultyUrgencyConfirmed`); a member's or operator's is vouched for."""

    BUSINESS = "business"
    MEMBER = "member"  # a task-force member filed it (an import)
    OPERATOR = "operator"  # filed on the task force's behalf (an import)


class Status(StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    REJECTED = "rejected"
    REASSIGN_REQUESTED = "reassign_requested"


STATUS_LABELS: dict[Status, tuple[str, str]] = {
    Status.RECEIVED: ("Đã tiếp nhận", "Received"),
    Status.ASSIGNED: ("Đã chuyển cơ quan xử lý", "Assigned"),
    Status.ACKNOWLEDGED: ("Cơ quan đã nhận", "Acknowledged"),
    Status.IN_PROGRESS: ("Đang xử lý", "In progress"),
    Status.RESOLVED: ("Đã giải quyết", "Resolved"),
    Status.ESCALATED: ("Đã chuyển cấp trên", "Escalated"),
    Status.REJECTED: ("Từ chối", "Rejected"),
    Status.REASSIGN_REQUESTED: ("Đề nghị chuyển cơ quan khác", "Reassignment requested"),
}


class Step(StrEnum):
    """Where one assignment stands: each agency or member moves its own part."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    DONE = "done"  # its part is done, saying what was done
    DECLINED = "declined"  # "not ours", with the reason
    # A question put to the business: the assignment's clock stands still until the
    # business answers on its tracking page (its answer puts the part back in progress).
    NEED_INFO = "need_info"


STEP_LABELS: dict[Step, tuple[str, str]] = {
    Step.ACKNOWLEDGED: ("Đã tiếp nhận", "Acknowledged"),
    Step.IN_PROGRESS: ("Đang xử lý", "In progress"),
    Step.DONE: ("Đã xong phần việc", "Done"),
    Step.DECLINED: ("Không thuộc thẩm quyền", "Declined (not ours)"),
    Step.NEED_INFO: ("Chờ doanh nghiệp bổ sung thông tin", "Waiting for the business"),
}

# What a status event that names an assignment but no step (events before steps existed,
# and the status API's) did to that assignment: the same rule for every reader.
STEP_OF_STATUS: dict[Status, Step] = {
    Status.ACKNOWLEDGED: Step.ACKNOWLEDGED,
    Status.IN_PROGRESS: Step.IN_PROGRESS,
    Status.RESOLVED: Step.DONE,
    Status.REJECTED: Step.DONE,
    Status.ESCALATED: Step.DONE,
    Status.REASSIGN_REQUESTED: Step.DECLINED,
}


class Outcome(StrEnum):
    """How the lead closed (or passed up) a difficulty."""

    RESOLVED = "resolved"  # đã giải quyết
    PARTLY_RESOLVED = "partly_resolved"  # giải quyết một phần
    ESCALATED = "escalated"  # beyond provincial authority: passed to central level
    REJECTED = "rejected"  # out of scope, with the reason


OUTCOME_LABELS: dict[Outcome, tuple[str, str]] = {
    Outcome.RESOLVED: ("Đã giải quyết", "Resolved"),
    Outcome.PARTLY_RESOLVED: ("Đã giải quyết một phần", "Partly resolved"),
    Outcome.ESCALATED: ("Vượt thẩm quyền tỉnh, đã kiến nghị cấp trên",
                        "Beyond provincial authority, escalated"),
    Outcome.REJECTED: ("Không thuộc phạm vi xử lý", "Out of scope, rejected"),
}

# The difficulty's status an outcome leaves it in.
OUTCOME_STATUS: dict[Outcome, Status] = {
    Outcome.RESOLVED: Status.RESOLVED,
    Outcome.PARTLY_RESOLVED: Status.RESOLVED,
    Outcome.ESCALATED: Status.ESCALATED,
    Outcome.REJECTED: Status.REJECTED,
}


class AgencyLevel(StrEnum):
    DISTRICT = "district"
    PROVINCE = "province"
    CENTRAL = "central"
    TASK_FORCE = "task_force"  # the permanent deputy's triage queue, the head


class AssignmentRole(StrEnum):
    LEAD = "lead"  # chủ trì
    CO_HANDLER = "co_handler"  # phối hợp
    TRIAGE = "triage"  # the permanent deputy's queue: could not be routed
    ESCALATION = "escalation"  # moved up a level
    MEMBER = "member"  # a task-force member responsible by field and area


class ActorKind(StrEnum):
    AGENCY = "agency"
    MEMBER = "member"
    OPERATOR = "operator"
    SYSTEM = "system"
    BUSINESS = "business"  # on its tracking page, by tracking code and tax code


AgencyId = Annotated[str, StringConstraints(pattern=topics.AGENCY_ID_PATTERN, max_length=120)]
ShortText = Annotated[str, StringConstraints(max_length=300)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]


class EventData(BaseModel):
    """Base of every event body. Unknown fields are refused: a schema is a contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: ClassVar[str]
    ce_type: ClassVar[str]

    def key(self) -> str:
        raise NotImplementedError


class Contact(BaseModel):
    """The business's contact person. Personal data: never logged, never a label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ShortText
    phone: ShortText | None = None
    email: ShortText | None = None


class DifficultyReceived(EventData):
    """A new difficulty or recommendation, accepted by intake."""

    topic: ClassVar[str] = topics.DIFFICULTY_RECEIVED
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "difficulty.received.v1"

    difficulty_id: uuid.UUID
    tracking_code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{6,20}$")]
    received_at: AwareDatetime
    province_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}$")]
    province_name: ShortText
    # The task force the difficulty belongs to, by the province as the business named
    # it: "binh-duong" although Bình Dương is part of TP. Hồ Chí Minh since July 2025.
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")] | None = None
    tax_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{10}(-[0-9]{3})?$")]
    enterprise_name: ShortText
    zone_type: ZoneType | None = None
    zone_name: ShortText | None = None
    category: Category
    kind: Kind
    title: ShortText
    description: LongText
    urgency: Urgency = Urgency.NORMAL
    # Events from before it was recorded read as the business's own flag: the reading
    # that wakes nobody on an unchecked word, and still reaches the lead agency at once.
    urgency_source: UrgencySource = UrgencySource.BUSINESS
    contact: Contact
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    sector: ShortText | None = None
    ward: ShortText | None = None
    district: ShortText | None = None
    channel: ShortText | None = None

    def key(self) -> str:
        return str(self.difficulty_id)


class DifficultyAssigned(EventData):
    """One assignment of a difficulty to one agency (or member, or triage), with why."""

    topic: ClassVar[str] = topics.DIFFICULTY_ASSIGNED
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "difficulty.assigned.v1"

    assignment_id: uuid.UUID
    difficulty_id: uuid.UUID
    tracking_code: str
    province_code: str
    agency_id: AgencyId
    agency_level: AgencyLevel
    role: AssignmentRole
    member_id: str | None = None
    rule: ShortText  # which rule matched, e.g. "zone_type:KCN->lead"
    reason: ShortText  # human explanation, Vietnamese first
    config_version: str
    replaces: uuid.UUID | None = None  # the assignment this one supersedes
    urgency: Urgency
    kind: Kind
    category: Category
    zone_type: ZoneType | None = None
    assigned_at: AwareDatetime

    def key(self) -> str:
        return str(self.difficulty_id)


class TaskDifficulty(DifficultyReceived):
    """A difficulty as an agency's task carries it. The business's contact is personal
    data only the lead agency needs to act (the permanent deputy reads it in thaogo, not
    from a topic): co-handlers, central ministries and triage queues get it as null."""

    contact: Contact | None = None  # type: ignore[assignment]

    @classmethod
    def of(cls, difficulty: DifficultyReceived, *, with_contact: bool) -> TaskDifficulty:
        fields = dict(difficulty)
        if not with_contact:
            fields["contact"] = None
        # The fields validated as the difficulty's: validating them again for each of its
        # tasks was a tenth of the router's time (measured).
        return cls.model_construct(**fields)

    @staticmethod
    def encode(difficulty: DifficultyReceived, body: bytes, *, with_contact: bool) -> bytes:
        """`encode_body(TaskDifficulty.of(difficulty, with_contact=...))` from the
        difficulty's own `encode_body` (`body`), without building the task's model (10 µs
        a task, most of what each cost beyond a splice). The same fields in the same
        order: only the contact may become null. `"contact":` occurs in `body` once, as
        the key: in a JSON string a quote is escaped, and the contact's own keys are
        others (a test holds the bytes equal, texts that quote the key included)."""
        if with_contact:
            return body
        return body.replace(b'"contact":' + difficulty.contact.model_dump_json().encode(),
                            b'"contact":null', 1)


class AgencyTask(EventData):
    """What an agency must handle, self-contained: agencies read nothing else."""

    topic: ClassVar[str] = "agency.<agency_id>.v1"
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "agency.task.v1"

    assignment: DifficultyAssigned
    difficulty: TaskDifficulty
    status_url: str  # where the agency posts status updates

    @staticmethod
    def carries_contact(role: AssignmentRole) -> bool:
        """Whether the task of an assignment in `role` carries the business's contact."""
        return role is AssignmentRole.LEAD

    @classmethod
    def of(cls, assignment: DifficultyAssigned, difficulty: DifficultyReceived,
           status_url: str) -> AgencyTask:
        return cls(assignment=assignment, status_url=status_url, difficulty=TaskDifficulty.of(
            difficulty, with_contact=cls.carries_contact(assignment.role)))

    @staticmethod
    def encode(assignment: bytes, difficulty: bytes, status_url: bytes) -> bytes:
        """`encode_body` of a task from its parts' JSON: the assignment's `encode_body`,
        `TaskDifficulty.encode` and the URL as a JSON string. A difficulty's tasks share
        its JSON and each assignment's is published on its own as well: encoded once
        each, not again in every task (a test holds the bytes equal)."""
        return b"".join((b'{"assignment":', assignment, b',"difficulty":', difficulty,
                         b',"status_url":', status_url, b"}"))

    def key(self) -> str:
        return str(self.assignment.difficulty_id)


class BusinessAnswer(EventData):
    """The business's answer to an agency's question, on the asking agency's topic next to
    its tasks: what the agency reads to carry on (its clock runs again)."""

    topic: ClassVar[str] = "agency.<agency_id>.v1"
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "agency.business_answer.v1"

    status_id: uuid.UUID  # of the answer's event on difficulty.status.v1
    difficulty_id: uuid.UUID
    assignment_id: uuid.UUID
    tracking_code: str
    question: LongText
    answer: LongText
    answered_at: AwareDatetime

    def key(self) -> str:
        return str(self.difficulty_id)
class LetterRef(BaseModel):
    """An official letter (công văn) by its number and symbol and its date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: Annotated[str, StringConstraints(min_length=1, max_length=60)]  # "125/UBND-KT"
    dated: date


class Resolution(BaseModel):
    """How the lead (or the permanent deputy) closed a difficulty or passed it up. The
    public answer is for the business; what was done, the reason and the event's note are
    the record of the task force."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome
    done: LongText  # what was done
    legal_basis: ShortText | None = None  # document cited, "Công văn 123/UBND-KT"
    public_answer: LongText
    reason: LongText | None = None  # why rejected or escalated
    # Co-handlers' parts still open when the lead closed, and why it closed without them.
    waived: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    waiver_reason: LongText | None = None
    # The central ministry's answer to an escalated difficulty, recorded by the permanent
    # deputy from the ministry's letter; absent in every other resolution.
    ministry_letter: LetterRef | None = None
    # With a ministry's answer to a policy bottleneck (#25 item 1): the bottleneck this
    # difficulty was merged into, answered for all its businesses by one letter.
    bottleneck_id: uuid.UUID | None = None


class Feedback(BaseModel):
    """The business's word on how its difficulty was handled, on its tracking page, once the
    lead has closed it (#20 item 6): whether the answer resolved it, and a rating."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    resolved: bool | None = None  # the answer resolved it (true) or did not (false)
    rating: Annotated[int, Field(ge=1, le=5)] | None = None  # of the handling, 1 to 5
    comment: LongText | None = None


class DifficultyStatusChanged(EventData):
    """An agency, member or operator moved a difficulty, or their own part of it, along.

    `status` is the difficulty's status after the event; null when the event moves only
    one assignment (`step` on `assignment_id`: a co-handler's or a member's part), which
    leaves the difficulty where it was. The lead's steps move both."""

    topic: ClassVar[str] = topics.DIFFICULTY_STATUS
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "difficulty.status.v1"

    status_id: uuid.UUID
    difficulty_id: uuid.UUID
    province_code: str
    status: Status | None
    actor_kind: ActorKind
    actor_id: str  # agency id, member id, or "operator"
    assignment_id: uuid.UUID | None = None
    note: LongText | None = None  # internal: the progress note, what was done, or a reason
    # On reassign_requested by the permanent deputy: the agency that is to lead (a
    # dispatch from triage). Without it the router decides again, or sends to triage.
    target_agency_id: AgencyId | None = None
    # Where the assignment `assignment_id` now stands; absent in events before steps
    # existed (STEP_OF_STATUS says what their status did to it).
    step: Step | None = None
    # With step declined: the agency that should act, in the decliner's view (advice for
    # the permanent deputy; nothing is routed to it).
    suggested_agency_id: AgencyId | None = None
    resolution: Resolution | None = None  # with resolved, rejected or escalated by the lead
    # With step need_info: the question put to the business, shown on its tracking page.
    question: LongText | None = None
    # By the business (actor_kind business, step in_progress): its answer to the question
    # pending on `assignment_id`, which resumes that assignment's clock.
    answer: LongText | None = None
    # By the business on its closed difficulty (actor_kind business, no assignment).
    feedback: Feedback | None = None
    # The province's letter passing an escalated difficulty to the ministry, as the
    # permanent deputy registered it (status null: the difficulty stays where it is).
    letter: LetterRef | None = None
    changed_at: AwareDatetime

    def step_taken(self) -> Step | None:
        """What the event did to the assignment it names (None if it names none)."""
        if self.assignment_id is None:
            return None
        if self.step is not None:
            return self.step
        return STEP_OF_STATUS.get(self.status) if self.status is not None else None

    def key(self) -> str:
        return str(self.difficulty_id)


class DifficultyUrgencyConfirmed(EventData):
    """An urgent difficulty vouched for: confirmed by its lead agency, the permanent
    deputy or a task-force member, or (`reported`) filed urgent by a member or operator.
    Notify tells the head and the permanent deputy at once, day or night; one per
    difficulty (its id and the event's derive from the difficulty's)."""

    topic: ClassVar[str] = topics.DIFFICULTY_URGENCY
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "difficulty.urgency.v1"

    confirmation_id: uuid.UUID
    difficulty_id: uuid.UUID
    tracking_code: str
    province_code: str
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")] | None = None
    actor_kind: ActorKind
    actor_id: str  # agency id, member id, or operator name
    reported: bool = False  # filed urgent by the actor rather than confirmed afterwards
    note: LongText | None = None
    confirmed_at: AwareDatetime

    def key(self) -> str:
        return str(self.difficulty_id)

    @staticmethod
    def id_for(difficulty_id: uuid.UUID) -> uuid.UUID:
        """The one confirmation a difficulty can have, and its event id."""
        return uuid.UUID(deterministic_id("urgency-confirmed", difficulty_id))


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


class NotificationSent(EventData):
    """Audit of one delivered message. Recipients are referred to by role id, not address."""

    topic: ClassVar[str] = topics.NOTIFICATION_SENT
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "notification.sent.v1"

    notification_key: ShortText  # deterministic: what, about which, for whom, for which window
    kind: ShortText
    channel: ShortText
    recipient_id: ShortText  # agency id or member id, never an address
    province_code: str | None = None
    difficulty_id: uuid.UUID | None = None
    week_label: str | None = None
    attempts: int = Field(ge=1)
    sent_at: AwareDatetime

    def key(self) -> str:
        return str(self.difficulty_id) if self.difficulty_id else self.notification_key


class SignInLink(EventData):
    """A one-time sign-in link a person asked for, for notify to mail (and for nobody
    else: the link signs its holder in, once, for `expires_at`; the topic is readable by
    notify alone). The recipient is named by role id; the address is not here, only its
    hash, for notify to pick the one contact the person typed among the recipient's."""

    topic: ClassVar[str] = topics.SIGN_IN_LINK
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "sign-in.link.v1"

    request_id: uuid.UUID
    recipient_id: ShortText  # a person's id (member, head, permanent deputy) or an agency's
    role: Literal["agency", "member", "permanent_deputy", "head", "deputy"]
    province: ShortText  # the task force's slug
    address_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    url: Annotated[str, StringConstraints(max_length=2000)]
    expires_at: AwareDatetime
    lang: Literal["vi", "en"] = "vi"

    def key(self) -> str:
        return str(self.request_id)


class MemberReminderRequested(EventData):
    """The permanent deputy asks that a member who has not reported this week be
    reminded (one click in the workspace); notify sends the reminder on the member's
    channels. One a member a week a day: a second click the same day is the same event."""

    topic: ClassVar[str] = topics.MEMBER_REMINDER
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "member.reminder.v1"

    request_id: uuid.UUID
    member_id: ShortText
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")]
    week_label: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-W[0-9]{2}$")]
    requested_by: ShortText  # the permanent deputy's id
    requested_at: AwareDatetime

    def key(self) -> str:
        return self.member_id


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


class BottleneckItem(BaseModel):
    """A difficulty merged into a policy bottleneck, as the ministry reads it: what it is
    about, never who raised it (no business name, tax code or contact)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    difficulty_id: uuid.UUID
    title: ShortText
    category: Category


class BottleneckAnswer(BaseModel):
    """The central ministry's answer to a policy bottleneck, from its letter, recorded by
    the permanent deputy; each member difficulty is closed with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome  # resolved, partly_resolved or rejected
    letter: LetterRef
    public_answer: LongText
    answered_by: ShortText  # the permanent deputy's id
    answered_at: AwareDatetime


class PolicyBottleneck(EventData):
    """A policy bottleneck (điểm nghẽn chính sách, #25 item 1): recommendations many
    businesses share, merged by the permanent deputy into one item escalated to a central
    ministry, with how many businesses raised it and their items. Sent when merged and
    again when the ministry's answer is recorded: the latest `changed_at` of a bottleneck
    is what stands. Keyed by the bottleneck, so its two events stay in order."""

    topic: ClassVar[str] = topics.POLICY_BOTTLENECK
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "policy.bottleneck.v1"

    bottleneck_id: uuid.UUID
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")]
    province_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    ministry_id: AgencyId  # the central ministry it is escalated to
    # The legal documents the items cite, by key (shared/legal.py), most cited first.
    documents: list[ShortText] = Field(default_factory=list, max_length=20)
    business_count: Annotated[int, Field(ge=1)]  # distinct businesses (tax codes)
    items: list[BottleneckItem] = Field(min_length=2, max_length=500)
    merged_by: ShortText  # the permanent deputy's id
    merged_at: AwareDatetime
    answer: BottleneckAnswer | None = None
    changed_at: AwareDatetime

    def key(self) -> str:
        return str(self.bottleneck_id)


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


# --- CloudEvents binary mode -------------------------------------------------

E = TypeVar("E", bound=EventData)


@dataclass(frozen=True, slots=True)
class Envelope(Generic[E]):
    """One event with its CloudEvents attributes."""

    id: str
    source: str
    time: datetime
    data: E
    # The data's JSON as it arrived, when it was decoded from a record: valid `data`,
    # so a consumer may forward it as is instead of serialising `data` again.
    body: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def type(self) -> str:
        return self.data.ce_type

    @property
    def subject(self) -> str:
        return self.data.key()


class DecodeError(ValueError):
    """A message that is not a valid event of the expected type; goes to the DLQ."""


_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes


def deterministic_id(*parts: object) -> str:
    """An event id derived from what caused the event, stable across retries: the text
    of `uuid5(EVENT_ID_NAMESPACE, "|".join(parts))` (a test holds them equal), written
    from the hash without a `UUID` in between, which took more than half of the time
    (the router derives one for each agency's task)."""
    digest = bytearray(hashlib.sha1(
        _NAMESPACE_BYTES + "|".join(map(str, parts)).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def new_envelope(data: E, *, source: str, event_id: str | None = None) -> Envelope[E]:
    return Envelope(
        id=event_id or str(uuid.uuid4()), source=source, time=datetime.now(UTC), data=data
    )


RecordHeaders = list[tuple[str, bytes]]
_SPEC_HEADER = ("ce_specversion", SPEC_VERSION.encode())
_JSON_HEADER = ("content-type", b"application/json")


def headers_for(*, source: str, ce_type: str, time: datetime, subject: str
                ) -> Callable[[str], RecordHeaders]:
    """`record_headers` of events that differ only in their id (a difficulty's
    assignments and tasks), the rest encoded once: each event's headers cost its id."""
    shared = (("ce_source", source.encode()), ("ce_type", ce_type.encode()),
              ("ce_time", time.isoformat().encode()), ("ce_subject", subject.encode()),
              _JSON_HEADER)

    def headers(event_id: str) -> RecordHeaders:
        return [_SPEC_HEADER, ("ce_id", event_id.encode()), *shared]

    return headers


def record_headers(env: Envelope[Any]) -> RecordHeaders:
    """The CloudEvents attributes as the Kafka client takes them."""
    return headers_for(source=env.source, ce_type=env.type, time=env.time,
                       subject=env.subject)(env.id)


def encode_headers(env: Envelope[Any]) -> dict[str, str]:
    """`record_headers` as text (what an outbox row keeps)."""
    return {k: v.decode() for k, v in record_headers(env)}


def encode_body(data: EventData) -> bytes:
    # The model's serializer writes bytes; `model_dump_json` writes text, encoded again
    # (a quarter of the time, for the router's five or six a difficulty).
    return data.__pydantic_serializer__.to_json(data)


def _text(value: Any) -> str | None:
    if type(value) is bytes:  # what the Kafka client gives; checked first, and exactly
        return value.decode("utf-8", "replace")
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytearray) else str(value)


def decode(model: type[E], value: bytes | None, headers: Any) -> Envelope[E]:
    """Parse one Kafka record into an envelope of `model`, or raise DecodeError with why."""
    # Only the four headers read here are decoded, looked up in a dict built at C speed
    # (a consumer decodes every record it reads: this is on its hot path). As before,
    # the last of a repeated header wins.
    h = headers if isinstance(headers, dict) else dict(headers or ())
    ce_id = _text(h.get("ce_id"))
    if not ce_id:
        raise DecodeError("missing header ce_id")
    ce_type = _text(h.get("ce_type"))
    if ce_type != model.ce_type:
        raise DecodeError(f"header ce_type is {ce_type!r}, expected {model.ce_type!r}")
    if value is None:
        raise DecodeError("empty message value")
    ce_time = _text(h.get("ce_time"))
    try:
        time = datetime.fromisoformat(ce_time) if ce_time else datetime.now(UTC)
    except ValueError as e:
        raise DecodeError(f"header ce_time is not an ISO 8601 time: {e}") from e
    try:
        data = model.model_validate_json(value)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(body)"
        raise DecodeError(f"{loc}: {first['msg']} ({e.error_count()} error(s))") from e
    return Envelope(id=ce_id, source=_text(h.get("ce_source")) or "", time=time, data=data,
                    body=value)

