"""Policy bottlenecks (#25 item 1): which items the permanent deputy may merge, into a
bottleneck for which central ministry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from shared import vn
from shared.deadlines import CLOSED
from shared.events import AgencyLevel, Status
from shared.provinces import ProvinceConfig

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
