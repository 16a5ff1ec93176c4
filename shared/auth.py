"""The token registry every service verifies bearer tokens against.

Three kinds of token: an agency's ("tga_..."), a task-force member's ("tgm_...") and an
operator's ("tgo_..."). A token is shown once, when created; only its SHA-256 is stored,
in the schema `auth` (shared/migrations/auth), which each service that verifies tokens
migrates at start. SHA-256 without a salt is enough here because a token carries 256
random bits: there is nothing to guess by dictionary. Looking a token up by its hash
leaks no timing about the token itself (an attacker would need SHA-256 preimages to
steer the comparison), so no constant-time comparison is needed. The prefixes let
`shared.logs.redact` mask a token that slips into a log line, and tell at a glance which
kind a leaked token is.

`principal_for` reads the table on every request: no cache, so a revocation takes
effect on the next request. The database-URL functions at the bottom back
`thaogo token create|list|revoke`.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from shared import db
from shared.provinces import ConfigSet, Member, ProvinceConfig
from shared.service import Runtime

SCHEMA = "auth"
MIGRATIONS = Path(__file__).resolve().parent / "migrations" / SCHEMA


class TokenKind(StrEnum):
    AGENCY = "agency"
    MEMBER = "member"
    OPERATOR = "operator"


PREFIXES: dict[TokenKind, str] = {
    TokenKind.AGENCY: "tga_", TokenKind.MEMBER: "tgm_", TokenKind.OPERATOR: "tgo_",
}
# A generated token is a prefix + 43 url-safe characters; anything much longer is junk.
MAX_TOKEN_LENGTH = 100
# Operators are people or automations outside the province files: a short name only.
OPERATOR_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token speaks for."""

    token_id: uuid.UUID
    kind: TokenKind
    subject_id: str  # agency id, member id or operator name


def new_token(kind: TokenKind) -> str:
    return PREFIXES[kind] + secrets.token_urlsafe(32)


def kind_of(token: str) -> TokenKind | None:
    for kind, prefix in PREFIXES.items():
        if token.startswith(prefix) and len(token) <= MAX_TOKEN_LENGTH:
            return kind
    return None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def find_member(configs: ConfigSet, member_id: str) -> tuple[ProvinceConfig, Member] | None:
    for slug in configs:
        cfg = configs[slug]
        for m in cfg.task_force.members:
            if m.id == member_id:
                return cfg, m
    return None


def subject_problem(configs: ConfigSet, kind: TokenKind, subject_id: str) -> str | None:
    """Why a token cannot be issued for `subject_id`, or None if it can."""
    if kind == TokenKind.OPERATOR:
        if OPERATOR_NAME.fullmatch(subject_id) is None:
            return (f"operator name {subject_id!r} must be 1-40 lowercase letters, digits "
                    "or hyphens, starting with a letter or digit")
        return None
    if kind == TokenKind.AGENCY:
        if configs.agency(subject_id) is None:
            return f"no agency {subject_id!r} in the province configuration"
        return None
    found = find_member(configs, subject_id)
    if found is None:
        return f"no task-force member {subject_id!r} in the province configuration"
    if not found[1].active:
        return f"member {subject_id!r} is inactive (replaced by {found[1].replaced_by!r})"
    return None


# --- the registry, on a connection ------------------------------------------------------


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Create or upgrade the registry (idempotent; the runner's advisory lock makes
    concurrent starts of several services safe)."""
    return await db.migrate(conn, schema=SCHEMA, folder=MIGRATIONS)


def serving_lifespan(
    rt: Runtime,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The runtime's lifespan, with the registry migrated before the first request is
    served (the request handlers read auth.tokens)."""
    inner = rt.lifespan()

    @contextlib.asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            async with rt.db().acquire() as conn:
                await migrate(conn)
            yield

    return _lifespan


async def principal_for(conn: asyncpg.Connection, token: str | None) -> Principal | None:
    """The live (not revoked) holder of `token`, or None: unknown, revoked, malformed,
    or a token whose prefix does not match the kind it was issued as."""
    if token is None:
        return None
    token = token.strip()
    kind = kind_of(token)
    if kind is None:
        return None  # not one of ours: spare the database the lookup
    row = await conn.fetchrow(
        "SELECT token_id, kind, subject_id FROM auth.tokens"
        " WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash(token),
    )
    if row is None or row["kind"] != kind.value:
        return None
    return Principal(row["token_id"], kind, row["subject_id"])


async def principal_by_id(conn: asyncpg.Connection, token_id: uuid.UUID) -> Principal | None:
    """The live holder of the token with this id (what a sign-in session or a bound report
    link names), or None once it is revoked."""
    row = await conn.fetchrow(
        "SELECT token_id, kind, subject_id FROM auth.tokens"
        " WHERE token_id = $1 AND revoked_at IS NULL",
        token_id,
    )
    if row is None:
        return None
    return Principal(row["token_id"], TokenKind(row["kind"]), row["subject_id"])


async def insert_token(
    conn: asyncpg.Connection, *, kind: TokenKind, subject_id: str
) -> tuple[uuid.UUID, str]:
    """Store a new token's hash; returns (token id, the token — shown once, never stored)."""
    token = new_token(kind)
    token_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO auth.tokens (token_id, kind, subject_id, token_hash)"
        " VALUES ($1, $2, $3, $4)",
        token_id, kind.value, subject_id, token_hash(token),
    )
    return token_id, token


async def list_tokens(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT token_id, kind, subject_id, created_at, revoked_at FROM auth.tokens"
        " ORDER BY kind, subject_id, created_at"
    ))


async def revoke_token(conn: asyncpg.Connection, *, token_id: uuid.UUID) -> bool:
    done = await conn.fetchval(
        "UPDATE auth.tokens SET revoked_at = now() WHERE token_id = $1 AND revoked_at IS NULL"
        " RETURNING token_id",
        token_id,
    )
    return done is not None


# --- operator commands (thaogo token ...) ---------------------------------------------


@contextlib.asynccontextmanager
async def _connect(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn: asyncpg.Connection = await asyncpg.connect(database_url)
    try:
        # The command may run before any service of this release has started.
        await migrate(conn)
        yield conn
    finally:
        await conn.close()


async def create(
    database_url: str, *, configs: ConfigSet, kind: TokenKind, subject_id: str
) -> tuple[uuid.UUID, str]:
    """Issue a token; returns (token id, the token itself — shown once, never stored).
    ValueError when the subject is unknown, inactive or (operators) badly named."""
    problem = subject_problem(configs, kind, subject_id)
    if problem is not None:
        raise ValueError(problem)
    async with _connect(database_url) as conn:
        return await insert_token(conn, kind=kind, subject_id=subject_id)


async def list_all(database_url: str) -> list[dict[str, Any]]:
    async with _connect(database_url) as conn:
        return [dict(r) for r in await list_tokens(conn)]


async def revoke(database_url: str, token_id: uuid.UUID) -> bool:
    """True if the token existed and was not already revoked."""
    async with _connect(database_url) as conn:
        return await revoke_token(conn, token_id=token_id)
