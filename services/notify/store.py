"""Notify's SQL. Keyword-only functions over an asyncpg connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg


async def claim_messages(conn: asyncpg.Connection, *, rows: Sequence[dict[str, Any]]) -> int:
    """Insert owed messages; an existing key is left alone. Returns how many were new."""
    inserted = await conn.fetch(
        "INSERT INTO messages (message_key, kind, recipient_id, channel, province_code,"
        " difficulty_id, payload)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::uuid[], $7::jsonb[]) ON CONFLICT (message_key) DO NOTHING RETURNING message_key",
        [r["message_key"] for r in rows], [r["kind"] for r in rows],
        [r["recipient_id"] for r in rows], [r["channel"] for r in rows],
        [r.get("province_code") for r in rows], [r.get("difficulty_id") for r in rows],
        [r["payload"] for r in rows],
    )
    return len(inserted)
