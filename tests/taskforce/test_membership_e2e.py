"""A task force's members, end to end: the services as processes on the real broker and
database, on a province directory of the test's own that the test edits while they run.

A difficulty in a member's field and area reaches that member; replacing one member
and removing another (an edit of the file, hot-reloaded) moves their open items with
new assignment events that say what they replace and why; a resolved item stays."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.router.logic import RULE_REMOVED, RULE_REPLACED
from shared import topics
from shared.provinces import load_dir
from tests.conftest import Stack, wait_until
from tests.taskforce.conftest import (
    TopicReader,
    edit_province,
    issue_token,
    make_stack,
    submission,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(240)]

SLUG = "binh-duong"
M03 = f"{SLUG}.m03"  # labour, any area
M05 = f"{SLUG}.m05"  # tax, any area
M11 = f"{SLUG}.m11"  # Thủ Dầu Một and its wards, any field
M12 = f"{SLUG}.m12"  # Dĩ An and its wards, any field
OLD = f"{SLUG}.m20"  # added by the test: labour in Dĩ An
NEW = f"{SLUG}.m21"  # takes over from m20


def member(mid: str, **extra: Any) -> dict[str, Any]:
    return {"id": mid, "name": f"Thành viên {mid[-3:]}", "title": "Phó Trưởng phòng",
            "agency": f"{SLUG}.so-lao-dong", "fields": ["labour"], "areas": ["Dĩ An"],
            "contacts": [{"channel": "email", "address": f"{mid[-3:]}@binh-duong.example.vn"}],
            **extra}


def add_labour_member_in_di_an(data: dict[str, Any]) -> None:
    data["task_force"]["members"].append(member(OLD))


def replace_m20_and_remove_m05(data: dict[str, Any]) -> None:
    members = data["task_force"]["members"]
    for m in members:
        if m["id"] == OLD:
            m.update(active=False, replaced_by=NEW)
    members[:] = [m for m in members if m["id"] != M05]
    members.append(member(NEW))


def member_assignments(reader: TopicReader, did: str) -> list[dict[str, Any]]:
    return [body for _, body in reader.seen
            if body["difficulty_id"] == did and body["role"] == "member"]


async def test_members_receive_their_items_and_a_replacement_moves_open_ones(
    private_topics: str, database_url: str, config_dir: Path, tmp_path: Path,
    owned_stacks: list[Stack],
) -> None:
    edit_province(config_dir, SLUG, add_labour_member_in_di_an)
    first_version = load_dir(config_dir).version
    stack = make_stack(private_topics, database_url, config_dir, tmp_path,
                       ("intake", "router", "notify"))
    owned_stacks.append(stack)
    assigned = await TopicReader.start(private_topics, topics.DIFFICULTY_ASSIGNED)
    db = await asyncpg.connect(database_url)
    try:
        await stack.start()
        async with httpx.AsyncClient(base_url=stack["intake"].url) as client:
            open_one = (await submit(client, submission(1, ward="Phường Dĩ An")))["difficulty_id"]
            resolved = (await submit(client, submission(2, ward="Dĩ An")))["difficulty_id"]
            taxed = (await submit(client, submission(3, category="tax", ward="Phú Cường")))[
                "difficulty_id"]

            # (a) Field and area beat field only (m03) and area only (m12); equal matches
            # (m05 by field, m11 by area) both get the tax item.
            async def routed() -> bool:
                await assigned.poll()
                return all(member_assignments(assigned, d) for d in (open_one, resolved, taxed))

            await wait_until(routed, timeout=60)
            for did in (open_one, resolved):
                got = member_assignments(assigned, did)
                assert [(a["member_id"], a["rule"]) for a in got] == [
                    (OLD, "member.field+area")], got
                assert got[0]["config_version"] == first_version
            assert sorted((a["member_id"], a["rule"]) for a in member_assignments(
                assigned, taxed)) == [(M05, "member.field"), (M11, "member.area")]
            assert not any(body["member_id"] in (M03, M12) for _, body in assigned.seen
                           if body["difficulty_id"] in (open_one, resolved))
            old_of = {did: member_assignments(assigned, did)[0]["assignment_id"]
                      for did in (open_one, resolved)}
            m05_old = next(a["assignment_id"] for a in member_assignments(assigned, taxed)
                           if a["member_id"] == M05)

            # The lead agency resolves one of m20's items, through intake.
            lead = next(body["agency_id"] for _, body in assigned.seen
                        if body["difficulty_id"] == resolved and body["role"] == "lead")
            token = issue_token(database_url, config_dir, "agency", lead)

            async def resolve() -> bool:
                r = await client.post(
                    f"/v1/difficulties/{resolved}/resolution",
                    json={"outcome": "resolved", "done": "Đã kết nối lao động.",
                          "public_answer": "Đã kết nối lao động cho doanh nghiệp.",
                          "waive_open_parts_reason": "Sở Lao động đã trả lời trực tiếp"},
                    headers={"Authorization": f"Bearer {token}"})
                assert r.status_code in (202, 403), r.text  # 403 until intake knows the lead
                return r.status_code == 202

            await wait_until(resolve, timeout=30, interval=0.5)

            async def router_knows_closed() -> bool:
                return bool(await db.fetchval(
                    "SELECT count(*) FROM router.closed_difficulties WHERE difficulty_id = $1",
                    uuid.UUID(resolved)))

            await wait_until(router_knows_closed, timeout=30)

        # (b) The file changes under the running services: m20 replaced by m21, m05 gone.
        edit_province(config_dir, SLUG, replace_m20_and_remove_m05)
        new_version = load_dir(config_dir).version

        def moves() -> list[dict[str, Any]]:
            return [body for _, body in assigned.seen
                    if body["rule"] in (RULE_REPLACED, RULE_REMOVED)]

        async def moved() -> bool:
            await assigned.poll()
            return len(moves()) >= 2

        await wait_until(moved, timeout=30)
        # A second pass of the router follows a reload; give it (and a duplicate) time.
        await asyncio.sleep(2)
        await assigned.poll()
        got = {m["replaces"]: m for m in moves()}
        assert len(moves()) == 2, moves()
        assert set(got) == {old_of[open_one], m05_old}, "the resolved item must not move"
        to_new = got[old_of[open_one]]
        assert (to_new["member_id"], to_new["rule"], to_new["difficulty_id"]) == (
            NEW, RULE_REPLACED, open_one)
        assert to_new["config_version"] == new_version and "m20" in to_new["reason"]
        cfg = load_dir(config_dir)[SLUG]
        to_deputy = got[m05_old]
        assert (to_deputy["member_id"], to_deputy["rule"], to_deputy["difficulty_id"]) == (
            cfg.task_force.permanent_deputy.id, RULE_REMOVED, taxed)
        assert to_deputy["agency_id"] == cfg.rules.triage

        # The router's own record agrees; notify owes the new member a notice.
        rows = await db.fetch(
            "SELECT assignment_id, active FROM router.assignments WHERE assignment_id ="
            " ANY($1::uuid[])", [uuid.UUID(x) for x in
                                 (old_of[open_one], old_of[resolved], to_new["assignment_id"])])
        active = {str(r["assignment_id"]): r["active"] for r in rows}
        assert active == {old_of[open_one]: False, old_of[resolved]: True,
                          to_new["assignment_id"]: True}

        async def new_member_told() -> bool:
            return bool(await db.fetchval(
                "SELECT count(*) FROM notify.messages WHERE kind = 'assignment'"
                " AND recipient_id = $1 AND payload->>'assignment_id' = $2",
                NEW, to_new["assignment_id"]))

        await wait_until(new_member_told, timeout=30)
    finally:
        await assigned.stop()
        await db.close()
