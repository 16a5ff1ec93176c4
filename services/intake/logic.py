"""Intake's pure rules: tracking codes, the fingerprint that makes `Idempotency-Key`
safe, the status state machine and who may do what. A submission cleans itself on its
typed model (models.DifficultyIn)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shared import vn
from shared.calendar import WeekWindow, parse_week_label, week_window
from shared.deadlines import CLOSED, HANDLING_ROLES, deadlines_for, is_overdue
from shared.events import (
    OUTCOME_STATUS,
    STATUS_LABELS,
    STEP_LABELS,
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    Feedback,
    LetterRef,
    MemberReport,
    Outcome,
    Resolution,
    Status,
    Step,
    TaskDifficulty,
    Urgency,
    UrgencySource,
    deterministic_id,
)
from shared.provinces import ConfigSet, Deadlines, ProvinceConfig

# Crockford's alphabet without I, L, O, U: nothing a business could misread on the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def tracking_code() -> str:
    """A short human code the business keeps, e.g. "TG-4K7M-9QXR" (40 random bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"TG-{raw[:4]}-{raw[4:]}"


def request_fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- status updates: the state machine ------------------------------------------------------

_ACTING = frozenset({
    Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED, Status.ESCALATED,
    Status.REJECTED, Status.REASSIGN_REQUESTED,
})

# What may follow what. Resolved and rejected are final. Escalated and reassign_requested
# hand the difficulty on (the router assigns it anew), so the new holder starts over from
# acknowledged. In progress may repeat: each repetition is a progress note.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: _ACTING,
    Status.ASSIGNED: _ACTING,
    Status.ACKNOWLEDGED: _ACTING - {Status.ACKNOWLEDGED},
    Status.IN_PROGRESS: _ACTING - {Status.ACKNOWLEDGED},
    Status.ESCALATED: _ACTING,
    Status.REASSIGN_REQUESTED: _ACTING,
    Status.RESOLVED: frozenset(),
    Status.REJECTED: frozenset(),
}

# Statuses an agency or member may post (received and assigned are the system's own).
POSTABLE = tuple(sorted(_ACTING))
NOTE_REQUIRED: dict[Status, tuple[str, str]] = {
    Status.RESOLVED: ("a resolution note is required", "bắt buộc ghi kết quả giải quyết"),
    Status.ESCALATED: ("a reason is required", "bắt buộc ghi lý do chuyển cấp trên"),
    Status.REJECTED: ("a reason is required", "bắt buộc ghi lý do từ chối"),
}
NOTE_MAX = 10_000


class TransitionRefused(Exception):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"{current} -> {wanted}")
        self.current = current
        self.wanted = wanted

    def reasons(self) -> tuple[str, str]:
        if not TRANSITIONS[self.current]:
            return (
                f"the difficulty is already {self.current.value}; no further update is allowed",
                f"phản ánh đã ở trạng thái cuối ({STATUS_LABELS[self.current][0]}),"
                " không thể cập nhật thêm",
            )
        return (
            f"cannot go from {self.current.value} to {self.wanted.value}",
            f"không thể chuyển từ {STATUS_LABELS[self.current][0]!r}"
            f" sang {STATUS_LABELS[self.wanted][0]!r}",
        )


def check_transition(current: str, wanted: Status) -> None:
    """Raise TransitionRefused unless `wanted` may follow `current`."""
    now = Status(current)
    if wanted not in TRANSITIONS[now]:
        raise TransitionRefused(now, wanted)


def clean_note(status: Status, note: str | None) -> str | None:
    """The note as stored; InvalidField("note") when the status requires one and it is blank."""
    if note is None or not note.strip():
        if status in NOTE_REQUIRED:
            en, vi = NOTE_REQUIRED[status]
            raise vn.InvalidField("note", en, vi)
        return None
    return vn.nfc_clean(note, NOTE_MAX, field="note", multiline=True)


# --- status updates: who may post what ------------------------------------------------------


class Standing(StrEnum):
    """Where the caller stands in one difficulty."""

    LEAD = "lead"  # holds it: the lead, the agency it was escalated to, or triage
    PERMANENT_DEPUTY = "permanent_deputy"  # the province's triage agency (rules.triage)
    CO_HANDLER = "co_handler"  # an agency helping on its own part
    MEMBER = "member"  # the task-force member responsible by field and area
    OPERATOR = "operator"  # runs the system; holds no difficulty
    OUTSIDER = "outsider"  # nothing of this difficulty is theirs


