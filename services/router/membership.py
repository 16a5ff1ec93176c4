"""Membership changes: when the province file replaces or removes a member, that
member's open difficulties move to whoever takes over, without a restart.

How a replacement is recognised: the departing member stays in the file with
`active: false` and `replaced_by: <member id>` (checked at load: the successor must
be a member, a replaced member must be inactive). The chain is followed
(A -> B -> C) to the first active member. A member deleted from the file, set
inactive without `replaced_by`, or whose chain ends at no active member, hands
over to the permanent deputy. A former permanent deputy's queue goes to the new one.

What moves: active member assignments of difficulties that are not resolved or
rejected. The router's status consumer records closures (`difficulty.status.v1`,
table `closed_difficulties`) before its escalation rules run, so a difficulty
resolved before the edit stays with the member who held it.

Each move is a new `difficulty.assigned.v1` (role member) that `replaces` the old
assignment, with rule `membership.member_replaced` or `membership.member_removed`,
a reason and the configuration version that caused it. Idempotent: the new id is
`deterministic_id(old assignment id, config version, "membership")`, so the same
reload seen twice, or by two router replicas, yields the same ids; rows are
inserted ON CONFLICT DO NOTHING and consumers deduplicate on the event id. Effects
are ordered as the router's other handlers: emit, wait for the broker's
acknowledgements, then record in the database (a crash in between re-emits the
same ids on the next pass).

When: at start-up (a change made while the router was down), at every new
configuration version, and once more one interval later, for a difficulty that was
being routed under the previous version while the reload happened.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from services.router import store
from services.router.handlers import RouterMetrics
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    DifficultyAssigned,
    DifficultyStatusChanged,
    Envelope,
    Status,
    deterministic_id,
)
from shared.kafka import Emitter
from shared.provinces import ConfigHolder, ConfigSet, Member, Person, ProvinceConfig
from shared.service import Runtime

log = logging.getLogger("thaogo.router.membership")

RULE_REPLACED = "membership.member_replaced"
RULE_REMOVED = "membership.member_removed"
CLOSING = (Status.RESOLVED, Status.REJECTED)
REASON_MAX = 300
SOURCE = "thaogo/router"


# --- the rule (pure) -------------------------------------------------------------------------


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


def _reason(old_id: str, to: Person, rule: str, cfg: ProvinceConfig) -> str:
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
            reason=_reason(a.member_id, to, rule, cfg), config_version=config_version,
            replaces=a.assignment_id, urgency=a.urgency, kind=a.kind, category=a.category,
            zone_type=a.zone_type, assigned_at=now,
        ))
    return out


# --- the router's side (I/O) -----------------------------------------------------------------

# The SQL is here rather than in store.py: it is this module's own table and query.
_OPEN_ELSEWHERE = f"""
    SELECT {store.ASSIGNMENT} FROM assignments a
    WHERE a.active AND a.role = 'member' AND a.member_id IS NOT NULL
      AND a.member_id <> ALL($1::text[])
      AND NOT EXISTS (SELECT 1 FROM closed_difficulties c WHERE c.difficulty_id = a.difficulty_id)
    ORDER BY a.assigned_at, a.assignment_id
"""


async def record_closures(
    conn: asyncpg.Connection, *, changes: Sequence[DifficultyStatusChanged]
) -> None:
    closing = [c for c in changes if c.status in CLOSING]
    if not closing:
        return
    await conn.execute(
        "INSERT INTO closed_difficulties (difficulty_id, status, closed_at)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])"
        " ON CONFLICT (difficulty_id) DO NOTHING",
        [c.difficulty_id for c in closing], [c.status.value for c in closing],
        [c.changed_at for c in closing],
    )


async def open_member_assignments_elsewhere(
    conn: asyncpg.Connection, *, holder_ids: Sequence[str]
) -> list[DifficultyAssigned]:
    """Open member assignments held by someone who is no longer a holder."""
    rows = await conn.fetch(_OPEN_ELSEWHERE, sorted(holder_ids))
    return [store.assignment(r) for r in rows]


@dataclass
class Membership:
    rt: Runtime
    config: ConfigHolder
    metrics: RouterMetrics
    interval_s: float = 2.0
    chunk: int = 500

    async def on_status(
        self, batch: list[Envelope[DifficultyStatusChanged]], emitter: Emitter
    ) -> int:
        """Remember which difficulties are closed; idempotent by construction."""
        closing = [e.data for e in batch if e.data.status in CLOSING]
        if closing:
            async with self.rt.db().acquire() as conn:
                await record_closures(conn, changes=closing)
        return 0

    async def reconcile(self) -> int:
        """Move every open member assignment whose holder left; returns how many moved."""
        configs = self.config.current
        ids = set().union(*(holders(cfg) for cfg in configs.values()))
        async with self.rt.db().acquire() as conn:
            current = await open_member_assignments_elsewhere(conn, holder_ids=list(ids))
        new = moves(current, configs, config_version=configs.version, now=datetime.now(UTC))
        for i in range(0, len(new), self.chunk):
            part = new[i: i + self.chunk]
            emitter = Emitter(self.rt.producer, source=SOURCE)
            for a in part:
                await emitter.emit(a, event_id=str(a.assignment_id), time=a.assigned_at)
                self.metrics.assignments.labels(a.agency_id, "membership", a.role.value).inc()
            await emitter.flush()
            async with self.rt.db().acquire() as conn, conn.transaction():
                await store.save_assignments(conn, assignments=part)
        if new:
            by_rule: dict[str, int] = {}
            for a in new:
                by_rule[a.rule] = by_rule.get(a.rule, 0) + 1
            log.info("member assignments moved", extra={"config_version": configs.version,
                                                        "moved": by_rule})
        return len(new)

    async def run(self, _: Runtime) -> None:
        """Reconcile at start, on each new configuration version and once after it."""
        done: str | None = None
        again = False
        while True:
            version = self.config.version
            if version != done or again:
                again = version != done
                await self.reconcile()
                done = version
            await asyncio.sleep(self.interval_s)
