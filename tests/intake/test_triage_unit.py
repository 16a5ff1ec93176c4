"""The permanent deputy's triage rules (#20 item 3), pure: who decides, the co-handlers
of a dispatch, what a correction makes of a difficulty, which merges are allowed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.intake import logic
from shared import audit, vn
from shared.events import (
    ActorKind,
    AssignmentRole,
    Category,
    DifficultyReceived,
    Status,
    ZoneType,
)
from shared.provinces import ConfigHolder, ConfigSet, ProvinceConfig

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def configs() -> ConfigSet:
    return ConfigHolder().current


@pytest.fixture(scope="module")
def bd(configs: ConfigSet) -> ProvinceConfig:
    return configs["binh-duong"]


def difficulty(**kw: Any) -> DifficultyReceived:
    data: dict[str, Any] = {
        "difficulty_id": uuid.uuid4(), "tracking_code": "BD-2611-00001", "received_at": NOW,
        "province_code": "79", "province_name": "Thành phố Hồ Chí Minh",
        "task_force": "binh-duong", "tax_code": "0100233488", "enterprise_name": "Công ty A",
        "zone_type": None, "zone_name": "Khu xyz", "category": "labour", "kind": "difficulty",
        "title": "Thiếu lao động", "description": "Cần hỗ trợ tuyển dụng.",
        "contact": {"name": "Nguyễn Văn A"},
    }
    data.update(kw)
    return DifficultyReceived.model_validate(data)


def held(agency: str, role: AssignmentRole = AssignmentRole.TRIAGE) -> logic.Held:
    return logic.Held(uuid.uuid4(), role, agency, None)


def test_only_the_permanent_deputy_corrects_or_merges(bd: ProvinceConfig) -> None:
    logic.check_deputy(ActorKind.AGENCY, bd.rules.triage, bd)
    for kind, actor in ((ActorKind.AGENCY, "binh-duong.so-cong-thuong"),
                        (ActorKind.MEMBER, bd.task_force.permanent_deputy.id),
                        (ActorKind.OPERATOR, "operator")):
        with pytest.raises(logic.StatusForbidden) as e:
            logic.check_deputy(kind, actor, bd)
        assert e.value.field == "Authorization"
    with pytest.raises(logic.StatusForbidden):
        logic.check_deputy(ActorKind.AGENCY, bd.rules.triage, None)


def test_co_handlers_of_a_dispatch_are_agencies_of_the_task_force(bd: ProvinceConfig) -> None:
    lead = "binh-duong.so-cong-thuong"
    assert logic.check_co_handlers(
        [" binh-duong.so-lao-dong", "binh-duong.so-lao-dong", "", "binh-duong.cuc-thue"],
        lead=lead, cfg=bd) == ["binh-duong.so-lao-dong", "binh-duong.cuc-thue"]
    assert logic.check_co_handlers([], lead=None, cfg=bd) == []
    for bad in (["binh-duong.nope"], [lead], [bd.rules.triage]):
        with pytest.raises(vn.InvalidField) as e:
            logic.check_co_handlers(bad, lead=lead, cfg=bd)
        assert e.value.field == "co_agency_ids"
    with pytest.raises(vn.InvalidField):  # co-handlers without a lead: not a dispatch
        logic.check_co_handlers(["binh-duong.so-lao-dong"], lead=None, cfg=bd)


def test_only_an_open_difficulty_in_triage_is_corrected(bd: ProvinceConfig) -> None:
    logic.check_correctable("assigned", [held(bd.rules.triage)], bd)
    with pytest.raises(logic.TriageConflict):
        logic.check_correctable("assigned", [held("binh-duong.bql-kcn", AssignmentRole.LEAD)],
                                bd)
    for final in ("resolved", "rejected", "merged"):
        with pytest.raises(logic.TriageConflict):
            logic.check_correctable(final, [held(bd.rules.triage)], bd)


def test_a_correction_replaces_what_is_given_and_keeps_the_rest(configs: ConfigSet) -> None:
    d = difficulty()
    fix = logic.correction_of(d, configs, zone_type=ZoneType.CCN, clear_zone=False,
                              category=None, province=None)
    assert (fix.zone_type, fix.category, fix.province_code, fix.task_force) == (
        ZoneType.CCN, Category.LABOUR, "79", "binh-duong")
    fixed = logic.corrected(d, fix)
    assert fixed.zone_type is ZoneType.CCN and fixed.title == d.title
    moved = logic.correction_of(d, configs, zone_type=None, clear_zone=False, category=None,
                                province=vn.resolve_province("Thanh Hóa"))
    assert (moved.province_code, moved.task_force) == ("38", "thanh-hoa")
    assert moved.zone_type is None and moved.category is Category.LABOUR
    with pytest.raises(vn.InvalidField) as e:  # nothing different
        logic.correction_of(d, configs, zone_type=None, clear_zone=False,
                            category=Category.LABOUR, province=None)
    assert e.value.field == "correction"
    cleared = logic.correction_of(difficulty(zone_type="KCN"), configs, zone_type=None,
                                  clear_zone=True, category=None, province=None)
    assert cleared.zone_type is None


def test_a_correction_to_a_province_without_a_task_force_is_refused(configs: ConfigSet
                                                                    ) -> None:
    unconfigured = next(p for p in ("Cà Mau", "Lai Châu", "Điện Biên", "Sơn La")
                        if configs.for_difficulty(vn.resolve_province(p).code,
                                                  vn.resolve_province(p).task_force_slug)
                        is None)
    with pytest.raises(vn.InvalidField) as e:
        logic.correction_of(difficulty(), configs, zone_type=None, clear_zone=False,
                            category=None, province=vn.resolve_province(unconfigured))
    assert e.value.field == "province"


def test_a_duplicate_merges_into_an_open_difficulty_of_its_task_force() -> None:
    dup, kept = difficulty(), difficulty(tracking_code="BD-2611-00002")
    pair = logic.check_merge(duplicate=dup, duplicate_status="assigned", kept=kept,
                             kept_status="in_progress", duplicate_task_force="binh-duong",
                             kept_task_force="binh-duong")
    assert (pair.duplicate.difficulty_id, pair.kept.difficulty_id) == (
        dup.difficulty_id, kept.difficulty_id)
    assert pair.kept.tracking_code == "BD-2611-00002"
    # Into a closed (resolved) one is fine: its answer is the duplicate's answer too.
    logic.check_merge(duplicate=dup, duplicate_status="assigned", kept=kept,
                      kept_status="resolved", duplicate_task_force="binh-duong",
                      kept_task_force="binh-duong")
    refused: list[dict[str, Any]] = [
        {"kept": None, "kept_status": None},
        {"kept": dup, "kept_status": "assigned"},
        {"kept_task_force": "thanh-hoa"},
        {"kept_status": "merged"},
    ]
    for change in refused:
        args: dict[str, Any] = {"duplicate": dup, "duplicate_status": "assigned",
                                "kept": kept, "kept_status": "assigned",
                                "duplicate_task_force": "binh-duong",
                                "kept_task_force": "binh-duong", **change}
        with pytest.raises(vn.InvalidField) as e:
            logic.check_merge(**args)
        assert e.value.field == "into"
    with pytest.raises(logic.TriageConflict):
        logic.check_merge(duplicate=dup, duplicate_status="rejected", kept=kept,
                          kept_status="assigned", duplicate_task_force="binh-duong",
                          kept_task_force="binh-duong")


def test_the_kept_difficulty_is_named_by_its_tracking_code_or_id() -> None:
    did = uuid.uuid4()
    assert logic.merge_reference(f" {did} ") == ("id", str(did))
    assert logic.merge_reference("bd-2611-00002") == ("code", "BD-2611-00002")
    for bad in ("", "ab", "BD 2611", "x" * 30, "mã-hồ-sơ"):
        with pytest.raises(vn.InvalidField):
            logic.merge_reference(bad)


def test_merged_is_final() -> None:
    assert logic.TRANSITIONS[Status.MERGED] == frozenset()


def test_rows_without_the_triage_decisions_hash_as_before() -> None:
    row: dict[str, Any] = {name: None for name in audit.FIELDS}
    row.update(status_id=uuid.uuid4(), difficulty_id=uuid.uuid4(), position=1,
               actor_kind="agency", actor_id="binh-duong.to-cong-tac", changed_at=NOW)
    before = audit.link_hash(row, audit.GENESIS)
    assert audit.link_hash({**row, **dict.fromkeys(audit.LATER_FIELDS)},
                           audit.GENESIS) == before
    merged = {**row, "merged_into": '{"difficulty_id": "x", "tracking_code": "BD-1"}'}
    assert audit.link_hash(merged, audit.GENESIS) != before
