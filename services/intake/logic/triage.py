"""The permanent deputy's triage decisions beyond dispatch and reject (#20 item 3): the
co-handlers of a dispatch, correcting a difficulty's zone type, category or province,
and merging a duplicate into the difficulty that carries on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.intake.logic.status import TRANSITIONS, Held, StatusForbidden
from shared import vn
from shared.deadlines import HANDLING_ROLES
from shared.events import (
    ActorKind,
    CaseRef,
    Category,
    Correction,
    DifficultyReceived,
    Status,
    ZoneType,
)
from shared.provinces import ConfigSet, ProvinceConfig

CO_HANDLERS_MAX = 20


class TriageConflict(Exception):
    """A decision the difficulty's state does not allow (a 409), naming the field."""

    def __init__(self, field: str, en: str, vi: str) -> None:
        super().__init__(en)
        self.field = field
        self.en = en
        self.vi = vi


def check_deputy(actor_kind: ActorKind, actor_id: str, cfg: ProvinceConfig | None) -> None:
    """StatusForbidden (a 403) unless the caller is the permanent deputy (the triage
    agency) of the difficulty's task force: only the deputy corrects and merges."""
    if actor_kind is ActorKind.AGENCY and cfg is not None and actor_id == cfg.rules.triage:
        return
    raise StatusForbidden(
        "Authorization", "only the permanent deputy of the difficulty's task force corrects "
        "or merges it", "chỉ Tổ phó Thường trực của Tổ công tác phụ trách được sửa thông tin "
        "hoặc gộp phản ánh")


def check_co_handlers(co_agency_ids: Sequence[str], *, lead: str | None,
                      cfg: ProvinceConfig | None) -> list[str]:
    """The co-handlers a dispatch names, each once and in the order given: agencies of
    the task force other than the lead and the triage queue; InvalidField otherwise."""
    if co_agency_ids and lead is None:
        raise vn.InvalidField("co_agency_ids", "co-handlers go with a dispatch to a lead "
                              "agency (target_agency_id)",
                              "chỉ chọn cơ quan phối hợp khi giao cơ quan chủ trì")
    out: list[str] = []
    for agency_id in co_agency_ids:
        agency_id = agency_id.strip()
        if not agency_id or agency_id in out:
            continue
        if cfg is None or cfg.agency(agency_id) is None:
            raise vn.InvalidField("co_agency_ids", f"no agency {agency_id!r} in this task "
                                  "force", f"không có cơ quan {agency_id!r} trong Tổ công tác")
        if agency_id in (lead, cfg.rules.triage):
            raise vn.InvalidField("co_agency_ids", f"{agency_id} cannot co-handle: it leads "
                                  "or is the triage queue",
                                  f"{agency_id} không thể là cơ quan phối hợp")
        out.append(agency_id)
    if len(out) > CO_HANDLERS_MAX:
        raise vn.InvalidField("co_agency_ids", f"at most {CO_HANDLERS_MAX} co-handlers",
                              f"tối đa {CO_HANDLERS_MAX} cơ quan phối hợp")
    return out


def in_triage(held: Sequence[Held], cfg: ProvinceConfig) -> bool:
    """Whether the permanent deputy's triage queue holds the difficulty."""
    return any(h.agency_id == cfg.rules.triage and h.role in HANDLING_ROLES for h in held)


def check_correctable(status: str, held: Sequence[Held], cfg: ProvinceConfig) -> None:
    """TriageConflict unless the difficulty is open and waiting in triage: a correction
    routes it again, which only the queue's own items may be."""
    if not TRANSITIONS[Status(status)]:
        raise TriageConflict("status", "the difficulty is closed: nothing to correct",
                             "phản ánh đã đóng, không sửa thông tin được")
    if not in_triage(held, cfg):
        raise TriageConflict(
            "status", "only a difficulty waiting in triage is corrected (an agency holds "
            "this one: dispatch it back first)",
            "chỉ sửa thông tin phản ánh đang chờ phân loại (phản ánh này đã có cơ quan xử lý)")


