"""The workspace pages' server time with a large history (#21 item 7: no page spends
more than 300 ms of server time with 1,000,000 difficulties in the database).

Reporting's database is filled in PostgreSQL itself (bench/pages_fill.py), then every
page is asked many times through reporting's own HTTP app (`http_app`: its middleware,
error format, CSRF cookie) in process over httpx's ASGITransport, signed in as each role
through a real session cookie (an agency's token for the queue and a difficulty's page,
a member, a deputy by zone type, the permanent deputy, the head), or as the public and a
business. The server time of a request is measured around the ASGI app, from the call to
its last body byte. Beside the pages: the key API queries (the agency's queue as JSON
with its bearer token, its CSV and XLSX export) and, per page, the statements
pg_stat_statements saw while it was asked, the slowest first.

    python -m bench.pages --rows 1000000 --data-dir /tmp/pagebench-pg   # fill once, reuse
    python -m bench --only pages --scale 1                               # fresh, into latest.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from fastapi import FastAPI

from bench import common, pages_fill
from bench.common import Infra
from services.reporting import store, usecases
from services.reporting.access import LinkSigner
from services.reporting.api import ReadSide
from services.reporting.main import http_app
from services.reporting.settings import ReportingSettings
from shared import auth, db
from shared.calendar import ManualClock, previous_window, week_window
from shared.metrics import new_registry
from shared.provinces import ConfigHolder
from shared.service import migrations_dir
from thaogo.embedded import EmbeddedPostgres

SCHEMA = "reporting"
GOAL_MS = 300.0
SIZE = 1_000_000
DAYS = 420  # received over more than a year
PROVINCE = "binh-duong"
AGENCY = "binh-duong.bql-kcn"  # the busiest queue: the industrial parks' board
MEMBER = "binh-duong.m01"
DEPUTY = "binh-duong.to-pho-kcn"


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Timed:
    """The app, timed from the call to the last byte of its answer (server time)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.last: float = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - started


# --- the database ---------------------------------------------------------------------------


async def _database(server_url: str, name: str) -> tuple[str, bool]:
    """The database `name` on that server (created if missing) and whether it holds a
    complete fill already."""
    conn = await asyncpg.connect(server_url)
    try:
        if not await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    conn = await asyncpg.connect(url)
    try:
        filled = await conn.fetchval("SELECT to_regclass('bench.filled') IS NOT NULL") and \
            await conn.fetchval("SELECT true FROM bench.filled")
    finally:
        await conn.close()
    return url, bool(filled)


async def prepare(server_url: str, rows: int) -> tuple[str, dict[str, Any]]:
    """A database holding `rows` difficulties: reused when an earlier run filled it,
    else migrated with reporting's migrations and filled."""
    url, filled = await _database(server_url, f"pagebench_{rows}")
    conn = await asyncpg.connect(url)
    try:
        if filled:
            # Migrations added since the fill (an index being tried) are applied to it.
            added = await db.migrate(conn, schema=SCHEMA, folder=migrations_dir(SCHEMA))
            if added:
                await conn.execute("ANALYZE")
            row = await conn.fetchrow("SELECT * FROM bench.filled")
            assert row is not None
            return url, {**json.loads(row["summary"]), "reused": True}
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await db.migrate(conn, schema=SCHEMA, folder=migrations_dir(SCHEMA))
        await auth.migrate(conn)
        await conn.execute(f"SET search_path = {SCHEMA}, public")
        now = datetime.now(UTC)
        summary = await pages_fill.fill(conn, rows=rows, days=DAYS, now=now)
        await db.init_connection(conn)  # the services' jsonb codec, for composing
        summary["published"] = await publish_last_weeks(conn, now)
        summary["filled_at"] = now.isoformat()
        await conn.execute("CREATE TABLE bench.filled (summary text)")
        await conn.execute("INSERT INTO bench.filled VALUES ($1)", json.dumps(summary))
        return url, {**summary, "reused": False}
    finally:
        await conn.close()


async def publish_last_weeks(conn: asyncpg.Connection, now: datetime) -> list[str]:
    """The last closed week's report of every province, stored as the publisher stores
    it: what the public view and a past week's report page read."""
    configs = ConfigHolder().current
    window = previous_window(week_window(now))
    done = []
    for slug in pages_fill.PROVINCE_WEIGHTS:
        cfg = configs[slug]
        report = await usecases.compose(conn, cfg=cfg, window=window, as_of=window.end,
                                        generated_at=now, page_url=None)
        await store.claim_report(conn, task_force=slug, week_label=window.label,
                                 report_id=uuid.uuid4(), event_id=str(uuid.uuid4()),
                                 province_code=cfg.province.province_code, generated_at=now,
                                 report=report.model_dump(mode="json"))
        done.append(f"{slug} {window.label}")
    return done


