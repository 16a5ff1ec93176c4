"""What the commands that talk to a running stack share: where `thaogo up` keeps its data
and says how to reach it, the services, and putting a broker and a database in order
(migrations, topics, and the topics rebuilt from the databases after a broker loss)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faststream.security import BaseSecurity

SERVICES = ("intake", "router", "reporting", "notify")
DEFAULT_PORTS = {"intake": 8001, "router": 8002, "reporting": 8003, "notify": 8004}
DEFAULT_DATA_DIR = "./.thaogo"
# Where a running `thaogo up` says how to reach it, so that the other commands find it.
STACK_FILE = "stack.json"


def data_dir_of(given: str | None) -> Path:
    return Path(given or os.environ.get("THAOGO_DATA_DIR") or DEFAULT_DATA_DIR).resolve()


def use_running_stack(data_dir: Path) -> dict[str, str]:
    """The broker, database and configuration of the `thaogo up` running on `data_dir`,
    put in the environment where nothing else was set (explicit settings win)."""
    import json

    path = data_dir / STACK_FILE
    try:
        found: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    for key in ("THAOGO_KAFKA_BOOTSTRAP", "THAOGO_DATABASE_URL", "THAOGO_CONFIG_DIR"):
        if found.get(key):
            os.environ.setdefault(key, found[key])
    return found


async def migrate_all(database_url: str) -> list[str]:
    import asyncpg

    from shared import auth, db
    from shared.service import migrations_dir

    conn = await asyncpg.connect(database_url)
    try:
        applied: list[str] = []
        for service in SERVICES:
            applied += await db.migrate(conn, schema=service, folder=migrations_dir(service))
        applied += await auth.migrate(conn)
        return applied
    finally:
        await conn.close()


def agency_ids(config_dir: Path | None) -> list[str]:
    from shared.provinces import ConfigHolder

    return sorted(ConfigHolder(config_dir).current.agency_ids())


async def create_topics(
    bootstrap: str, config_dir: Path | None, security: BaseSecurity | None = None
) -> dict[str, str]:
    from shared import topics
    from shared.kafka import ensure_topics

    return await ensure_topics(bootstrap, topics.all_topics(agency_ids(config_dir)),
                               security=security)


def print_rebuilt(rebuilt: Any) -> None:
    print(f"rebuilt {rebuilt.total} messages on {len(rebuilt.published)} topics in "
          f"{rebuilt.seconds:.1f} s:", flush=True)
    for line in rebuilt.lines():
        print(line, flush=True)


async def rebuild_if_needed(
    bootstrap: str, database_url: str, *, status_url: str, known_topics: set[str],
) -> None:
    """On a broker that holds none of what the databases record as published (a restart
    of the embedded broker), put back what consumers need, and say what."""
    from thaogo import rebuild

    if not await rebuild.needed(bootstrap, database_url):
        return
    print("the broker holds no messages but the databases hold published events: "
          "rebuilding the topics from them …", flush=True)
    print_rebuilt(await rebuild.rebuild(bootstrap, database_url, status_url=status_url,
                                         known_topics=known_topics))
