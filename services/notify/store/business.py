"""Notify's SQL of the business's notices (#20 item 6) and of the Zalo OA's tokens."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.notify.logic import BusinessContact, PublicStep
from shared.provinces import BusinessNotice


def _json(value: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(value) if isinstance(value, str) else dict(value)
    return loaded


async def lock_difficulties(conn: asyncpg.Connection, *, difficulty_ids: Sequence[str]) -> None:
    """Serialise, per difficulty, the consumers that record its contact and its steps (in
    order: no deadlock), so the second of the two always sees the first and owes the
    notices. Held until the transaction ends."""
    if difficulty_ids:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(d, 20))"
            " FROM (SELECT DISTINCT d FROM unnest($1::text[]) d ORDER BY d) ids",
            list(difficulty_ids))


async def record_contacts(conn: asyncpg.Connection, *,
                          contacts: Sequence[BusinessContact]) -> list[BusinessContact]:
    """Keep each difficulty's contact (the first one read); returns those new."""
    if not contacts:
        return []
    rows = await conn.fetch(
        "INSERT INTO business_contacts (difficulty_id, tracking_code, province_code,"
        " task_force, name, email, phone, received_at)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::timestamptz[])"
        " ON CONFLICT (difficulty_id) DO NOTHING RETURNING difficulty_id",
        [c.difficulty_id for c in contacts], [c.tracking_code for c in contacts],
        [c.province_code for c in contacts], [c.task_force for c in contacts],
        [c.name for c in contacts], [c.email for c in contacts],
        [c.phone for c in contacts], [datetime.now(UTC)] * len(contacts))
    new = {str(r["difficulty_id"]) for r in rows}
    return [c for c in contacts if c.difficulty_id in new]


async def contacts_of(conn: asyncpg.Connection, *, difficulty_ids: Sequence[str]
                      ) -> dict[str, BusinessContact]:
    rows = await conn.fetch(
        "SELECT difficulty_id, tracking_code, province_code, task_force, name, email, phone"
        " FROM business_contacts WHERE difficulty_id = ANY($1::uuid[])", list(difficulty_ids))
    return {str(r["difficulty_id"]): BusinessContact(
        difficulty_id=str(r["difficulty_id"]), tracking_code=r["tracking_code"],
        province_code=r["province_code"], task_force=r["task_force"], name=r["name"],
        email=r["email"], phone=r["phone"]) for r in rows}


async def record_steps(conn: asyncpg.Connection, *, steps: Sequence[PublicStep]
                       ) -> list[PublicStep]:
    """Keep each public step once (by the event that made it); returns those new."""
    unique = list({s.key: s for s in steps}.values())
    if not unique:
        return []
    rows = await conn.fetch(
        "INSERT INTO business_steps (step_key, difficulty_id, notice, at, details)"
        " SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[],"
        " $5::jsonb[]) ON CONFLICT (step_key) DO NOTHING RETURNING step_key",
        [s.key for s in unique], [s.difficulty_id for s in unique],
        [s.notice.value for s in unique], [s.at for s in unique],
        [dict(s.details) for s in unique])
    new = {r["step_key"] for r in rows}
    return [s for s in unique if s.key in new]


async def forget_steps(conn: asyncpg.Connection, *, difficulty_ids: Sequence[str]) -> None:
    if difficulty_ids:
        await conn.execute("DELETE FROM business_steps WHERE difficulty_id = ANY($1::uuid[])",
                           list(difficulty_ids))


async def steps_of(conn: asyncpg.Connection, *, difficulty_ids: Sequence[str]
                   ) -> list[PublicStep]:
    rows = await conn.fetch(
        "SELECT step_key, difficulty_id, notice, at, details FROM business_steps"
        " WHERE difficulty_id = ANY($1::uuid[]) ORDER BY at", list(difficulty_ids))
    return [PublicStep(difficulty_id=str(r["difficulty_id"]),
                       notice=BusinessNotice(r["notice"]),
                       cause=r["step_key"].rsplit(":", 1)[1], at=r["at"],
                       details=_json(r["details"])) for r in rows]


# --- the Zalo OA's tokens -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZaloTokens:
    access_token: str | None
    refresh_token: str
    expires_at: datetime | None


async def zalo_tokens(conn: asyncpg.Connection, *, app_id: str, seed_refresh_token: str,
                      lock: bool = False) -> ZaloTokens:
    """The app's tokens, seeded with the configured refresh token the first time; `lock`
    (in a transaction) holds the row until the caller stores what a refresh returned."""
    await conn.execute(
        "INSERT INTO zalo_tokens (app_id, refresh_token) VALUES ($1, $2)"
        " ON CONFLICT (app_id) DO NOTHING", app_id, seed_refresh_token)
    row = await conn.fetchrow(
        "SELECT access_token, refresh_token, expires_at FROM zalo_tokens WHERE app_id = $1"
        + (" FOR UPDATE" if lock else ""), app_id)
    assert row is not None  # inserted above
    return ZaloTokens(row["access_token"], row["refresh_token"], row["expires_at"])


async def store_zalo_tokens(conn: asyncpg.Connection, *, app_id: str, tokens: ZaloTokens
                            ) -> None:
    await conn.execute(
        "UPDATE zalo_tokens SET access_token = $2, refresh_token = $3, expires_at = $4,"
        " refreshed_at = now() WHERE app_id = $1",
        app_id, tokens.access_token, tokens.refresh_token, tokens.expires_at)