async def statements_enabled(conn: asyncpg.Connection) -> bool:
    """pg_stat_statements, where the server preloads it (`--data-dir` runs do)."""
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.fetchval("SELECT count(*) FROM pg_stat_statements")
    except asyncpg.PostgresError:
        return False
    return True


# --- the pages ------------------------------------------------------------------------------


@dataclass
class Ask:
    """One page or query, asked as `who` (None: nobody signed in)."""
    name: str
    path: str | Callable[[int], str]
    who: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    form: Callable[[int], dict[str, str]] | None = None  # a POST's body
    bearer: bool = False
    api: bool = False  # a query, not a page: beside the goal, not under it

    def url(self, i: int) -> str:
        return self.path(i) if callable(self.path) else self.path


async def _session(conn: asyncpg.Connection, kind: auth.TokenKind, subject: str,
                   now: datetime) -> tuple[str, str]:
    """(session cookie, bearer token) for a token of `subject`, as a mailed link opens."""
    token_id, token = await auth.insert_token(conn, kind=kind, subject_id=subject)
    sid = auth.new_session_id()
    await auth.open_session(conn, sid=sid, token_id=token_id, now=now,
                            expires_at=now + timedelta(hours=8))
    return sid, token


async def asks(pool: asyncpg.Pool, now: datetime) -> tuple[list[Ask], dict[str, tuple[str, str]]]:
    cfg = ConfigHolder().current[PROVINCE]
    week = week_window(now)
    past = previous_window(week)
    async with pool.acquire() as conn:
        who = {
            "agency": await _session(conn, auth.TokenKind.AGENCY, AGENCY, now),
            "member": await _session(conn, auth.TokenKind.MEMBER, MEMBER, now),
            "deputy": await _session(conn, auth.TokenKind.MEMBER, DEPUTY, now),
            "permanent_deputy": await _session(conn, auth.TokenKind.AGENCY, cfg.rules.triage,
                                               now),
            "head": await _session(conn, auth.TokenKind.AGENCY, cfg.rules.head, now),
        }
        # Difficulties the agency holds, open and closed alike, each asked in turn.
        held = [r["difficulty_id"] for r in await conn.fetch(
            "SELECT difficulty_id FROM assignments WHERE agency_id = $1 AND active"
            " ORDER BY assignment_id LIMIT 200", AGENCY)]
        tracked = [(r["tracking_code"], r["tax_code"]) for r in await conn.fetch(
            "SELECT tracking_code, tax_code FROM difficulties ORDER BY difficulty_id LIMIT 200")]
    four_weeks = week_window(now - timedelta(weeks=4)).label
    a = "agency"
    out = [
        Ask("agency: landing", "/workspace/", a),
        Ask("agency: queue (open)", "/workspace/queue", a),
        Ask("agency: queue, all statuses", "/workspace/queue", a, {"status": "all"}),
        Ask("agency: queue, filtered", "/workspace/queue", a,
            {"status": "in_progress", "zone_type": "KCN", "category": "raw_materials"}),
        Ask("agency: queue, search without diacritics", "/workspace/queue", a,
            {"status": "all", "q": "thieu nguyen lieu"}),
        Ask("agency: queue, a week", "/workspace/queue", a,
            {"status": "all", "week": four_weeks}),
        Ask("agency: queue, next page", "/workspace/queue", a, {"status": "all"}),  # cursor set
        Ask("agency: a difficulty's page",
            lambda i: f"/workspace/difficulties/{held[i % len(held)]}", a),
        Ask("member: my week", "/workspace/my-week", "member"),
        Ask("deputy: zones", "/workspace/zone", "deputy"),
        Ask("permanent deputy: triage", "/workspace/triage", "permanent_deputy"),
        Ask("permanent deputy: compilation", "/workspace/compilation", "permanent_deputy"),
        Ask("permanent deputy: shared recommendations", "/workspace/shared",
            "permanent_deputy"),
        Ask("permanent deputy: zones", "/workspace/zone", "permanent_deputy"),
        Ask("head: desk", "/workspace/head", "head"),
        Ask("report page, this week (preview)", f"/reports/{PROVINCE}/{week.label}", "head"),
        Ask("report page, last week (published)", f"/reports/{PROVINCE}/{past.label}", "head"),
        Ask("public view", f"/public/{PROVINCE}"),
        Ask("tracking: form", "/track"),
        Ask("tracking: a difficulty", "/track",
            form=lambda i: dict(zip(("code", "tax_code"), tracked[i % len(tracked)],
                                    strict=True))),
        Ask("API: agency queue JSON", "/v1/difficulties", a, {"open": "true"}, bearer=True,
            api=True),
        Ask("API: agency queue JSON, search", "/v1/difficulties", a,
            {"q": "thieu nguyen lieu"}, bearer=True, api=True),
        Ask("export: queue CSV", "/workspace/queue.csv", a, api=True),
        Ask("export: queue XLSX", "/workspace/queue.xlsx", a, api=True),
    ]
    return out, who


