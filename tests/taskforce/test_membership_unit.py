"""Who takes over a departing member's open items (services.router.logic, pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.router.logic import RULE_REMOVED, RULE_REPLACED, moved_id, moves
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    Category,
    DifficultyAssigned,
    Kind,
    Urgency,
    ZoneType,
)
from shared.provinces import ConfigSet, load_dir
from tests.taskforce.conftest import edit_province

SLUG = "binh-duong"
NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)


def held_by(member_id: str, *, role: AssignmentRole = AssignmentRole.MEMBER) -> DifficultyAssigned:
    return DifficultyAssigned(
        assignment_id=uuid.uuid4(), difficulty_id=uuid.uuid4(), tracking_code="TG-ABCD-0001",
        province_code="79", agency_id=f"{SLUG}.so-lao-dong", agency_level=AgencyLevel.PROVINCE,
        role=role, member_id=member_id, rule="member.field", reason="r", config_version="v1",
        urgency=Urgency.URGENT, kind=Kind.DIFFICULTY, category=Category.LABOUR,
        zone_type=ZoneType.KCN, assigned_at=NOW,
    )


def configs(config_dir: Path, change: Any = None) -> ConfigSet:
    if change is not None:
        edit_province(config_dir, SLUG, change)
    return load_dir(config_dir)


def members(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in data["task_force"]["members"]}


def test_a_member_still_in_office_keeps_their_items(config_dir: Path) -> None:
    current = [held_by(f"{SLUG}.m03"), held_by(f"{SLUG}.to-pho-thuong-truc")]
    assert moves(current, configs(config_dir), config_version="v2", now=NOW) == []


def test_replaced_by_names_who_takes_over(config_dir: Path) -> None:
    def replace(data: dict[str, Any]) -> None:
        members(data)[f"{SLUG}.m03"].update(active=False, replaced_by=f"{SLUG}.m09")

    cs = configs(config_dir, replace)
    old = held_by(f"{SLUG}.m03")
    [new] = moves([old], cs, config_version=cs.version, now=NOW)
    assert (new.member_id, new.rule, new.replaces) == (f"{SLUG}.m09", RULE_REPLACED,
                                                        old.assignment_id)
    assert new.role is AssignmentRole.MEMBER and new.config_version == cs.version
    assert new.agency_id == f"{SLUG}.bao-hiem-xa-hoi"  # m09's own agency
    assert "m03" in new.reason and " / " in new.reason
    # What the difficulty is, is carried over; only who and why change.
    assert (new.difficulty_id, new.tracking_code, new.urgency, new.category, new.zone_type) == (
        old.difficulty_id, old.tracking_code, old.urgency, old.category, old.zone_type)
    # Deterministic: the same reload, seen again or by another replica, the same id.
    again = moves([old], cs, config_version=cs.version, now=NOW)[0]
    assert again.assignment_id == new.assignment_id == moved_id(old.assignment_id, cs.version)
    assert moves([old], cs, config_version="other", now=NOW)[0].assignment_id != (
        new.assignment_id)
    DifficultyAssigned.model_validate(new.model_dump())


def test_a_chain_of_replacements_is_followed_to_an_active_member(config_dir: Path) -> None:
    def chain(data: dict[str, Any]) -> None:
        ms = members(data)
        ms[f"{SLUG}.m03"].update(active=False, replaced_by=f"{SLUG}.m04")
        ms[f"{SLUG}.m04"].update(active=False, replaced_by=f"{SLUG}.m05")

    cs = configs(config_dir, chain)
    found = moves([held_by(f"{SLUG}.m03"), held_by(f"{SLUG}.m04")], cs, config_version="v",
                  now=NOW)
    assert [(a.member_id, a.rule) for a in found] == [(f"{SLUG}.m05", RULE_REPLACED)] * 2


def test_a_chain_that_ends_nowhere_goes_to_the_permanent_deputy(config_dir: Path) -> None:
    def dead_end(data: dict[str, Any]) -> None:
        ms = members(data)
        ms[f"{SLUG}.m03"].update(active=False, replaced_by=f"{SLUG}.m04")
        ms[f"{SLUG}.m04"].update(active=False)

    cs = configs(config_dir, dead_end)
    [new] = moves([held_by(f"{SLUG}.m03")], cs, config_version="v", now=NOW)
    assert (new.member_id, new.rule) == (f"{SLUG}.to-pho-thuong-truc", RULE_REPLACED)
    assert new.agency_id == cs[SLUG].rules.triage
    assert new.agency_level is AgencyLevel.TASK_FORCE


@pytest.mark.parametrize("how", ["deleted", "inactive"])
def test_a_removed_member_hands_over_to_the_permanent_deputy(
    config_dir: Path, how: str
) -> None:
    def remove(data: dict[str, Any]) -> None:
        ms = data["task_force"]["members"]
        if how == "deleted":
            ms[:] = [m for m in ms if m["id"] != f"{SLUG}.m03"]
        else:
            members(data)[f"{SLUG}.m03"]["active"] = False

    cs = configs(config_dir, remove)
    [new] = moves([held_by(f"{SLUG}.m03"), held_by(f"{SLUG}.m04")], cs, config_version="v",
                  now=NOW)
    assert (new.member_id, new.rule, new.agency_id) == (
        f"{SLUG}.to-pho-thuong-truc", RULE_REMOVED, cs[SLUG].rules.triage)


def test_a_new_permanent_deputy_takes_the_former_ones_queue(config_dir: Path) -> None:
    def new_deputy(data: dict[str, Any]) -> None:
        data["task_force"]["permanent_deputy"]["id"] = f"{SLUG}.to-pho-thuong-truc-moi"

    cs = configs(config_dir, new_deputy)
    [new] = moves([held_by(f"{SLUG}.to-pho-thuong-truc")], cs, config_version="v", now=NOW)
    assert new.member_id == f"{SLUG}.to-pho-thuong-truc-moi"


def test_only_member_assignments_of_a_configured_province_move(config_dir: Path) -> None:
    cs = configs(config_dir, lambda data: members(data)[f"{SLUG}.m03"].update(active=False))
    lead = held_by(f"{SLUG}.m03", role=AssignmentRole.LEAD)
    elsewhere = held_by("lam-dong.m03")
    assert moves([lead, elsewhere], cs, config_version="v", now=NOW) == []
