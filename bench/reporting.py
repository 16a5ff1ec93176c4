"""Reporting (issue #5): projection throughput of the real reporting consumer from the
topics into PostgreSQL, next to a bare asyncpg COPY of the same rows into same-shaped
tables; and the time to compose one province's weekly report with a large history in
the database, next to one sequential pass over that history (and its query plan)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench import common
from bench.common import Infra
from services.reporting import store, usecases
from services.reporting.main import mount
from services.router import logic as router_logic
from shared import db
from shared.calendar import week_window
from shared.events import (
    ActorKind,
    AssignmentRole,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    Envelope,
    EventData,
    Status,
    ZoneType,
    new_envelope,
)
from shared.provinces import ConfigHolder
from shared.service import migrations_dir

SCHEMA = "reporting"


def history(n: int) -> tuple[list[Envelope[Any]], dict[str, int]]:
    """n difficulties with the assignments the router really decides for them and one
    acknowledgement by the lead agency each, as the services would publish them."""
    configs = ConfigHolder().current
    now = datetime.now(UTC)
    out: list[Envelope[Any]] = []
    counts = {"received": 0, "assigned": 0, "status": 0}
    for i in range(n):
        d = common.difficulty(i)
        out.append(new_envelope(d, source="bench"))
        assigned = router_logic.decide(d, configs.for_difficulty(d.province_code, d.task_force),
                                       config_version=configs.version, now=now)
        out += [new_envelope(a, source="bench") for a in assigned]
        lead = next((a for a in assigned if a.role == AssignmentRole.LEAD), assigned[0])
        out.append(new_envelope(DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=Status.ACKNOWLEDGED,
            actor_kind=ActorKind.AGENCY, actor_id=lead.agency_id,
            assignment_id=lead.assignment_id, changed_at=now + timedelta(seconds=1),
        ), source="bench"))
        counts["received"] += 1
        counts["assigned"] += len(assigned)
        counts["status"] += 1
    return out, counts


async def migrated(server_url: str) -> str:
    url = await common.fresh_database(server_url)
    conn = await asyncpg.connect(url)
    try:
        await db.migrate(conn, schema=SCHEMA, folder=migrations_dir(SCHEMA))
    finally:
        await conn.close()
    return url


def _bare_rows(envs: list[Envelope[Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows reporting writes for these events (same columns as its store)."""
    rows: dict[str, list[tuple[Any, ...]]] = {"events": [], "difficulties": [],
                                              "assignments": [], "status_history": []}
    for e in envs:
        data: EventData = e.data
        rows["events"].append((e.id, data.topic, getattr(data, "difficulty_id", None), e.type,
                               e.time, data.model_dump_json(exclude={"contact"})))
        if isinstance(data, DifficultyReceived):
            rows["difficulties"].append((
                data.difficulty_id, data.tracking_code, data.tax_code, data.province_code,
                data.task_force, data.zone_type.value if data.zone_type else None,
                data.category.value, data.kind.value, data.urgency.value, data.title,
                data.received_at, data.received_at,
                data.model_dump_json(exclude={"contact"}), data.enterprise_name,
                data.title.lower()))
        elif isinstance(data, DifficultyAssigned):
            rows["assignments"].append((
                data.assignment_id, data.difficulty_id, data.agency_id, data.agency_level.value,
                data.member_id, data.role.value, data.rule, data.replaces, True,
                data.assigned_at))
        elif isinstance(data, DifficultyStatusChanged):
            rows["status_history"].append((
                data.status_id, data.difficulty_id, data.status.value, data.actor_kind.value,
                data.actor_id, data.assignment_id, data.changed_at))
    return rows


_COLUMNS = {
    "events": ["event_id", "topic", "difficulty_id", "event_type", "occurred_at", "payload"],
    "difficulties": ["difficulty_id", "tracking_code", "tax_code", "province_code",
                     "task_force", "zone_type", "category", "kind", "urgency", "title",
                     "received_at", "status_at", "payload", "enterprise_name", "search"],
    "assignments": ["assignment_id", "difficulty_id", "agency_id", "agency_level",
                    "member_id", "role", "rule", "replaces", "active", "assigned_at"],
    "status_history": ["status_id", "difficulty_id", "status", "actor_kind", "actor_id",
                       "assignment_id", "changed_at"],
}


