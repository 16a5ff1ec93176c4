"""Membership moves: who takes over a departing member's open items (the router's
jobs.py runs them on each new configuration version)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

# The operators' queue for difficulties of a province that has no configuration.
from shared.deadlines import CLOSED
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    DifficultyAssigned,
    deterministic_id,
)
from shared.provinces import ConfigSet, Member, Person, ProvinceConfig

# --- membership moves (services/router/jobs.py runs them) ----------------------------------
#Membership changes: when the province file replaces or removes a member, that
# member's open difficulties move to whoever takes over, without a restart.
#
# How a replacement is recognised: the departing member stays in the file with
# `active: false` and `replaced_by: <member id>` (checked at load: the successor must
# be a member, a replaced member must be inactive). The chain is followed
# (A -> B -> C) to the first active member. A member deleted from the file, set
# inactive without `replaced_by`, or whose chain ends at no active member, hands
# over to the permanent deputy. A former permanent deputy's queue goes to the new one.
#
# What moves: active member assignments of difficulties that are not resolved or
# rejected. The router's status consumer records closures (`difficulty.status.v1`,
# table `closed_difficulties`) before its escalation rules run, so a difficulty
# resolved before the edit stays with the member who held it.
#
# Each move is a new `difficulty.assigned.v1` (role member) that `replaces` the old
# assignment, with rule `membership.member_replaced` or `membership.member_removed`,
# a reason and the configuration version that caused it. Idempotent: the new id is
# `deterministic_id(old assignment id, config version, "membership")`, so the same
# reload seen twice, or by two router replicas, yields the same ids; rows are
# inserted ON CONFLICT DO NOTHING and consumers deduplicate on the event id. Effects
# are ordered as the router's other handlers: emit, wait for the broker's
# acknowledgements, then record in the database (a crash in between re-emits the
# same ids on the next pass).
#
# When: at start-up (a change made while the router was down), at every new
# configuration version, and once more one interval later, for a difficulty that was
# being routed under the previous version while the reload happened.

RULE_REPLACED = "membership.member_replaced"
RULE_REMOVED = "membership.member_removed"
# The statuses that close a difficulty, as the deadlines count them.
CLOSING = CLOSED
REASON_MAX = 300


def holders(cfg: ProvinceConfig) -> set[str]:
    """Who may hold a member assignment: active members and the permanent deputy."""
    return {m.id for m in cfg.task_force.active_members()} | {cfg.task_force.permanent_deputy.id}


def successor(cfg: ProvinceConfig, member_id: str) -> tuple[Person, str] | None:
    """Who takes over `member_id`'s open items and by which rule; None if they still
    hold them."""
    tf = cfg.task_force
    if member_id in holders(cfg):
        return None
    members: dict[str, Member] = {m.id: m for m in tf.members}
    m = members.get(member_id)
    if m is None or m.replaced_by is None:
        return tf.permanent_deputy, RULE_REMOVED
    seen = {member_id}
    while m is not None and m.replaced_by is not None and m.replaced_by not in seen:
        seen.add(m.replaced_by)
        m = members.get(m.replaced_by)
        if m is not None and m.active:
            return m, RULE_REPLACED
    return tf.permanent_deputy, RULE_REPLACED  # the chain ends at no active member


def _move_reason(old_id: str, to: Person, rule: str, cfg: ProvinceConfig) -> str:
    deputy = to.id == cfg.task_force.permanent_deputy.id
    if rule == RULE_REPLACED and not deputy:
        vi = f"Thành viên {old_id} được thay thế: {to.name}, {to.title} tiếp nhận"
        en = f"Member {old_id} replaced: {to.name}, {to.title} takes over"
    elif rule == RULE_REPLACED:
        vi = f"Thành viên {old_id} được thay thế, người thay không còn: Tổ phó Thường trực"
        en = f"Member {old_id} replaced by no active member: the permanent deputy"
    else:
        vi = f"Thành viên {old_id} không còn trong Tổ công tác: Tổ phó Thường trực tiếp nhận"
        en = f"Member {old_id} left the task force: the permanent deputy takes over"
    text = f"{vi} / {en}"
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


def moved_id(old: uuid.UUID, config_version: str) -> uuid.UUID:
    return uuid.UUID(deterministic_id(old, config_version, "membership"))


def moves(
    current: Sequence[DifficultyAssigned], configs: ConfigSet, *, config_version: str,
    now: datetime,
) -> list[DifficultyAssigned]:
    """The assignments that take over `current` (open member assignments) under
    `configs`; nothing for a holder still in office, or a province with no file."""
    out: list[DifficultyAssigned] = []
    for a in current:
        if a.role is not AssignmentRole.MEMBER or a.member_id is None:
            continue
        cfg = configs.get(a.member_id.split(".", 1)[0])
        if cfg is None:
            continue  # the whole province file is gone: nobody to hand over to
        found = successor(cfg, a.member_id)
        if found is None:
            continue
        to, rule = found
        deputy = to.id == cfg.task_force.permanent_deputy.id
        agency = cfg.agency(cfg.rules.triage if deputy else to.agency)
        out.append(DifficultyAssigned(
            assignment_id=moved_id(a.assignment_id, config_version),
            difficulty_id=a.difficulty_id, tracking_code=a.tracking_code,
            province_code=a.province_code,
            agency_id=agency.id if agency else to.agency,
            agency_level=agency.level if agency else AgencyLevel.TASK_FORCE,
            role=AssignmentRole.MEMBER, member_id=to.id, rule=rule,
            reason=_move_reason(a.member_id, to, rule, cfg), config_version=config_version,
            replaces=a.assignment_id, urgency=a.urgency, kind=a.kind, category=a.category,
            zone_type=a.zone_type, assigned_at=now,
        ))
    return out