def correction_of(d: DifficultyReceived, configs: ConfigSet, *,
                  zone_type: ZoneType | None, clear_zone: bool, category: Category | None,
                  province: vn.Province | None) -> Correction:
    """The difficulty's zone type, category and province as corrected: what is given
    replaces, the rest stays. InvalidField when nothing changes, or when no task force
    takes in difficulties of the province given."""
    province_code, province_name, task_force = d.province_code, d.province_name, d.task_force
    if province is not None:
        target = configs.for_difficulty(province.code, province.task_force_slug)
        if target is None:
            raise vn.InvalidField(
                "province", f"no task force takes in difficulties of {province.name}",
                f"chưa có Tổ công tác tiếp nhận phản ánh của {province.name}")
        province_code, province_name = province.code, province.name
        task_force = province.task_force_slug
    fixed = Correction(
        zone_type=None if clear_zone else (zone_type or d.zone_type),
        category=category or d.category, province_code=province_code,
        province_name=province_name, task_force=task_force)
    before = Correction(zone_type=d.zone_type, category=d.category,
                        province_code=d.province_code, province_name=d.province_name,
                        task_force=d.task_force)
    if fixed == before:
        raise vn.InvalidField("correction", "nothing to correct: give a zone type, category "
                              "or province that differs from the difficulty's",
                              "không có gì thay đổi: chọn loại khu, lĩnh vực hoặc tỉnh khác")
    return fixed


def corrected(d: DifficultyReceived, c: Correction) -> DifficultyReceived:
    """The difficulty as its correction makes it (what the router routes again)."""
    return d.model_copy(update=c.model_dump())


@dataclass(frozen=True, slots=True)
class MergePair:
    """The duplicate and the difficulty it merges into, as their events name them."""

    duplicate: CaseRef
    kept: CaseRef


def check_merge(*, duplicate: DifficultyReceived, duplicate_status: str,
                kept: DifficultyReceived | None, kept_status: str | None,
                duplicate_task_force: str | None, kept_task_force: str | None) -> MergePair:
    """A merge of `duplicate` into `kept`: both of the same task force, the kept one not
    itself merged away, the duplicate still open. InvalidField("into") for a kept
    difficulty that cannot be; TriageConflict("status") for a closed duplicate."""
    if kept is None or kept_status is None:
        raise vn.InvalidField("into", "no difficulty with this tracking code or id",
                              "không có phản ánh với mã này")
    if kept.difficulty_id == duplicate.difficulty_id:
        raise vn.InvalidField("into", "a difficulty is not a duplicate of itself",
                              "không gộp phản ánh vào chính nó")
    if kept_task_force is None or kept_task_force != duplicate_task_force:
        raise vn.InvalidField("into", "the kept difficulty belongs to another task force: "
                              "a duplicate merges into one of the same province",
                              "phản ánh được giữ thuộc Tổ công tác khác: chỉ gộp trong cùng "
                              "tỉnh, thành phố")
    if kept_status == Status.MERGED.value:
        raise vn.InvalidField("into", "that difficulty was itself merged into another: "
                              "merge into the one that carries on",
                              "phản ánh đó đã được gộp vào phản ánh khác: chọn phản ánh "
                              "đang được giữ")
    if not TRANSITIONS[Status(duplicate_status)]:
        raise TriageConflict("status", "the difficulty is closed already: nothing to merge",
                             "phản ánh đã đóng, không gộp được")
    return MergePair(CaseRef(difficulty_id=duplicate.difficulty_id,
                             tracking_code=duplicate.tracking_code),
                     CaseRef(difficulty_id=kept.difficulty_id, tracking_code=kept.tracking_code))


def merge_reference(raw: str) -> tuple[str, str]:
    """("id", uuid text) or ("code", tracking code) from what the deputy typed for the
    kept difficulty; InvalidField("into") if it is neither."""
    s = raw.strip()
    if len(s) == 36 and s.count("-") == 4:
        try:
            return "id", str(uuid.UUID(s))
        except ValueError:
            pass
    code = s.upper()
    if 6 <= len(code) <= 20 and all(ch.isalnum() or ch == "-" for ch in code) and code.isascii():
        return "code", code
    raise vn.InvalidField("into", "give the kept difficulty's tracking code or id",
                          "nhập mã theo dõi hoặc mã phản ánh được giữ")


__all__ = [
    "CO_HANDLERS_MAX",
    "MergePair",
    "TriageConflict",
    "check_co_handlers",
    "check_correctable",
    "check_deputy",
    "check_merge",
    "corrected",
    "correction_of",
    "in_triage",
    "merge_reference",
]