# The difficulty belongs to its lead: only the lead and the permanent deputy close,
# reject, escalate or hand it on. A co-handler reports on its own part and may ask to be
# relieved of that part; a member follows the case. On this (older) status API a
# co-handler's or a member's acknowledged and in_progress move their own assignment only
# (see `own_part`); each part's full life is the steps API (`check_step`).
MAY_POST: dict[Standing, frozenset[Status]] = {
    Standing.LEAD: _ACTING,
    Standing.PERMANENT_DEPUTY: _ACTING,
    Standing.CO_HANDLER: frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS,
                                    Status.REASSIGN_REQUESTED}),
    Standing.MEMBER: frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS}),
    Standing.OPERATOR: frozenset(),
    Standing.OUTSIDER: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Held:
    """An active assignment of a difficulty, as intake learnt it from the router."""

    assignment_id: uuid.UUID
    role: AssignmentRole
    agency_id: str
    member_id: str | None
    step: Step | None = None  # where its holder has moved it


@dataclass(frozen=True, slots=True)
class Acting:
    standing: Standing
    # The assignment the update is made under (the event's assignment_id, which the
    # router moves on escalated and reassign_requested): the caller's own, or for the
    # permanent deputy the holder's.
    assignment_id: uuid.UUID | None


def standing_of(
    actor_kind: ActorKind, actor_id: str, held: Sequence[Held], *, triage_agency: str | None,
) -> Acting:
    """Where `actor_id` stands among the active assignments `held` (newest first) of a
    difficulty whose province's permanent deputy works as `triage_agency`."""
    handling = [h for h in held if h.role in HANDLING_ROLES]
    if actor_kind is ActorKind.MEMBER:
        mine = [h for h in held if h.role is AssignmentRole.MEMBER and h.member_id == actor_id]
        return (Acting(Standing.MEMBER, mine[0].assignment_id) if mine
                else Acting(Standing.OUTSIDER, None))
    if actor_kind is not ActorKind.AGENCY:
        return Acting(Standing.OPERATOR, None)
    own = [h for h in held if h.agency_id == actor_id and h.role is not AssignmentRole.MEMBER]
    lead = [h for h in own if h.role in HANDLING_ROLES]
    if lead:
        return Acting(Standing.LEAD, lead[0].assignment_id)
    if triage_agency is not None and actor_id == triage_agency:
        return Acting(Standing.PERMANENT_DEPUTY,
                      handling[0].assignment_id if handling else None)
    if own:
        return Acting(Standing.CO_HANDLER, own[0].assignment_id)
    return Acting(Standing.OUTSIDER, None)


class StatusForbidden(Exception):
    def __init__(self, field: str, en: str, vi: str) -> None:
        super().__init__(en)
        self.field = field  # what the caller should look at: the difficulty or the status
        self.en = en
        self.vi = vi


def check_may_post(acting: Acting, wanted: Status) -> None:
    """Raise StatusForbidden (a 403 naming the reason) unless the caller's standing in
    the difficulty lets it post `wanted`."""
    if wanted in MAY_POST[acting.standing]:
        return
    label_vi = STATUS_LABELS[wanted][0]
    match acting.standing:
        case Standing.OUTSIDER:
            raise StatusForbidden(
                "difficulty_id", "this difficulty is not assigned to you",
                "phản ánh này không được giao cho cơ quan/thành viên của bạn")
        case Standing.OPERATOR:
            raise StatusForbidden(
                "Authorization", "an operator holds no difficulty: the lead agency or the "
                "permanent deputy posts its status",
                "người vận hành không xử lý phản ánh: cơ quan chủ trì hoặc Tổ phó Thường trực "
                "cập nhật trạng thái")
        case Standing.CO_HANDLER:
            raise StatusForbidden(
                "status", f"a co-handling agency reports on its own part (acknowledged, "
                f"in_progress, reassign_requested); only the lead agency or the permanent "
                f"deputy may post {wanted.value}",
                f"cơ quan phối hợp chỉ cập nhật phần việc của mình (đã tiếp nhận, đang xử lý, "
                f"đề nghị chuyển); chỉ cơ quan chủ trì hoặc Tổ phó Thường trực được chuyển "
                f"sang {label_vi!r}")
        case _:
            raise StatusForbidden(
                "status", f"a task-force member follows the case (acknowledged, in_progress); "
                f"only the lead agency or the permanent deputy may post {wanted.value}",
                f"thành viên Tổ công tác chỉ cập nhật đã tiếp nhận, đang xử lý; chỉ cơ quan "
                f"chủ trì hoặc Tổ phó Thường trực được chuyển sang {label_vi!r}")


