"""decide(): the assignments of a new difficulty, and the building blocks every rule of
the router shares (deterministic ids, reasons, steps). See the package's docstring."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.router.routing_index import RoutingIndex, routing_index
from shared import topics
from shared.events import (
    CATEGORY_LABELS,
    ZONE_TYPE_LABELS,
    AgencyLevel,
    AssignmentRole,
    Category,
    DifficultyAssigned,
    DifficultyReceived,
    Kind,
    Urgency,
    ZoneType,
    deterministic_uuid,
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
    aid = deterministic_uuid(
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
