"""Routing decisions: pure functions from a difficulty and its province's configuration
to assignments. No I/O, no clock (the caller passes `now`), no randomness: a replay of
the same difficulty under the same configuration yields the same assignments, ids
included.

decide() — a new difficulty:
  1. No configuration for the province -> ONE assignment to the operators' triage
     queue (`UNCONFIGURED_TRIAGE`), rule "fallback.triage".
  2. Zone type: the registry's type of the zone name the business gave
     (`shared.vn.zone_key`: "KCN VSIP II" == "khu công nghiệp vsip 2"), which wins
     over a type it declared (the reason says so: VSIP is an industrial park whatever
     the form said); else the type it declared; a name not in the registry without a
     type, or neither type nor name -> ONE assignment to the permanent deputy's
     triage queue (`rules.triage`), rule "fallback.triage".
  3. LEAD: `rules.lead_by_zone_type.<TYPE>`.
  4. CO_HANDLER: each agency of `rules.co_handlers_by_category.<category>` other than
     the lead.
  5. MEMBER: the task-force member(s) in charge by field (category) and area (ward,
     former district, zone), see members_for(); none -> the permanent deputy.

escalate() — one level up: district -> the province lead for the zone type;
province -> the ministry of `rules.escalation.<category>` (or `.default`); central or
task force -> the head.

movable() — what an escalation or reassignment request may move: only what the actor
holds (the lead its own, a co-handler its own part, the permanent deputy the holder's);
a member's or an outsider's request moves nothing.

reassign() — an agency asks for another agency: the case goes to the permanent
deputy's triage queue, who decides; from triage with a target agency (the deputy or
an operator decided) -> that agency; from triage without one -> decide() again (the
zone registry may have learnt the zone since), refused if that still cannot route.

Every assignment carries a deterministic id (`shared.events.deterministic_id` of
difficulty, role, agency, member, replaces), the rule that matched, a reason
(Vietnamese, " / ", English), the configuration version and `now`.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.router.routing_index import RoutingIndex, routing_index
from shared import topics
from shared.events import (
    CATEGORY_LABELS,
    EVENT_ID_NAMESPACE,
    ZONE_TYPE_LABELS,
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    Category,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    Kind,
    Status,
    Urgency,
    ZoneType,
    deterministic_id,
)
from shared.provinces import Agency, ConfigSet, Member, Person, ProvinceConfig
from shared.vn import area_key, resolve_province, zone_key

# The operators' queue for difficulties of a province that has no configuration.
UNCONFIGURED_TRIAGE = topics.UNCONFIGURED_TRIAGE
REASON_MAX = 300
_SHOWN_MAX = 80  # longest piece of submitted text quoted in a reason

RULE_TRIAGE = "fallback.triage"
RULE_MEMBER_NONE = "member.none->permanent_deputy"

_zone_key = functools.lru_cache(maxsize=16_384)(zone_key)
_area_key = functools.lru_cache(maxsize=16_384)(area_key)
_PLAN_MEMO_MAX = 50_000


class RoutingError(ValueError):
    """A routing request that cannot be carried out (unknown target, nowhere higher)."""


# --- building assignments ---------------------------------------------------------------------


_ID_NAMESPACE = EVENT_ID_NAMESPACE.bytes


def assignment_uuid(*parts: object) -> uuid.UUID:
    """`deterministic_id(*parts)` as a UUID, without its round trip through text (a test
    holds the two equal): three or four of these per difficulty were 4% of the router."""
    digest = hashlib.sha1(_ID_NAMESPACE + "|".join(str(p) for p in parts).encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


def _clip(text: str, limit: int = REASON_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(text: str) -> str:
    return _clip(" ".join(text.split()), _SHOWN_MAX)


def _reason(vi: str, en: str) -> str:
    return _clip(f"{vi} / {en}")


_FIELD_NAMES = frozenset(DifficultyAssigned.model_fields)
_setattr = object.__setattr__
# Fast construction (what model_construct does, without its per-field loop) is only
# valid for a model without post-init hooks or private attributes; else the public way.
_FAST = not DifficultyAssigned.__pydantic_post_init__ and not (
    DifficultyAssigned.__private_attributes__
)


def _construct(values: dict[str, Any]) -> DifficultyAssigned:
    """An assignment from values that are valid by construction (agency ids checked at
    configuration load, enums, clipped text): re-validating each one would cost more
    than the whole routing decision. Tests check the output validates."""
    if not _FAST:
        return DifficultyAssigned.model_construct(**values)
    m = DifficultyAssigned.__new__(DifficultyAssigned)
    _setattr(m, "__dict__", values)
    _setattr(m, "__pydantic_fields_set__", set(_FIELD_NAMES))
    _setattr(m, "__pydantic_extra__", None)
    _setattr(m, "__pydantic_private__", None)
    return m


@dataclass(frozen=True, slots=True)
class Step:
    """One assignment of a routing plan: everything but the difficulty's own fields."""

    agency_id: str
    agency_level: AgencyLevel
    role: AssignmentRole
    member_id: str | None
    rule: str
    reason: str