# Who reads a difficulty, and who with the business's contact person: the lead and the
# permanent deputy act on the case with the business; the others read it without.
SEES_CONTACT = frozenset({Standing.LEAD, Standing.PERMANENT_DEPUTY})


def check_may_read(acting: Acting, *, operator_in_scope: bool) -> None:
    """Raise StatusForbidden (a 403 naming the reason) unless the caller may read the
    difficulty: anyone on it, and an operator of its province (or of every province)."""
    if acting.standing is Standing.OUTSIDER:
        raise StatusForbidden(
            "difficulty_id", "this difficulty is not assigned to your agency or to you",
            "phản ánh này không được giao cho cơ quan/thành viên của bạn")
    if acting.standing is Standing.OPERATOR and not operator_in_scope:
        raise StatusForbidden(
            "province", "this belongs to another province's task force",
            "nội dung này thuộc Tổ công tác của tỉnh, thành phố khác")


def as_read_by(difficulty: DifficultyReceived, standing: Standing) -> TaskDifficulty:
    """The difficulty as `standing` reads it: with the contact only where it is needed."""
    return TaskDifficulty.of(difficulty, with_contact=standing in SEES_CONTACT)


# Who vouches that an urgent item is urgent, so that the head and the permanent deputy
# are told at once, day or night: the officers who hold it and the task force's members.
MAY_CONFIRM_URGENCY = frozenset({Standing.LEAD, Standing.PERMANENT_DEPUTY, Standing.MEMBER})


def check_may_confirm_urgency(acting: Acting, *, member_of_task_force: bool) -> None:
    """Raise StatusForbidden (a 403 naming the reason) unless the caller may confirm the
    difficulty urgent: its lead agency (or whoever holds it), the permanent deputy, or a
    member of its task force (assigned to it or not)."""
    if acting.standing in MAY_CONFIRM_URGENCY or member_of_task_force:
        return
    if acting.standing is Standing.OPERATOR:
        raise StatusForbidden(
            "Authorization", "an operator does not vouch for urgency: the lead agency, the "
            "permanent deputy or a task-force member confirms it",
            "người vận hành không xác nhận tính khẩn cấp: cơ quan chủ trì, Tổ phó Thường trực "
            "hoặc thành viên Tổ công tác xác nhận")
    if acting.standing is Standing.CO_HANDLER:
        raise StatusForbidden(
            "Authorization", "a co-handling agency does not confirm urgency: the lead agency, "
            "the permanent deputy or a task-force member does",
            "cơ quan phối hợp không xác nhận tính khẩn cấp: cơ quan chủ trì, Tổ phó Thường "
            "trực hoặc thành viên Tổ công tác xác nhận")
    raise StatusForbidden(
        "difficulty_id", "this difficulty is not assigned to you, nor of your task force",
        "phản ánh này không được giao cho cơ quan/thành viên của bạn")


def urgency_confirmation(
    d: DifficultyReceived, *, actor_kind: ActorKind, actor_id: str, reported: bool,
    note: str | None, now: datetime,
) -> DifficultyUrgencyConfirmed:
    """The one confirmation an urgent difficulty can have (its id from the difficulty's)."""
    return DifficultyUrgencyConfirmed(
        confirmation_id=DifficultyUrgencyConfirmed.id_for(d.difficulty_id),
        difficulty_id=d.difficulty_id, tracking_code=d.tracking_code,
        province_code=d.province_code, task_force=d.task_force, actor_kind=actor_kind,
        actor_id=actor_id, reported=reported, note=note, confirmed_at=now,
    )


REPORTERS = {UrgencySource.MEMBER: ActorKind.MEMBER, UrgencySource.OPERATOR: ActorKind.OPERATOR}


def reported_urgent(d: DifficultyReceived, filed_by: str) -> DifficultyUrgencyConfirmed | None:
    """A difficulty a member or an operator filed urgent is vouched for as it arrives."""
    kind = REPORTERS.get(d.urgency_source)
    if d.urgency is not Urgency.URGENT or kind is None:
        return None
    return urgency_confirmation(d, actor_kind=kind, actor_id=filed_by, reported=True,
                                note=None, now=d.received_at)