async def bare_copy(url: str, envs: list[Envelope[Any]]) -> float:
    """Events per second of a bare COPY of the same rows into tables shaped (columns,
    constraints, indexes) like reporting's, in batches of the consumer's size."""
    rows = _bare_rows(envs)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE SCHEMA bare")
        for table in _COLUMNS:
            await conn.execute(f"CREATE TABLE bare.{table} (LIKE reporting.{table} INCLUDING ALL)")
        # Text COPY of jsonb as its JSON text: no codec work on either side.
        await conn.execute("ALTER TABLE bare.events ALTER payload TYPE text")
        await conn.execute("ALTER TABLE bare.difficulties ALTER payload TYPE text")
        started = time.perf_counter()
        batch = 1000
        for table, cols in _COLUMNS.items():
            for i in range(0, len(rows[table]), batch):
                async with conn.transaction():
                    await conn.copy_records_to_table(table, schema_name="bare", columns=cols,
                                                     records=rows[table][i:i + batch])
        return len(envs) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def watch_projection(url: str, total: int, timeout: float) -> tuple[float, int]:
    """Events per second from the start of the first projecting transaction (its
    `projected_at`) to the moment all were seen, both on the database's clock; and how
    many were projected."""
    conn = await asyncpg.connect(url)
    count = 0
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = await conn.fetchrow("SELECT count(*) AS n, min(projected_at) AS first,"
                                      " clock_timestamp() AS now FROM reporting.events")
            assert row is not None
            count = row["n"]
            if count >= total:
                span = (row["now"] - row["first"]).total_seconds()
                return count / span, count
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return float("nan"), count


async def projected_counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM reporting.{t}")
                for t in ("events", "difficulties", "assignments", "status_history")}
    finally:
        await conn.close()


def projection(inf: Infra, n: int) -> dict[str, Any]:
    envs, counts = history(n)
    total = len(envs)
    bare_db = asyncio.run(migrated(inf.database_url))
    bare = asyncio.run(bare_copy(bare_db, envs))
    service_db = asyncio.run(common.fresh_database(inf.database_url))
    # Ready first: its five consumer groups join one after the other, seconds apart,
    # which is start-up, not projection throughput. The events are produced after.
    svc = common.start_service("reporting", inf, service_db)
    try:
        asyncio.run(common.produce_envelopes(inf.bootstrap, envs))
        rate, seen = asyncio.run(watch_projection(service_db, total,
                                                  timeout=max(120.0, total / 200)))
        rss = common.peak_rss_mb(svc.proc.pid)
    finally:
        svc.stop()
    projected = asyncio.run(projected_counts(service_db))
    return {
        "figure": common.figure("projection events/s", rate, bare, unit="/s",
                                baseline_is="bare asyncpg COPY of the same rows"),
        "counts": {"produced": counts, "events_total": total, "projected": projected,
                   "complete": seen >= total},
        "reporting_peak_rss_mb": rss,
    }


# --- the weekly rollup over a long history ----------------------------------------------


_GENERATE = """
INSERT INTO reporting.difficulties (
    difficulty_id, tracking_code, tax_code, province_code, task_force, zone_type, category,
    kind, urgency, title, status, received_at, status_at, resolved_at, payload,
    enterprise_name, search, lead_assignment_id, lead_agency_id, ack_due_at, resolve_due_at,
    acknowledged_at, closed_at, escalated_central_at)
SELECT gen_random_uuid(), 'TG-R' || lpad(i::text, 8, '0'), '0100109106', tf.code, tf.slug,
       (ARRAY['KCN', 'KKT', 'CCN', 'NONE'])[1 + i % 4],
       ($4::text[])[1 + i % cardinality($4::text[])],
       CASE WHEN i % 10 = 0 THEN 'recommendation' ELSE 'difficulty' END,
       CASE WHEN i % 50 = 0 THEN 'urgent' ELSE 'normal' END,
       'Khó khăn số ' || i,
       CASE WHEN g.open THEN 'in_progress' WHEN g.r < 0.9 THEN 'resolved' ELSE 'rejected' END,
       g.rec, g.rec, CASE WHEN NOT g.open AND g.r < 0.9 THEN g.closed END, '{}'::jsonb,
       'Doanh nghiệp ' || i, 'kho khan so ' || i, gen_random_uuid(),
       tf.slug || '.co-quan-' || (i % 6), g.rec + interval '2 days', g.rec + interval '10 days',
       g.rec + interval '1 day', CASE WHEN NOT g.open THEN g.closed END,
       CASE WHEN i % 100 = 0 THEN g.rec + interval '3 days' END
FROM (
    SELECT i, rec, r, least(now(), rec + (1 + 20 * r2) * interval '1 day') AS closed,
           (rec > now() - interval '45 days' AND r2 < 0.3) OR r2 < 0.002 AS open
    FROM (SELECT i, now() - random() * ($1::float8 * interval '1 day') AS rec, random() AS r,
                 random() AS r2
          FROM generate_series($2::int, $3::int) i) x
) g
CROSS JOIN LATERAL (
    SELECT ($5::text[])[1 + i % cardinality($5::text[])] AS slug,
           ($6::text[])[1 + i % cardinality($6::text[])] AS code
) tf
"""


