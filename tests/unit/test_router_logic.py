"""Routing decisions: lead by zone type, co-handlers, members, triage, escalation, reassign."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.router.logic import (
    UNCONFIGURED_TRIAGE,
    RoutingError,
    config_for,
    correct,
    decide,
    escalate,
    members_for,
    movable,
    reassign,
)
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
    deterministic_id,
)
from shared.provinces import ConfigSet, ProvinceConfig, default_config_dir, load_dir

NOW = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)
CV = "abcdef123456"

# Lead agency of each zone type in each shipped province.
LEADS: dict[str, dict[ZoneType, str]] = {
    "binh-duong": {
        ZoneType.KCN: "binh-duong.bql-kcn",
        ZoneType.KKT: "binh-duong.bql-kcn",
        ZoneType.CCN: "binh-duong.so-cong-thuong",
        ZoneType.NONE: "binh-duong.so-ke-hoach-dau-tu",
    },
    "thanh-hoa": {
        ZoneType.KCN: "thanh-hoa.bql-kkt-nghi-son",
        ZoneType.KKT: "thanh-hoa.bql-kkt-nghi-son",
        ZoneType.CCN: "thanh-hoa.so-cong-thuong",
        ZoneType.NONE: "thanh-hoa.so-tai-chinh",
    },
    "ninh-binh": {
        ZoneType.KCN: "ninh-binh.bql-kcn",
        ZoneType.KKT: "ninh-binh.bql-kcn",
        ZoneType.CCN: "ninh-binh.so-cong-thuong",
        ZoneType.NONE: "ninh-binh.so-tai-chinh",
    },
    "tien-giang": {
        ZoneType.KCN: "tien-giang.bql-kcn",
        ZoneType.KKT: "tien-giang.bql-kcn",
        ZoneType.CCN: "tien-giang.so-cong-thuong",
        ZoneType.NONE: "tien-giang.so-ke-hoach-dau-tu",
    },
    "ha-noi": {
        ZoneType.KCN: "ha-noi.bql-kcn-kcx",
        ZoneType.KKT: "ha-noi.bql-kcn-kcx",
        ZoneType.CCN: "ha-noi.so-cong-thuong",
        ZoneType.NONE: "ha-noi.so-tai-chinh",
    },
}
PROVINCE = {
    "binh-duong": ("79", "Bình Dương"),
    "thanh-hoa": ("38", "Thanh Hóa"),
    "ninh-binh": ("37", "Ninh Bình"),
    "tien-giang": ("82", "Tiền Giang"),
    "ha-noi": ("01", "Hà Nội"),
}


@pytest.fixture(scope="module")
def configs() -> ConfigSet:
    return load_dir(default_config_dir())


@pytest.fixture(scope="module")
def bd(configs: ConfigSet) -> ProvinceConfig:
    return configs["binh-duong"]


def difficulty(slug: str = "binh-duong", **kw: Any) -> DifficultyReceived:
    code, name = PROVINCE.get(slug, ("99", "Tỉnh Mẫu"))
    data: dict[str, Any] = {
        "difficulty_id": uuid.uuid5(uuid.NAMESPACE_URL, repr(sorted(kw.items())) + slug),
        "tracking_code": "TG-2025-0001",
        "received_at": NOW,
        "province_code": code,
        "province_name": name,
        "tax_code": "0100233488",
        "enterprise_name": "Công ty TNHH Mẫu",
        "category": "labour",
        "kind": "difficulty",
        "title": "Thiếu lao động",
        "description": "Doanh nghiệp thiếu 200 công nhân.",
        "contact": {"name": "Nguyễn Văn A"},
    }
    data.update(kw)
    return DifficultyReceived.model_validate(data)


def route(d: DifficultyReceived, cfg: ProvinceConfig | None) -> list[DifficultyAssigned]:
    out = decide(d, cfg, config_version=CV, now=NOW)
    assert out, "never an empty list"
    for a in out:  # every assignment is a valid event, as the consumer will parse it
        assert DifficultyAssigned.model_validate_json(a.model_dump_json()) == a
        assert a.config_version == CV and a.assigned_at == NOW
        assert a.difficulty_id == d.difficulty_id and len(a.reason) <= 300
        assert " / " in a.reason
    assert len({a.assignment_id for a in out}) == len(out)
    return out


def by_role(out: list[DifficultyAssigned], role: AssignmentRole) -> list[DifficultyAssigned]:
    return [a for a in out if a.role is role]


# --- lead by zone type --------------------------------------------------------------------


@pytest.mark.parametrize("slug", sorted(LEADS))
@pytest.mark.parametrize("zt", list(ZoneType))
def test_every_zone_type_routes_to_its_lead(configs: ConfigSet, slug: str, zt: ZoneType) -> None:
    cfg = configs[slug]
    out = route(difficulty(slug, zone_type=zt.value), cfg)
    (lead,) = by_role(out, AssignmentRole.LEAD)
    assert lead.agency_id == LEADS[slug][zt]
    assert lead.rule == f"lead_by_zone_type.{zt.value}"
    assert lead.zone_type is zt and lead.agency_level is AgencyLevel.PROVINCE


@pytest.mark.parametrize("slug", sorted(LEADS))
def test_every_registered_zone_routes_by_its_type(configs: ConfigSet, slug: str) -> None:
    cfg = configs[slug]
    assert cfg.zones
    for z in cfg.zones:
        for name in (z.name, *z.aliases):
            out = route(difficulty(slug, zone_name=name), cfg)
            lead = by_role(out, AssignmentRole.LEAD)[0]
            assert lead.agency_id == LEADS[slug][z.type], name
            assert lead.zone_type is z.type
            assert z.name in lead.reason


@pytest.mark.parametrize(
    "name",
    [
        "KCN VSIP II",
        "khu công nghiệp vsip 2",
        "KHU CÔNG NGHIỆP VSIP II",
        "Khu công nghiệp Việt Nam - Singapore II",
        "kcn  viet nam singapore 2",
        unicodedata.normalize("NFD", "Khu công nghiệp VSIP II"),
    ],
)
def test_vsip_ii_spellings(bd: ProvinceConfig, name: str) -> None:
    lead = route(difficulty(zone_name=name), bd)[0]
    assert lead.role is AssignmentRole.LEAD and lead.agency_id == "binh-duong.bql-kcn"
    assert "Khu công nghiệp Việt Nam - Singapore II" in lead.reason
    assert "II-A" not in lead.reason


def test_kkt_nghi_son(configs: ConfigSet) -> None:
    lead = route(difficulty("thanh-hoa", zone_name="KKT Nghi Sơn"), configs["thanh-hoa"])[0]
    assert lead.zone_type is ZoneType.KKT
    assert lead.agency_id == "thanh-hoa.bql-kkt-nghi-son"


def test_the_registry_overrules_a_declared_zone_type_and_says_so(bd: ProvinceConfig) -> None:
    # The business said "cluster"; the registry knows VSIP II is an industrial park.
    lead = route(difficulty(zone_type="CCN", zone_name="VSIP II"), bd)[0]
    assert lead.agency_id == "binh-duong.bql-kcn" and lead.zone_type is ZoneType.KCN
    assert "per the registry, declared industrial cluster" in lead.reason
    assert "theo danh mục, doanh nghiệp khai cụm công nghiệp" in lead.reason
    # Declared as the registry has it: nothing to correct, nothing said.
    agreed = route(difficulty(zone_type="KCN", zone_name="VSIP II"), bd)[0]
    assert agreed.agency_id == "binh-duong.bql-kcn" and "declared" not in agreed.reason


def test_an_unregistered_name_keeps_the_declared_type_and_is_cited(bd: ProvinceConfig) -> None:
    lead = route(difficulty(zone_type="KCN", zone_name="KCN Mới Toanh"), bd)[0]
    assert lead.agency_id == "binh-duong.bql-kcn"
    assert "'KCN Mới Toanh'" in lead.reason and "not in the registry" in lead.reason


def test_a_merged_province_routes_by_place_to_its_former_provinces_task_force(
    configs: ConfigSet,
) -> None:
    # Former Bình Dương is part of Thành phố Hồ Chí Minh (code 79) since July 2025; a
    # business there may pick the city. Its park, ward or former district tells which
    # task force it belongs to; a place none of them knows stays the city's (triage).
    city = "ho-chi-minh"
    assert configs.task_force_for("79", city, zone_name="KCN VSIP 2") == "binh-duong"
    assert configs.task_force_for("79", city, ward="Phường Dĩ An") == "binh-duong"
    assert configs.task_force_for("79", city, zone_name="KCN Tân Thuận") == city
    assert configs.task_force_for("79", city) == city
    assert configs.task_force_for("79", "binh-duong") == "binh-duong"
    d = difficulty(province_code="79", province_name="Thành phố Hồ Chí Minh",
                   task_force="binh-duong", zone_name="VSIP II")
    assert config_for(d, configs) is configs["binh-duong"]
    lead = route(d, config_for(d, configs))[0]
    assert lead.agency_id == "binh-duong.bql-kcn"


# --- triage --------------------------------------------------------------------------------


def test_unknown_zone_goes_to_triage_with_reason(bd: ProvinceConfig) -> None:
    out = route(difficulty(zone_name="xyz"), bd)
    assert len(out) == 1
    (a,) = out
    assert a.role is AssignmentRole.TRIAGE
    assert a.agency_id == "binh-duong.to-cong-tac" and a.agency_level is AgencyLevel.TASK_FORCE
    assert a.rule == "fallback.triage"
    assert a.reason == "Không xác định được khu/cụm: 'xyz' / Unknown zone 'xyz'"


def test_no_zone_at_all_goes_to_triage(bd: ProvinceConfig) -> None:
    (a,) = route(difficulty(), bd)
    assert a.role is AssignmentRole.TRIAGE and a.rule == "fallback.triage"
    assert "Zone not given" in a.reason


def test_no_config_goes_to_operators_triage() -> None:
    (a,) = route(difficulty("da-nang", zone_type="KCN"), None)
    assert a.role is AssignmentRole.TRIAGE and a.agency_id == UNCONFIGURED_TRIAGE
    assert a.rule == "fallback.triage" and "No configuration for province code 99" in a.reason


def test_long_submitted_text_is_clipped_in_reasons(bd: ProvinceConfig) -> None:
    (a,) = route(difficulty(zone_name=("Khu " + "rất dài " * 40)[:300]), bd)
    assert len(a.reason) <= 300 and "…" in a.reason


def test_config_for_uses_code_and_province_name(configs: ConfigSet) -> None:
    assert config_for(difficulty(), configs) is configs["binh-duong"]
    d = difficulty(province_name="TP. Hồ Chí Minh")  # code 79, but not Bình Dương's task force
    assert config_for(d, configs) is None
    d = difficulty("tien-giang", province_name="Đồng Tháp")
    assert config_for(d, configs) is None
    assert config_for(difficulty("tien-giang"), configs) is configs["tien-giang"]
    assert config_for(difficulty("thanh-hoa", province_name="??"), configs) is configs["thanh-hoa"]


# --- co-handlers ------------------------------------------------------------------------------


def test_category_co_handlers(bd: ProvinceConfig) -> None:
    out = route(difficulty(zone_name="VSIP II", category="labour"), bd)
    (co,) = by_role(out, AssignmentRole.CO_HANDLER)
    assert co.agency_id == "binh-duong.so-lao-dong" and co.rule == "co_handlers_by_category.labour"
    out = route(difficulty(zone_type="NONE", category="social_security"), bd)
    assert [a.agency_id for a in by_role(out, AssignmentRole.CO_HANDLER)] == [
        "binh-duong.bao-hiem-xa-hoi",
        "binh-duong.so-lao-dong",
    ]
    out = route(difficulty(zone_type="NONE", category="health_safety"), bd)
    assert [a.agency_id for a in by_role(out, AssignmentRole.CO_HANDLER)] == ["binh-duong.so-y-te"]


def test_co_handler_that_is_the_lead_is_not_repeated(bd: ProvinceConfig) -> None:
    out = route(difficulty(zone_type="CCN", category="raw_materials"), bd)
    assert by_role(out, AssignmentRole.CO_HANDLER) == []
    assert by_role(out, AssignmentRole.LEAD)[0].agency_id == "binh-duong.so-cong-thuong"


# --- members -------------------------------------------------------------------------------


def synthetic() -> ProvinceConfig:
    agencies = [
        ("to-cong-tac", "task_force"),
        ("to-truong", "task_force"),
        ("bql-kcn", "province"),
        ("so-cong-thuong", "province"),
        ("so-khdt", "province"),
        ("so-lao-dong", "province"),
        ("cuc-thue", "province"),
        ("ubnd-di-an", "district"),
        ("ubnd-thuan-an", "district"),
    ]

    def member(mid: str, agency: str, **kw: Any) -> dict[str, Any]:
        return {
            "id": f"syn.{mid}",
            "name": mid.upper(),
            "title": "Thành viên",
            "agency": f"syn.{agency}",
            **kw,
        }

    return ProvinceConfig.model_validate(
        {
            "province": {
                "slug": "syn",
                "name_vi": "Mẫu",
                "name_en": "Sample",
                "province_code": "99",
            },
            "agencies": [
                {"id": f"syn.{a}", "name_vi": a, "name_en": a, "level": lv} for a, lv in agencies
            ]
            + [
                {
                    "id": "central.bo-tai-chinh",
                    "name_vi": "Bộ Tài chính",
                    "name_en": "MoF",
                    "level": "central",
                },
                {
                    "id": "central.bo-noi-vu",
                    "name_vi": "Bộ Nội vụ",
                    "name_en": "MoHA",
                    "level": "central",
                },
            ],
            "zones": [{"name": "KCN Sóng Thần I", "type": "KCN", "district": "Dĩ An"}],
            "rules": {
                "lead_by_zone_type": {
                    "KCN": "syn.bql-kcn",
                    "KKT": "syn.bql-kcn",
                    "CCN": "syn.so-cong-thuong",
                    "NONE": "syn.so-khdt",
                },
                "escalation": {"labour": "central.bo-noi-vu", "default": "central.bo-tai-chinh"},
                "triage": "syn.to-cong-tac",
                "head": "syn.to-truong",
            },
            "task_force": {
                "effective_from": "2021-07-16",
                "head": {
                    "id": "syn.head",
                    "name": "H",
                    "title": "Tổ trưởng",
                    "agency": "syn.to-truong",
                },
                "permanent_deputy": {
                    "id": "syn.deputy",
                    "name": "D",
                    "title": "Tổ phó TT",
                    "agency": "syn.so-khdt",
                },
                "members": [
                    member("a", "so-lao-dong", fields=["labour"]),
                    member("b", "ubnd-di-an", areas=["TP. Dĩ An"]),
                    member("c", "so-lao-dong", fields=["labour"], areas=["Dĩ An"]),
                    member("d", "cuc-thue", fields=["tax"]),
                    member("e", "so-lao-dong", fields=["labour"], areas=["Thuận An"]),
                    member(
                        "f",
                        "so-lao-dong",
                        fields=["labour", "tax"],
                        active=False,
                        replaced_by="syn.c",
                    ),
                    member("g", "ubnd-thuan-an", areas=["Thuận An"]),
                ],
            },
        }
    )


def ids(pairs: list[tuple[Any, str]]) -> list[tuple[str, str]]:
    return [(p.id, rule) for p, rule in pairs]


def test_member_specificity() -> None:
    cfg = synthetic()
    # field and area beat field only and area only
    d = difficulty("syn", zone_type="NONE", category="labour", district="Dĩ An")
    assert ids(members_for(d, cfg)) == [("syn.c", "member.field+area")]
    # field only: members limited to another area are out
    d = difficulty("syn", zone_type="NONE", category="labour", district="Bến Cát")
    assert ids(members_for(d, cfg)) == [("syn.a", "member.field")]
    # field only and area only are equal: both get it, in file order
    d = difficulty("syn", zone_type="NONE", category="tax", ward="Phường Dĩ An")
    assert ids(members_for(d, cfg)) == [("syn.b", "member.area"), ("syn.d", "member.field")]
    # none: the permanent deputy
    d = difficulty("syn", zone_type="NONE", category="other", district="Bến Cát")
    assert ids(members_for(d, cfg)) == [("syn.deputy", "member.none->permanent_deputy")]
    # two equally specific matches
    d = difficulty("syn", zone_type="NONE", category="labour", district="Dĩ An", ward="Thuận An")
    assert ids(members_for(d, cfg)) == [
        ("syn.c", "member.field+area"),
        ("syn.e", "member.field+area"),
    ]


def test_member_area_from_the_zone_and_spellings() -> None:
    cfg = synthetic()
    d = difficulty("syn", zone_name="khu cong nghiep song than 1", category="labour")
    assert ids(members_for(d, cfg)) == [("syn.c", "member.field+area")]
    for place in ("thành phố Dĩ An", "di an", "TP.Dĩ An", unicodedata.normalize("NFD", "Dĩ An")):
        d = difficulty("syn", zone_type="NONE", category="labour", district=place)
        assert ids(members_for(d, cfg)) == [("syn.c", "member.field+area")], place


def test_member_assignments_in_decide() -> None:
    cfg = synthetic()
    out = route(difficulty("syn", zone_type="NONE", category="tax", ward="Dĩ An"), cfg)
    members = by_role(out, AssignmentRole.MEMBER)
    assert [(a.member_id, a.agency_id, a.agency_level, a.rule) for a in members] == [
        ("syn.b", "syn.ubnd-di-an", AgencyLevel.DISTRICT, "member.area"),
        ("syn.d", "syn.cuc-thue", AgencyLevel.PROVINCE, "member.field"),
    ]
    out = route(difficulty("syn", zone_type="NONE", category="other"), cfg)
    (m,) = by_role(out, AssignmentRole.MEMBER)
    assert m.member_id == "syn.deputy" and m.agency_id == "syn.to-cong-tac"
    assert m.rule == "member.none->permanent_deputy" and "permanent deputy" in m.reason


def test_shipped_members(bd: ProvinceConfig) -> None:
    d = difficulty(zone_name="VSIP II", category="labour")
    # Sở LĐ-TB&XH by field, UBND Thủ Dầu Một by the zone's district: equally specific
    assert ids(members_for(d, bd)) == [
        ("binh-duong.m03", "member.field"),
        ("binh-duong.m11", "member.area"),
    ]


# --- escalation ----------------------------------------------------------------------------


def test_escalation_chain(bd: ProvinceConfig) -> None:
    out = route(difficulty(zone_name="VSIP II", category="labour"), bd)
    district = next(a for a in out if a.agency_level is AgencyLevel.DISTRICT)
    up1 = escalate(district, Category.LABOUR, bd, config_version=CV, now=NOW)
    assert (up1.agency_id, up1.role, up1.rule) == (
        "binh-duong.bql-kcn",
        AssignmentRole.ESCALATION,
        "escalation.district->lead_by_zone_type.KCN",
    )
    assert up1.replaces == district.assignment_id
    up2 = escalate(up1, Category.LABOUR, bd, config_version=CV, now=NOW)
    assert (up2.agency_id, up2.agency_level, up2.rule) == (
        "central.bo-noi-vu",
        AgencyLevel.CENTRAL,
        "escalation.labour",
    )
    assert up2.replaces == up1.assignment_id
    up3 = escalate(up2, Category.LABOUR, bd, config_version=CV, now=NOW)
    assert (up3.agency_id, up3.rule) == ("binh-duong.to-truong", "escalation.head")
    with pytest.raises(RoutingError):
        escalate(up3, Category.LABOUR, bd, config_version=CV, now=NOW)
    for a in (up1, up2, up3):
        assert DifficultyAssigned.model_validate_json(a.model_dump_json()) == a


def test_escalation_by_category_and_default(bd: ProvinceConfig) -> None:
    lead = route(difficulty(zone_type="NONE", category="raw_materials"), bd)[0]
    up = escalate(lead, Category.RAW_MATERIALS, bd, config_version=CV, now=NOW)
    assert (up.agency_id, up.rule) == ("central.bo-cong-thuong", "escalation.raw_materials")
    lead = route(difficulty(zone_type="NONE", category="investment_project"), bd)[0]
    up = escalate(lead, None, bd, config_version=CV, now=NOW)  # category of the assignment
    assert up.agency_id == "central.bo-tai-chinh"
    lead = route(difficulty(zone_type="NONE", category="other"), bd)[0]
    up = escalate(lead, Category.OTHER, bd, config_version=CV, now=NOW, note="cần Chính phủ")
    assert (up.agency_id, up.rule) == ("central.van-phong-chinh-phu", "escalation.default")
    assert "cần Chính phủ" in up.reason


def test_escalation_from_triage_goes_to_the_head(bd: ProvinceConfig) -> None:
    (t,) = route(difficulty(zone_name="xyz"), bd)
    up = escalate(t, None, bd, config_version=CV, now=NOW)
    assert up.agency_id == bd.rules.head and up.replaces == t.assignment_id


# --- reassign -------------------------------------------------------------------------------


def test_reassign_from_an_agency_goes_to_the_permanent_deputy(bd: ProvinceConfig) -> None:
    d = difficulty(zone_type="KCN", category="tax")
    lead = route(d, bd)[0]
    (t,) = reassign(lead, d, bd, "binh-duong.bql-kcn", config_version=CV, now=NOW)
    assert t.role is AssignmentRole.TRIAGE and t.agency_id == "binh-duong.to-cong-tac"
    assert t.rule == "reassign.triage" and t.replaces == lead.assignment_id
    assert "binh-duong.bql-kcn" in t.reason
    # the deputy decides: to the tax department
    (x,) = reassign(
        t, d, bd, "operator", config_version=CV, now=NOW, target_agency_id="binh-duong.cuc-thue"
    )
    assert (x.agency_id, x.role, x.rule) == (
        "binh-duong.cuc-thue",
        AssignmentRole.LEAD,
        "reassign.target",
    )
    assert x.replaces == t.assignment_id
    with pytest.raises(RoutingError):
        reassign(
            t, d, bd, "operator", config_version=CV, now=NOW, target_agency_id="binh-duong.nope"
        )
    with pytest.raises(RoutingError):
        reassign(
            x, d, bd, "operator", config_version=CV, now=NOW, target_agency_id="binh-duong.cuc-thue"
        )


def test_reassign_from_triage_reruns_decide(bd: ProvinceConfig) -> None:
    d = difficulty(zone_name="KCN Tân Uyên Mới", category="labour")
    (t,) = route(d, bd)
    with pytest.raises(RoutingError):  # still unknown
        reassign(t, d, bd, "operator", config_version=CV, now=NOW)
    learnt = bd.model_copy(
        update={
            "zones": [
                *bd.zones,
                bd.zones[0].model_copy(update={"name": "KCN Tân Uyên Mới", "aliases": []}),
            ]
        }
    )
    out = reassign(t, d, learnt, "operator", config_version=CV, now=NOW)
    assert out[0].role is AssignmentRole.LEAD and out[0].agency_id == "binh-duong.bql-kcn"
    assert all(a.replaces == t.assignment_id for a in out)
    assert {a.assignment_id for a in out}.isdisjoint({t.assignment_id})


# --- who may move what ----------------------------------------------------------------------


def _change(status: Status, kind: ActorKind, actor: str,
            assignment: DifficultyAssigned | None) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=uuid.uuid4(), province_code="79", status=status,
        actor_kind=kind, actor_id=actor,
        assignment_id=assignment.assignment_id if assignment else None, note="x",
        changed_at=NOW)


def test_only_what_the_actor_holds_moves(bd: ProvinceConfig) -> None:
    """A member's or co-handler's request must not move the lead's assignment (it used to:
    a change naming no held assignment fell back to the first one, the lead's)."""
    d = difficulty(zone_name="VSIP II", category="raw_materials", district="Thủ Dầu Một")
    current = route(d, bd)
    lead = next(a for a in current if a.role is AssignmentRole.LEAD)
    co = next(a for a in current if a.role is AssignmentRole.CO_HANDLER)
    member = next(a for a in current if a.role is AssignmentRole.MEMBER)
    deputy = bd.rules.triage
    for status in (Status.REASSIGN_REQUESTED, Status.ESCALATED):
        assert movable(_change(status, ActorKind.AGENCY, lead.agency_id, lead), current,
                       deputy).assignments == [lead]
        # The permanent deputy moves the holder's assignment, named or not.
        assert movable(_change(status, ActorKind.AGENCY, deputy, lead), current,
                       deputy).assignments == [lead]
        assert movable(_change(status, ActorKind.AGENCY, deputy, None), current,
                       deputy).assignments == [lead]
        # A member, an operator, an agency with no part: nothing, with the reason.
        m = movable(_change(status, ActorKind.MEMBER, member.member_id or "", member),
                    current, deputy)
        assert (m.assignments, m.ignored) == ([], "not_an_agency")
        assert movable(_change(status, ActorKind.OPERATOR, "ops", lead), current,
                       deputy).ignored == "not_an_agency"
        stranger = movable(_change(status, ActorKind.AGENCY, "binh-duong.cuc-thue", lead),
                           current, deputy)
        assert (stranger.assignments, stranger.ignored) == ([], "not_held")
        # Naming the lead's assignment does not lend its authority.
        assert movable(_change(status, ActorKind.AGENCY, co.agency_id, lead), current,
                       deputy).assignments != [lead]
    # A co-handler may ask to be relieved of its own part, and escalate nothing.
    assert movable(_change(Status.REASSIGN_REQUESTED, ActorKind.AGENCY, co.agency_id, co),
                   current, deputy).assignments == [co]
    up = movable(_change(Status.ESCALATED, ActorKind.AGENCY, co.agency_id, co), current,
                 deputy)
    assert (up.assignments, up.ignored) == ([], "co_handler_escalation")
    # The deputy on a difficulty nobody holds any more: nothing to move.
    assert movable(_change(Status.ESCALATED, ActorKind.AGENCY, deputy, None), [co, member],
                   deputy).ignored == "nothing_held"