def check_dispatch(
    target_agency_id: str, *, wanted: Status, actor_id: str, cfg: ProvinceConfig | None,
    held: Sequence[Held],
) -> None:
    """A dispatch to a chosen agency (`target_agency_id` on reassign_requested): only the
    permanent deputy makes one, to an agency of the difficulty's task force that does not
    already hold it. StatusForbidden (403) or InvalidField (422) otherwise."""
    if wanted is not Status.REASSIGN_REQUESTED:
        raise vn.InvalidField(
            "target_agency_id", "a target agency goes with reassign_requested only",
            "chỉ chỉ định cơ quan khi đề nghị chuyển (reassign_requested)")
    if cfg is None or actor_id != cfg.rules.triage:
        raise StatusForbidden(
            "target_agency_id", "only the permanent deputy sends a difficulty to a chosen "
            "agency; others ask for a reassignment without one",
            "chỉ Tổ phó Thường trực chỉ định cơ quan xử lý; cơ quan khác đề nghị chuyển mà "
            "không chỉ định")
    if cfg.agency(target_agency_id) is None:
        raise vn.InvalidField(
            "target_agency_id", f"no agency {target_agency_id!r} in this task force",
            f"không có cơ quan {target_agency_id!r} trong Tổ công tác này")
    if any(h.agency_id == target_agency_id and h.role in HANDLING_ROLES for h in held):
        raise vn.InvalidField(
            "target_agency_id", f"{target_agency_id} already holds this difficulty",
            f"{target_agency_id} đang chủ trì xử lý phản ánh này")


# --- each assignment's own state (#20 item 1) -----------------------------------------------

# What may follow what on one assignment. Done and declined are final; in progress may
# repeat (each a progress note); nothing has to come first (a part done at once).
# One question to the business at a time: while it is pending the part may still be
# finished or declined, or taken back in progress (which restarts its clock unanswered).
STEP_TRANSITIONS: dict[Step | None, frozenset[Step]] = {
    None: frozenset(Step),
    Step.ACKNOWLEDGED: frozenset({Step.IN_PROGRESS, Step.DONE, Step.DECLINED, Step.NEED_INFO}),
    Step.IN_PROGRESS: frozenset({Step.IN_PROGRESS, Step.DONE, Step.DECLINED, Step.NEED_INFO}),
    Step.NEED_INFO: frozenset({Step.IN_PROGRESS, Step.DONE, Step.DECLINED}),
    Step.DONE: frozenset(),
    Step.DECLINED: frozenset(),
}
STEP_NOTE_REQUIRED: dict[Step, tuple[str, str]] = {
    Step.DONE: ("say what was done", "bắt buộc ghi nội dung đã thực hiện"),
    Step.DECLINED: ("a reason is required: why it is not yours",
                    "bắt buộc ghi lý do không thuộc thẩm quyền"),
}
# A holder's step moves the difficulty too: the lead's "not ours" sends it back to
# triage (the router's reassign_requested without a target). The lead's part is done
# only by closing the difficulty, with a resolution.
HOLDER_STATUS: dict[Step, Status] = {
    Step.ACKNOWLEDGED: Status.ACKNOWLEDGED,
    Step.IN_PROGRESS: Status.IN_PROGRESS,
    Step.DECLINED: Status.REASSIGN_REQUESTED,
}
FINISHED = frozenset({Step.DONE, Step.DECLINED})


class StepRefused(Exception):
    """A step that may not follow the assignment's current one (a 409)."""

    def __init__(self, current: Step | None, wanted: Step) -> None:
        super().__init__(f"{current} -> {wanted}")
        self.current = current
        self.wanted = wanted

    def reasons(self) -> tuple[str, str]:
        if self.current in FINISHED:
            assert self.current is not None
            return (f"this assignment is already {self.current.value}; no further step",
                    f"phần việc đã ở trạng thái cuối ({STEP_LABELS[self.current][0]})")
        cur = self.current.value if self.current else "assigned"
        cur_vi = STEP_LABELS[self.current][0] if self.current else "Đã giao"
        return (f"cannot go from {cur} to {self.wanted.value}",
                f"không thể chuyển từ {cur_vi!r} sang {STEP_LABELS[self.wanted][0]!r}")


def check_step(current: Step | None, wanted: Step) -> None:
    if wanted not in STEP_TRANSITIONS[current]:
        raise StepRefused(current, wanted)