async def generate(conn: asyncpg.Connection, rows: int, days: int) -> None:
    from shared.events import Category

    configs = ConfigHolder().current
    slugs = list(configs)
    codes = [configs[s].province.province_code for s in slugs]
    cats = [c.value for c in Category]
    chunk = 200_000
    for lo in range(1, rows + 1, chunk):
        await conn.execute(_GENERATE, float(days), lo, min(rows, lo + chunk - 1), cats, slugs,
                           codes)
    await conn.execute("ANALYZE reporting.difficulties")


async def explain(conn: asyncpg.Connection, slug: str, start: datetime, end: datetime
                  ) -> list[str]:
    rows = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
                            + store.weekly._ROLLUP, slug, start, end)
    return [r[0] for r in rows]


async def rollup_timing(url: str, rows: int, runs: int = 5) -> dict[str, Any]:
    configs = ConfigHolder().current
    slug = next(iter(configs))
    cfg = configs[slug]
    pool = await db.create_pool(url, schema=SCHEMA, max_size=2)
    try:
        async with pool.acquire() as conn:
            t0 = time.perf_counter()
            await generate(conn, rows, days=730)
            generated_s = time.perf_counter() - t0
            window = week_window(datetime.now(UTC) - timedelta(weeks=5))
            plan = await explain(conn, slug, window.start, window.end)
            times = []
            report = None
            for _ in range(runs + 1):  # the first warms the cache
                t0 = time.perf_counter()
                report = await usecases.compose(conn, cfg=cfg, window=window, as_of=window.end,
                                               generated_at=datetime.now(UTC), page_url=None)
                times.append(time.perf_counter() - t0)
            assert report is not None
            scans = []
            for _ in range(3):
                async with conn.transaction():
                    # One pass over everything, whatever indexes exist: what a report that
                    # scanned all history would pay at least.
                    for knob in ("indexscan", "indexonlyscan", "bitmapscan"):
                        await conn.execute(f"SET LOCAL enable_{knob} = off")
                    t0 = time.perf_counter()
                    await conn.fetchrow(
                        "SELECT count(*), count(*) FILTER (WHERE closed_at IS NULL)"
                        " FROM difficulties WHERE task_force = $1", slug)
                    scans.append(time.perf_counter() - t0)
            total = next(r for r in report.rows if r.dimension == "total")
            in_db = await conn.fetchval("SELECT count(*) FROM difficulties")
    finally:
        await pool.close()
    seq = [line.strip() for line in plan if "Seq Scan" in line]
    return {
        "figure": common.figure(f"weekly report of one province, {in_db:,} difficulties",
                                statistics.median(times[1:]) * 1000,
                                statistics.median(scans) * 1000, unit="ms",
                                baseline_is="one sequential pass over all history"),
        "difficulties_in_db": in_db, "generated_s": round(generated_s, 1),
        "province": slug, "week": window.label,
        "week_total": {"received": total.received, "resolved": total.resolved,
                       "open": total.open, "overdue": total.overdue},
        "rollup_seq_scans": seq, "rollup_plan": plan,
    }


# --- an agency's queue page over the same history -------------------------------------------

# Every difficulty gets its lead assignment; every third one a co-handler too. The
# generated agencies are made up, but for one of the first province's, whose queue is
# measured: its share of leads goes to the board of industrial parks, and so do the
# co-handlers of every fifth difficulty.
_ASSIGN = """
UPDATE reporting.difficulties SET lead_agency_id = $2 WHERE lead_agency_id = $1;
"""
_ASSIGNMENTS = """
INSERT INTO reporting.assignments (assignment_id, difficulty_id, agency_id, agency_level,
    role, rule, active, assigned_at, ack_due_at, resolve_due_at)
SELECT gen_random_uuid(), difficulty_id, lead_agency_id, 'province', 'lead', 'bench', true,
       received_at, ack_due_at, resolve_due_at FROM reporting.difficulties
UNION ALL
SELECT gen_random_uuid(), difficulty_id,
       CASE WHEN right(tracking_code, 1) IN ('0', '5') AND task_force = $1 THEN $2
            ELSE task_force || '.co-quan-9' END,
       'province', 'co_handler', 'bench', true, received_at, NULL, NULL
FROM reporting.difficulties WHERE right(tracking_code, 1) IN ('0', '3', '5', '6', '9')
"""


