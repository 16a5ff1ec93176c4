"""Province configuration: agencies, zones, routing rules, deadlines and the task force.

One YAML file per province (`binh-duong.yaml`; the stem is the province slug)
in a directory operators edit. The router reads the agencies, zones and rules;
notify the contacts; reporting the members and deadlines; intake the task
force's lifecycle. Files are checked on load: a bad file is refused with the
file, the key path, the line and the problem (`ConfigError`), and a running
service keeps its previous configuration (`ConfigHolder`).

Outline of a file (see `shared/data/provinces/binh-duong.yaml` for a full one)::

    province: {slug, name_vi, name_en, province_code, former_province,
               former_province_code?, merged_into_vi?}
    agencies: [{id, name_vi, name_en, level, contacts: [{channel, address, name?,
               secret_env?}]}]
    zones:    [{name, type: KCN|KKT|CCN, aliases: [...], district?}]
    rules:    {lead_by_zone_type: {KCN, KKT, CCN, NONE: agency},
               co_handlers_by_category: {category: [agency, ...]},
               escalation: {category: central agency, ..., default: central agency},
               triage: agency, head: agency}
    deadlines: {normal: {ack, resolve}, urgent: {ack, resolve}, reminder_every,
                reminders_before_escalation}          # working days
    task_force: {name_vi?, decision?, effective_from, dissolved_on?, head: person,
                 permanent_deputy: deputy, deputies: [deputy], members: [member],
                 document?: {parent_body?, place?, symbol?, recipients?, signer_title?}}

A person is {id, name, title, agency, contacts}; a deputy adds `zone_types`; a
member adds `fields` (categories), `areas` (ward, former district or zone
names), `replaced_by` and `active`. A member who leaves stays in the file with
`active: false` and, if someone takes over their fields and areas, `replaced_by`
(the router moves their open items accordingly; see services/router/jobs.py).

`set_dissolved_on` is the one edit the system makes to these files itself
(`thaogo taskforce dissolve`): one key, the rest of the file byte for byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from shared import topics
from shared.events import AgencyLevel, Category, Urgency, ZoneType
from shared.vn import fold, zone_key

log = logging.getLogger("thaogo.config")

CENTRAL_PREFIX = "central"
ESCALATION_DEFAULT = "default"
CONFIG_SUFFIXES = (".yaml", ".yml")

Loc = tuple[str | int, ...]


# --- errors ---------------------------------------------------------------------------


class ConfigError(Exception):
    """A refused configuration: which file, which key, which line, what is wrong."""

    def __init__(self, file: str | Path, path: str, line: int | None, problem: str) -> None:
        self.file = str(file)
        self.path = path  # "rules.lead_by_zone_type.KCN", "" for the whole file
        self.line = line  # 1-based, None when unknown
        self.problem = problem
        self.others: list[ConfigError] = []  # further problems found with this one
        super().__init__(self.file, path, line, problem)

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        key = f" {self.path}:" if self.path else ""
        more = f" (and {len(self.others)} more problem(s))" if self.others else ""
        return f"{where}:{key} {self.problem}{more}"

    def __repr__(self) -> str:
        return (
            f"ConfigError(file={self.file!r}, path={self.path!r}, line={self.line!r}, "
            f"problem={self.problem!r})"
        )


def format_path(loc: Iterable[str | int]) -> str:
    """("task_force", "members", 3, "agency") -> "task_force.members[3].agency"."""
    out = ""
    for p in loc:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out


# --- field types ------------------------------------------------------------------------


def _agency_id(value: str) -> str:
    if not topics.is_agency_id(value):
        raise ValueError(
            f"{value!r} is not an id: expected an ASCII slug 'province.name', "
            "e.g. 'binh-duong.bql-kcn' or 'central.bo-cong-thuong'"
        )
    return value


_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _slug(value: str) -> str:
    if not _SLUG_RE.match(value):
        raise ValueError(f"{value!r} is not a slug: lowercase ASCII words joined by '-'")
    return value


AgencyRef = Annotated[str, StringConstraints(max_length=120), AfterValidator(_agency_id)]
PersonRef = AgencyRef  # people use the same "province.name" shape: "binh-duong.m01"
Slug = Annotated[str, StringConstraints(max_length=60), AfterValidator(_slug)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ProvinceCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the schema -----------------------------------------------------------------------


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    ZALO = "zalo"
    LOG = "log"


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL_RE = re.compile(r"^https?://[^\s/]+\S*$")
_ZALO_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ContactPoint(_Strict):
    """Where to reach an agency or a person. Secrets are named, never written here."""

    channel: Channel
    address: Text  # e-mail address, webhook URL, Zalo user id, or a log label
    name: Text | None = None
    secret_env: EnvName | None = None  # env var holding the webhook's HMAC secret

    @model_validator(mode="after")
    def _check_address(self) -> ContactPoint:
        if self.channel is Channel.EMAIL and not _EMAIL_RE.match(self.address):
            raise ValueError(f"address {self.address!r} is not an e-mail address")
        if self.channel is Channel.WEBHOOK and not _URL_RE.match(self.address):
            raise ValueError(f"address {self.address!r} is not an http(s) URL")
        if self.channel is Channel.ZALO and not _ZALO_RE.match(self.address):
            raise ValueError(f"address {self.address!r} is not a Zalo user id")
        if self.secret_env is not None and self.channel is not Channel.WEBHOOK:
            raise ValueError("secret_env is only for the webhook channel")
        return self


class ProvinceInfo(_Strict):
    slug: Slug  # equals the file stem; also the task force's slug
    name_vi: Text
    name_en: Text
    province_code: ProvinceCode  # official code of the province it belongs to today
    former_province: bool = False  # a province of before the 1 July 2025 merger
    former_province_code: ProvinceCode | None = None  # its own code before the merger
    merged_into_vi: Text | None = None  # "Thành phố Hồ Chí Minh"


class Agency(_Strict):
    id: AgencyRef
    name_vi: Text
    name_en: Text
    level: AgencyLevel
    contacts: list[ContactPoint] = Field(default_factory=list)


class ZoneSpec(_Strict):
    """A named park, economic zone or cluster, matched with `shared.vn.zone_key`."""

    name: Text  # official Vietnamese name
    type: ZoneType
    aliases: list[Text] = Field(default_factory=list)
    district: Text | None = None  # former district / town it lies in, for member areas

    @model_validator(mode="after")
    def _not_none(self) -> ZoneSpec:
        if self.type is ZoneType.NONE:
            raise ValueError("a named zone must be of type KCN, KKT or CCN, not NONE")
        return self


class Rules(_Strict):
    lead_by_zone_type: dict[ZoneType, AgencyRef]
    co_handlers_by_category: dict[Category, list[AgencyRef]] = Field(default_factory=dict)
    # category -> central agency, plus "default"; keys are checked with the references
    escalation: dict[str, AgencyRef]
    triage: AgencyRef  # the permanent deputy's queue (level task_force)
    head: AgencyRef  # the head of the task force (level task_force)


class Deadline(_Strict):
    ack: int = Field(ge=0, le=60)  # working days to acknowledge
    resolve: int = Field(ge=1, le=365)  # working days to resolve

    @model_validator(mode="after")
    def _order(self) -> Deadline:
        if self.ack > self.resolve:
            raise ValueError(f"ack ({self.ack}) is later than resolve ({self.resolve})")
        return self


class Deadlines(_Strict):
    """Working days (Monday to Friday, public holidays excluded) from the assignment.

    An `ack` of 0 means "the same working day". Defaults: 1 / 10 normal, 1 / 3 urgent.
    """

    normal: Deadline = Deadline(ack=1, resolve=10)
    urgent: Deadline = Deadline(ack=1, resolve=3)
    reminder_every: int = Field(default=1, ge=1, le=30)  # working days between reminders
    # reminders sent before the permanent deputy is told
    reminders_before_escalation: int = Field(default=2, ge=0, le=20)

    def for_urgency(self, urgency: Urgency) -> Deadline:
        return self.urgent if urgency is Urgency.URGENT else self.normal


class Person(_Strict):
    id: PersonRef  # "binh-duong.m01"
    name: Text
    title: Text
    agency: AgencyRef
    contacts: list[ContactPoint] = Field(default_factory=list)


class Deputy(Person):
    zone_types: list[ZoneType] = Field(default_factory=list)  # zones whose cases they collect


class Member(Person):
    fields: list[Category] = Field(default_factory=list)  # lĩnh vực
    areas: list[Text] = Field(default_factory=list)  # địa bàn: wards, former districts, zones
    replaced_by: PersonRef | None = None
    active: bool = True


class OfficialDocument(_Strict):
    """How the task force's reports are issued as documents (Decree 30/2020/NĐ-CP)."""

    # The body the task force belongs to, printed above its name: "ỦY BAN NHÂN DÂN TỈNH
    # BÌNH DƯƠNG". None prints the task force's name alone.
    parent_body: Text | None = None
    place: Text | None = None  # địa danh in "Thủ Dầu Một, ngày ..."; else the province name
    # The symbol after the number, "Số: 49/BC-TCT" (BC: báo cáo; TCT: Tổ công tác).
    symbol: Annotated[str, StringConstraints(pattern=r"^[A-ZĐ0-9][A-ZĐ0-9.-]{0,29}$")] = "BC-TCT"
    # Nơi nhận, one line each ("Lưu: VT" needs quotes in YAML).
    recipients: list[Text] = Field(default_factory=lambda: ["Thành viên Tổ công tác",
                                                            "Lưu: VT"])
    signer_title: Text = "TỔ TRƯỞNG"  # above the head's name


