"""The league table: each agency's deadlines met in a week, its ranking and trend."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from services.reporting.logic.rollup import Item, percentile, rounded
from shared.calendar import WeekWindow, working_days_between
from shared.events import League, LeagueRow


def _measured(met: datetime | None, due: datetime, start: datetime, end: datetime
              ) -> bool | None:
    """Whether a deadline measured in (start, end] was met (True) or missed (False); None
    if it is measured in another week. `met` is when it was met, if by `end`. It is
    measured when its outcome became known: when met, if met by the deadline; else when
    the deadline passed."""
    on_time = met is not None and met <= due
    decided = met if on_time and met is not None else due
    return on_time if start < decided <= end else None


def _pct(n: int, of: int) -> float | None:
    return None if of == 0 else round(100 * n / of, 1)


def league(items: Iterable[Item], w: WeekWindow, *, as_of: datetime, target_pct: float
           ) -> League:
    """Each agency's week, as of `as_of` (the cutoff, or now for a week in progress): see
    `shared.events.LeagueRow`. An agency is listed if it held an item at some moment of
    the week (received by then, not closed before the week began), even with nothing
    measured; items that no agency holds are not ranked."""
    end = min(as_of, w.end)
    by_agency: dict[str, list[Item]] = {}
    for i in items:
        if i.agency_id is not None and i.received_at <= end and (
                i.closed_at is None or i.closed_at > w.start):
            by_agency.setdefault(i.agency_id, []).append(i)
    rows = []
    for agency, held in by_agency.items():
        ack: list[bool] = []
        res: list[bool] = []
        days: list[float] = []
        ratings: list[int] = []
        for i in held:
            closed = i.closed_at if i.closed_at is not None and i.closed_at <= end else None
            if i.ack_due_at is not None:
                acked = (i.acknowledged_at if i.acknowledged_at is not None
                         and i.acknowledged_at <= end else None)
                if (m := _measured(acked, i.ack_due_at, w.start, end)) is not None:
                    ack.append(m)
            rejected_in_time = (closed is not None and not i.resolved
                                and (i.resolve_due_at is None or closed <= i.resolve_due_at))
            if i.resolve_due_at is not None and not rejected_in_time:
                met = closed if i.resolved else None
                if (m := _measured(met, i.resolve_due_at, w.start, end)) is not None:
                    res.append(m)
            if i.resolved and closed is not None and closed > w.start:
                days.append(working_days_between(i.received_at, closed))
                if i.rating is not None:
                    ratings.append(i.rating)
        rows.append(LeagueRow(
            agency_id=agency, ack_measured=len(ack), ack_on_time=sum(ack),
            ack_on_time_pct=_pct(sum(ack), len(ack)), resolve_measured=len(res),
            resolved_on_time=sum(res), resolved_on_time_pct=_pct(sum(res), len(res)),
            resolved=len(days), median_working_days=rounded(percentile(days, 0.5)),
            rated=len(ratings),
            rating_average=round(sum(ratings) / len(ratings), 2) if ratings else None,
        ))
    return League(target_pct=target_pct, rows=sort_league(rows))


def sort_league(rows: Iterable[LeagueRow]) -> list[LeagueRow]:
    """Best resolved-on-time share first, then best acknowledged-on-time share; nothing
    measured last."""
    def key(r: LeagueRow) -> tuple[bool, float, bool, float, str]:
        return (r.resolved_on_time_pct is None, -(r.resolved_on_time_pct or 0),
                r.ack_on_time_pct is None, -(r.ack_on_time_pct or 0), r.agency_id)

    return sorted(rows, key=key)


def meets(pct: float | None, target: float) -> bool | None:
    """Whether a share reaches the target; None when nothing was measured."""
    return None if pct is None else pct >= target


def league_trend(league_now: League, past: Sequence[League | None]
                 ) -> list[tuple[str, list[float | None]]]:
    """Each agency of this week's table with its resolved-on-time share in the weeks of
    `past` (oldest first, this week last; None for a week without a table or without
    anything measured for the agency)."""
    weeks = [{r.agency_id: r.resolved_on_time_pct for r in lg.rows} if lg else {}
             for lg in past]
    return [(r.agency_id, [w.get(r.agency_id) for w in weeks]) for r in league_now.rows]