def _make(
    *,
    difficulty_id: uuid.UUID,
    tracking_code: str,
    province_code: str,
    urgency: Urgency,
    kind: Kind,
    category: Category,
    zone_type: ZoneType | None,
    step: Step,
    config_version: str,
    replaces: uuid.UUID | None,
    now: datetime,
    did: str | None = None,
) -> DifficultyAssigned:
    aid = assignment_uuid(
        did or str(difficulty_id), step.role.value, step.agency_id, step.member_id, replaces
    )
    return _construct(
        {
            "assignment_id": aid,
            "difficulty_id": difficulty_id,
            "tracking_code": tracking_code,
            "province_code": province_code,
            "agency_id": step.agency_id,
            "agency_level": step.agency_level,
            "role": step.role,
            "member_id": step.member_id,
            "rule": step.rule,
            "reason": step.reason,
            "config_version": config_version,
            "replaces": replaces,
            "urgency": urgency,
            "kind": kind,
            "category": category,
            "zone_type": zone_type,
            "assigned_at": now,
        }
    )


def _assignments(
    d: DifficultyReceived,
    zone_type: ZoneType | None,
    steps: tuple[Step, ...],
    *,
    config_version: str,
    now: datetime,
    replaces: uuid.UUID | None,
) -> list[DifficultyAssigned]:
    did = str(d.difficulty_id)
    return [
        _make(
            difficulty_id=d.difficulty_id,
            tracking_code=d.tracking_code,
            province_code=d.province_code,
            urgency=d.urgency,
            kind=d.kind,
            category=d.category,
            zone_type=zone_type,
            step=s,
            config_version=config_version,
            replaces=replaces,
            now=now,
            did=did,
        )
        for s in steps
    ]


def _following(
    current: DifficultyAssigned,
    agency: Agency,
    *,
    role: AssignmentRole,
    rule: str,
    reason: str,
    config_version: str,
    now: datetime,
    category: Category | None = None,
) -> DifficultyAssigned:
    """The assignment that supersedes `current`."""
    return _make(
        difficulty_id=current.difficulty_id,
        tracking_code=current.tracking_code,
        province_code=current.province_code,
        urgency=current.urgency,
        kind=current.kind,
        category=category or current.category,
        zone_type=current.zone_type,
        step=Step(agency.id, agency.level, role, None, _clip(rule), reason),
        config_version=config_version,
        replaces=current.assignment_id,
        now=now,
    )


# --- choosing the configuration -------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _task_force_slug(province_name: str) -> str | None:
    try:
        return resolve_province(province_name).task_force_slug
    except ValueError:
        return None