class TaskForce(_Strict):
    name_vi: Text = "Tổ công tác hỗ trợ, tháo gỡ khó khăn cho doanh nghiệp"
    decision: Text | None = None  # the founding decision, e.g. "Quyết định số .../QĐ-UBND"
    document: OfficialDocument = OfficialDocument()
    effective_from: date
    dissolved_on: date | None = None
    head: Person
    permanent_deputy: Deputy
    deputies: list[Deputy] = Field(default_factory=list)
    members: list[Member] = Field(default_factory=list)

    def is_active(self, on: date) -> bool:
        return self.effective_from <= on and (self.dissolved_on is None or on < self.dissolved_on)

    def people(self) -> list[Person]:
        """Everyone on the task force: head, permanent deputy, deputies, members."""
        return [self.head, self.permanent_deputy, *self.deputies, *self.members]

    def active_members(self) -> list[Member]:
        return [m for m in self.members if m.active]


class ProvinceConfig(_Strict):
    province: ProvinceInfo
    agencies: list[Agency]
    zones: list[ZoneSpec] = Field(default_factory=list)
    rules: Rules
    deadlines: Deadlines = Deadlines()
    task_force: TaskForce

    _index: RoutingIndex | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_references(self, info: ValidationInfo) -> ProvinceConfig:
        # The loader checks references itself to report each with its key path and line.
        if isinstance(info.context, dict) and info.context.get("skip_references"):
            return self
        problems = reference_problems(self)
        if problems:
            raise ValueError("; ".join(f"{format_path(loc)}: {msg}" for loc, msg in problems[:5]))
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (not re-validated); its lookups are rebuilt, not shared with this one."""
        copy = super().model_copy(update=update, deep=deep)
        copy._index = None
        return copy

    @property
    def slug(self) -> str:
        return self.province.slug

    @property
    def index(self) -> RoutingIndex:
        """Lookups built once per loaded configuration (the router's hot path)."""
        idx = self._index
        if idx is None:
            idx = RoutingIndex.build(self)
            self._index = idx
        return idx

    def agency(self, agency_id: str) -> Agency | None:
        return self.index.agencies.get(agency_id)

    def zone(self, name: str) -> ZoneSpec | None:
        """The registered zone `name` designates (any alias, diacritics, "II" == "2")."""
        return self.index.zones_by_key.get(zone_key(name))

    def lead_for(self, zone_type: ZoneType) -> Agency:
        return self.index.agencies[self.rules.lead_by_zone_type[zone_type]]

    def deputy_for(self, zone_type: ZoneType) -> Deputy | None:
        """The deputy who collects cases of businesses in this kind of zone."""
        for d in (self.task_force.permanent_deputy, *self.task_force.deputies):
            if zone_type in d.zone_types:
                return d
        return None

    def person(self, person_id: str) -> Person | None:
        return self.index.people.get(person_id)

    def covers(self, *, zone_name: str | None, ward: str | None, district: str | None
               ) -> bool:
        """Whether a place named in a submission lies in this task force's area: a zone
        of its registry, or a ward or former district its zones or members name."""
        idx = self.index
        if zone_name and zone_key(zone_name) in idx.zones_by_key:
            return True
        known = idx.members_by_area.keys() | {k for ks in idx.zone_area_keys.values()
                                                for k in ks}
        return any(place and area_key(place) in known for place in (ward, district))


# --- indices -------------------------------------------------------------------------------

_NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")
_AREA_PREFIXES: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in (
        "thanh pho",
        "thi xa",
        "thi tran",
        "huyen",
        "quan",
        "phuong",
        "xa",
        "tp",
        "tx",
        "tt",
        "p",
        "q",
        "h",
        "district",
        "ward",
        "commune",
        "town",
        "city",
    )
)


