"""The schema of a province file (see the package's docstring for its outline) and the
lookups every loaded configuration carries."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Self, TypeVar, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from shared import topics
from shared.events import AgencyLevel, Category, Urgency, ZoneType
from shared.provinces.checks import reference_problems
from shared.provinces.errors import format_path
from shared.vn import area_key, zone_key

T = TypeVar("T")

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


def email_key(address: str) -> str:
    """The hash an e-mail address travels as where the address itself must not
    (sign-in.link.v1): notify finds the contact it names among the recipient's."""
    return hashlib.sha256(address.strip().casefold().encode()).hexdigest()


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


class DayCount(StrEnum):
    WORKING = "working"  # Monday to Friday, public holidays excluded
    CALENDAR = "calendar"  # every day; a period ending on a day off ends the next working day


class CentralDeadline(_Strict):
    """The ministry's answer to a difficulty escalated to central level, counted from the
    escalation. The Government's portal rule for businesses' recommendations: an answer
    within 20 days, then news of progress every 7 days; the focal agency is reminded at
    the answer's deadline and at each progress point after it until the answer is recorded."""

    days: DayCount = DayCount.WORKING
    answer: int = Field(default=20, ge=1, le=365)
    progress_every: int = Field(default=7, ge=1, le=90)
    progress_reminders: int = Field(default=8, ge=0, le=52)  # progress points chased


class Deadlines(_Strict):
    """Working days (Monday to Friday, public holidays excluded) from the assignment.

    An `ack` of 0 means "the same working day". Defaults: 1 / 10 normal, 1 / 3 urgent.
    """

    normal: Deadline = Deadline(ack=1, resolve=10)
    urgent: Deadline = Deadline(ack=1, resolve=3)
    reminder_every: int = Field(default=1, ge=1, le=30)  # working days between reminders
    # reminders sent before the permanent deputy is told
    reminders_before_escalation: int = Field(default=2, ge=0, le=20)
    # The share (%) of acknowledgements and resolutions each agency should make on time:
    # the target printed beside its figures in the weekly report's league table.
    on_time_target: float = Field(default=95, gt=0, le=100)
    central: CentralDeadline = CentralDeadline()
    # An item overdue by more than this many working days waits for the head's decision
    # in the compiled week.
    decision_overdue_days: int = Field(default=5, ge=1, le=60)

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


class BusinessNotice(StrEnum):
    """The public steps of a difficulty of which notify tells the business that submitted
    it (#20 item 6), each by e-mail and, where the province enables it, by a Zalo
    Notification Service template message."""

    RECEIVED = "received"
    ASSIGNED = "assigned"  # to its lead agency
    NEED_INFO = "need_info"  # an agency asks the business a question
    RESOLVED = "resolved"  # closed with the public answer
    REJECTED = "rejected"
    ESCALATED = "escalated"  # passed up, to a central ministry
    MINISTRY_ANSWERED = "ministry_answered"
    REOPENED = "reopened"  # the business said the answer did not resolve it
    MERGED = "merged"  # into a policy bottleneck escalated to a ministry


ZnsTemplateId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class Zns(_Strict):
    """Zalo Notification Service (ZNS) template messages to businesses that gave a phone
    number. Each template is registered and approved on Zalo by the province; notify fills
    its parameters `customer_name`, `tracking_code`, `status`, `agency` and `date`. A
    notice without a template here goes by e-mail only."""

    templates: dict[BusinessNotice, ZnsTemplateId] = Field(default_factory=dict)