def test_the_business_second_not_resolved_moves_the_holders_assignment_only(
        bd: ProvinceConfig) -> None:
    """#20 item 6: the business's reassign_requested (its second "not resolved") moves the
    lead's assignment to triage; it escalates nothing and names no target."""
    d = difficulty(zone_name="VSIP II", category="raw_materials", district="Thủ Dầu Một")
    current = route(d, bd)
    lead = next(a for a in current if a.role is AssignmentRole.LEAD)
    deputy = bd.rules.triage
    assert movable(_change(Status.REASSIGN_REQUESTED, ActorKind.BUSINESS, "business", lead),
                   current, deputy).assignments == [lead]
    assert movable(_change(Status.ESCALATED, ActorKind.BUSINESS, "business", lead), current,
                   deputy).ignored == "not_an_agency"


# --- determinism ----------------------------------------------------------------------------


def test_ids_are_deterministic(bd: ProvinceConfig, configs: ConfigSet) -> None:
    d = difficulty(zone_name="VSIP II", category="social_security", district="Thủ Dầu Một")
    first = route(d, bd)
    again = decide(d, bd, config_version=CV, now=NOW)
    assert [a.assignment_id for a in first] == [a.assignment_id for a in again]
    # a fresh load of the same files (replay after a restart) gives the same ids
    reloaded = load_dir(default_config_dir())["binh-duong"]
    assert [a.assignment_id for a in decide(d, reloaded, config_version=CV, now=NOW)] == [
        a.assignment_id for a in first
    ]
    lead = first[0]
    expected = deterministic_id(d.difficulty_id, AssignmentRole.LEAD, lead.agency_id, None, None)
    assert str(lead.assignment_id) == expected
    other = difficulty(zone_name="VSIP II", category="social_security", district="Dĩ An")
    assert {a.assignment_id for a in route(other, bd)}.isdisjoint({a.assignment_id for a in first})
    up = escalate(lead, None, bd, config_version=CV, now=NOW)
    assert escalate(lead, None, bd, config_version=CV, now=NOW).assignment_id == up.assignment_id