def own_part(actor_kind: ActorKind, actor_id: str, held: Sequence[Held],
             assignment_id: uuid.UUID | None = None) -> Held:
    """The caller's own active assignment (the one named, if any): an agency's as lead,
    co-handler, escalation or triage, a member's as member. StatusForbidden otherwise."""
    if actor_kind is ActorKind.MEMBER:
        mine = [h for h in held if h.role is AssignmentRole.MEMBER and h.member_id == actor_id]
    elif actor_kind is ActorKind.AGENCY:
        mine = [h for h in held if h.agency_id == actor_id and h.role is not AssignmentRole.MEMBER]
        # An agency holding the case as well as helping on it steps as its holder first.
        mine.sort(key=lambda h: h.role not in HANDLING_ROLES)
    else:
        mine = []
    if assignment_id is not None:
        mine = [h for h in mine if h.assignment_id == assignment_id]
    if not mine:
        raise StatusForbidden(
            "assignment_id" if assignment_id is not None else "difficulty_id",
            "no active assignment of yours on this difficulty: each agency or member moves "
            "its own part only",
            "bạn không có phần việc đang giao trong phản ánh này: mỗi cơ quan, thành viên "
            "chỉ cập nhật phần việc của mình")
    return mine[0]


def step_status(part: Held, wanted: Step, difficulty_status: str) -> Status | None:
    """The difficulty's status after `wanted` on `part`: moved by its holder's steps
    (TransitionRefused as the status API would), unchanged (None) by anyone else's."""
    if part.role not in HANDLING_ROLES or wanted is Step.NEED_INFO:
        # Waiting for the business stops the part's clock; the difficulty stays as it was.
        return None
    if wanted is Step.DONE:
        raise vn.InvalidField(
            "step", "the lead agency finishes by closing the difficulty: POST "
            "/v1/difficulties/{id}/resolution with the outcome and the public answer",
            "cơ quan chủ trì kết thúc bằng việc đóng phản ánh: POST "
            "/v1/difficulties/{id}/resolution với kết quả và nội dung trả lời doanh nghiệp")
    status = HOLDER_STATUS[wanted]
    check_transition(difficulty_status, status)
    return status


def clean_step_note(step: Step, note: str | None) -> str | None:
    if note is None or not note.strip():
        if step in STEP_NOTE_REQUIRED:
            en, vi = STEP_NOTE_REQUIRED[step]
            raise vn.InvalidField("note", en, vi)
        return None
    return vn.nfc_clean(note, NOTE_MAX, field="note", multiline=True)


def clean_question(step: Step, part: Held, question: str | None) -> str | None:
    """The question put to the business: with need_info only, required there, and asked
    by an agency on the case (a member asks through its agency or the lead)."""
    if step is not Step.NEED_INFO:
        if question is not None:
            raise vn.InvalidField("question", "a question goes with need_info only",
                                  "chỉ gửi câu hỏi cho doanh nghiệp với bước need_info")
        return None
    if part.role is AssignmentRole.MEMBER:
        raise StatusForbidden(
            "step", "only an agency on the case asks the business",
            "chỉ cơ quan xử lý mới hỏi doanh nghiệp")
    if question is None or not question.strip():
        raise vn.InvalidField("question", "the question for the business is required",
                              "bắt buộc ghi nội dung cần doanh nghiệp bổ sung")
    return vn.nfc_clean(question, NOTE_MAX, field="question", multiline=True)


def clean_answer(answer: str) -> str:
    if not answer.strip():
        raise vn.InvalidField("answer", "the answer is empty", "chưa nhập nội dung trả lời")
    return vn.nfc_clean(answer, NOTE_MAX, field="answer", multiline=True)


# What the business may rate or confirm: a difficulty the lead (or the deputy) closed.
RATEABLE = frozenset({Status.RESOLVED.value, Status.REJECTED.value})


def build_feedback(*, status: str, resolved: str, rating: str, comment: str) -> Feedback:
    """The business's word from its tracking page's form: "yes"/"no"/"" for whether the
    answer resolved it, "1".."5" or "" for the rating, an optional comment; at least one
    of the first two, and only once the difficulty is closed."""
    if status not in RATEABLE:
        raise vn.InvalidField("rating", "the difficulty is not closed yet: rate it once the "
                              "agency has answered", "hồ sơ chưa kết thúc: đánh giá sau khi "
                              "cơ quan đã trả lời")
    said = {"yes": True, "no": False, "": None}.get(resolved.strip())
    if said is None and resolved.strip():
        raise vn.InvalidField("resolved", "answer yes or no", "chọn có hoặc không")
    stars = rating.strip()
    if stars and stars not in {"1", "2", "3", "4", "5"}:
        raise vn.InvalidField("rating", "a rating is a whole number from 1 to 5",
                              "điểm đánh giá là số nguyên từ 1 đến 5")
    if said is None and not stars:
        raise vn.InvalidField("rating", "say whether the answer resolved it, or rate it",
                              "cho biết vấn đề đã được giải quyết chưa, hoặc chấm điểm")
    words = (vn.nfc_clean(comment, NOTE_MAX, field="comment", multiline=True)
             if comment.strip() else None)
    return Feedback(resolved=said, rating=int(stars) if stars else None, comment=words)


