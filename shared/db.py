"""PostgreSQL: the pool factory and a small migration runner.

Each service owns one schema and a folder of plain SQL files
(`services/<service>/migrations/NNN_name.sql`) applied in order inside a
transaction each and recorded in `<schema>.schema_migrations` with a checksum,
so a changed file that was already applied is refused rather than ignored.
An advisory lock serialises replicas that start at the same time.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg

log = logging.getLogger("thaogo.db")

# What a database outage or restart raises, as opposed to what bad data raises:
# retried with backoff, never dead-lettered. InternalClientError is what asyncpg
# raises on a connection the server dropped mid-protocol ("cannot switch to state").
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)

Pool: TypeAlias = asyncpg.Pool


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, schema: str | None = None
) -> Pool:
    # With `schema`, the service's own tables resolve unqualified (its SQL names no schema).
    server_settings = {"search_path": f'"{schema}", public'} if schema else None
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init_connection, command_timeout=60,
        server_settings=server_settings,
    )
    assert pool is not None
    return pool


async def ping(pool: Pool) -> bool:
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
        return True
    except Exception:
        return False


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def load_migrations(folder: Path) -> list[Migration]:
    out: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        head, _, rest = path.stem.partition("_")
        if not head.isdigit():
            raise MigrationError(f"{path}: migration files are named NNN_name.sql")
        out.append(Migration(int(head), rest or path.stem, path.read_text(encoding="utf-8")))
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{folder}: two migrations share a version number")
    return out


async def migrate(conn: asyncpg.Connection, *, schema: str, folder: Path) -> list[str]:
    """Apply the pending migrations of one schema; returns the names applied."""
    migrations = load_migrations(folder)
    applied: list[str] = []
    lock_key = int.from_bytes(hashlib.sha256(schema.encode()).digest()[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
            " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = await conn.fetch(f'SELECT version, checksum FROM "{schema}".schema_migrations')
        done: dict[int, Any] = {r["version"]: r["checksum"] for r in rows}
        for m in migrations:
            if m.version in done:
                if done[m.version] != m.checksum:
                    raise MigrationError(
                        f"{schema} migration {m.version:03d}_{m.name} was changed after it was "
                        "applied; add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
                await conn.execute(m.sql)
                await conn.execute(
                    f'INSERT INTO "{schema}".schema_migrations (version, name, checksum)'
                    " VALUES ($1, $2, $3)",
                    m.version,
                    m.name,
                    m.checksum,
                )
            log.info("migration applied", extra={"schema": schema, "migration": m.name})
            applied.append(f"{schema}/{m.version:03d}_{m.name}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied
