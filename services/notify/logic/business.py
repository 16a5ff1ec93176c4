"""The business kept informed (#20 item 6): a notice at each public step of its difficulty,
by e-mail if it gave an address, and by a Zalo Notification Service template message if it
gave a phone number and its province enables ZNS.

Where the contact comes from: `difficulty.received.v1`, which already carries it for the
lead agency and the permanent deputy. Notify keeps the name, e-mail and phone of each
difficulty in its own table (`business_contacts`) and no other topic carries them: the
steps come from events that hold no contact (assignments, status changes, bottlenecks).
The two arrive on different topics in any order, so each step is kept too
(`business_steps`), and whichever of a step and its contact comes second makes the
notices; the key (`business_<notice>:<difficulty>:<cause>:<channel>`, the cause being the
event that made the step) makes them once, however often either is read again.

Quiet hours: an e-mail goes at once, day or night, like a sign-in link: it waits in the
mailbox and wakes nobody, and the business may be waiting to answer a question. A ZNS
message is a phone notification: it waits for the morning like officials' reminders.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from services.notify.logic.owed import Owed, Quiet
from shared import calendar
from shared.deadlines import at_central_level
from shared.events import (
    OUTCOME_LABELS,
    ActorKind,
    AssignmentRole,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    Outcome,
    PolicyBottleneck,
    Status,
    Step,
)
from shared.provinces import BusinessNotice, ConfigSet, ProvinceConfig

BUSINESS_PREFIX = "business_"
EMAIL = "email"
ZNS = "zns"
# The recipient as notices and their events name it: never who the business is.
BUSINESS_RECIPIENT = "business"

# Message kinds, one per public step: "business_resolved".
BUSINESS_KINDS = tuple(BUSINESS_PREFIX + n.value for n in BusinessNotice)


def kind_of(notice: BusinessNotice) -> str:
    return BUSINESS_PREFIX + notice.value


@dataclass(frozen=True, slots=True)
class PublicStep:
    """One public step of a difficulty, made by the event `cause` (its id: the step's
    notices are owed once however often the event is read)."""

    difficulty_id: str
    notice: BusinessNotice
    cause: str
    at: datetime
    details: Mapping[str, Any]

    @property
    def key(self) -> str:
        return f"{kind_of(self.notice)}:{self.difficulty_id}:{self.cause}"


@dataclass(frozen=True, slots=True)
class BusinessContact:
    """Where to reach the business of one difficulty. Personal data: never logged."""

    difficulty_id: str
    tracking_code: str
    province_code: str
    task_force: str | None
    name: str
    email: str | None
    phone: str | None  # for ZNS: 84 then the national number


_MOBILE = re.compile(r"^84[0-9]{9}$")


def zns_phone(raw: str | None) -> str | None:
    """The phone as ZNS wants it (84 and the nine digits of a Vietnamese mobile number),
    or None when it is not one (a landline with its area code, a foreign number)."""
    if not raw:
        return None
    digits = re.sub(r"[^0-9]", "", raw)
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    return digits if _MOBILE.match(digits) else None


def contact_of(d: DifficultyReceived) -> BusinessContact:
    """What notify keeps of the contact: a business with neither an e-mail nor a mobile
    number is kept without its name too (nothing to send; its steps owe nothing)."""
    email, phone = (d.contact.email or "").strip() or None, zns_phone(d.contact.phone)
    return BusinessContact(
        difficulty_id=str(d.difficulty_id), tracking_code=d.tracking_code,
        province_code=d.province_code, task_force=d.task_force,
        name=d.contact.name if email or phone else "", email=email, phone=phone)


# --- the public steps, from the events ---------------------------------------------------


def received_step(d: DifficultyReceived) -> PublicStep:
    return PublicStep(str(d.difficulty_id), BusinessNotice.RECEIVED, str(d.difficulty_id),
                      d.received_at, {})


def assigned_step(a: DifficultyAssigned) -> PublicStep | None:
    """Its lead agency, each time one takes it (a reassignment names the new one); triage,
    co-handlers, members and ministries are the task force's own business (an escalation
    is told by its status)."""
    if a.role is not AssignmentRole.LEAD or at_central_level(a.role, a.agency_level):
        return None
    return PublicStep(str(a.difficulty_id), BusinessNotice.ASSIGNED, str(a.assignment_id),
                      a.assigned_at, {"agency_id": a.agency_id})


def status_step(c: DifficultyStatusChanged) -> PublicStep | None:
    """The public step a status event is, if any: an agency's question, the lead's answer
    (resolved, rejected, escalated; a ministry's answer when it cites the ministry's
    letter), and the business's "not resolved" that reopens it. Progress, co-handlers'
    parts, letters and hand-overs are not the business's to be told of."""
    did, cause = str(c.difficulty_id), str(c.status_id)
    r = c.resolution
    answer = {"outcome": r.outcome.value, "public_answer": r.public_answer} if r else {}
    if c.actor_kind is ActorKind.BUSINESS:
        if c.feedback is not None and c.feedback.resolved is False and c.status in (
                Status.IN_PROGRESS, Status.REASSIGN_REQUESTED):
            return PublicStep(did, BusinessNotice.REOPENED, cause, c.changed_at, {})
        return None
    if c.step_taken() is Step.NEED_INFO and c.question:
        return PublicStep(did, BusinessNotice.NEED_INFO, cause, c.changed_at,
                          {"agency_id": c.actor_id if c.actor_kind is ActorKind.AGENCY
                           else None, "question": c.question})
    if r is not None and r.ministry_letter is not None and c.status in (
            Status.RESOLVED, Status.REJECTED):
        return PublicStep(did, BusinessNotice.MINISTRY_ANSWERED, cause, c.changed_at, answer)
    notice = {Status.RESOLVED: BusinessNotice.RESOLVED, Status.REJECTED:
              BusinessNotice.REJECTED, Status.ESCALATED: BusinessNotice.ESCALATED}.get(
                  c.status) if c.status is not None else None
    if notice is None:
        return None
    return PublicStep(did, notice, cause, c.changed_at, answer)


def merged_steps(b: PolicyBottleneck) -> list[PublicStep]:
    """Each item of a policy bottleneck when merged (its answer closes each item by a
    status event of its own, told as a ministry's answer)."""
    if b.answer is not None:
        return []
    return [PublicStep(str(it.difficulty_id), BusinessNotice.MERGED, str(b.bottleneck_id),
                       b.merged_at, {"agency_id": b.ministry_id,
                                     "businesses": b.business_count})
            for it in b.items]


# --- the notices owed -------------------------------------------------------------------


def track_url(base_url: str, tracking_code: str) -> str:
    """The business's tracking page with its code filled in; never the tax code, which is
    its password there."""
    return f"{base_url.rstrip('/')}/track?{urlencode({'code': tracking_code})}"


def _agency_names(configs: ConfigSet, agency_id: str | None) -> dict[str, str | None]:
    if not agency_id:
        return {"agency_vi": None, "agency_en": None}
    a = configs.agency(agency_id)
    return {"agency_vi": a.name_vi if a else agency_id, "agency_en": a.name_en if a else agency_id}


def business_messages(
    steps: Iterable[PublicStep], contact: BusinessContact, configs: ConfigSet, *,
    base_url: str, now: datetime, quiet: Quiet,
) -> list[Owed]:
    """The notices of `steps` to the business of `contact`: an e-mail at once, a ZNS
    message (out of quiet hours) where the province has a template for the notice."""
    cfg: ProvinceConfig | None = configs.for_difficulty(contact.province_code,
                                                        contact.task_force)
    templates = cfg.zns.templates if cfg is not None and cfg.zns is not None else {}
    out: list[Owed] = []
    for s in steps:
        if s.difficulty_id != contact.difficulty_id:
            continue
        payload: dict[str, Any] = {
            "notice": s.notice.value, "tracking_code": contact.tracking_code,
            "url": track_url(base_url, contact.tracking_code), "at": s.at.isoformat(),
            **{k: v for k, v in s.details.items() if k != "agency_id"},
            **_agency_names(configs, s.details.get("agency_id")),
        }
        kind = kind_of(s.notice)
        if contact.email:
            out.append(Owed(key=f"{s.key}:{EMAIL}", kind=kind, recipient_id=BUSINESS_RECIPIENT,
                            channel=EMAIL, address=contact.email, secret_env=None,
                            due_at=calendar.to_local(now), urgent=True, payload=payload,
                            province_code=contact.province_code,
                            difficulty_id=contact.difficulty_id))
        template = templates.get(s.notice)
        if contact.phone and template:
            due = quiet.release(now, False)
            out.append(Owed(
                key=f"{s.key}:{ZNS}", kind=kind, recipient_id=BUSINESS_RECIPIENT, channel=ZNS,
                address=contact.phone, secret_env=None, due_at=due, urgent=False,
                held=due > calendar.to_local(now),
                payload={**payload, "template_id": template,
                         "template_data": zns_data(s, contact, payload)},
                province_code=contact.province_code, difficulty_id=contact.difficulty_id))
    return out


