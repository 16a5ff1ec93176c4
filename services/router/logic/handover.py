"""escalate(), movable(), why() and reassign(): a difficulty handed on by those who hold
it. See the package's docstring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# The operators' queue for difficulties of a province that has no configuration.
from services.router.logic.routing import (
    UNCONFIGURED_TRIAGE,
    RoutingError,
    _decide,
    _following,
    _reason,
    _shown,
    _triage,
)
from services.router.routing_index import routing_index
from shared.events import (
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    Category,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    Status,
    ZoneType,
)
from shared.provinces import ProvinceConfig

# --- escalate -------------------------------------------------------------------------------


def escalate(
    current: DifficultyAssigned,
    d_category: Category | None,
    cfg: ProvinceConfig,
    *,
    config_version: str,
    now: datetime,
    note: str | None = None,
) -> DifficultyAssigned:
    """The next level up from `current` (role ESCALATION, replaces = current):

    - district -> the province lead of the zone type (rule
      "escalation.district->lead_by_zone_type.<TYPE>"); when that lead is the
      current agency itself, on to the ministry as below;
    - province -> `rules.escalation.<category>`, else `.default` (rule
      "escalation.<category>" or "escalation.default");
    - central or task force -> the head (rule "escalation.head").

    Raises RoutingError when `current` is already with the head.
    """
    category = d_category or current.category
    level = current.agency_level
    idx = routing_index(cfg)
    suffix_vi = f" ({_shown(note)})" if note else ""
    suffix_en = suffix_vi
    if level is AgencyLevel.DISTRICT:
        zt = current.zone_type or ZoneType.NONE
        lead = idx.agencies[cfg.rules.lead_by_zone_type[zt]]
        if lead.id != current.agency_id:
            return _following(
                current,
                lead,
                role=AssignmentRole.ESCALATION,
                rule=f"escalation.district->lead_by_zone_type.{zt.value}",
                reason=_reason(
                    f"Vượt thẩm quyền cấp huyện, chuyển {lead.name_vi}{suffix_vi}",
                    f"Beyond the district's authority, to {lead.name_en}{suffix_en}",
                ),
                config_version=config_version,
                now=now,
                category=category,
            )
        level = AgencyLevel.PROVINCE
    if level is AgencyLevel.PROVINCE:
        key = category.value if category.value in cfg.rules.escalation else "default"
        ministry = idx.agencies[cfg.rules.escalation[key]]
        return _following(
            current,
            ministry,
            role=AssignmentRole.ESCALATION,
            rule=f"escalation.{key}",
            reason=_reason(
                f"Thuộc thẩm quyền Trung ương, báo cáo, đề xuất {ministry.name_vi}{suffix_vi}",
                f"Under central authority, reported to {ministry.name_en}{suffix_en}",
            ),
            config_version=config_version,
            now=now,
            category=category,
        )
    head = idx.agencies[cfg.rules.head]
    if current.agency_id == head.id:
        raise RoutingError(f"{current.assignment_id} is already with the head ({head.id})")
    return _following(
        current,
        head,
        role=AssignmentRole.ESCALATION,
        rule="escalation.head",
        reason=_reason(
            f"Báo cáo Tổ trưởng chỉ đạo giải quyết{suffix_vi}",
            f"Reported to the head of the task force{suffix_en}",
        ),
        config_version=config_version,
        now=now,
        category=category,
    )


# --- who may move what ----------------------------------------------------------------------

_HOLDING = frozenset({AssignmentRole.LEAD, AssignmentRole.ESCALATION, AssignmentRole.TRIAGE})


@dataclass(frozen=True, slots=True)
class Movable:
    """What a status change may move: the assignments, or why none (`ignored`, a short
    code fit for a metric label)."""

    assignments: list[DifficultyAssigned]
    ignored: str | None = None


def movable(
    change: DifficultyStatusChanged, current: list[DifficultyAssigned],
    triage_agency: str | None,
) -> Movable:
    """The assignments an escalated or reassign_requested change may move, by the
    actor's own standing in the difficulty (intake checks the same; this is the second
    line, should an event come from elsewhere or an older intake):

    - the agency holding the difficulty (lead, escalation, triage): its assignment;
    - the permanent deputy (the province's triage agency): the holder's assignment
      (the one the change names, else every holding one);
    - a co-handling agency: its own assignment, on reassign_requested only;
    - the business, reassign_requested (its second "not resolved"): the holder's;
    - anyone else — a member, an operator, an agency with no part: nothing.
    """
    if (change.actor_kind is ActorKind.BUSINESS and change.target_agency_id is None
            and change.status is Status.REASSIGN_REQUESTED):
        # The business said a second time that the answer did not resolve it (#20 item 6):
        # the holder's assignment goes to the permanent deputy's triage.
        held = [a for a in current if a.role in _HOLDING and a.role is not AssignmentRole.TRIAGE]
        return Movable(held) if held else Movable([], "nothing_held")
    if change.actor_kind is not ActorKind.AGENCY:
        return Movable([], "not_an_agency")
    named = [a for a in current if a.assignment_id == change.assignment_id]
    own = [a for a in (named or current)
           if a.agency_id == change.actor_id and a.role is not AssignmentRole.MEMBER]
    holding = [a for a in own if a.role in _HOLDING]
    if holding:
        return Movable(holding)
    if triage_agency is not None and change.actor_id == triage_agency:
        held = [a for a in named if a.role in _HOLDING] or [
            a for a in current if a.role in _HOLDING]
        return Movable(held) if held else Movable([], "nothing_held")
    if own:
        if change.status is Status.REASSIGN_REQUESTED:
            return Movable(own)
        return Movable([], "co_handler_escalation")
    return Movable([], "not_held")


def why(change: DifficultyStatusChanged) -> str | None:
    """The reason a change gives for moving the difficulty, as the new assignment quotes
    it: a resolution's reason (beyond provincial authority), else the note; with the
    agency a decliner suggested (advice for the permanent deputy, not a route)."""
    text = (change.resolution.reason if change.resolution and change.resolution.reason
            else change.note)
    if change.suggested_agency_id is not None:
        text = f"{text or ''} → {change.suggested_agency_id}".strip()
    return text


def correct(
    current: DifficultyAssigned,
    d: DifficultyReceived,
    cfg: ProvinceConfig | None,
    *,
    config_version: str,
    now: datetime,
) -> list[DifficultyAssigned]:
    """The assignments of a difficulty the permanent deputy corrected in triage (`d` as
    corrected, `cfg` its task force's, another province's if it moved there): routed
    again as if new, each replacing the triage assignment `current`. It may end in
    triage again (the new province's, or a zone still unknown): the deputy decides."""
    return _decide(d, cfg, config_version=config_version, now=now,
                   replaces=current.assignment_id)


# --- reassign -------------------------------------------------------------------------------


def reassign(
    current: DifficultyAssigned,
    d: DifficultyReceived,
    cfg: ProvinceConfig | None,
    requested_by: str,
    *,
    config_version: str,
    now: datetime,
    target_agency_id: str | None = None,
    note: str | None = None,
    decided_by: str | None = None,
    co_agency_ids: Sequence[str] = (),
) -> list[DifficultyAssigned]:
    """The assignment(s) superseding `current` after a reassignment request:

    - with `target_agency_id` (the permanent deputy decided): that agency, role LEAD
      (TRIAGE if it is the triage queue), rule "manual:<member id>" of the deputy who
      decided (`decided_by`; "reassign.target" without one), and beside it a co_handler
      assignment for each of `co_agency_ids` under the same rule, each replacing
      `current` as the lead does;
    - from an agency, without a target: the permanent deputy's triage queue, role
      TRIAGE, rule "reassign.triage" — the deputy decides;
    - from triage, without a target: decide() again under `cfg` (the zone registry may
      know the zone now), each new assignment replacing `current`; RoutingError if it
      still ends in triage.

    Raises RoutingError for an unknown target or the agency already assigned.
    """
    who = _shown(requested_by)
    extra = f" ({_shown(note)})" if note else ""
    triage_id = cfg.rules.triage if cfg is not None else UNCONFIGURED_TRIAGE
    if target_agency_id is not None:
        target = cfg.agency(target_agency_id) if cfg is not None else None
        if target is None:
            raise RoutingError(
                f"unknown agency {target_agency_id!r} for province {d.province_code}"
            )
        if target.id == current.agency_id:
            raise RoutingError(f"{target.id} already holds assignment {current.assignment_id}")
        role = AssignmentRole.TRIAGE if target.id == triage_id else AssignmentRole.LEAD
        rule = f"manual:{decided_by}" if decided_by else "reassign.target"
        lead = _following(
            current,
            target,
            role=role,
            rule=rule,
            reason=_reason(
                f"Chuyển {target.name_vi} theo quyết định của {who}{extra}",
                f"Reassigned to {target.name_en} by {who}{extra}",
            ),
            config_version=config_version,
            now=now,
        )
        helpers = [cfg.agency(a) for a in co_agency_ids] if cfg is not None else []
        return [lead] + [
            _following(
                current,
                helper,
                role=AssignmentRole.CO_HANDLER,
                rule=rule,
                reason=_reason(
                    f"Phối hợp với {target.name_vi} theo quyết định của {who}",
                    f"Co-handles with {target.name_en}, decided by {who}",
                ),
                config_version=config_version,
                now=now,
            )
            for helper in helpers
            if helper is not None and helper.id not in (target.id, triage_id)
        ]
    if current.agency_id != triage_id:
        return [
            _triage(
                d,
                cfg,
                f"{who} đề nghị chuyển cơ quan khác; Tổ phó Thường trực quyết định{extra}",
                f"{who} asked for another agency; the permanent deputy decides{extra}",
                rule="reassign.triage",
                config_version=config_version,
                now=now,
                replaces=current.assignment_id,
            )
        ]
    out = _decide(d, cfg, config_version=config_version, now=now, replaces=current.assignment_id)
    if all(a.role is AssignmentRole.TRIAGE for a in out):
        raise RoutingError(
            f"{d.difficulty_id} still cannot be routed automatically: give a target agency"
        )
    return out