# A business that says the answer did not resolve it sends the case back to its lead once;
# the second time the lead has not convinced it, the permanent deputy decides (triage).
REOPENS_TO_LEAD = 1


def reopened_status(status: str, feedback: Feedback, reopened_before: int) -> Status | None:
    """Where the business's "not resolved" sends its resolved difficulty: back in progress
    with the lead while it has reopened fewer than REOPENS_TO_LEAD times, then to the
    permanent deputy (reassign_requested without a target: the router's triage). None
    when nothing moves (resolved or rated, or a rejection it disagrees with, which the
    task force reads but which stays closed)."""
    if feedback.resolved is not False or status != Status.RESOLVED.value:
        return None
    return (Status.IN_PROGRESS if reopened_before < REOPENS_TO_LEAD
            else Status.REASSIGN_REQUESTED)


def waiting_part(held: Sequence[Held], assignment_id: uuid.UUID) -> Held | None:
    """The part the business answers: active and waiting for it (None otherwise, which
    the business is told as neutrally as a wrong code)."""
    return next((h for h in held if h.assignment_id == assignment_id
                 and h.step is Step.NEED_INFO), None)


def check_suggestion(suggested: str | None, *, step: Step, actor_id: str,
                     cfg: ProvinceConfig | None) -> None:
    """The agency a decliner says should act: only with declined, an agency the
    province knows (central ministries included), not the decliner."""
    if suggested is None:
        return
    if step is not Step.DECLINED:
        raise vn.InvalidField(
            "suggested_agency_id", "an agency to suggest goes with declined only",
            "chỉ đề xuất cơ quan khác khi từ chối (declined)")
    if cfg is None or cfg.agency(suggested) is None or suggested == actor_id:
        raise vn.InvalidField(
            "suggested_agency_id", f"{suggested!r} is not another agency of this task force",
            f"{suggested!r} không phải cơ quan khác trong Tổ công tác này")


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
    letter: LetterRef | None = None,
) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=difficulty_id, province_code=province_code,
        status=status, actor_kind=actor_kind, actor_id=actor_id, assignment_id=assignment_id,
        note=note, target_agency_id=target_agency_id, changed_at=now, step=step,
        suggested_agency_id=suggested_agency_id, resolution=resolution, question=question,
        answer=answer, feedback=feedback, letter=letter,
    )


# --- member weekly reports ------------------------------------------------------------------

REPORT_TEXT_MAX = 10_000


def report_week(requested: str | None, now: datetime) -> tuple[str, bool]:
    """(week label, late) of a report submitted at `now` for `requested` (None = the current
    week). A past week is accepted and marked late; a future week is refused."""
    current = week_window(now)
    if requested is None:
        return current.label, False
    wanted = parse_week_label(requested, "week_label")
    if wanted.end > current.end:
        raise vn.InvalidField(
            "week_label", f"is a future week; the current week is {current.label}",
            f"là tuần chưa tới; tuần hiện tại là {current.label}",
        )
    return wanted.label, wanted.end < current.end


def report_id(member_id: str, week_label: str) -> uuid.UUID:
    """Stable per member and week, so a replacement carries the id of what it replaces."""
    return uuid.UUID(deterministic_id("member-report", member_id, week_label))


def build_member_report(
    *, member_id: str, province_code: str, week_label: str, late: bool,
    received_summary: str, solutions: str, recommendations: str, figures: dict[str, int],
    urgent: bool, now: datetime,
) -> MemberReport:
    def clean(v: str, f: str) -> str:
        return vn.nfc_clean(v, REPORT_TEXT_MAX, field=f, multiline=True)

    return MemberReport(
        report_id=report_id(member_id, week_label), member_id=member_id,
        province_code=province_code, week_label=week_label,
        received_summary=clean(received_summary, "received_summary"),
        solutions=clean(solutions, "solutions"),
        recommendations=clean(recommendations, "recommendations"),
        figures=figures, late=late, urgent=urgent, submitted_at=now,
    )


# --- a dissolved task force -----------------------------------------------------------------


