"""The history chains (#25 item 3): every row's hash recomputed, every chain held
against its difficulty's head, its events and the chain heads weekly reports published."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import asyncpg

from shared import audit, topics
from shared.audit import Finding
from shared.events import (
    WeeklyReport,
)
from thaogo.verify.log import Log, read_log
from thaogo.verify.report import Report

_CHAIN_ROWS = (
    "SELECT status_id, difficulty_id, position, status, actor_kind, actor_id, assignment_id,"
    " note, changed_at, step, suggested_agency_id, target_agency_id,"
    " resolution::text AS resolution, question, answer, feedback::text AS feedback,"
    " letter::text AS letter, co_agency_ids::text AS co_agency_ids,"
    " correction::text AS correction, merged_into::text AS merged_into,"
    " duplicate::text AS duplicate, prev_hash, chain_hash"
    " FROM intake.status_updates ORDER BY difficulty_id, position, status_id")


async def check_audit(conn: asyncpg.Connection, report: Report, log: Log) -> None:
    """Recompute every difficulty's history chain from intake's rows (shared.audit) and
    hold it against the difficulty's head, against every chain head a compiled weekly
    report published on the topic (the database cannot rewrite those), and against the
    position and hash each status event carried. Inside the caller's transaction."""
    heads = {r["difficulty_id"]: audit.Head(r["chain_length"], r["chain_head"])
             for r in await conn.fetch(
                 "SELECT difficulty_id, chain_length, chain_head FROM intake.difficulties")}
    published: dict[uuid.UUID, list[tuple[int, str, str]]] = defaultdict(list)
    latest: dict[str, WeeklyReport] = {}
    for e in log.weekly:
        w = e.data
        if w.audit is None:
            continue
        for h in w.audit.heads:
            published[h.difficulty_id].append((h.position, h.hash,
                                               f"{w.province_code} {w.week_label}"))
        if (w.province_code not in latest
                or latest[w.province_code].window_end < w.window_end):
            latest[w.province_code] = w
    carried = {e.data.status_id: (e.data.chain_position, e.data.chain_hash)
               for e in log.status if e.data.chain_hash is not None}
    chains = rows = checked_heads = 0
    findings = report.audit

    def judge(did: uuid.UUID, links: list[audit.Link]) -> None:
        nonlocal chains, checked_heads
        chains += 1
        findings.extend(audit.check_chain(did, links, heads.get(did)))
        for position, hash_, week in published.get(did, ()):
            checked_heads += 1
            if (f := audit.check_published(did, links, position, hash_, week)) is not None:
                findings.append(f)

    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = None
    links: list[audit.Link] = []
    async for r in conn.cursor(_CHAIN_ROWS, prefetch=2000):
        rows += 1
        if r["difficulty_id"] != current:
            if current is not None:
                judge(current, links)
            current, links = r["difficulty_id"], []
            seen.add(current)
        record = {name: r[name] for name in (*audit.FIELDS, *audit.LATER_FIELDS)}
        links.append(audit.Link(record, r["prev_hash"], r["chain_hash"]))
        if (c := carried.get(r["status_id"])) is not None and c != (r["position"],
                                                                    r["chain_hash"]):
            findings.append(Finding(current, r["position"], "its position or hash is not"
                                    f" what its event carried ({c[0]}, {c[1]})",
                                    r["status_id"]))
    if current is not None:
        judge(current, links)
    for did, head in heads.items():  # chains whose every row is gone
        if did not in seen and (head.length or did in published):
            judge(did, [])
    against = ", ".join(f"{w.province_code} {w.week_label}" for w in latest.values())
    report.audit_summary = (
        f"audit: {chains} history chains, {rows} rows recomputed, {checked_heads} published"
        f" heads checked" + (f" (latest reports: {against})" if against else
                             " (no weekly report has published heads yet)")
        + f", {len(findings)} audit finding{'s' if len(findings) != 1 else ''}")


async def verify_audit(bootstrap: str, dsn: str, **security: Any) -> Report:
    """`thaogo verify --audit`: the history chains alone, with the published weekly
    reports read from their topic (no waiting for the services: a chain is written in
    the same transaction as its row)."""
    report = Report()
    log = Log()
    await read_log(bootstrap, [topics.REPORT_WEEKLY, topics.DIFFICULTY_STATUS], report, log,
                   **security)
    if topics.REPORT_WEEKLY in log.truncated:
        report.unchecked.append("audit: heads of weekly reports whose retention dropped")
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await check_audit(conn, report, log)
    finally:
        await conn.close()
    return report
