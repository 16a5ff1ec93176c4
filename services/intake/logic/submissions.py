"""A submission's rules: its tracking code, the fingerprint that makes `Idempotency-Key`
safe, and the task force it goes to still open and in the province's scope."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date
from typing import Any

from shared import vn
from shared.events import (
    DifficultyReceived,
)
from shared.provinces import ConfigSet

# Crockford's alphabet without I, L, O, U: nothing a business could misread on the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def tracking_code() -> str:
    """A short human code the business keeps, e.g. "TG-4K7M-9QXR" (40 random bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"TG-{raw[:4]}-{raw[4:]}"


def request_fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


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
