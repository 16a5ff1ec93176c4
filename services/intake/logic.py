"""Intake's pure rules: turning a validated submission into an event, tracking
codes, and the fingerprint that makes `Idempotency-Key` safe."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from shared import vn
from shared.calendar import week_window, week_window_by_label
from shared.events import (
    STATUS_LABELS,
    ActorKind,
    Contact,
    DifficultyReceived,
    DifficultyStatusChanged,
    MemberReport,
    Status,
    deterministic_id,
)

# Crockford's alphabet without I, L, O, U: nothing a business could misread on the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def tracking_code() -> str:
    """A short human code the business keeps, e.g. "TG-4K7M-9QXR" (40 random bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"TG-{raw[:4]}-{raw[4:]}"


def request_fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_received(
    submission: dict[str, Any], *, difficulty_id: uuid.UUID, code: str, now: datetime
) -> DifficultyReceived:
    """The event for an accepted submission. `submission` has passed the request model;
    here the province is resolved (InvalidField if unknown), the tax code normalised and
    the text cleaned (see `clean_submission`)."""
    submission = clean_submission(submission)
    province = vn.resolve_province(submission["province"])
    contact = submission["contact"]
    return DifficultyReceived(
        difficulty_id=difficulty_id,
        tracking_code=code,
        received_at=now,
        province_code=province.code,
        province_name=province.name,
        task_force=province.task_force_slug,
        tax_code=vn.normalize_tax_code(submission["tax_code"]),
        enterprise_name=submission["enterprise_name"],
        zone_type=submission.get("zone_type"),
        zone_name=submission.get("zone_name"),
        category=submission["category"],
        kind=submission["kind"],
        title=submission["title"],
        description=submission["description"],
        urgency=submission["urgency"],
        contact=Contact(**contact),
        employees=submission.get("employees"),
        sector=submission.get("sector"),
        ward=submission.get("ward"),
        district=submission.get("district"),
        channel=submission.get("channel"),
    )


# --- submissions: text normalisation -------------------------------------------------------

# Free-text fields and their limits (code points). Multi-line ones keep their line breaks.
SHORT_TEXT_FIELDS = ("enterprise_name", "title", "zone_name", "sector", "ward", "district",
                     "channel")
SHORT_TEXT_MAX = 300
DESCRIPTION_MAX = 10_000


def clean_submission(submission: dict[str, Any]) -> dict[str, Any]:
    """The submission with its text as stored: NFC, trimmed, spaces collapsed, no control
    characters (InvalidField names the field otherwise). Empty optional text becomes None."""
    out = dict(submission)
    for f in SHORT_TEXT_FIELDS:
        v = out.get(f)
        if v is None:
            continue
        if f not in ("enterprise_name", "title") and not str(v).strip():
            out[f] = None
            continue
        out[f] = vn.nfc_clean(str(v), SHORT_TEXT_MAX, field=f)
    out["description"] = vn.nfc_clean(
        str(out["description"]), DESCRIPTION_MAX, field="description", multiline=True
    )
    contact = dict(out["contact"])
    contact["name"] = vn.nfc_clean(str(contact["name"]), SHORT_TEXT_MAX, field="contact.name")
    out["contact"] = contact
    return out


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


def build_status(
    *, difficulty_id: uuid.UUID, province_code: str, status: Status, actor_kind: ActorKind,
    actor_id: str, assignment_id: uuid.UUID | None, note: str | None, now: datetime,
) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=difficulty_id, province_code=province_code,
        status=status, actor_kind=actor_kind, actor_id=actor_id, assignment_id=assignment_id,
        note=note, changed_at=now,
    )


# --- member weekly reports ------------------------------------------------------------------

REPORT_TEXT_MAX = 10_000


def report_week(requested: str | None, now: datetime) -> tuple[str, bool]:
    """(week label, late) of a report submitted at `now` for `requested` (None = the current
    week). A past week is accepted and marked late; a future week is refused."""
    current = week_window(now)
    if requested is None:
        return current.label, False
    try:
        wanted = week_window_by_label(requested)
    except ValueError:
        raise vn.InvalidField(
            "week_label", "must be an ISO week such as 2026-W48",
            "phải là tuần theo ISO, ví dụ 2026-W48",
        ) from None
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
