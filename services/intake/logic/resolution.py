"""Closing: the lead's resolution and the status it posts; the central level's answer and
letters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from services.intake.logic.status import (
    NOTE_MAX,
    Acting,
    Held,
    Standing,
    StatusForbidden,
)
from services.intake.logic.steps import (
    FINISHED,
)
from shared import vn
from shared.events import (
    OUTCOME_STATUS,
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    AttachmentRef,
    CaseRef,
    Correction,
    DifficultyStatusChanged,
    Feedback,
    LetterRef,
    Outcome,
    Resolution,
    Status,
    Step,
)
from shared.provinces import ProvinceConfig

# --- closing: the lead's resolution (#20 item 2) --------------------------------------------

RESOLVERS = frozenset({Standing.LEAD, Standing.PERMANENT_DEPUTY})
LEGAL_BASIS_MAX = 300  # a document's number, symbol and title
REASON_REQUIRED = frozenset({Outcome.REJECTED, Outcome.ESCALATED})


def check_may_resolve(acting: Acting) -> None:
    """StatusForbidden (403 naming the reason) unless the caller closes difficulties: the
    agency holding it or the permanent deputy."""
    if acting.standing in RESOLVERS:
        return
    match acting.standing:
        case Standing.CO_HANDLER:
            en = ("a co-handling agency finishes its own part (step done, POST "
                  "/v1/difficulties/{id}/steps); only the lead agency or the permanent "
                  "deputy closes the difficulty")
            vi = ("cơ quan phối hợp chỉ hoàn thành phần việc của mình (bước done); chỉ cơ "
                  "quan chủ trì hoặc Tổ phó Thường trực được đóng phản ánh")
        case Standing.MEMBER:
            en = ("a task-force member finishes their own part (step done); only the lead "
                  "agency or the permanent deputy closes the difficulty")
            vi = ("thành viên Tổ công tác chỉ hoàn thành phần việc của mình; chỉ cơ quan chủ "
                  "trì hoặc Tổ phó Thường trực được đóng phản ánh")
        case Standing.OPERATOR:
            en = ("an operator holds no difficulty: the lead agency or the permanent deputy "
                  "closes it")
            vi = "người vận hành không xử lý phản ánh: cơ quan chủ trì hoặc Tổ phó Thường trực"
        case _:
            raise StatusForbidden(
                "difficulty_id", "this difficulty is not assigned to you",
                "phản ánh này không được giao cho cơ quan/thành viên của bạn")
    raise StatusForbidden("Authorization", en, vi)


def open_parts(held: Sequence[Held]) -> list[Held]:
    """Co-handlers' parts neither done nor declined: what closing leaves undone."""
    return [h for h in held if h.role is AssignmentRole.CO_HANDLER and h.step not in FINISHED]


class PartsOpen(Exception):
    """Closing with co-handlers' parts open and no waiver (a 409 naming the field)."""

    def __init__(self, agencies: Sequence[str]) -> None:
        super().__init__(", ".join(agencies))
        self.agencies = list(agencies)

    def reasons(self) -> tuple[str, str]:
        who = ", ".join(self.agencies)
        return (f"co-handlers' parts are still open ({who}): wait for them, or close "
                "without them by giving waive_open_parts_reason on POST "
                "/v1/difficulties/{id}/resolution",
                f"phần việc của cơ quan phối hợp chưa xong ({who}): chờ hoàn thành, hoặc "
                "đóng phản ánh kèm lý do bỏ qua (waive_open_parts_reason)")


def closes(status: Status) -> bool:
    return status in (Status.RESOLVED, Status.REJECTED)


def build_resolution(
    *, outcome: Outcome, done: str, legal_basis: str | None, public_answer: str,
    reason: str | None, held: Sequence[Held], waiver_reason: str | None,
) -> Resolution:
    """The resolution as recorded (InvalidField naming what is missing or malformed;
    PartsOpen when a closing outcome leaves co-handlers' parts open without a waiver)."""

    def text(v: str | None, f: str, *, required: tuple[str, str] | None = None,
             short: bool = False) -> str | None:
        if v is None or not v.strip():
            if required is not None:
                raise vn.InvalidField(f, *required)
            return None
        return vn.nfc_clean(v, LEGAL_BASIS_MAX if short else NOTE_MAX, field=f,
                            multiline=not short)

    waiver = text(waiver_reason, "waive_open_parts_reason")
    pending = open_parts(held) if closes(OUTCOME_STATUS[outcome]) else []
    if pending and waiver is None:
        raise PartsOpen(sorted({h.agency_id for h in pending}))
    return Resolution(
        outcome=outcome,
        done=text(done, "done", required=("say what was done", "bắt buộc ghi nội dung đã "
                                          "thực hiện")) or "",
        legal_basis=text(legal_basis, "legal_basis", short=True),
        public_answer=text(public_answer, "public_answer", required=(
            "the answer for the business is required", "bắt buộc có nội dung trả lời "
            "doanh nghiệp")) or "",
        reason=text(reason, "reason", required=(
            ("a reason is required", "bắt buộc ghi lý do") if outcome in REASON_REQUIRED
            else None)),
        waived=[h.assignment_id for h in pending],
        waiver_reason=waiver if pending else None,
    )


def build_status(
    *, difficulty_id: uuid.UUID, province_code: str, status: Status | None,
    actor_kind: ActorKind,
    actor_id: str, assignment_id: uuid.UUID | None, note: str | None, now: datetime,
    target_agency_id: str | None = None, step: Step | None = None,
    suggested_agency_id: str | None = None, resolution: Resolution | None = None,
    question: str | None = None, answer: str | None = None, feedback: Feedback | None = None,
    letter: LetterRef | None = None, attachments: Sequence[AttachmentRef] = (),
    co_agency_ids: Sequence[str] = (),
    correction: Correction | None = None, merged_into: CaseRef | None = None,
    duplicate: CaseRef | None = None,
) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=difficulty_id, province_code=province_code,
        status=status, actor_kind=actor_kind, actor_id=actor_id, assignment_id=assignment_id,
        note=note, target_agency_id=target_agency_id, changed_at=now, step=step,
        suggested_agency_id=suggested_agency_id, resolution=resolution, question=question,
        answer=answer, feedback=feedback, letter=letter, attachments=list(attachments),
        co_agency_ids=list(co_agency_ids),
        correction=correction, merged_into=merged_into, duplicate=duplicate,
    )


# --- central level (#20 item 5, #22 item 6) --------------------------------------------------


class NotAtCentralLevel(Exception):
    """What the permanent deputy does for an escalated difficulty needs one a ministry holds."""

    en = ("the difficulty is not with a central ministry: it must be escalated to central "
          "level (outcome escalated) first")
    vi = "phản ánh chưa được chuyển Bộ, ngành Trung ương (kết quả: kiến nghị cấp trên)"


def ministry_holding(status: str, held: Sequence[Held], cfg: ProvinceConfig | None) -> Held:
    """The central ministry's assignment of a difficulty waiting for its answer, else
    NotAtCentralLevel."""
    if status != Status.ESCALATED.value or cfg is None:
        raise NotAtCentralLevel()
    for h in held:
        agency = cfg.agency(h.agency_id)
        if (h.role is AssignmentRole.ESCALATION and agency is not None
                and agency.level is AgencyLevel.CENTRAL):
            return h
    raise NotAtCentralLevel()


def check_letter_date(dated: date, today: date, field: str) -> None:
    """A letter is dated on or before today (InvalidField naming `field`)."""
    if dated > today:
        raise vn.InvalidField(field, "a letter cannot be dated in the future",
                              "ngày văn bản không được sau ngày hôm nay")