async def queue_timing(url: str, runs: int = 7) -> dict[str, Any]:
    """The server time of the agency's queue page (the page as served: session, query,
    template) over the rollup's table, in process (no network), against the bare query
    of the province's newest 50."""
    import httpx
    from fastapi import FastAPI

    from services.reporting.api import ReadSide
    from shared import auth
    from shared.calendar import SystemClock

    configs = ConfigHolder().current
    slug = next(iter(configs))
    agency = configs[slug].rules.lead_by_zone_type[ZoneType.KCN]
    pool = await db.create_pool(url, schema=SCHEMA, max_size=4)
    try:
        async with pool.acquire() as conn:
            t0 = time.perf_counter()
            await conn.execute(_ASSIGN, f"{slug}.co-quan-0", agency)
            await conn.execute(_ASSIGNMENTS, slug, agency)
            await conn.execute("ANALYZE reporting.assignments")
            await conn.execute("ANALYZE reporting.difficulties")
            assigned_s = time.perf_counter() - t0
            await auth.migrate(conn)
            token_id, _ = await auth.insert_token(conn, kind=auth.TokenKind.AGENCY,
                                                  subject_id=agency)
            sid, now = auth.new_session_id(), datetime.now(UTC)
            await auth.open_session(conn, sid=sid, token_id=token_id, now=now,
                                    expires_at=now + timedelta(hours=1))
            held = await conn.fetchval("SELECT count(*) FROM assignments"
                                       " WHERE agency_id = $1 AND active", agency)
            open_held = await conn.fetchval(
                "SELECT count(*) FROM assignments a JOIN difficulties d USING (difficulty_id)"
                " WHERE a.agency_id = $1 AND a.active AND d.closed_at IS NULL", agency)
            plan = [r[0] for r in await conn.fetch(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM"
                " difficulties d WHERE task_force = $2 AND closed_at IS NULL AND EXISTS"
                " (SELECT 1 FROM assignments a WHERE a.agency_id = $1 AND a.active"
                "  AND a.difficulty_id = d.difficulty_id)"
                f" ORDER BY COALESCE({store.NEXT_DUE}, 'infinity'), received_at LIMIT 51",
                agency, slug)]
        app = FastAPI()
        mount(app, ReadSide(db=lambda: pool, config=ConfigHolder(), clock=SystemClock(),
                            base_url="http://bench"))
        times: dict[str, list[float]] = {"queue": [], "all": [], "search": []}
        asks = {"queue": {}, "all": {"status": "all"}, "search": {"q": "kho khan 77"}}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench",
                                     cookies={auth.SESSION_COOKIE: sid}) as c:
            for what, params in asks.items():
                for _ in range(runs + 1):  # the first warms the cache
                    t0 = time.perf_counter()
                    r = await c.get("/workspace/queue", params=params)
                    times[what].append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text[:500]
        bare = []
        async with pool.acquire() as conn:
            for _ in range(runs + 1):
                t0 = time.perf_counter()
                await conn.fetch("SELECT * FROM difficulties WHERE task_force = $1"
                                 " ORDER BY received_at DESC LIMIT 50", slug)
                bare.append(time.perf_counter() - t0)
    finally:
        await pool.close()
    ms = {k: statistics.median(v[1:]) * 1000 for k, v in times.items()}
    return {
        "figure": common.figure(
            f"an agency's queue page, {held:,} cases held ({open_held:,} open)",
            max(ms.values()), statistics.median(bare[1:]) * 1000, unit="ms",
            baseline_is="the bare query of a province's newest 50"),
        "page_ms": {k: round(v, 1) for k, v in ms.items()}, "agency": agency,
        "held": held, "open_held": open_held, "assignments_s": round(assigned_s, 1),
        "queue_plan": plan,
    }


def run(inf: Infra, scale: float) -> dict[str, Any]:
    n = max(20, int(20_000 * scale))
    rows = max(2_000, int(1_000_000 * scale))
    proj = projection(inf, n)
    url = asyncio.run(migrated(inf.database_url))
    rollup = asyncio.run(rollup_timing(url, rows))
    queue = asyncio.run(queue_timing(url))
    return {
        "figures": [proj.pop("figure"), rollup.pop("figure"), queue.pop("figure")],
        "projection": proj,
        "rollup": rollup,
        "queue": queue,
        "counts": {"difficulties": n, "events": proj["counts"]["events_total"],
                   "projected_events": proj["counts"]["projected"]["events"],
                   "rollup_difficulties": rollup["difficulties_in_db"]},
    }
