"""`thaogo verify`: what the services derived, held against what the events say.

The checker reads every topic from its beginning, folds the events with its own small
rules (written here, not borrowed from the services' projections, so a bug there cannot
hide itself) and compares the result with each service's tables, field by field:

- intake: every accepted difficulty is on `difficulty.received.v1` under one event id,
  and every event there is a difficulty intake accepted; the assignments intake keeps
  (who may update what) are the events' assignments, with the same active flags and
  each with the step its holder last took;
- router: every assignment event is a stored assignment with the same fields, active
  exactly when no later assignment replaces it; one active assignment per (difficulty,
  role, agency, member); each traceable to a received difficulty; every agency's task on
  its topic, with the business's contact in the lead agency's task only;
- reporting: each difficulty's status, lead agency, deadlines, acknowledged / resolved /
  closed times, central escalation, task force and the lead's latest outcome and public
  answer, its zone type, category and province as the permanent deputy's latest
  correction left them, and the difficulty a duplicate was merged into; its
  assignments, each with its own step; every resolution as given; every stored weekly
  report published once, as stored, with breakdowns that add up to their
  totals and a league table that agrees with itself and with the report's agency rows;
- intake's urgency confirmations: one per confirmed difficulty, on its topic under one
  event id, and one for every difficulty a member or operator filed urgent;
- intake's history chains (shared/audit.py): every row's hash recomputed, every chain
  held against its difficulty's head, the positions and hashes its events carried and
  every chain head a weekly report published (`thaogo verify --audit` runs this alone);
- notify: a notice for every agency assignment and every published weekly report, an
  alarm to the head and the permanent deputy of every urgent difficulty with a lead (none
  still held for office hours once confirmed), none about a difficulty that does not
  exist, and every delivered message announced on
  `notification.sent.v1` under one event id.

Differences are printed one a line (service, table, id, field, expected, found). What
the topics no longer hold (retention dropped their beginning) is said, not guessed.

Before comparing, it waits until the services have caught up: every consumer group of
theirs committed up to the end of its topics and every outbox is empty. A read model is
eventually consistent; comparing it while events are still in flight would report the
flight, not a fault. Notify's deliveries are the exception: it may owe mail for many
minutes after a burst, so they are checked at a cut (`Deliveries`) instead of waited for.

By step: `log` (reading the topics), `fold` (the checker's own rules over each
difficulty's events), one module per service's tables (`intake`, `router`, `reporting`,
`notify`), `audit` (the history chains), `settle` (waiting until the services caught up)
and `report` (the differences); `verify` below runs them in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from shared import topics
from shared.provinces import ConfigSet
from thaogo.verify.audit import check_audit, verify_audit
from thaogo.verify.fold import Case, Derived, derive, fold, steps
from thaogo.verify.intake import attached, check_attachments, check_intake
from thaogo.verify.log import MODELS, Log, read_log
from thaogo.verify.notify import Deliveries, check_alarms, check_business_notices, check_notify
from thaogo.verify.report import Difference, Report
from thaogo.verify.reporting import check_league, check_reporting
from thaogo.verify.router import check_business_answers, check_router
from thaogo.verify.settle import settle

SERVICES = ("intake", "router", "reporting", "notify")


async def verify(bootstrap: str, dsn: str, configs: ConfigSet, *, settle_timeout: float = 60,
                 services: Sequence[str] = SERVICES, **security: Any) -> Report:
    """Compare the state of `services` (all four by default; a test that feeds the topics
    itself checks the services it runs) with the events on the broker at `bootstrap`."""
    report = Report()
    left = await settle(bootstrap, dsn, timeout=settle_timeout, **security)
    if left:
        report.unchecked.append(
            "the services had not caught up after "
            f"{settle_timeout:.0f} s: " + ", ".join(f"{k} {v}" for k, v in sorted(left.items())))
    deliveries = await Deliveries.snapshot(dsn) if "notify" in services else None
    log = Log()
    await read_log(bootstrap, MODELS, report, log, **security)
    # Agencies' topics: every configured agency's, and any other an assignment named
    # (the triage queue of a province without configuration).
    agencies = {*configs.agency_ids(), *(a.data.agency_id for a in log.assigned
                                         if a.data.role.value != "member")}
    await read_log(bootstrap, [topics.agency_topic(a) for a in agencies], report, log,
                   **security)
    cases = fold(log)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            if "intake" in services:
                await check_intake(conn, log, cases, report)
                await check_audit(conn, report, log)
                check_business_answers(log, cases, report)
                await check_attachments(conn, log, report, "intake")
            if "router" in services:
                await check_router(conn, log, cases, report)
            if "reporting" in services:
                await check_reporting(conn, configs, log, cases, report)
                await check_attachments(conn, log, report, "reporting")
            if deliveries is not None:
                await check_notify(conn, configs, log, cases, deliveries, report)
    finally:
        await conn.close()
    return report


__all__ = ["Case", "Deliveries", "Derived", "Difference", "Log", "Report", "attached",
           "check_alarms", "check_attachments", "check_audit", "check_business_notices",
           "check_league", "derive", "fold", "read_log", "settle", "steps", "verify",
           "verify_audit"]