_NEXT = re.compile(r'href="(/workspace/queue\?[^"]*cursor=[^"]+)"')


async def measure(app: FastAPI, pool: asyncpg.Pool, now: datetime, *, runs: int,
                  budget_s: float, statements: bool) -> list[dict[str, Any]]:
    timed = Timed(app)
    pages, who = await asks(pool, now)
    results = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=timed),
                                 base_url="http://bench", timeout=120) as c:
        for ask in pages:
            cookies = {auth.SESSION_COOKIE: who[ask.who][0]} if ask.who else {}
            headers = {"Authorization": f"Bearer {who[ask.who][1]}"} if ask.bearer else {}
            if ask.bearer:
                cookies = {}
            params, target = dict(ask.params), None
            if ask.name.endswith("next page"):  # the link the first page gives
                first = await c.get(ask.url(0), params=params, cookies=cookies)
                found = _NEXT.search(first.text)
                assert found, "the queue of all statuses has a next page"
                params, target = {}, found.group(1).replace("&amp;", "&")
            if statements:
                async with pool.acquire() as conn:
                    await conn.execute("SELECT pg_stat_statements_reset()")
            times: list[float] = []
            status: dict[int, int] = {}
            size = 0
            started = time.perf_counter()
            for i in range(runs + 1):  # the first warms the caches
                if ask.form is not None:
                    r = await c.post(ask.url(i), data=ask.form(i))
                else:
                    c.cookies.clear()
                    r = await c.get(target or ask.url(i), params=params, cookies=cookies,
                                    headers=headers)
                status[r.status_code] = status.get(r.status_code, 0) + 1
                size = len(r.content)
                assert r.status_code == 200, (ask.name, r.status_code, r.text[:300])
                if i:
                    times.append(timed.last)
                if i >= 3 and time.perf_counter() - started > budget_s:
                    break
            ms = [t * 1000 for t in times]
            top: list[dict[str, Any]] = []
            if statements:
                async with pool.acquire() as conn:
                    top = [dict(r) for r in await conn.fetch(
                        "SELECT round(mean_exec_time::numeric, 2)::float8 AS mean_ms, calls,"
                        " left(regexp_replace(query, '\\s+', ' ', 'g'), 300) AS query"
                        " FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'"
                        " ORDER BY mean_exec_time DESC LIMIT 3")]
            results.append({
                "page": ask.name, "path": ask.url(0), "as": ask.who or "nobody",
                "api": ask.api, "requests": len(ms), "bytes": size,
                "p50_ms": round(statistics.median(ms), 1),
                "p95_ms": round(common.percentile(ms, 0.95), 1), "max_ms": round(max(ms), 1),
                "statements": top})
            print(f"  {ask.name}: p50 {results[-1]['p50_ms']} ms, p95"
                  f" {results[-1]['p95_ms']} ms ({len(ms)} requests)", flush=True)
    return results


async def regroup(pool: asyncpg.Pool, now: datetime) -> float:
    """Seconds of the background job's pass over the province's shared recommendations
    (`jobs.regroup`), grouped afresh as when its open items change: the deputy's page then
    reads the stored groups, as it does in the service once the job has passed."""
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM shared_groupings WHERE task_force = $1", PROVINCE)
    t0 = time.perf_counter()
    await usecases.shared_groups(pool, task_force=PROVINCE, now=now)
    return time.perf_counter() - t0


def build_app(pool: asyncpg.Pool, url: str, now: datetime) -> FastAPI:
    @contextlib.asynccontextmanager
    async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    async def ready() -> dict[str, bool]:
        return {"database": True}

    settings = ReportingSettings(database_url=url, rate_limit_enabled=False)
    side = ReadSide(db=lambda: pool, config=ConfigHolder(), clock=ManualClock(now),
                    base_url="http://bench",
                    links=LinkSigner(b"the page benchmark's key, 32 b..", timedelta(days=60)))
    return http_app(side, settings, registry=new_registry("bench"), lifespan=no_lifespan,
                    readiness=ready)


