"""Events of one difficulty's life: received, assigned, tasked, answered, status, urgency."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared import topics
from shared.events.envelope import CE_TYPE_PREFIX, EventData, deterministic_id
from shared.events.vocabulary import (
    STEP_OF_STATUS,
    ActorKind,
    AgencyId,
    AgencyLevel,
    AssignmentRole,
    Category,
    ChainHash,
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


class Contact(BaseModel):
    """The business's contact person. Personal data: never logged, never a label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ShortText
    phone: ShortText | None = None
    email: ShortText | None = None


class AttachmentRef(BaseModel):
    """A document attached to a difficulty (#20 item 10), as events carry it: what it is,
    never its bytes nor its file name (a name may say whose papers they are). Intake keeps
    the file; whoever may read it downloads it there by `attachment_id`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attachment_id: uuid.UUID
    content_type: Annotated[str, StringConstraints(pattern=r"^[a-z]+/[a-z0-9.+-]{1,60}$")]
    size: int = Field(ge=1, le=1024 * 1024 * 1024)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    # Shown to the business on its tracking page: its own files and those attached to
    # the public answer; everything else stays with the people on the case.
    public: bool = False


MAX_ATTACHMENT_REFS = 20


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
    # The business's documents sent with the submission (absent before #20 item 10).
    attachments: list[AttachmentRef] = Field(default_factory=list,
                                             max_length=MAX_ATTACHMENT_REFS)

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


class Correction(BaseModel):
    """What the permanent deputy corrected of a difficulty from triage (#20 item 3): its
    zone type, category and province as they now stand, all three, whichever changed.
    The router routes the corrected difficulty again; a province whose task force
    differs moves it there (`task_force`, None: the province's own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zone_type: ZoneType | None = None
    category: Category
    province_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}$")]
    province_name: ShortText
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")] | None = None


class CaseRef(BaseModel):
    """Another difficulty, as a merge names it: by id and by the tracking code its
    business knows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    difficulty_id: uuid.UUID
    tracking_code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{6,20}$")]


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
    # With a dispatch: the agencies the permanent deputy chose to co-handle it (each a
    # co_handler assignment beside the new lead). Empty in every other event.
    co_agency_ids: list[AgencyId] = Field(default_factory=list, max_length=20)
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
    # Documents sent with this update: with a resolution (public with its public
    # answer), a question, or the business's answer (absent before #20 item 10).
    attachments: list[AttachmentRef] = Field(default_factory=list,
                                             max_length=MAX_ATTACHMENT_REFS)
    # By the permanent deputy from triage (status null): the difficulty's zone type,
    # category and province as corrected; the router routes it again.
    correction: Correction | None = None
    # With status merged: the difficulty this duplicate was merged into, which carries on.
    merged_into: CaseRef | None = None
    # On the kept difficulty (status null): the duplicate just merged into it.
    duplicate: CaseRef | None = None
    changed_at: AwareDatetime
    # The row's place in the difficulty's history chain (shared/audit.py): its position
    # and hash as intake stored it. Absent in events before the chain existed.
    chain_position: int | None = Field(default=None, ge=1)
    chain_hash: ChainHash | None = None

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
