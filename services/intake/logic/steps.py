"""Each assignment's own state (its steps, questions to the business) and the business's
feedback on a closed difficulty."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.intake.logic.status import (
    NOTE_MAX,
    Held,
    StatusForbidden,
    check_transition,
)
from shared import vn
from shared.deadlines import HANDLING_ROLES
from shared.events import (
    STEP_LABELS,
    ActorKind,
    AssignmentRole,
    Feedback,
    Status,
    Step,
)
from shared.provinces import ProvinceConfig

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