async def run_on(server_url: str, rows: int, *, runs: int, budget_s: float
                 ) -> dict[str, Any]:
    t0 = time.perf_counter()
    url, fill = await prepare(server_url, rows)
    prepared_s = time.perf_counter() - t0
    pool = await db.create_pool(url, schema=SCHEMA, max_size=4)
    try:
        async with pool.acquire() as conn:
            statements = await statements_enabled(conn)
            in_db = await conn.fetchval("SELECT count(*) FROM difficulties")
        # The pages are read as of the moment the history was filled up to.
        now = datetime.fromisoformat(fill["filled_at"])
        regroup_s = await regroup(pool, now)
        app = build_app(pool, url, now)
        pages = await measure(app, pool, now, runs=runs, budget_s=budget_s,
                              statements=statements)
    finally:
        await pool.close()
    shown = [p for p in pages if not p["api"]]
    worst = max(shown, key=lambda p: p["p95_ms"])
    slowest_api = max((p for p in pages if p["api"]), key=lambda p: p["p95_ms"])
    return {
        "figures": [
            common.figure(f"worst workspace page p95, {in_db:,} difficulties ({worst['page']})",
                          worst["p95_ms"], GOAL_MS, unit="ms",
                          baseline_is="the goal: 300 ms of server time"),
            common.figure(f"slowest API query p95 ({slowest_api['page']})",
                          slowest_api["p95_ms"], GOAL_MS, unit="ms",
                          baseline_is="the pages' goal: 300 ms of server time"),
        ],
        "difficulties_in_db": in_db, "goal_ms": GOAL_MS,
        "worst_page": worst["page"], "worst_page_p95_ms": worst["p95_ms"],
        "pages_over_goal": [p["page"] for p in shown if p["p95_ms"] > GOAL_MS],
        "pages": pages, "fill": fill, "prepared_s": round(prepared_s, 1),
        "pg_stat_statements": statements, "regroup_s": round(regroup_s, 2),
    }


def run(inf: Infra, scale: float) -> dict[str, Any]:
    """The `python -m bench` suite: a fresh database on the run's PostgreSQL."""
    rows = max(5_000, int(SIZE * scale))
    return asyncio.run(run_on(inf.database_url, rows, runs=20 if scale >= 0.1 else 3,
                              budget_s=20.0))


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.pages")
    p.add_argument("--rows", type=int, default=SIZE, help="difficulties in the database")
    p.add_argument("--runs", type=int, default=30, help="requests per page (after a warm-up)")
    p.add_argument("--budget", type=float, default=20.0,
                   help="seconds at most per page (at least 3 requests)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="embedded PostgreSQL's data directory, kept between runs so that "
                        "the fill is reused (THAOGO_DATABASE_URL, when set, is used instead)")
    p.add_argument("--fill-only", action="store_true",
                   help="fill the database (with --data-dir) and stop: measure in a later run")
    p.add_argument("--out", type=Path, default=None, help="write the result here as JSON")
    p.add_argument("--latest", action="store_true",
                   help="also keep the result as the `pages` suite of bench/results/latest.json")
    args = p.parse_args()
    import os

    started = time.perf_counter()
    server = os.environ.get("THAOGO_DATABASE_URL")
    pg = None
    if server is None:
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="thaogo-pagebench-")) / "pg"
        pg = preloaded(data_dir)
        server = pg.url
    try:
        if args.fill_only:
            _, fill = asyncio.run(prepare(server, args.rows))
            print(json.dumps(fill, ensure_ascii=False, default=str))
            return
        result = asyncio.run(run_on(server, args.rows, runs=args.runs, budget_s=args.budget))
    finally:
        if pg is not None:
            pg.stop()
    result.update(machine=common.machine(), wall_s=round(time.perf_counter() - started, 1),
                  taken_at=datetime.now(UTC).isoformat(timespec="seconds"))
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    if args.out:
        args.out.write_text(text + "\n")
    if args.latest:
        latest = Path(__file__).with_name("results") / "latest.json"
        kept = json.loads(latest.read_text()) if latest.exists() else {}
        kept["pages"] = {**result, "scale": args.rows / SIZE}
        latest.write_text(json.dumps(kept, indent=2, ensure_ascii=False, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("pages",)},
                     ensure_ascii=False, default=str)[:3000])
    for page in result["pages"]:
        print(f"{page['page']:<45} p50 {page['p50_ms']:>8} ms  p95 {page['p95_ms']:>8} ms"
              f"  max {page['max_ms']:>8} ms")


def preloaded(data_dir: Path) -> EmbeddedPostgres:
    """Embedded PostgreSQL with pg_stat_statements preloaded (set once, then restarted)."""
    pg = EmbeddedPostgres(data_dir).start()

    async def check() -> bool:
        conn = await asyncpg.connect(pg.url)
        try:
            libs = await conn.fetchval("SHOW shared_preload_libraries")
            if "pg_stat_statements" in libs:
                return True
            await conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            return False
        finally:
            await conn.close()

    if not asyncio.run(check()):
        pg.stop()
        pg = EmbeddedPostgres(data_dir).start()
    return pg


if __name__ == "__main__":
    main()
