"""Bearer tokens for agencies ("tga_...") and task-force members ("tgm_...").

A token is shown once, when created; only its SHA-256 is stored. SHA-256 without a
salt is enough here because a token carries 256 random bits: there is nothing to
guess by dictionary. The prefixes let `shared.logs.redact` mask a token that slips
into a log line, and tell at a glance which kind a leaked token is.

The operator functions at the bottom back `thaogo token create|list|revoke`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg

from shared import db
from shared.provinces import ConfigSet, Member, ProvinceConfig


class TokenKind(StrEnum):
    AGENCY = "agency"
    MEMBER = "member"


PREFIXES: dict[TokenKind, str] = {TokenKind.AGENCY: "tga_", TokenKind.MEMBER: "tgm_"}
# A generated token is "tga_" + 43 url-safe characters; anything much longer is junk.
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token speaks for."""

    token_id: uuid.UUID
    kind: TokenKind
    subject_id: str  # agency id or member id


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


# --- operator commands (thaogo token ...) ---------------------------------------------


async def _connect(database_url: str) -> asyncpg.Connection:
    from services.intake import store
    from shared.service import migrations_dir

    conn: asyncpg.Connection = await asyncpg.connect(database_url)
    await db.init_connection(conn)
    # The tokens table may be newer than the running intake: apply intake's migrations.
    await db.migrate(conn, schema=store.SCHEMA, folder=migrations_dir(store.SCHEMA))
    await conn.execute(f'SET search_path TO "{store.SCHEMA}", public')
    return conn


async def create(
    database_url: str, *, configs: ConfigSet, kind: TokenKind, subject_id: str
) -> tuple[uuid.UUID, str]:
    """Issue a token; returns (token id, the token itself — shown once, never stored)."""
    from services.intake import store

    problem = subject_problem(configs, kind, subject_id)
    if problem is not None:
        raise ValueError(problem)
    token = new_token(kind)
    token_id = uuid.uuid4()
    conn = await _connect(database_url)
    try:
        await store.insert_token(conn, token_id=token_id, kind=kind.value,
                                 subject_id=subject_id, token_hash=token_hash(token))
    finally:
        await conn.close()
    return token_id, token


async def list_all(database_url: str) -> list[dict[str, Any]]:
    from services.intake import store

    conn = await _connect(database_url)
    try:
        return [dict(r) for r in await store.list_tokens(conn)]
    finally:
        await conn.close()


async def revoke(database_url: str, token_id: uuid.UUID) -> bool:
    """True if the token existed and was not already revoked."""
    from services.intake import store

    conn = await _connect(database_url)
    try:
        return await store.revoke_token(conn, token_id=token_id)
    finally:
        await conn.close()