class TaskForceDissolved(vn.InvalidField):
    """The province is valid, but its task force no longer takes difficulties in."""


def check_task_force_open(configs: ConfigSet, received: DifficultyReceived, on: date) -> None:
    """InvalidField("province") once the province's task force is dissolved (from its
    `dissolved_on` date, local time): the business is sent to the regular channel. A
    province without a configured task force is still taken in (operators triage it)."""
    cfg = configs.for_difficulty(received.province_code, received.task_force)
    tf = cfg.task_force if cfg is not None else None
    if tf is None or tf.dissolved_on is None or on < tf.dissolved_on:
        return
    assert cfg is not None
    name_vi, name_en = cfg.province.name_vi, cfg.province.name_en
    raise TaskForceDissolved(
        "province",
        f"the task force of {name_en} ended its mission on {tf.dissolved_on.isoformat()} and "
        "no longer takes in difficulties; please submit through the provincial public "
        "service portal or directly to the department responsible for the matter",
        f"Tổ công tác của {name_vi} đã kết thúc nhiệm vụ từ ngày "
        f"{tf.dissolved_on:%d/%m/%Y} và không còn tiếp nhận phản ánh; đề nghị doanh nghiệp "
        "gửi qua Cổng dịch vụ công của tỉnh hoặc trực tiếp đến sở, ngành phụ trách lĩnh vực",
    )


class OutOfScope(vn.InvalidField):
    """A valid province, but not the one the caller speaks for."""


def check_in_scope(configs: ConfigSet, received: DifficultyReceived, province: str) -> None:
    """InvalidField("province") unless the difficulty belongs to the task force of
    `province` (a member imports for their own task force, a scoped operator for theirs)."""
    cfg = configs.for_difficulty(received.province_code, received.task_force)
    if cfg is not None and cfg.slug == province:
        return
    mine = configs[province].province if province in configs else None
    raise OutOfScope(
        "province",
        f"is not the province you work for ({mine.name_en if mine else province}); "
        "a difficulty of another province is entered by its own task force",
        f"không thuộc tỉnh, thành phố bạn phụ trách ({mine.name_vi if mine else province}); "
        "phản ánh của địa phương khác do Tổ công tác địa phương đó nhập",
    )


# --- a member's week --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssignedItem:
    """A difficulty assigned to a member, as intake knows it."""

    difficulty_id: uuid.UUID
    tracking_code: str
    title: str
    category: str
    status: Status
    urgency: Urgency
    received_at: datetime
    assigned_at: datetime  # the member's assignment
    status_changed_at: datetime | None
    # The latest active handling assignment (lead, escalation, triage): deadlines run from
    # it, as in reporting, so a member sees the same overdue items as the weekly report.
    handling_assigned_at: datetime | None
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemView:
    item: AssignedItem
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class MemberWeek:
    window: WeekWindow
    open: list[ItemView]
    overdue: list[ItemView]
    resolved: list[ItemView]  # resolved in this report week
    figures: dict[str, int]  # received, resolved, open, overdue


def member_week(
    items: Sequence[AssignedItem], *, now: datetime, deadlines: Deadlines
) -> MemberWeek:
    """What a member holds this report week, and the figures their report starts from."""
    window = week_window(now)
    views = []
    for it in items:
        due = (deadlines_for(it.handling_assigned_at, it.urgency, deadlines)
               if it.handling_assigned_at is not None else None)
        late = is_overdue(
            now=now, status=it.status, ack_due_at=due.ack if due else None,
            resolve_due_at=due.resolve if due else None, acknowledged_at=it.acknowledged_at,
        )
        views.append(ItemView(it, due.ack if due else None, due.resolve if due else None,
                              late))
    open_ = [v for v in views if v.item.status not in CLOSED]
    resolved = [v for v in views if v.item.status is Status.RESOLVED
                and v.item.status_changed_at is not None
                and window.contains(v.item.status_changed_at)]
    overdue = [v for v in open_ if v.overdue]
    received = sum(1 for v in views if window.contains(v.item.received_at))
    return MemberWeek(window=window, open=open_, overdue=overdue, resolved=resolved,
                      figures={"received": received, "resolved": len(resolved),
                               "open": len(open_), "overdue": len(overdue)})


