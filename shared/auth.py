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

`principal_for` reads the table on every request and checks the holder against the
current (hot-reloaded) province configuration: no cache, so a revocation, an expiry, a
member set `active: false` or an agency removed from the files takes effect on the next
request. A token expires (`DEFAULT_EXPIRY_DAYS` unless issued otherwise). The
database-URL functions at the bottom back `thaogo token create|list|revoke`.

Scope: a member speaks for their own task force only, an operator for every province
unless the token was issued for one (`--province`); `Principal.province` carries it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from shared import db
from shared.errors import Refusal
from shared.provinces import ConfigSet, Deputy, Member, ProvinceConfig
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
DEFAULT_EXPIRY_DAYS = 180
MAX_EXPIRY_DAYS = 3650


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token speaks for."""

    token_id: uuid.UUID
    kind: TokenKind
    subject_id: str  # agency id, member id or operator name
    # The one province (configuration slug) the holder may read and act on; None for an
    # operator issued without one (every province). A member's is their task force's;
    # an agency's is the province whose file lists it.
    province: str | None = None


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


def find_deputy(configs: ConfigSet, deputy_id: str) -> tuple[ProvinceConfig, Deputy] | None:
    """A deputy by zone type (not the permanent deputy, who acts through the triage
    agency): they sign in with a member-kind token of their own id."""
    for slug in configs:
        cfg = configs[slug]
        for d in cfg.task_force.deputies:
            if d.id == deputy_id:
                return cfg, d
    return None


def province_of_agency(configs: ConfigSet, agency_id: str) -> str | None:
    for slug in configs:
        if configs[slug].agency(agency_id) is not None:
            return slug
    return None


def subject_problem(
    configs: ConfigSet, kind: TokenKind, subject_id: str, *, province: str | None = None,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
) -> str | None:
    """Why a token cannot be issued for `subject_id`, or None if it can."""
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        return f"expires-in-days must be between 1 and {MAX_EXPIRY_DAYS}"
    if province is not None and kind != TokenKind.OPERATOR:
        return ("only an operator's token takes a province: a member's follows their task "
                "force, an agency's its assignments")
    if kind == TokenKind.OPERATOR:
        if OPERATOR_NAME.fullmatch(subject_id) is None:
            return (f"operator name {subject_id!r} must be 1-40 lowercase letters, digits "
                    "or hyphens, starting with a letter or digit")
        if province is not None and province not in configs:
            return f"no province {province!r} in the configuration"
        return None
    if kind == TokenKind.AGENCY:
        if configs.agency(subject_id) is None:
            return f"no agency {subject_id!r} in the province configuration"
        return None
    found = find_member(configs, subject_id)
    if found is None and find_deputy(configs, subject_id) is not None:
        return None
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


@dataclass(frozen=True, slots=True)
class Holding:
    """Whether a stored token's subject still holds it, and where it may act."""

    held: bool
    province: str | None = None  # None: every province


def holder(configs: ConfigSet, kind: TokenKind, subject_id: str,
           province: str | None) -> Holding:
    """Whether the subject of a stored token still holds it under `configs`: not when a
    member is gone or inactive, an agency or an operator's province no longer configured."""
    if kind == TokenKind.MEMBER:
        found = find_member(configs, subject_id)
        if found is None:
            deputy = find_deputy(configs, subject_id)
            return Holding(deputy is not None, deputy[0].slug if deputy else None)
        if not found[1].active:
            return Holding(False)
        return Holding(True, found[0].slug)
    if kind == TokenKind.AGENCY:
        slug = province_of_agency(configs, subject_id)
        return Holding(slug is not None, slug)
    return Holding(province is None or province in configs, province)


async def principal_for(
    conn: asyncpg.Connection, token: str | None, *, configs: ConfigSet
) -> Principal | None:
    """The live holder of `token`, or None: unknown, revoked, expired, malformed, a
    token whose prefix does not match the kind it was issued as, or whose subject the
    current configuration no longer holds (see `holder`)."""
    if token is None:
        return None
    token = token.strip()
    kind = kind_of(token)
    if kind is None:
        return None  # not one of ours: spare the database the lookup
    row = await conn.fetchrow(
        "SELECT token_id, kind, subject_id, province FROM auth.tokens"
        " WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
        token_hash(token),
    )
    if row is None or row["kind"] != kind.value:
        return None
    holding = holder(configs, kind, row["subject_id"], row["province"])
    if not holding.held:
        return None
    return Principal(row["token_id"], kind, row["subject_id"], holding.province)


async def principal_by_id(conn: asyncpg.Connection, token_id: uuid.UUID,
                          configs: ConfigSet | None = None) -> Principal | None:
    """The live holder of the token with this id (what a sign-in session or a bound report
    link names), or None once it is revoked or expired. With `configs`, also None when
    the configuration no longer holds its subject (see `holder`), and with its scope."""
    row = await conn.fetchrow(
        "SELECT token_id, kind, subject_id, province FROM auth.tokens"
        " WHERE token_id = $1 AND revoked_at IS NULL AND expires_at > now()",
        token_id,
    )
    if row is None:
        return None
    kind = TokenKind(row["kind"])
    if configs is None:
        return Principal(row["token_id"], kind, row["subject_id"])
    holding = holder(configs, kind, row["subject_id"], row["province"])
    if not holding.held:
        return None
    return Principal(row["token_id"], kind, row["subject_id"], holding.province)


