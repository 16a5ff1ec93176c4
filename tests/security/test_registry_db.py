"""The shared token registry on the real database: an upgraded installation keeps the
tokens intake issued, several services migrating it at once is safe, and a token is
recognised only as the kind it was issued as."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from shared import auth, db
from shared.service import migrations_dir

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
        assert sorted(len(a) for a in applied) == [0, 0, 1]  # applied once, by one of them
        assert await auth.migrate(conn) == []

        who = await auth.principal_for(conn, live)
        assert who == auth.Principal(live_id, auth.TokenKind.AGENCY, "binh-duong.bql-kcn")
        assert await auth.principal_for(conn, revoked) is None  # still revoked
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
        who = await auth.principal_for(conn, f"  {token} ")
        assert who == auth.Principal(token_id, auth.TokenKind.OPERATOR, "ops-desk")
        # The same secret under another kind's prefix is not a token at all.
        assert await auth.principal_for(conn, "tgm_" + token[4:]) is None
        assert await auth.principal_for(conn, None) is None
        assert await auth.principal_for(conn, "") is None
        stored = await conn.fetchval("SELECT token_hash FROM auth.tokens")
        assert token.encode() not in stored  # only the hash is kept
        assert await auth.revoke_token(conn, token_id=token_id)
        assert not await auth.revoke_token(conn, token_id=token_id)
        assert await auth.principal_for(conn, token) is None
    finally:
        await conn.close()