def area_key(text: str) -> str:
    """Matching key for a place name: "TP. Thủ Dầu Một" == "thu dau mot" == "Thủ Dầu Một".

    Folded (shared.vn.fold), punctuation dropped, and the administrative prefix
    (thành phố, thị xã, huyện, quận, phường, xã, thị trấn, TP., TX., ...) removed.
    """
    tokens = _NON_ALNUM_RE.sub(" ", fold(text)).split()
    changed = True
    while changed:
        changed = False
        for p in _AREA_PREFIXES:
            if len(tokens) > len(p) and tuple(tokens[: len(p)]) == p:
                tokens, changed = tokens[len(p) :], True
    return " ".join(tokens)


ZONE_AREA_PREFIX = "zone:"


@dataclass(frozen=True, slots=True)
class RoutingIndex:
    """Per-configuration lookups, built once: nothing is compiled or scanned per call."""

    agencies: dict[str, Agency]
    zones_by_key: dict[str, ZoneSpec]  # zone_key of every name and alias -> zone
    zone_area_keys: dict[str, frozenset[str]]  # zone name -> area keys it implies
    members_by_field: dict[Category, tuple[Member, ...]]  # active members only
    members_by_area: dict[str, tuple[Member, ...]]  # area key -> active members
    member_rank: dict[str, int]  # member id -> position in the file
    people: dict[str, Person]
    # Scratch space for callers' memoised results that depend only on this
    # configuration (the router's routing plans); dropped with the configuration.
    memo: dict[Any, Any] = field(default_factory=dict)

    @staticmethod
    def build(cfg: ProvinceConfig) -> RoutingIndex:
        agencies: dict[str, Agency] = {}
        for a in cfg.agencies:
            agencies.setdefault(a.id, a)
        zones: dict[str, ZoneSpec] = {}
        zone_areas: dict[str, frozenset[str]] = {}
        for z in cfg.zones:
            for n in (z.name, *z.aliases):
                k = zone_key(n)
                if k:
                    zones.setdefault(k, z)
            keys = {ZONE_AREA_PREFIX + zone_key(z.name)}
            if z.district:
                keys.add(area_key(z.district))
            zone_areas[z.name] = frozenset(keys)
        by_field: dict[Category, list[Member]] = {}
        by_area: dict[str, list[Member]] = {}
        for m in cfg.task_force.members:
            if not m.active:
                continue
            for f in dict.fromkeys(m.fields):
                by_field.setdefault(f, []).append(m)
            for k in _member_area_keys(m, zones):
                by_area.setdefault(k, []).append(m)
        people: dict[str, Person] = {}
        for p in cfg.task_force.people():
            people.setdefault(p.id, p)
        return RoutingIndex(
            agencies=agencies,
            zones_by_key=zones,
            zone_area_keys=zone_areas,
            members_by_field={k: tuple(v) for k, v in by_field.items()},
            members_by_area={k: tuple(v) for k, v in by_area.items()},
            member_rank={m.id: i for i, m in enumerate(cfg.task_force.members)},
            people=people,
        )