class Purpose(StrEnum):
    """Why a token was issued (auth migration 003)."""

    COMMAND = "command"  # `thaogo token create`: handed to a person or a system
    SIGN_IN = "sign-in"  # behind the session of a person who signed in by e-mail
    UP = "up"  # behind a demo sign-in link `thaogo up` prints; revoked when it stops


async def insert_token(
    conn: asyncpg.Connection, *, kind: TokenKind, subject_id: str, province: str | None = None,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS, purpose: Purpose = Purpose.COMMAND,
) -> tuple[uuid.UUID, str]:
    """Store a new token's hash; returns (token id, the token — shown once, never stored)."""
    token = new_token(kind)
    token_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO auth.tokens (token_id, kind, subject_id, token_hash, province, expires_at,"
        " purpose) VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6), $7)",
        token_id, kind.value, subject_id, token_hash(token), province, expires_in_days,
        purpose.value,
    )
    return token_id, token


async def revoke_purpose(conn: asyncpg.Connection, *, purpose: Purpose) -> int:
    """Revoke every live token issued for `purpose`; how many."""
    done = await conn.fetch(
        "UPDATE auth.tokens SET revoked_at = now() WHERE purpose = $1 AND revoked_at IS NULL"
        " RETURNING token_id", purpose.value)
    return len(done)


async def list_tokens(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT token_id, kind, subject_id, province, purpose, created_at, expires_at,"
        " revoked_at, expires_at <= now() AS expired FROM auth.tokens"
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
    database_url: str, *, configs: ConfigSet, kind: TokenKind, subject_id: str,
    province: str | None = None, expires_in_days: int = DEFAULT_EXPIRY_DAYS,
) -> tuple[uuid.UUID, str]:
    """Issue a token; returns (token id, the token itself — shown once, never stored).
    ValueError when the subject is unknown, inactive or (operators) badly named, the
    province unknown or given for a non-operator, or the lifetime out of range."""
    problem = subject_problem(configs, kind, subject_id, province=province,
                              expires_in_days=expires_in_days)
    if problem is not None:
        raise ValueError(problem)
    async with _connect(database_url) as conn:
        return await insert_token(conn, kind=kind, subject_id=subject_id, province=province,
                                  expires_in_days=expires_in_days)


async def list_all(database_url: str) -> list[dict[str, Any]]:
    async with _connect(database_url) as conn:
        return [dict(r) for r in await list_tokens(conn)]


async def revoke(database_url: str, token_id: uuid.UUID) -> bool:
    """True if the token existed and was not already revoked."""
    async with _connect(database_url) as conn:
        return await revoke_token(conn, token_id=token_id)


# --- sign-in sessions ------------------------------------------------------------------------

# The cookie of a person signed in in a browser: a random session id, never the token. It
# is sent to every service of the site (cookies ignore ports), so the pages reporting
# serves and the forms intake takes know the same person.
SESSION_COOKIE = "thaogo_session"
SESSION_MAX_AGE_S = 8 * 3600  # a working day; the session's token may live longer


def new_session_id() -> str:
    """A new session's id, for the cookie; only its hash is stored."""
    return secrets.token_urlsafe(32)


def session_hash(secret: str) -> bytes:
    """What is stored of a session id or a sign-in link's code."""
    return hashlib.sha256(secret.encode()).digest()


async def open_session(conn: asyncpg.Connection, *, sid: str, token_id: uuid.UUID,
                       now: datetime, expires_at: datetime) -> None:
    """Record a session (and drop the expired ones, so the table keeps only live ones)."""
    async with conn.transaction():
        await conn.execute("DELETE FROM auth.sessions WHERE expires_at <= $1", now)
        await conn.execute(
            "INSERT INTO auth.sessions (session_hash, token_id, created_at, expires_at)"
            " VALUES ($1, $2, $3, $4)", session_hash(sid), token_id, now, expires_at)


async def session_principal(conn: asyncpg.Connection, sid: str | None, *, now: datetime,
                            configs: ConfigSet) -> Principal | None:
    """Who a session is for while both it and its token live (and the configuration
    still holds its subject), else None."""
    if not sid or len(sid) > 100:
        return None
    token_id: uuid.UUID | None = await conn.fetchval(
        "SELECT token_id FROM auth.sessions WHERE session_hash = $1 AND expires_at > $2",
        session_hash(sid), now)
    return None if token_id is None else await principal_by_id(conn, token_id, configs)


async def close_session(conn: asyncpg.Connection, *, sid: str) -> None:
    await conn.execute("DELETE FROM auth.sessions WHERE session_hash = $1", session_hash(sid))


# --- cross-site request forgery ----------------------------------------------------------

# Double submit: a random value in an HttpOnly, SameSite cookie, repeated in every form.
# Another site can make a browser post a form (with the cookie), but can neither read the
# cookie nor set it, so it cannot put the value in the form.
CSRF_COOKIE = "thaogo_csrf"
CSRF_FIELD = "csrf_token"


def csrf_value(cookie: str | None) -> str:
    """The browser's CSRF value, or a new one (the page then sets the cookie)."""
    if cookie and 20 <= len(cookie) <= 100:
        return cookie
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, form_value: str | None) -> bool:
    return bool(cookie and form_value and len(form_value) <= 100
                and hmac.compare_digest(cookie.encode(), form_value.encode()))


def csrf_refused() -> Refusal:
    return Refusal(403, CSRF_FIELD, "the form is not from this site, or the page is too old: "
                   "reload the page and try again",
                   "biểu mẫu không đến từ trang này hoặc trang đã cũ: tải lại trang và thử lại")
