"""The status state machine and who may post what, read a difficulty, confirm its urgency
or hand it on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared import vn
from shared.deadlines import HANDLING_ROLES
from shared.events import (
    STATUS_LABELS,
    ActorKind,
    AssignmentRole,
    DifficultyReceived,
    DifficultyUrgencyConfirmed,
    Status,
    Step,
    TaskDifficulty,
    Urgency,
    UrgencySource,
)
from shared.provinces import ProvinceConfig

# --- status updates: the state machine ------------------------------------------------------

_ACTING = frozenset({
    Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED, Status.ESCALATED,
    Status.REJECTED, Status.REASSIGN_REQUESTED,
})

# What may follow what. Resolved, rejected and merged are final. Escalated and reassign_requested
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
    Status.MERGED: frozenset(),  # closed as a duplicate; the kept difficulty carries on
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