class ProvinceConfig(_Strict):
    province: ProvinceInfo
    agencies: list[Agency]
    zones: list[ZoneSpec] = Field(default_factory=list)
    rules: Rules
    deadlines: Deadlines = Deadlines()
    task_force: TaskForce
    # ZNS for businesses' notices; absent: e-mail only (the app's credentials are
    # notify's settings, not the province's file).
    zns: Zns | None = None

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
        copy.__dict__.pop("lookups", None)
        return copy

    @property
    def slug(self) -> str:
        return self.province.slug

    # A cached_property, not a pydantic private attribute: reading one of those costs
    # a microsecond, as much as the router's whole memoised route.
    @cached_property
    def lookups(self) -> Lookups:
        """Lookups built once per loaded configuration (the loader builds them)."""
        return Lookups.build(self)

    def derived(self, build: Callable[[ProvinceConfig], T]) -> T:
        """`build(self)`, built on first use and kept as long as this configuration:
        what a service derives from it alone, such as the router's lookups."""
        derived = self.lookups.derived
        try:
            return cast(T, derived[build])
        except KeyError:
            value = derived[build] = build(self)
            return value

    def agency(self, agency_id: str) -> Agency | None:
        return self.lookups.agencies.get(agency_id)

    def zone(self, name: str) -> ZoneSpec | None:
        """The registered zone `name` designates (any alias, diacritics, "II" == "2")."""
        return self.lookups.zones_by_key.get(zone_key(name))

    def lead_for(self, zone_type: ZoneType) -> Agency:
        return self.lookups.agencies[self.rules.lead_by_zone_type[zone_type]]

    def deputy_for(self, zone_type: ZoneType) -> Deputy | None:
        """The deputy who collects cases of businesses in this kind of zone."""
        for d in (self.task_force.permanent_deputy, *self.task_force.deputies):
            if zone_type in d.zone_types:
                return d
        return None

    def person(self, person_id: str) -> Person | None:
        return self.lookups.people.get(person_id)

    def covers(self, *, zone_name: str | None, ward: str | None, district: str | None
               ) -> bool:
        """Whether a place named in a submission lies in this task force's area: a zone
        of its registry, or a ward or former district its zones or members name."""
        found = self.lookups
        if zone_name and zone_key(zone_name) in found.zones_by_key:
            return True
        return any(place and area_key(place) in found.areas for place in (ward, district))


# An area key that stands for a registered zone (its zone_key), beside the area keys of
# wards and former districts (shared.vn.area_key).
ZONE_AREA_PREFIX = "zone:"


@dataclass(frozen=True, slots=True)
class Lookups:
    """Per-configuration lookups, built once: nothing is compiled or scanned per call."""

    agencies: dict[str, Agency]
    zones_by_key: dict[str, ZoneSpec]  # zone_key of every name and alias -> zone
    zone_area_keys: dict[str, frozenset[str]]  # zone name -> area keys it implies
    member_area_keys: dict[str, tuple[str, ...]]  # active member id -> keys of their areas
    areas: frozenset[str]  # every area key the zones and active members name
    people: dict[str, Person]
    # What services derive from this configuration alone (the router's RoutingIndex),
    # by the function that builds it: ProvinceConfig.derived.
    derived: dict[Callable[..., Any], Any] = field(default_factory=dict)

    @staticmethod
    def build(cfg: ProvinceConfig) -> Lookups:
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
        member_areas = {m.id: _member_area_keys(m, zones)
                        for m in cfg.task_force.members if m.active}
        people: dict[str, Person] = {}
        for p in cfg.task_force.people():
            people.setdefault(p.id, p)
        return Lookups(
            agencies=agencies,
            zones_by_key=zones,
            zone_area_keys=zone_areas,
            member_area_keys=member_areas,
            areas=frozenset(k for ks in (*zone_areas.values(), *member_areas.values())
                            for k in ks),
            people=people,
        )


def _member_area_keys(m: Member, zones: Mapping[str, ZoneSpec]) -> tuple[str, ...]:
    keys: list[str] = []
    for a in m.areas:
        k = area_key(a)
        if k:
            keys.append(k)
        z = zones.get(zone_key(a))
        if z is not None:
            keys.append(ZONE_AREA_PREFIX + zone_key(z.name))
    return tuple(dict.fromkeys(keys))
