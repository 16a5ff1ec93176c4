"""The demo's register (#21 item 8), without a stack: every row imports as the CSV import
reads it, each dated as the demo says (so the oldest are overdue when the demo runs), and
each routes where the demo then acts on it. The demo itself runs on the real stack in
tests/e2e/test_up.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.intake import usecases
from services.router.logic import routing
from shared.calendar import TZ, to_local
from shared.deadlines import deadlines_for
from shared.events import AssignmentRole, UrgencySource
from shared.provinces import ConfigHolder
from thaogo import demo

CONFIGS = ConfigHolder().current
CFG = CONFIGS[demo.DEMO_PROVINCE]


def test_the_register_imports_dated_and_routes_where_the_demo_acts() -> None:
    now = datetime(2026, 12, 7, 10, tzinfo=TZ)  # a Monday
    rows = usecases.prepare_import(demo.import_csv(demo.CASES, now.date()), configs=CONFIGS,
                                   now=now.astimezone(UTC), max_rows=50,
                                   filed_by=UrgencySource.OPERATOR, province=CFG.slug)
    assert all(isinstance(r, usecases.ImportedRow) for r in rows), rows
    got = {c.name: r.event.data for c, r in zip(demo.CASES, rows, strict=True)
           if isinstance(r, usecases.ImportedRow)}
    for c in demo.CASES:
        d = got[c.name]
        assert d.task_force == CFG.slug
        day = to_local(now).date() - timedelta(days=c.days_ago)
        assert to_local(d.received_at).date() == day
        _, steps = routing.route(d, CFG)
        holder = next(s for s in steps if s.role in (AssignmentRole.LEAD, AssignmentRole.TRIAGE))
        if c.name == "triage":
            assert holder.role is AssignmentRole.TRIAGE and holder.agency_id == CFG.rules.triage
        else:
            assert holder.role is AssignmentRole.LEAD
            assert holder.agency_id == CFG.rules.lead_by_zone_type[d.zone_type]  # type: ignore[index]
    # Routed as received (the router's clock for a new difficulty is its receipt): the two
    # oldest are overdue now, the park's one by more than the days the head waits on.
    due = {n: deadlines_for(got[n].received_at, got[n].urgency, CFG.deadlines)
           for n in ("overdue", "late_in_progress", "resolved", "need_info")}
    assert due["overdue"].ack < now - timedelta(days=7)
    assert due["late_in_progress"].resolve < now
    assert due["resolved"].resolve > now and due["need_info"].ack > now


def test_the_demos_requests_are_what_intake_takes() -> None:
    """The bodies the demo posts pass intake's request models (a refusal would stop the
    demo half-way on the stack)."""
    from services.intake.models import LetterIn, ResolutionIn, StepIn

    for body in (demo.RESOLVED, demo.ESCALATED):
        ResolutionIn.model_validate(body)
    StepIn.model_validate({"step": "need_info", "question": demo.QUESTION})
    StepIn.model_validate({"step": "in_progress", "note": "Đã liên hệ."})
    LetterIn.model_validate({"letter_number": "245/TCT-KT", "letter_date": "2026-12-07"})