def _member_area_keys(m: Member, zones: Mapping[str, ZoneSpec]) -> list[str]:
    keys: list[str] = []
    for a in m.areas:
        k = area_key(a)
        if k:
            keys.append(k)
        z = zones.get(zone_key(a))
        if z is not None:
            keys.append(ZONE_AREA_PREFIX + zone_key(z.name))
    return list(dict.fromkeys(keys))


# --- reference checks --------------------------------------------------------------------


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


# --- loading -------------------------------------------------------------------------------


def _line_map(node: yaml.Node, errors: list[tuple[Loc, int, str]]) -> dict[Loc, int]:
    """Key path -> 1-based line, from the composed YAML; duplicate keys are reported."""
    lines: dict[Loc, int] = {(): node.start_mark.line + 1}
    stack: list[tuple[Loc, yaml.Node]] = [((), node)]
    while stack:
        path, n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                p = (*path, key)
                if key in seen and key != "<<":
                    errors.append((p, k.start_mark.line + 1, f"duplicate key {key!r}"))
                seen.add(key)
                lines.setdefault(p, k.start_mark.line + 1)
                stack.append((p, v))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                p = (*path, i)
                lines[p] = v.start_mark.line + 1
                stack.append((p, v))
    return lines


def _line_of(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    for n in range(len(loc), -1, -1):
        found = lines.get(loc[:n])
        if found is not None:
            return found
    return None


def _problem(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    loc = err.get("loc", ())
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}" if loc else "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    inp = err.get("input")
    if isinstance(inp, str | int | float | bool) and kind not in ("value_error",):
        shown = repr(inp) if len(repr(inp)) <= 80 else repr(inp)[:77] + "..."
        msg += f" (got {shown})"
    return msg


def _parse(file: Path, raw: bytes) -> tuple[ProvinceConfig | None, list[ConfigError]]:
    name = str(file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, [ConfigError(name, "", None, f"not UTF-8 text: {e}")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        return None, [ConfigError(name, "", line, f"not valid YAML: {e.problem or e}")]
    except yaml.YAMLError as e:
        return None, [ConfigError(name, "", None, f"not valid YAML: {e}")]
    finally:
        loader.dispose()
    if not isinstance(data, dict) or node is None:
        return None, [ConfigError(name, "", 1, "the file must be a mapping (key: value)")]
    dup: list[tuple[Loc, int, str]] = []
    lines = _line_map(node, dup)
    errors = [ConfigError(name, format_path(loc), ln, msg) for loc, ln, msg in dup]

    try:
        cfg = ProvinceConfig.model_validate(data, context={"skip_references": True})
    except ValidationError as e:
        for err in e.errors():
            loc: Loc = tuple(err["loc"])
            if loc and loc[-1] == "[key]":
                loc = loc[:-1]
            errors.append(ConfigError(name, format_path(loc), _line_of(lines, loc), _problem(err)))
        return None, _sorted(errors)

    for loc, msg in reference_problems(cfg):
        errors.append(ConfigError(name, format_path(loc), _line_of(lines, loc), msg))
    if cfg.province.slug != file.stem:
        loc = ("province", "slug")
        errors.append(
            ConfigError(
                name,
                format_path(loc),
                _line_of(lines, loc),
                f"slug {cfg.province.slug!r} differs from the file name {file.stem!r}",
            )
        )
    if errors:
        return None, _sorted(errors)
    cfg.index  # noqa: B018 - build the lookups now, not on the first difficulty
    return cfg, []


def _sorted(errors: list[ConfigError]) -> list[ConfigError]:
    return sorted(errors, key=lambda e: (e.file, e.line or 0, e.path))


def _raise_first(errors: list[ConfigError]) -> None:
    if errors:
        first = errors[0]
        first.others = errors[1:]
        raise first


def load_province(path: str | Path) -> ProvinceConfig:
    """One province file, checked; raises ConfigError (the first problem, with `others`)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(p, "", None, f"cannot read: {e.strerror or e}") from e
    cfg, errors = _parse(p, raw)
    _raise_first(errors)
    assert cfg is not None
    return cfg


# --- editing: the task force's lifecycle ------------------------------------------------------


def _dissolved_text(file: Path, text: str, on: date) -> str:
    """`text` with `task_force.dissolved_on` set to `on`, every other character kept
    (comments, layout, quoting): the value's span is replaced, or, if the key is absent,
    a line is added after `effective_from` at the same indentation."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise ConfigError(file, "", None, f"not valid YAML: {e}") from e
    tf = None
    if isinstance(root, yaml.MappingNode):
        tf = next((v for k, v in root.value if k.value == "task_force"), None)
    if not isinstance(tf, yaml.MappingNode):
        raise ConfigError(file, "task_force", None, "missing, or not a mapping")
    value = ""
    for k, v in tf.value:
        if k.value == "dissolved_on":
            start, end = v.start_mark.index, v.end_mark.index
            value = on.isoformat()
            if start == end and text[start - 1: start] == ":":
                value = " " + value  # an empty value: `dissolved_on:`
            return text[:start] + value + text[end:]
    for k, v in tf.value:
        if k.value == "effective_from":
            if tf.flow_style:
                raise ConfigError(file, "task_force", k.start_mark.line + 1,
                                  "written in flow style ({...}): add dissolved_on by hand")
            eol = text.find("\n", v.end_mark.index)
            eol = len(text) if eol == -1 else eol
            indent: int = k.start_mark.column
            line = "\n" + " " * indent + f"dissolved_on: {on.isoformat()}"
            return text[:eol] + line + text[eol:]
    raise ConfigError(file, "task_force.effective_from", tf.start_mark.line + 1, "missing")


def set_dissolved_on(path: str | Path, on: date) -> ProvinceConfig:
    """Set the task force's dissolution date in its province file, which every service
    then picks up by hot reload. The edited file is checked first (a date before
    `effective_from` is refused, as any other problem: ConfigError with file, key and
    line) and replaces the old one atomically, so a service never reads half a file."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(p, "", None, f"cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(p, "", None, f"not UTF-8 text: {e}") from e
    new = _dissolved_text(p, text, on).encode("utf-8")
    cfg, errors = _parse(p, new)
    _raise_first(errors)
    assert cfg is not None
    # A hidden name in the same directory: config_files() skips it, os.replace is atomic.
    tmp = p.with_name(f".{p.name}.dissolve.tmp")
    tmp.write_bytes(new)
    os.replace(tmp, p)
    return cfg


def config_files(directory: str | Path) -> list[Path]:
    """The province files of a directory (no hidden or editor backup files), sorted."""
    d = Path(directory)
    return sorted(
        f
        for f in d.iterdir()
        if f.suffix in CONFIG_SUFFIXES and not f.name.startswith((".", "#")) and f.is_file()
    )


def _content_version(blobs: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, raw in sorted(blobs):
        h.update(name.encode() + b"\0" + raw + b"\0")
    return h.hexdigest()[:12]


def _load_all(directory: Path) -> tuple[ConfigSet | None, list[ConfigError]]:
    if not directory.is_dir():
        return None, [ConfigError(directory, "", None, "not a directory")]
    try:
        files = config_files(directory)
    except OSError as e:
        return None, [ConfigError(directory, "", None, f"cannot list: {e.strerror or e}")]
    if not files:
        return None, [ConfigError(directory, "", None, "no province files (*.yaml)")]
    errors: list[ConfigError] = []
    provinces: dict[str, ProvinceConfig] = {}
    blobs: list[tuple[str, bytes]] = []
    for f in files:
        try:
            raw = f.read_bytes()
        except OSError as e:
            errors.append(ConfigError(f, "", None, f"cannot read: {e.strerror or e}"))
            continue
        blobs.append((f.name, raw))
        cfg, errs = _parse(f, raw)
        errors += errs
        if cfg is None:
            continue
        if cfg.slug in provinces:
            errors.append(
                ConfigError(f, "province.slug", None, f"province {cfg.slug!r} defined twice")
            )
            continue
        provinces[cfg.slug] = cfg
    if errors:
        return None, errors
    return ConfigSet(provinces, _content_version(blobs), directory), []


def load_dir(directory: str | Path) -> ConfigSet:
    """Every province file of a directory; raises the first ConfigError (with `others`)."""
    cs, errors = _load_all(Path(directory))
    _raise_first(errors)
    assert cs is not None
    return cs


def check_dir(directory: str | Path) -> list[ConfigError]:
    """Every problem of every file of a directory (for `thaogo config check DIR`)."""
    return _load_all(Path(directory))[1]


def default_config_dir() -> Path:
    """The configuration shipped with the package: shared/data/provinces."""
    return Path(__file__).resolve().parent / "data" / "provinces"


# --- the loaded set --------------------------------------------------------------------------


def _norm_code(code: str) -> str:
    c = code.strip()
    return f"{int(c):02d}" if c.isdigit() else c


class ConfigSet(Mapping[str, ProvinceConfig]):
    """All loaded provinces by slug, with the content version every assignment cites."""

    def __init__(
        self,
        provinces: Mapping[str, ProvinceConfig],
        version: str,
        directory: Path | None = None,
    ) -> None:
        self._provinces = dict(sorted(provinces.items()))
        self.version = version
        self.directory = directory
        by_code: dict[str, list[ProvinceConfig]] = {}
        for cfg in self._provinces.values():
            codes = {cfg.province.province_code}
            if cfg.province.former_province_code:
                codes.add(cfg.province.former_province_code)
            for c in codes:
                by_code.setdefault(c, []).append(cfg)
        # the province's own task force first, then those of former provinces
        self._by_code = {
            c: sorted(v, key=lambda p: (p.province.former_province, p.slug))
            for c, v in by_code.items()
        }
        self._agencies: dict[str, Agency] = {}
        for cfg in self._provinces.values():
            for a in cfg.agencies:
                self._agencies.setdefault(a.id, a)

    def __getitem__(self, slug: str) -> ProvinceConfig:
        return self._provinces[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(self._provinces)

    def __len__(self) -> int:
        return len(self._provinces)

    def __repr__(self) -> str:
        return f"ConfigSet(version={self.version!r}, provinces={list(self._provinces)})"

    def by_province_code(self, code: str) -> list[ProvinceConfig]:
        """Configs of a province code: today's code ("79") can cover several former
        provinces; a former province's own pre-2025 code ("74") finds it too."""
        return list(self._by_code.get(_norm_code(code), ()))

    def for_difficulty(
        self, province_code: str, task_force_slug: str | None = None
    ) -> ProvinceConfig | None:
        """The configuration that routes a difficulty, or None (operators' triage).

        With a task-force slug (e.g. `shared.vn.resolve_province(name).task_force_slug`),
        the config of that slug if it belongs to the code, else None. Without, the only
        config of the code, or the province's own (non-former) one among several.
        """
        found = self.by_province_code(province_code)
        if task_force_slug is not None:
            # A named task force without a config (say "dong-thap" under code 82, where
            # only "tien-giang" is configured) must not borrow a neighbour's.
            return next((c for c in found if c.slug == task_force_slug), None)
        if len(found) == 1:
            return found[0]
        own = [c for c in found if not c.province.former_province]
        return own[0] if len(own) == 1 else None

    def task_force_for(
        self, province_code: str, named: str | None, *, zone_name: str | None = None,
        ward: str | None = None, district: str | None = None,
    ) -> str | None:
        """The task force a submission belongs to. The one its province names, if that
        has a configuration; else, under a province formed by the 2025 merger (a
        business of former Bình Dương choosing "Thành phố Hồ Chí Minh"), the one former
        province's task force whose zone, ward or former district it names; else the
        named one (which then goes to triage)."""
        found = self.by_province_code(province_code)
        if any(c.slug == named for c in found) or (
                named is None and self.for_difficulty(province_code) is not None):
            return named
        places = {"zone_name": zone_name, "ward": ward, "district": district}
        matches = [c for c in found if c.province.former_province and c.covers(**places)]
        return matches[0].slug if len(matches) == 1 else named

    def agency(self, agency_id: str) -> Agency | None:
        return self._agencies.get(agency_id)

    def agency_ids(self) -> list[str]:
        """Every agency of every province (for the per-agency topics)."""
        return sorted(self._agencies)


# --- hot reload -----------------------------------------------------------------------------

Signature = tuple[tuple[str, int, int], ...]


class ConfigHolder:
    """The current ConfigSet of a directory, reloaded when its files change.

    A refused edit is logged (logger "thaogo.config": file, key, line, problem) once
    per version of the files, and the previous configuration stays in force.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_config_dir()
        self._signature = self._scan()
        self._current = load_dir(self.directory)  # a bad config at start-up is fatal
        self._rejected: Signature | None = None
        self._listeners: list[Callable[[ConfigSet], None]] = []
        self._refusal_listeners: list[Callable[[list[ConfigError]], None]] = []

    @property
    def current(self) -> ConfigSet:
        return self._current

    @property
    def version(self) -> str:
        return self._current.version

    def on_change(self, callback: Callable[[ConfigSet], None]) -> None:
        """Call `callback(new_set)` after each accepted change."""
        self._listeners.append(callback)

    def on_refused(self, callback: Callable[[list[ConfigError]], None]) -> None:
        """Call `callback(errors)` once per refused version of the files."""
        self._refusal_listeners.append(callback)

    def _scan(self) -> Signature:
        out: list[tuple[str, int, int]] = []
        for f in config_files(self.directory):
            st = f.stat()
            out.append((f.name, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def reload_if_changed(self) -> bool:
        """Reload if a file was added, removed or modified; True if the config changed."""
        try:
            before = self._scan()
        except OSError as exc:
            log.error("cannot scan %s: %s", self.directory, exc)
            return False
        if before == self._signature or before == self._rejected:
            return False
        new, errors = _load_all(self.directory)
        try:
            after = self._scan()
        except OSError:
            after = ()
        if after != before:
            return False  # files still being written: look again next time
        if new is None:
            self._rejected = before
            for err in errors:
                log.error(
                    "province configuration refused, keeping version %s: %s",
                    self._current.version,
                    err,
                    extra={
                        "config_file": err.file,
                        "config_key": err.path,
                        "config_line": err.line,
                        "problem": err.problem,
                    },
                )
            for refused in self._refusal_listeners:
                try:
                    refused(errors)
                except Exception:
                    log.exception("config refusal listener failed")
            return False
        self._signature, self._rejected = before, None
        if new.version == self._current.version:
            return False
        old = self._current.version
        self._current = new
        log.info(
            "province configuration reloaded: version %s -> %s (%s)",
            old,
            new.version,
            ", ".join(new),
            extra={"config_version": new.version},
        )
        for cb in self._listeners:
            try:
                cb(new)
            except Exception:
                log.exception("config change listener failed")
        return True

    async def watch(self, interval_s: float = 2.0) -> None:
        """Poll forever (run it as a task; cancel it to stop)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(self.reload_if_changed)
            except Exception:
                log.exception("config reload failed")
