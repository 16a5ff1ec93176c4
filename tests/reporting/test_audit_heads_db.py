"""A compiled week publishes the history chain heads (#25 item 3) of the difficulties whose
history moved in it, as of its cutoff, from the positions and hashes the status events
carried; the official document quotes their Merkle root."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.reporting import document, usecases
from services.reporting.consumers import ReportingHandlers
from shared import audit, db
from shared.calendar import week_window_by_label
from shared.events import Status
from shared.provinces import ConfigHolder
from tests.reporting.conftest import assigned, env, received, status

pytestmark = [pytest.mark.db]

W = week_window_by_label("2026-W36")


async def test_the_week_publishes_the_heads_of_the_chains_that_moved(
    handlers: ReportingHandlers, pool: db.Pool
) -> None:
    moved, quiet, old_style, later = (received(W.start - timedelta(days=3), n=i)
                                      for i in range(4))
    for d in (moved, quiet, old_style, later):
        await handlers.on_received([env(d)], None)  # type: ignore[arg-type]
        await handlers.on_assigned([env(assigned(d, d.received_at + timedelta(minutes=5)))],
                                   None)  # type: ignore[arg-type]

    def chained(d, s, at, position):  # type: ignore[no-untyped-def]
        return status(d, s, at).model_copy(update={
            "chain_position": position, "chain_hash": f"{position:x}{d.tracking_code[-1]}"
            .rjust(64, "a")})

    # moved: one update before the week, two in it, one after the cutoff.
    await handlers.on_status([env(chained(moved, Status.ACKNOWLEDGED, W.start - timedelta(
        days=1), 1))], None)  # type: ignore[arg-type]
    for p, at in ((2, W.start + timedelta(days=1)), (3, W.start + timedelta(days=2))):
        await handlers.on_status([env(chained(moved, Status.IN_PROGRESS, at, p))],
                                 None)  # type: ignore[arg-type]
    await handlers.on_status([env(chained(moved, Status.IN_PROGRESS, W.end + timedelta(
        hours=1), 4))], None)  # type: ignore[arg-type]
    # quiet: nothing in the week; old_style: moved, but by an event from before the chain;
    # later: only after the cutoff.
    await handlers.on_status([env(chained(quiet, Status.ACKNOWLEDGED, W.start - timedelta(
        hours=2), 1))], None)  # type: ignore[arg-type]
    await handlers.on_status([env(status(old_style, Status.ACKNOWLEDGED, W.start + timedelta(
        days=1)))], None)  # type: ignore[arg-type]
    await handlers.on_status([env(chained(later, Status.ACKNOWLEDGED, W.end + timedelta(
        hours=2), 1))], None)  # type: ignore[arg-type]

    cfg = ConfigHolder().current["binh-duong"]
    async with pool.acquire() as conn:
        report = await usecases.compose(conn, cfg=cfg, window=W, as_of=W.end + timedelta(days=1),
                                        generated_at=W.end, page_url=None)
    assert report.audit is not None
    want = chained(moved, Status.IN_PROGRESS, W.start, 3)
    assert [(h.difficulty_id, h.position, h.hash) for h in report.audit.heads] == [
        (moved.difficulty_id, 3, want.chain_hash)]
    assert report.audit.merkle_root == audit.merkle_root(
        [(moved.difficulty_id, 3, str(want.chain_hash))])
    doc = document.official_report(cfg, report, published=True)
    texts = [getattr(b, "text", "") for s in doc.sections for b in s.blocks]
    assert any(report.audit.merkle_root in t and "1 hồ sơ" in t for t in texts), texts