def config_for(d: DifficultyReceived, configs: ConfigSet) -> ProvinceConfig | None:
    """The configuration for a difficulty: by its province code, and by the task force
    intake chose for it (events of before carry none: the one its province name
    designates, "Bình Dương" under code 79 -> binh-duong)."""
    return configs.for_difficulty(
        d.province_code,
        d.task_force if d.task_force is not None else _task_force_slug(d.province_name))


# --- zones and members ------------------------------------------------------------------------


def _zone(d: DifficultyReceived, idx: RoutingIndex) -> tuple[ZoneType | None, str | None]:
    """(zone type, registered zone name): a registered zone's own type wins over the
    one declared; an unregistered name keeps the declared type."""
    if d.zone_name:
        z = idx.zones_by_key.get(_zone_key(d.zone_name))
        if z is not None:
            return z.type, z.name
    return d.zone_type, None


def _area_keys(d: DifficultyReceived, idx: RoutingIndex, zone_name: str | None) -> frozenset[str]:
    keys: set[str] = set()
    for place in (d.ward, d.district):
        if place:
            k = _area_key(place)
            if k:
                keys.add(k)
    if zone_name is not None:
        keys |= idx.zone_area_keys.get(zone_name, frozenset())
    return frozenset(keys)


def _members(
    cfg: ProvinceConfig, category: Category, area_keys: frozenset[str]
) -> list[tuple[Person, str]]:
    idx = routing_index(cfg)
    in_area: dict[str, Member] = {}
    for k in area_keys:
        for m in idx.members_by_area.get(k, ()):
            in_area[m.id] = m
    # Specificity: field and area (2) > field only or area only (1) > none. A member
    # who lists fields (or areas) is in charge of those only: a member of fields
    # [labour] and areas [Dĩ An] does not take a labour case from Thuận An.
    found: list[tuple[Member, int]] = []
    for m in idx.members_by_field.get(category, ()):
        if not m.areas:
            found.append((m, 1))
        elif m.id in in_area:
            found.append((m, 2))
    for m in in_area.values():
        if not m.fields:
            found.append((m, 1))
    if not found:
        return [(cfg.task_force.permanent_deputy, RULE_MEMBER_NONE)]
    best = max(s for _, s in found)
    rank = idx.member_rank
    winners = sorted((m for m, s in found if s == best), key=lambda m: rank[m.id])
    if best == 2:
        return [(m, "member.field+area") for m in winners]
    return [(m, "member.field" if m.fields else "member.area") for m in winners]


def members_for(d: DifficultyReceived, cfg: ProvinceConfig) -> list[tuple[Person, str]]:
    """The task-force members in charge of a difficulty, each with the rule that chose
    them: the most specific match wins ("member.field+area" over "member.field" and
    "member.area"), equal matches all get it; none -> the permanent deputy
    ("member.none->permanent_deputy"). Never empty.

    Areas compare with `shared.vn.area_key` (folded, without "phường", "TP.",
    ...): the difficulty's ward and district, and the registered zone it is in (its
    name and former district) against each member's areas (wards, former districts,
    zone names)."""
    idx = routing_index(cfg)
    _, zone_name = _zone(d, idx)
    return _members(cfg, d.category, _area_keys(d, idx, zone_name))


# --- decide ---------------------------------------------------------------------------------


def _zone_phrase(zt: ZoneType, zone_name: str | None, given: str | None,
                 declared: ZoneType | None = None) -> tuple[str, str]:
    if zt is ZoneType.NONE:
        return "Doanh nghiệp ngoài khu, cụm công nghiệp", "Business outside parks and clusters"
    vi, en = ZONE_TYPE_LABELS[zt]
    if zone_name is not None and declared is not None:
        dvi, den = ZONE_TYPE_LABELS[declared]
        return (f"Doanh nghiệp trong {zone_name} ({vi.lower()} theo danh mục, doanh nghiệp"
                f" khai {dvi.lower()})",
                f"Business in {zone_name} ({en.lower()} per the registry, declared"
                f" {den.lower()})")
    if zone_name is not None:
        return f"Doanh nghiệp trong {zone_name}", f"Business in {zone_name} ({en.lower()})"
    article = "an" if en[0] in "AEIOU" else "a"
    if given:
        shown = _shown(given)
        return (
            f"Doanh nghiệp trong {vi.lower()} '{shown}' (chưa có trong danh mục)",
            f"Business in {article} {en.lower()} '{shown}' (not in the registry)",
        )
    return f"Doanh nghiệp trong {vi.lower()}", f"Business in {article} {en.lower()}"


