"""The league table's pure rules: when a deadline is measured and whether it was met,
working days across public holidays, medians, ratings, agencies with nothing due, the
order, and the trend."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from services.reporting import logic
from shared.calendar import (
    TZ,
    WeekWindow,
    next_window,
    week_window_by_label,
    working_days_between,
)
from shared.events import League, LeagueRow

# (Fri 28/8/2026 12:00, Fri 4/9/2026 12:00]; Mon 31/8 to Wed 2/9 are public holidays
# (National Day, with the bridge day), so the week has 2.5 working days after Friday noon.
W = week_window_by_label("2026-W36")
A, B, C = "binh-duong.bql-kcn", "binh-duong.so-cong-thuong", "binh-duong.so-y-te"
SEC = timedelta(seconds=1)


def local(*a: int) -> datetime:
    return datetime(*a, tzinfo=TZ)  # type: ignore[misc]


FRI = local(2026, 8, 28, 14)


def item(agency: str | None = A, *, received: datetime = FRI,
         ack_due: datetime | None = None, resolve_due: datetime | None = None,
         acked: datetime | None = None, closed: datetime | None = None,
         resolved: bool = True, rating: int | None = None) -> logic.Item:
    return logic.Item(
        difficulty_id=uuid.uuid4(), received_at=received, agency_id=agency, zone_type="KCN",
        category="tax", closed_at=closed, resolved=resolved and closed is not None,
        ack_due_at=ack_due, resolve_due_at=resolve_due, acknowledged_at=acked,
        escalated_central_at=None, rating=rating)


def row(lg: League, agency: str) -> LeagueRow:
    return next(r for r in lg.rows if r.agency_id == agency)


def table(items: list[logic.Item], w: WeekWindow = W, as_of: datetime | None = None
          ) -> League:
    return logic.league(items, w, as_of=as_of or w.end, target_pct=95)


def test_an_acknowledgement_is_measured_when_its_outcome_is_known() -> None:
    due = local(2026, 9, 3, 10)
    later = local(2026, 9, 8, 10)  # next week
    lg = table([
        item(ack_due=due, acked=due),  # exactly at the deadline: on time
        item(ack_due=due, acked=due + SEC),  # a second late: missed, measured at the deadline
        item(ack_due=due),  # deadline passed, never acknowledged: missed
        item(ack_due=later, acked=local(2026, 9, 3, 9)),  # early, before a later deadline
        item(ack_due=later),  # not due yet: measured next week
        item(ack_due=W.end, acked=W.end + SEC),  # deadline at the cutoff: this week, missed
        item(ack_due=W.start, acked=W.start + SEC,  # deadline at the previous cutoff
             received=local(2026, 8, 27, 9)),
    ])
    r = row(lg, A)
    assert (r.ack_measured, r.ack_on_time) == (5, 2)
    assert r.ack_on_time_pct == 40.0
    assert lg.target_pct == 95


def test_a_late_acknowledgement_is_not_measured_again_in_the_week_it_came() -> None:
    due = local(2026, 9, 3, 10)
    it = item(ack_due=due, acked=local(2026, 9, 7, 9))
    nxt = next_window(W)
    assert row(table([it]), A).ack_measured == 1
    assert row(table([it], nxt), A).ack_measured == 0


def test_the_report_is_as_of_its_cutoff() -> None:
    """What happened after the cutoff (or after now, for a preview) does not count."""
    due = local(2026, 9, 3, 10)
    it = item(ack_due=due, acked=local(2026, 9, 3, 9), resolve_due=due,
              closed=local(2026, 9, 3, 9, 30))
    early = table([it], as_of=local(2026, 9, 3, 8))
    r = row(early, A)
    assert (r.ack_measured, r.resolve_measured, r.resolved) == (0, 0, 0)
    assert r.median_working_days is None
    r = row(table([it]), A)
    assert (r.ack_measured, r.ack_on_time, r.resolve_measured, r.resolved_on_time) == (1, 1, 1, 1)


def test_resolution_rules_rejected_and_late() -> None:
    due = local(2026, 9, 3, 17)
    lg = table([
        item(resolve_due=due, closed=due),  # on time, at the deadline
        item(resolve_due=due, closed=local(2026, 9, 3, 9), resolved=False),  # rejected in time
        item(resolve_due=due, closed=local(2026, 9, 4, 9), resolved=False),  # rejected, late
        item(resolve_due=due),  # still open past its deadline
        item(resolve_due=local(2026, 8, 27, 17), closed=local(2026, 9, 1, 9),
             received=local(2026, 8, 20, 9)),  # resolved late: missed last week, not again
    ])
    r = row(lg, A)
    assert (r.resolve_measured, r.resolved_on_time) == (3, 1)
    assert r.resolved_on_time_pct == 33.3
    assert r.resolved == 2  # resolved in the week, late or not


def test_working_days_skip_the_national_day_holidays() -> None:
    # Fri 28/8 14:00 to Thu 3/9 14:00: six calendar days, one working day (Fri 10 h + Thu
    # 14 h; the weekend and Mon 31/8 to Wed 2/9 do not count).
    r = row(table([item(closed=local(2026, 9, 3, 14))]), A)
    assert r.median_working_days == 1.0
    assert r.resolved == 1


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    start = local(2026, 8, 20, 8)  # Thursday
    closes = [local(2026, 9, 3, 8), local(2026, 9, 3, 20), local(2026, 9, 4, 8),
              local(2026, 9, 4, 11)]
    its = [item(received=start, closed=c) for c in closes]
    days = sorted(working_days_between(start, c) for c in closes)
    r = row(table(its), A)
    assert r.resolved == 4
    assert r.median_working_days == round((days[1] + days[2]) / 2, 2)
    assert days[1] != days[2]


def test_an_agency_with_nothing_due_is_listed_without_shares() -> None:
    lg = table([
        item(B, ack_due=local(2026, 9, 8, 10), resolve_due=local(2026, 9, 20, 10)),
        item(A, ack_due=local(2026, 9, 3, 10), acked=local(2026, 9, 3, 9)),
    ])
    r = row(lg, B)
    assert (r.ack_measured, r.resolve_measured, r.resolved, r.rated) == (0, 0, 0, 0)
    assert r.ack_on_time_pct is None and r.resolved_on_time_pct is None
    assert r.median_working_days is None and r.rating_average is None
    assert [x.agency_id for x in lg.rows] == [A, B]  # nothing measured goes last
    assert logic.meets(r.ack_on_time_pct, lg.target_pct) is None
    assert logic.meets(row(lg, A).ack_on_time_pct, lg.target_pct) is True


def test_who_is_listed() -> None:
    lg = table([
        item(None, ack_due=local(2026, 9, 3, 10)),  # held by nobody: not ranked
        item(B, received=local(2026, 8, 1, 9), closed=local(2026, 8, 20, 9)),  # closed before
        item(C, received=local(2026, 9, 5, 9)),  # received after the cutoff
        item(A, received=local(2026, 8, 1, 9)),  # carried over, still open
    ])
    assert [r.agency_id for r in lg.rows] == [A]
    assert logic.league([], W, as_of=W.end, target_pct=90).rows == []


def test_ratings_average_only_what_was_rated() -> None:
    closed = local(2026, 9, 3, 14)
    lg = table([item(A, closed=closed, rating=5), item(A, closed=closed, rating=4),
                item(A, closed=closed), item(B, closed=closed)])
    assert (row(lg, A).rated, row(lg, A).rating_average) == (2, 4.5)
    assert (row(lg, B).rated, row(lg, B).rating_average) == (0, None)


def test_order_best_resolved_share_first() -> None:
    due = local(2026, 9, 3, 10)
    lg = table([
        item(A, resolve_due=due),  # 0 %
        item(B, resolve_due=due, closed=due),  # 100 %
        item(C, resolve_due=due, closed=due), item(C, resolve_due=due),  # 50 %
    ])
    assert [r.agency_id for r in lg.rows] == [B, C, A]
    assert [r.resolved_on_time_pct for r in lg.rows] == [100.0, 50.0, 0.0]


def test_every_deadline_is_measured_exactly_once_across_weeks() -> None:
    rng = random.Random(36)
    weeks = [W]
    for _ in range(5):
        weeks.append(next_window(weeks[-1]))
    its = []
    for _ in range(300):
        received = W.start + timedelta(hours=rng.uniform(0, 24 * 7))
        ack_due = received + timedelta(hours=rng.uniform(1, 72))
        resolve_due = ack_due + timedelta(hours=rng.uniform(1, 24 * 10))
        acked = received + timedelta(hours=rng.uniform(0, 96)) if rng.random() < .8 else None
        closed = (acked + timedelta(hours=rng.uniform(0, 24 * 14))
                  if acked and rng.random() < .7 else None)
        its.append(item(rng.choice([A, B, C]), received=received, ack_due=ack_due,
                        resolve_due=resolve_due, acked=acked, closed=closed,
                        resolved=rng.random() < .8))
    tables = [table(its, w) for w in weeks]
    horizon = weeks[-1].end
    acks = sum(r.ack_measured for lg in tables for r in lg.rows)
    on_time = sum(r.ack_on_time for lg in tables for r in lg.rows)
    decided = [i for i in its if i.ack_due_at is not None
               and min(i.ack_due_at, i.acknowledged_at or horizon) <= horizon]
    assert acks == len(decided) > 200
    assert on_time == sum(1 for i in decided if i.acknowledged_at is not None
                          and i.ack_due_at is not None and i.acknowledged_at <= i.ack_due_at)
    resolved = sum(r.resolved for lg in tables for r in lg.rows)
    assert resolved == sum(1 for i in its if i.resolved and i.closed_at is not None
                           and i.closed_at <= horizon)


def test_trend_follows_this_weeks_agencies() -> None:
    now = League(target_pct=95, rows=[
        LeagueRow(agency_id=A, ack_measured=1, ack_on_time=1, ack_on_time_pct=100,
                  resolve_measured=2, resolved_on_time=1, resolved_on_time_pct=50, resolved=1,
                  median_working_days=1)])
    # B was ranked the week before, but is not this week: the trend follows this week's.
    before = League(target_pct=95, rows=[now.rows[0].model_copy(
        update={"agency_id": B, "resolved_on_time_pct": 80.0})])
    older = League(target_pct=95, rows=[now.rows[0].model_copy(
        update={"resolved_on_time_pct": 75.0})])
    assert logic.league_trend(now, [older, None, before, now]) == [(A, [75.0, None, None, 50])]
