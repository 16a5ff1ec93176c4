"""Cross-references of a province file the schema alone cannot check: agency ids and
levels, the agencies rules and people name, zone names that collide, the task force's
dates, deputies and replacements. Each problem comes with its key path, so the loader
can report the line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.events import AgencyLevel, Category, ZoneType
from shared.provinces.errors import Loc
from shared.vn import zone_key

if TYPE_CHECKING:
    from shared.provinces.model import Agency, Person, ProvinceConfig

CENTRAL_PREFIX = "central"
ESCALATION_DEFAULT = "default"


def reference_problems(cfg: ProvinceConfig) -> list[tuple[Loc, str]]:
    """Cross-references the schema alone cannot check, each with its key path."""
    out: list[tuple[Loc, str]] = []
    slug = cfg.province.slug
    agencies: dict[str, Agency] = {}
    for i, a in enumerate(cfg.agencies):
        prefix = a.id.split(".", 1)[0]
        if a.id in agencies:
            out.append((("agencies", i, "id"), f"duplicate agency id {a.id!r}"))
        agencies.setdefault(a.id, a)
        if prefix not in (slug, CENTRAL_PREFIX):
            out.append(
                (
                    ("agencies", i, "id"),
                    f"agency id {a.id!r} must start with '{slug}.' "
                    f"(or '{CENTRAL_PREFIX}.' for a central ministry)",
                )
            )
        elif (prefix == CENTRAL_PREFIX) != (a.level is AgencyLevel.CENTRAL):
            out.append(
                (
                    ("agencies", i, "level"),
                    f"agency {a.id!r}: level 'central' goes with the id prefix "
                    f"'{CENTRAL_PREFIX}.' and only with it",
                )
            )

    def ref(
        loc: Loc, agency_id: str, what: str, levels: tuple[AgencyLevel, ...] | None = None
    ) -> None:
        a = agencies.get(agency_id)
        if a is None:
            out.append((loc, f"{what} {agency_id!r} is not among this file's agencies"))
        elif levels is not None and a.level not in levels:
            wanted = " or ".join(lv.value for lv in levels)
            out.append(
                (loc, f"{what} {agency_id!r} has level {a.level.value!r}; expected {wanted}")
            )

    # zones
    seen_keys: dict[str, str] = {}
    for i, z in enumerate(cfg.zones):
        for j, n in enumerate((z.name, *z.aliases)):
            loc: Loc = ("zones", i, "name") if j == 0 else ("zones", i, "aliases", j - 1)
            k = zone_key(n)
            if not k:
                out.append((loc, f"{n!r} gives an empty matching key"))
            elif k in seen_keys and seen_keys[k] != z.name:
                out.append((loc, f"{n!r} matches the same key {k!r} as zone {seen_keys[k]!r}"))
            else:
                seen_keys.setdefault(k, z.name)

    # rules
    r = cfg.rules
    local = (AgencyLevel.DISTRICT, AgencyLevel.PROVINCE)
    for zt in ZoneType:
        if zt not in r.lead_by_zone_type:
            out.append(
                (("rules", "lead_by_zone_type", zt.value), f"no lead agency for zone type {zt}")
            )
    for zt, aid in r.lead_by_zone_type.items():
        ref(("rules", "lead_by_zone_type", zt.value), aid, "lead agency", local)
    for cat, handlers in r.co_handlers_by_category.items():
        for j, aid in enumerate(handlers):
            ref(("rules", "co_handlers_by_category", cat.value, j), aid, "co-handler", local)
    valid_keys = {c.value for c in Category} | {ESCALATION_DEFAULT}
    for key, aid in r.escalation.items():
        if key not in valid_keys:
            out.append(
                (
                    ("rules", "escalation", key),
                    f"unknown escalation key {key!r}: expected a category "
                    f"({', '.join(c.value for c in Category)}) or '{ESCALATION_DEFAULT}'",
                )
            )
        ref(("rules", "escalation", key), aid, "escalation target", (AgencyLevel.CENTRAL,))
    if ESCALATION_DEFAULT not in r.escalation:
        out.append(
            (
                ("rules", "escalation", ESCALATION_DEFAULT),
                "no default escalation target (a central agency)",
            )
        )
    ref(("rules", "triage"), r.triage, "triage agency", (AgencyLevel.TASK_FORCE,))
    ref(("rules", "head"), r.head, "head agency", (AgencyLevel.TASK_FORCE,))

    # task force
    tf = cfg.task_force
    if tf.dissolved_on is not None and tf.dissolved_on < tf.effective_from:
        out.append((("task_force", "dissolved_on"), "is before effective_from"))
    people: list[tuple[Loc, Person]] = [
        (("task_force", "head"), tf.head),
        (("task_force", "permanent_deputy"), tf.permanent_deputy),
        *((("task_force", "deputies", i), d) for i, d in enumerate(tf.deputies)),
        *((("task_force", "members", i), m) for i, m in enumerate(tf.members)),
    ]
    ids: set[str] = set()
    for loc, p in people:
        if p.id in ids:
            out.append(((*loc, "id"), f"duplicate person id {p.id!r}"))
        ids.add(p.id)
        if not p.id.startswith(slug + "."):
            out.append(((*loc, "id"), f"person id {p.id!r} must start with '{slug}.'"))
        ref((*loc, "agency"), p.agency, "agency")
    zone_owner: dict[ZoneType, str] = {}
    for i, d in enumerate((tf.permanent_deputy, *tf.deputies)):
        base: Loc = (
            ("task_force", "permanent_deputy") if i == 0 else ("task_force", "deputies", i - 1)
        )
        for j, zt in enumerate(d.zone_types):
            if zt in zone_owner and zone_owner[zt] != d.id:
                out.append(
                    ((*base, "zone_types", j), f"zone type {zt} already with {zone_owner[zt]!r}")
                )
            zone_owner.setdefault(zt, d.id)
    members = {m.id: m for m in tf.members}
    for i, m in enumerate(tf.members):
        if m.replaced_by is None:
            continue
        loc = ("task_force", "members", i, "replaced_by")
        if m.replaced_by == m.id:
            out.append((loc, "a member cannot replace themself"))
        elif m.replaced_by not in members:
            out.append((loc, f"member {m.replaced_by!r} is not among the members"))
        elif m.active:
            out.append(
                (("task_force", "members", i, "active"), "a replaced member must be inactive")
            )
    return out
