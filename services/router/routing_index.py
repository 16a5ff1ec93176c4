"""The router's lookups over one province's configuration, built once per loaded
configuration and dropped with it: the members by field and by area, their order in
the file, and the memo of routes and plans (services/router/logic/routing.py). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.events import Category
from shared.provinces import Agency, Member, ProvinceConfig, ZoneSpec


@dataclass(frozen=True, slots=True)
class RoutingIndex:
    """Nothing is compiled or scanned per difficulty."""

    agencies: dict[str, Agency]
    zones_by_key: dict[str, ZoneSpec]  # zone_key of every name and alias -> zone
    zone_area_keys: dict[str, frozenset[str]]  # zone name -> area keys it implies
    members_by_field: dict[Category, tuple[Member, ...]]  # active members only
    members_by_area: dict[str, tuple[Member, ...]]  # area key -> active members
    member_rank: dict[str, int]  # member id -> position in the file
    # Routes and plans, which depend only on this configuration and a few fields of the
    # difficulty (logic.route, logic._plan).
    memo: dict[Any, Any] = field(default_factory=dict)

    @staticmethod
    def build(cfg: ProvinceConfig) -> RoutingIndex:
        lookups = cfg.lookups
        by_field: dict[Category, list[Member]] = {}
        by_area: dict[str, list[Member]] = {}
        for m in cfg.task_force.active_members():
            for f in dict.fromkeys(m.fields):
                by_field.setdefault(f, []).append(m)
            for k in lookups.member_area_keys[m.id]:
                by_area.setdefault(k, []).append(m)
        return RoutingIndex(
            agencies=lookups.agencies,
            zones_by_key=lookups.zones_by_key,
            zone_area_keys=lookups.zone_area_keys,
            members_by_field={k: tuple(v) for k, v in by_field.items()},
            members_by_area={k: tuple(v) for k, v in by_area.items()},
            member_rank={m.id: i for i, m in enumerate(cfg.task_force.members)},
        )


def routing_index(cfg: ProvinceConfig) -> RoutingIndex:
    """The router's lookups of `cfg`, built on first use."""
    return cfg.derived(RoutingIndex.build)