def _plan(
    cfg: ProvinceConfig,
    zt: ZoneType,
    zone_name: str | None,
    given: str | None,
    category: Category,
    area_keys: frozenset[str],
    declared: ZoneType | None = None,
) -> tuple[Step, ...]:
    """The lead, co-handler and member steps: a function of the configuration and of
    these few inputs only, so it is memoised per configuration. `declared`: the zone
    type the business gave, where the registry overruled it."""
    idx = routing_index(cfg)
    key = (zt, zone_name, given, category, area_keys, declared)
    memo: dict[tuple[object, ...], tuple[Step, ...]] = idx.memo
    found = memo.get(key)
    if found is not None:
        return found
    steps: list[Step] = []
    lead = idx.agencies[cfg.rules.lead_by_zone_type[zt]]
    zvi, zen = _zone_phrase(zt, zone_name, given, declared)
    steps.append(
        Step(
            lead.id,
            lead.level,
            AssignmentRole.LEAD,
            None,
            f"lead_by_zone_type.{zt.value}",
            _reason(f"{zvi}: {lead.name_vi} chủ trì", f"{zen}: {lead.name_en} leads"),
        )
    )
    cat_vi, cat_en = (x.lower() for x in CATEGORY_LABELS[category])
    seen = {lead.id}
    for aid in cfg.rules.co_handlers_by_category.get(category, ()):
        if aid in seen:
            continue
        seen.add(aid)
        a = idx.agencies[aid]
        steps.append(
            Step(
                a.id,
                a.level,
                AssignmentRole.CO_HANDLER,
                None,
                f"co_handlers_by_category.{category.value}",
                _reason(
                    f"Lĩnh vực {cat_vi}: {a.name_vi} phối hợp",
                    f"Field {cat_en}: {a.name_en} co-handles",
                ),
            )
        )
    what = {
        "member.field+area": (f"lĩnh vực {cat_vi} trên địa bàn", f"{cat_en} in the area"),
        "member.field": (f"lĩnh vực {cat_vi}", cat_en),
        "member.area": ("địa bàn", "the area"),
    }
    for person, rule in _members(cfg, category, area_keys):
        if rule == RULE_MEMBER_NONE:
            agency = idx.agencies[cfg.rules.triage]
            vi = "Không có thành viên phụ trách lĩnh vực, địa bàn này: Tổ phó Thường trực"
            en = "No member in charge of this field and area: the permanent deputy"
        else:
            agency = idx.agencies[person.agency]
            w_vi, w_en = what[rule]
            vi = f"Thành viên phụ trách {w_vi}: {person.name}, {person.title}"
            en = f"Member in charge of {w_en}: {person.name}, {person.title}"
        steps.append(
            Step(agency.id, agency.level, AssignmentRole.MEMBER, person.id, rule, _reason(vi, en))
        )
    plan = tuple(steps)
    _remember(memo, key, plan)
    return plan


def _remember(memo: dict[tuple[object, ...], Any], key: tuple[object, ...], value: Any) -> None:
    if len(memo) >= _PLAN_MEMO_MAX:
        memo.clear()
    memo[key] = value


def _triage_step(cfg: ProvinceConfig | None, vi: str, en: str, *, rule: str) -> Step:
    return Step(
        cfg.rules.triage if cfg is not None else UNCONFIGURED_TRIAGE,
        AgencyLevel.TASK_FORCE,
        AssignmentRole.TRIAGE,
        None,
        rule,
        _reason(vi, en),
    )


