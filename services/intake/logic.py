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
    STATUS_LABELS,
    ActorKind,
    AssignmentRole,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    MemberReport,
    Status,
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
# relieved of that part; a member follows the case. (Per-assignment states come later.)
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


def build_status(
    *, difficulty_id: uuid.UUID, province_code: str, status: Status, actor_kind: ActorKind,
    actor_id: str, assignment_id: uuid.UUID | None, note: str | None, now: datetime,
    target_agency_id: str | None = None,
) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=difficulty_id, province_code=province_code,
        status=status, actor_kind=actor_kind, actor_id=actor_id, assignment_id=assignment_id,
        note=note, target_agency_id=target_agency_id, changed_at=now,
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