def test_memoised_plans_do_not_leak_between_difficulties(bd: ProvinceConfig) -> None:
    a = route(difficulty(zone_type="KCN", category="tax", tracking_code="TG-A00001"), bd)
    b = route(
        difficulty(zone_type="KCN", category="tax", tracking_code="TG-B00002", urgency="urgent"), bd
    )
    assert [x.agency_id for x in a] == [x.agency_id for x in b]
    assert {x.tracking_code for x in b} == {"TG-B00002"}
    assert {x.urgency.value for x in b} == {"urgent"}


# --- the permanent deputy's triage (#20 item 3) ---------------------------------------------


def test_a_dispatch_names_the_deputy_and_brings_its_co_handlers(bd: ProvinceConfig) -> None:
    d = difficulty(zone_name="xyz", category="labour")
    (t,) = route(d, bd)
    deputy = bd.task_force.permanent_deputy.id
    out = reassign(t, d, bd, bd.rules.triage, config_version=CV, now=NOW,
                   target_agency_id="binh-duong.so-cong-thuong", decided_by=deputy,
                   co_agency_ids=["binh-duong.so-lao-dong", "binh-duong.so-cong-thuong",
                                  "binh-duong.nope", bd.rules.triage])
    assert [(a.agency_id, a.role, a.rule) for a in out] == [
        ("binh-duong.so-cong-thuong", AssignmentRole.LEAD, f"manual:{deputy}"),
        ("binh-duong.so-lao-dong", AssignmentRole.CO_HANDLER, f"manual:{deputy}"),
    ]
    assert {a.replaces for a in out} == {t.assignment_id}
    assert len({a.assignment_id for a in out}) == 2
    for a in out:
        assert DifficultyAssigned.model_validate_json(a.model_dump_json()) == a


