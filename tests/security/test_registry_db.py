"""The shared token registry on the real database: an upgraded installation keeps the
tokens intake issued, several services migrating it at once is safe, and a token is
recognised only as the kind it was issued as."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest

from shared import auth, db
from shared.provinces import ConfigHolder, ConfigSet
from shared.service import migrations_dir

CONFIGS = ConfigHolder().current

pytestmark = [pytest.mark.db]


async def test_an_upgrade_keeps_the_tokens_intake_issued(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # The release before: intake's own migrations, tokens in intake.tokens.
        await db.migrate(conn, schema="intake", folder=migrations_dir("intake"))
        live, revoked = auth.new_token(auth.TokenKind.AGENCY), auth.new_token(
            auth.TokenKind.MEMBER)
        live_id, revoked_id = uuid.uuid4(), uuid.uuid4()
        await conn.executemany(
            "INSERT INTO intake.tokens (token_id, kind, subject_id, token_hash, revoked_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(live_id, "agency", "binh-duong.bql-kcn", auth.token_hash(live), None),
             (revoked_id, "member", "binh-duong.m01", auth.token_hash(revoked),
              await conn.fetchval("SELECT now()"))])
        # This release: every service migrates the registry at start, at the same time.
        others = [await asyncpg.connect(database_url) for _ in range(3)]
        try:
            applied = await asyncio.gather(*(auth.migrate(c) for c in others))
        finally:
            for c in others:
                await c.close()
        # Applied once, by one of them (every migration of the schema).
        assert sorted(len(a) for a in applied) == [0, 0, len(list(auth.MIGRATIONS.glob("*.sql")))]
        assert await auth.migrate(conn) == []

        who = await auth.principal_for(conn, live, configs=CONFIGS)
        assert who == auth.Principal(live_id, auth.TokenKind.AGENCY, "binh-duong.bql-kcn",
                                     "binh-duong")
        assert await auth.principal_for(conn, revoked, configs=CONFIGS) is None  # still revoked
        # Upgraded tokens get the default lifetime from the upgrade, not from creation.
        left = await conn.fetchval(
            "SELECT expires_at - now() FROM auth.tokens WHERE token_id = $1", live_id)
        assert timedelta(days=179) < left <= timedelta(days=180)
        rows = {r["token_id"]: r for r in await auth.list_tokens(conn)}
        assert set(rows) == {live_id, revoked_id} and rows[revoked_id]["revoked_at"]
    finally:
        await conn.close()


async def test_a_token_counts_only_as_the_kind_it_was_issued_as(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await auth.migrate(conn)
        token_id, token = await auth.insert_token(conn, kind=auth.TokenKind.OPERATOR,
                                                  subject_id="ops-desk")
        who = await auth.principal_for(conn, f"  {token} ", configs=CONFIGS)
        assert who == auth.Principal(token_id, auth.TokenKind.OPERATOR, "ops-desk")
        # The same secret under another kind's prefix is not a token at all.
        assert await auth.principal_for(conn, "tgm_" + token[4:], configs=CONFIGS) is None
        assert await auth.principal_for(conn, None, configs=CONFIGS) is None
        assert await auth.principal_for(conn, "", configs=CONFIGS) is None
        stored = await conn.fetchval("SELECT token_hash FROM auth.tokens")
        assert token.encode() not in stored  # only the hash is kept
        assert await auth.revoke_token(conn, token_id=token_id)
        assert not await auth.revoke_token(conn, token_id=token_id)
        assert await auth.principal_for(conn, token, configs=CONFIGS) is None
    finally:
        await conn.close()


def _without(member_id: str) -> ConfigSet:
    """The shipped configuration with `member_id` set `active: false`, as an operator
    edits the file when a member leaves."""
    out = {}
    for slug in CONFIGS:
        cfg = CONFIGS[slug]
        tf = cfg.task_force
        members = [m.model_copy(update={"active": False}) if m.id == member_id else m
                   for m in tf.members]
        out[slug] = cfg.model_copy(update={"task_force": tf.model_copy(
            update={"members": members})})
    return ConfigSet(out, version="member-left")


async def test_a_token_ends_with_its_expiry_and_with_its_holders_membership(
    database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await auth.migrate(conn)
        member_id, member = await auth.insert_token(conn, kind=auth.TokenKind.MEMBER,
                                                    subject_id="binh-duong.m02")
        who = await auth.principal_for(conn, member, configs=CONFIGS)
        assert who is not None and who.province == "binh-duong"
        # The member leaves: the very next check, against the reloaded files, refuses.
        assert await auth.principal_for(conn, member, configs=_without("binh-duong.m02")) is None
        assert await auth.principal_for(conn, member, configs=CONFIGS) is not None

        _, agency = await auth.insert_token(conn, kind=auth.TokenKind.AGENCY,
                                            subject_id="thanh-hoa.bql-kkt-nghi-son")
        gone = ConfigSet({s: CONFIGS[s] for s in CONFIGS if s != "thanh-hoa"}, version="x")
        assert await auth.principal_for(conn, agency, configs=gone) is None
        _, scoped = await auth.insert_token(conn, kind=auth.TokenKind.OPERATOR,
                                            subject_id="th-desk", province="thanh-hoa")
        scoped_who = await auth.principal_for(conn, scoped, configs=CONFIGS)
        assert scoped_who is not None and scoped_who.province == "thanh-hoa"
        assert await auth.principal_for(conn, scoped, configs=gone) is None

        rows = {r["token_id"]: r for r in await auth.list_tokens(conn)}
        lifetime = rows[member_id]["expires_at"] - rows[member_id]["created_at"]
        assert lifetime == timedelta(days=auth.DEFAULT_EXPIRY_DAYS)
        short_id, short = await auth.insert_token(conn, kind=auth.TokenKind.OPERATOR,
                                                  subject_id="night", expires_in_days=1)
        assert await auth.principal_for(conn, short, configs=CONFIGS) is not None
        await conn.execute("UPDATE auth.tokens SET expires_at = now() - interval '1 second'"
                           " WHERE token_id = $1", short_id)
        assert await auth.principal_for(conn, short, configs=CONFIGS) is None
        expired = {r["token_id"]: r for r in await auth.list_tokens(conn)}[short_id]
        assert expired["expired"] and expired["revoked_at"] is None
    finally:
        await conn.close()


def test_what_a_token_may_be_issued_for() -> None:
    problem = auth.subject_problem
    assert problem(CONFIGS, auth.TokenKind.OPERATOR, "ops", province="thanh-hoa") is None
    assert "no province" in (problem(CONFIGS, auth.TokenKind.OPERATOR, "ops",
                                     province="atlantis") or "")
    assert "only an operator" in (problem(CONFIGS, auth.TokenKind.MEMBER, "binh-duong.m01",
                                          province="thanh-hoa") or "")
    assert "between 1 and" in (problem(CONFIGS, auth.TokenKind.OPERATOR, "ops",
                                       expires_in_days=0) or "")
    assert problem(CONFIGS, auth.TokenKind.OPERATOR, "ops", expires_in_days=30) is None
    assert "inactive" in (problem(_without("binh-duong.m02"), auth.TokenKind.MEMBER,
                                  "binh-duong.m02") or "")
