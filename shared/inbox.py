"""The inbox every consumer keeps: the ids of the events it has applied, written in the
transaction of their effects, so that an event delivered again (a retry, a replay, a
second replica) is recognised and applied once. One table per service,
`<schema>.processed_events (event_id, ...)`; the router's also says the topic."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg


async def applied(conn: asyncpg.Connection, *, schema: str, event_ids: Iterable[str]
                  ) -> set[str]:
    """Those of `event_ids` applied before."""
    rows = await conn.fetch(
        f'SELECT event_id FROM "{schema}".processed_events WHERE event_id = ANY($1::text[])',
        list(event_ids))
    return {r["event_id"] for r in rows}


async def record(conn: asyncpg.Connection, *, schema: str, event_ids: Iterable[str],
                 topic: str | None = None) -> set[str]:
    """Record `event_ids` as applied, in the caller's transaction; returns those that were
    not recorded before (the ones whose effects are to be applied now)."""
    ids = list(event_ids)
    if topic is None:
        rows = await conn.fetch(
            f'INSERT INTO "{schema}".processed_events (event_id) SELECT unnest($1::text[])'
            " ON CONFLICT DO NOTHING RETURNING event_id", ids)
    else:
        rows = await conn.fetch(
            f'INSERT INTO "{schema}".processed_events (event_id, topic)'
            " SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING RETURNING event_id",
            ids, topic)
    return {r["event_id"] for r in rows}