def draft_summary(figures: dict[str, int], week_label: str) -> tuple[str, str]:
    """The "received" paragraph of a member's report, pre-filled (en, vi)."""
    f = figures
    return (
        f"Week {week_label}: received {f['received']}, resolved {f['resolved']}, "
        f"open {f['open']} of which {f['overdue']} overdue.",
        f"Tuần {week_label}: tiếp nhận {f['received']}, đã giải quyết {f['resolved']}, "
        f"đang xử lý {f['open']}, trong đó quá hạn {f['overdue']}.",
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


# --- the head's directions as tracked work (#22 item 1) -------------------------------------

# Forward only: open → in progress → done (straight to done allowed); a second "in
# progress" only adds a note; done is the end.
DIRECTION_NEXT: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "done"}),
    "in_progress": frozenset({"in_progress", "done"}),
    "done": frozenset(),
}


def check_direction_progress(current: str, wanted: str) -> None:
    """Refuse a step back, a step from done, or a state that is not a step."""
    if wanted not in DIRECTION_NEXT.get(current, frozenset()):
        raise vn.InvalidField("state", f"a direction {current} cannot become {wanted}",
                              f"chỉ đạo đang ở trạng thái {current}, không thể chuyển"
                              f" sang {wanted}")


def direction_assignee(cfg: ProvinceConfig, assignee_id: str) -> str:
    """The agency or active member of the task force who must act, by id; else a 422."""
    wanted = assignee_id.strip()
    if wanted and (any(a.id == wanted for a in cfg.agencies)
                   or any(m.id == wanted for m in cfg.task_force.active_members())):
        return wanted
    raise vn.InvalidField("assignee_id", "choose an agency or a member of the task force",
                          "chọn cơ quan hoặc thành viên Tổ công tác thực hiện")


def direction_due(due_on: str, today: date) -> date:
    """The due date of a direction: a date, not before today."""
    try:
        due = date.fromisoformat(due_on.strip())
    except ValueError:
        raise vn.InvalidField("due_on", "a date (YYYY-MM-DD)", "ngày (năm-tháng-ngày)") from None
    if due < today:
        raise vn.InvalidField("due_on", "the due date is in the past",
                              "thời hạn đã qua")
    return due


# --- policy bottlenecks (#25 item 1) -------------------------------------------------------

BOTTLENECK_MAX_ITEMS = 500


class MergeConflict(Exception):
    """A difficulty that cannot join a bottleneck as it stands (a 409 naming it)."""

    def __init__(self, difficulty_id: uuid.UUID, en: str, vi: str) -> None:
        super().__init__(f"{difficulty_id}: {en}")
        self.en = f"{difficulty_id}: {en}"
        self.vi = f"{difficulty_id}: {vi}"


def bottleneck_members(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The difficulties to merge, each once, in the order given: at least two (one
    business's item is escalated on its own), at most BOTTLENECK_MAX_ITEMS."""
    out = list(dict.fromkeys(ids))
    if not 2 <= len(out) <= BOTTLENECK_MAX_ITEMS:
        raise vn.InvalidField(
            "difficulty_ids", f"choose from 2 to {BOTTLENECK_MAX_ITEMS} different items",
            f"chọn từ 2 đến {BOTTLENECK_MAX_ITEMS} phản ánh, kiến nghị khác nhau")
    return out


def check_mergeable(wanted: Sequence[uuid.UUID], found: dict[uuid.UUID, tuple[str | None, str,
                    uuid.UUID | None]], task_force: str) -> None:
    """Every wanted difficulty exists in `task_force` (else InvalidField: the deputy named
    something not theirs), is open and in no bottleneck yet (else MergeConflict).
    `found`: difficulty id -> (task force, status, bottleneck id)."""
    for did in wanted:
        if did not in found or found[did][0] != task_force:
            raise vn.InvalidField("difficulty_ids", f"{did}: no item of this task force",
                                  f"{did}: không phải phản ánh của Tổ công tác")
    for did in wanted:
        _, status, bottleneck = found[did]
        if bottleneck is not None:
            raise MergeConflict(did, "already merged into a policy bottleneck",
                                "đã được tổng hợp vào một điểm nghẽn chính sách")
        if Status(status) in CLOSED:
            raise MergeConflict(did, f"already closed ({status})", "đã kết thúc xử lý")


def central_ministry(cfg: ProvinceConfig, ministry_id: str) -> str:
    """The central ministry a bottleneck goes to, by its agency id; else a 422."""
    agency = cfg.agency(ministry_id.strip())
    if agency is None or agency.level is not AgencyLevel.CENTRAL:
        raise vn.InvalidField("ministry_id", "choose a central ministry of the configuration",
                              "chọn Bộ, ngành Trung ương trong danh sách")
    return agency.id