def test_a_corrected_difficulty_is_routed_again_from_triage(configs: ConfigSet) -> None:
    bd = configs["binh-duong"]
    d = difficulty(zone_name="xyz", category="labour")
    (t,) = route(d, bd)
    assert t.role is AssignmentRole.TRIAGE
    fixed = d.model_copy(update={"zone_type": ZoneType.CCN})
    out = correct(t, fixed, config_for(fixed, configs), config_version=CV, now=NOW)
    lead = [a for a in out if a.role is AssignmentRole.LEAD]
    assert [a.agency_id for a in lead] == [LEADS["binh-duong"][ZoneType.CCN]]
    assert all(a.replaces == t.assignment_id and a.zone_type is ZoneType.CCN for a in out)


def test_a_correction_to_another_province_routes_in_its_task_force(configs: ConfigSet) -> None:
    bd = configs["binh-duong"]
    d = difficulty(zone_name="xyz", category="tax")
    (t,) = route(d, bd)
    code, name = PROVINCE["thanh-hoa"]
    moved = d.model_copy(update={"province_code": code, "province_name": name,
                                 "task_force": "thanh-hoa", "zone_type": ZoneType.NONE,
                                 "zone_name": None})
    cfg = config_for(moved, configs)
    assert cfg is not None and cfg.slug == "thanh-hoa"
    out = correct(t, moved, cfg, config_version=CV, now=NOW)
    lead = [a for a in out if a.role is AssignmentRole.LEAD]
    assert [a.agency_id for a in lead] == [LEADS["thanh-hoa"][ZoneType.NONE]]
    assert all(a.province_code == code for a in out)
