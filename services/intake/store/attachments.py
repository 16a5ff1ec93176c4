"""Attachments (#20 item 10): the files kept with a difficulty, their bytes in the
database beside what decides who reads them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.intake import logic


async def insert_attachments(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID, status_id: uuid.UUID | None,
    files: Sequence[logic.CheckedFile], by_kind: str, by_id: str, public: bool, at: datetime,
) -> None:
    """The files of one request, in the caller's transaction (with the update they came
    with, so a refused update keeps none of them)."""
    await conn.executemany(
        "INSERT INTO intake.attachments (attachment_id, difficulty_id, status_id, file_name,"
        " content_type, size, sha256, content, attached_by_kind, attached_by, public,"
        " attached_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        [(f.attachment_id, difficulty_id, status_id, f.file_name, f.content_type, f.size,
          f.sha256, f.content, by_kind, by_id, public, at) for f in files])


async def attachment(conn: asyncpg.Connection, *, attachment_id: uuid.UUID
                     ) -> asyncpg.Record | None:
    """One file with what decides who reads it (its difficulty, who attached it, public)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT a.attachment_id, a.difficulty_id, a.file_name, a.content_type, a.size,"
        " a.sha256, a.content, a.attached_by_kind, a.public, d.tracking_code, d.tax_code"
        " FROM intake.attachments a JOIN intake.difficulties d USING (difficulty_id)"
        " WHERE a.attachment_id = $1", attachment_id)
    return row


async def has_public_answer(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID) -> bool:
    """Whether a resolution (with its public answer) was ever given on the difficulty."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM intake.status_updates WHERE difficulty_id = $1"
        " AND resolution IS NOT NULL)", difficulty_id)
    return found