def _triage(
    d: DifficultyReceived,
    cfg: ProvinceConfig | None,
    vi: str,
    en: str,
    *,
    rule: str,
    config_version: str,
    now: datetime,
    replaces: uuid.UUID | None = None,
) -> DifficultyAssigned:
    step = _triage_step(cfg, vi, en, rule=rule)
    return _assignments(
        d, d.zone_type, (step,), config_version=config_version, now=now, replaces=replaces
    )[0]


Route = tuple[ZoneType | None, tuple[Step, ...]]
"""Where a difficulty goes: its zone type (as routed) and the steps of its assignments."""


def route(d: DifficultyReceived, cfg: ProvinceConfig | None) -> Route:
    """The steps `decide` makes assignments of (see the module docstring): lead,
    co-handlers and members, or one triage step."""
    if cfg is None:
        code, name = d.province_code, _shown(d.province_name)
        vi = f"Chưa có cấu hình cho tỉnh, thành phố mã {code} ({name})"
        en = f"No configuration for province code {code} ({name})"
    else:
        idx = routing_index(cfg)
        # The route depends on these fields only: memoised per configuration, it is one
        # lookup for the many difficulties that share them.
        key = ("route", d.zone_type, d.zone_name, d.category, d.ward, d.district)
        found: Route | None = idx.memo.get(key)
        if found is not None:
            return found
        zt, zone_name = _zone(d, idx)
        if zt is not None:
            given = d.zone_name if zone_name is None and zt is not ZoneType.NONE else None
            declared = d.zone_type if d.zone_type not in (None, zt) else None
            found = zt, _plan(cfg, zt, zone_name, given, d.category,
                              _area_keys(d, idx, zone_name), declared)
            _remember(idx.memo, key, found)
            return found
        if d.zone_name:
            shown = _shown(d.zone_name)
            vi = f"Không xác định được khu/cụm: '{shown}'"
            en = f"Unknown zone '{shown}'"
        else:
            vi = "Không rõ doanh nghiệp ở trong hay ngoài khu, cụm công nghiệp"
            en = "Zone not given: inside or outside parks and clusters unknown"
    return d.zone_type, (_triage_step(cfg, vi, en, rule=RULE_TRIAGE),)


def _decide(
    d: DifficultyReceived,
    cfg: ProvinceConfig | None,
    *,
    config_version: str,
    now: datetime,
    replaces: uuid.UUID | None,
) -> list[DifficultyAssigned]:
    zt, steps = route(d, cfg)
    return _assignments(d, zt, steps, config_version=config_version, now=now, replaces=replaces)


def decide(
    d: DifficultyReceived,
    cfg: ProvinceConfig | None,
    *,
    config_version: str,
    now: datetime,
) -> list[DifficultyAssigned]:
    """The assignments of a new difficulty (never empty): lead, co-handlers and members,
    or one triage assignment when it cannot be routed (see the module docstring)."""
    return _decide(d, cfg, config_version=config_version, now=now, replaces=None)


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
    - anyone else — a member, an operator, an agency with no part: nothing.
    """
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
) -> list[DifficultyAssigned]:
    """The assignment(s) superseding `current` after a reassignment request:

    - with `target_agency_id` (the permanent deputy or an operator decided): that
      agency, role LEAD (TRIAGE if it is the triage queue), rule "reassign.target";
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
        return [
            _following(
                current,
                target,
                role=role,
                rule="reassign.target",
                reason=_reason(
                    f"Chuyển {target.name_vi} theo quyết định của {who}{extra}",
                    f"Reassigned to {target.name_en} by {who}{extra}",
                ),
                config_version=config_version,
                now=now,
            )
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
CLOSING = (Status.RESOLVED, Status.REJECTED)
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