def zns_data(s: PublicStep, contact: BusinessContact, payload: Mapping[str, Any]
             ) -> dict[str, str]:
    """The parameters of a ZNS template (`shared.provinces.Zns`): short texts, as Zalo
    limits each parameter's length."""
    return {"customer_name": contact.name[:30], "tracking_code": contact.tracking_code,
            "status": NOTICE_TITLES[s.notice][0][:100],
            "agency": str(payload.get("agency_vi") or "")[:100],
            "date": calendar.to_local(s.at).strftime("%d/%m/%Y")}


def tracking_id(key: str) -> str:
    """ZNS's tracking_id of a message: from its key, so that a resend carries the same."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


# --- rendering ---------------------------------------------------------------------------

# (Vietnamese, English) title of each notice.
NOTICE_TITLES: dict[BusinessNotice, tuple[str, str]] = {
    BusinessNotice.RECEIVED: ("Đã tiếp nhận khó khăn, vướng mắc của doanh nghiệp",
                              "Your difficulty was received"),
    BusinessNotice.ASSIGNED: ("Đã chuyển cơ quan chủ trì xử lý",
                              "Passed to the agency that leads its handling"),
    BusinessNotice.NEED_INFO: ("Cơ quan xử lý đề nghị doanh nghiệp bổ sung thông tin",
                               "An agency asks you for information"),
    BusinessNotice.RESOLVED: ("Đã có kết quả giải quyết", "Your difficulty was answered"),
    BusinessNotice.REJECTED: ("Không thuộc phạm vi xử lý", "Out of scope: not handled"),
    BusinessNotice.ESCALATED: ("Đã kiến nghị cấp trên (Bộ, ngành Trung ương)",
                               "Escalated beyond the province (to a central ministry)"),
    BusinessNotice.MINISTRY_ANSWERED: ("Bộ, ngành Trung ương đã trả lời",
                                       "The central ministry has answered"),
    BusinessNotice.REOPENED: ("Đã mở lại hồ sơ theo ý kiến của doanh nghiệp",
                              "Reopened, as you said the answer did not resolve it"),
    BusinessNotice.MERGED: ("Đã tổng hợp vào điểm nghẽn chính sách gửi Bộ, ngành",
                            "Merged into a policy bottleneck sent to a ministry"),
}


def render_business(kind: str, p: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, Vietnamese text with English below, link label) of a business notice."""
    notice = BusinessNotice(kind.removeprefix(BUSINESS_PREFIX))
    vi, en = NOTICE_TITLES[notice]
    code = p.get("tracking_code", "")
    vi_lines = [f"Hồ sơ mã {code}: {vi}."]
    en_lines = [f"Case {code}: {en}."]
    if p.get("agency_vi"):
        vi_lines.append(f"Cơ quan: {p['agency_vi']}.")
        en_lines.append(f"Agency: {p['agency_en']}.")
    if p.get("question"):
        vi_lines.append(f"Nội dung đề nghị: {p['question']}")
        vi_lines.append("Doanh nghiệp trả lời trên trang theo dõi hồ sơ.")
        en_lines.append(f"The question (in Vietnamese): {p['question']}")
        en_lines.append("Answer it on your tracking page.")
    if p.get("outcome") in set(Outcome):
        label = OUTCOME_LABELS[Outcome(p["outcome"])]
        if label:
            vi_lines.append(f"Kết quả: {label[0]}.")
            en_lines.append(f"Outcome: {label[1]}.")
    if p.get("public_answer"):
        vi_lines.append(f"Trả lời doanh nghiệp: {p['public_answer']}")
        en_lines.append(f"The answer (in Vietnamese): {p['public_answer']}")
    if p.get("businesses"):
        vi_lines.append(f"Cùng kiến nghị với {p['businesses']} doanh nghiệp.")
        en_lines.append(f"Raised together by {p['businesses']} businesses.")
    vi_lines.append(f"Theo dõi hồ sơ (nhập mã số thuế để xem): {p.get('url')}")
    en_lines.append(f"Track it (your tax code opens it): {p.get('url')}")
    subject = f"[thaogo] Hồ sơ {code}: {vi} / {en}"
    text = "\n".join([*vi_lines, "", "---", *en_lines,
                      "", "Thư tự động, vui lòng không trả lời. / An automatic message;"
                      " please do not reply."])
    return subject, text, "Theo dõi hồ sơ / Track your case"
