"""What the parts of intake's SQL share: the schema its tables live in (with its inbox
and outbox), and events enqueued in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from shared import outbox
from shared.events import Envelope

SCHEMA = "intake"


async def enqueue(conn: asyncpg.Connection, *, events: Sequence[Envelope[Any]]) -> int:
    return await outbox.enqueue(conn, schema=SCHEMA, events=events)


async def enqueue_to(conn: asyncpg.Connection, *, event: Envelope[Any], topic: str) -> None:
    """An event for a topic of its own (an agency's), in the caller's transaction."""
    await outbox.enqueue(conn, schema=SCHEMA, events=[event], topic=topic)
