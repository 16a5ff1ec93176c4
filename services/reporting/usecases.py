"""The weekly report: composed from the database, published exactly once per
(task force, week), and the urgent interim report published as an item arrives.

Design (documented for consumers of `report.weekly.v1`):
- The unit is the task force, i.e. the province configuration (`binh-duong`); the
  event's `province_code` is that configuration's province code and `page_url`
  names the slug. The event id is `deterministic_id(slug, week_label)`.
- Exactly once with any number of replicas: each replica may compute the report,
  but only the one whose `INSERT ... ON CONFLICT DO NOTHING` on
  `weekly_reports (task_force, week_label)` succeeds writes the outbox row, in the
  same transaction. The outbox relay (one leader per schema, advisory lock)
  publishes it, and marks it sent only after the broker acknowledged it.
- An urgent difficulty (đột xuất) is announced at once as an *interim* report of
  the week it arrived in: same type and topic, `rows == []` and exactly one entry
  in `urgent_items`, event id and `report_id` from `("urgent", difficulty_id)`,
  `page_url` the (signed) page of its week. The weekly report always has at least its
  `total` row, which tells them apart (`WeeklyReport.interim`); notify mails each
  publication on its own.
- The final report of a dissolved task force (`task_force.dissolved_on` on or before
  today) covers its whole mandate: from `effective_from` (local midnight) until it
  is compiled, at or after the start of `dissolved_on` -- so a difficulty accepted on
  the day of dissolution, before intake began refusing, is counted. Same type and
  topic, `final: true`, `week_label == "final"`, the open items handed over (with
  their agency) and the items that went to central level; event id
  `deterministic_id(slug, "final")`. Exactly once as the weekly report: the claim is
  the `weekly_reports (task_force, "final")` row, written with the outbox row.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel

from services.reporting import document, grouping, logic, store
from services.reporting.settings import GROUPING
from shared import audit, outbox
from shared.calendar import (
    TZ,
    WeekWindow,
    previous_window,
    to_local,
    week_window,
    week_window_by_label,
)
from shared.events import (
    AuditHeads,
    BreakdownRow,
    ChainHead,
    DifficultyReceived,
    DirectionState,
    DirectionStatus,
    Envelope,
    League,
    ReportItem,
    Status,
    WaitingItem,
    WaitingReason,
    WeeklyReport,
    deterministic_id,
)
from shared.provinces import ProvinceConfig

log = logging.getLogger("thaogo.reporting")

SCHEMA = "reporting"
SOURCE = "thaogo/reporting"
MAX_URGENT_ITEMS = 100
MAX_RECOMMENDATIONS = 200
# Enough for any real task force; the counts in `rows` are exact beyond it, and the
# cap keeps the event well under the broker's default 1 MB message limit.
MAX_MANDATE_ITEMS = 2000
MAX_DIRECTIONS = 200
MAX_WAITING = 200
FINAL = "final"
LEAGUE_TREND_WEEKS = 8  # the weeks of each agency's resolved-on-time trend, this one last


def weekly_event_id(task_force: str, week_label: str) -> str:
    return deterministic_id(task_force, week_label)


def final_event_id(task_force: str) -> str:
    return deterministic_id(task_force, FINAL)


def urgent_event_id(difficulty_id: uuid.UUID) -> str:
    return deterministic_id("urgent", difficulty_id)


def _report_id(event_id: str) -> uuid.UUID:
    return uuid.UUID(deterministic_id("report", event_id))


def _item(r: dict[str, Any]) -> ReportItem:
    return ReportItem(difficulty_id=r["difficulty_id"], tracking_code=r["tracking_code"],
                      title=r["title"], agency_id=r["lead_agency_id"],
                      status=Status(r["status"]), received_at=r["received_at"])


def _row(r: dict[str, Any]) -> BreakdownRow:
    def hours(x: Any) -> float | None:
        return None if x is None else round(float(x), 2)

    return BreakdownRow(
        dimension=r["dimension"], value=r["value"], received=r["received"],
        resolved=r["resolved"], open=r["open"], overdue=r["overdue"],
        escalated_central=r["escalated_central"], rejected=r["rejected"],
        carried_over=r["carried_over"], partly_resolved=r["partly_resolved"],
        escalated=r["escalated"], median_resolution_hours=hours(r["median_hours"]),
        p90_resolution_hours=hours(r["p90_hours"]),
    )


def _league_item(r: dict[str, Any]) -> logic.Item:
    return logic.Item(
        difficulty_id=r["difficulty_id"], received_at=r["received_at"],
        agency_id=r["lead_agency_id"], zone_type=None, category="", closed_at=r["closed_at"],
        resolved=r["resolved"], ack_due_at=r["ack_due_at"], resolve_due_at=r["resolve_due_at"],
        acknowledged_at=r["acknowledged_at"], escalated_central_at=r["escalated_central_at"],
        rating=r["rating"])


async def compose(
    conn: asyncpg.Connection, *, cfg: ProvinceConfig, window: WeekWindow, as_of: datetime,
    generated_at: datetime, page_url: str | None,
) -> WeeklyReport:
    """The report of `window` as of `as_of` (its cutoff once the week is over)."""
    # One snapshot: the league table's agencies and resolved counts are the agency rows'.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _compose(conn, cfg=cfg, window=window, as_of=as_of,
                              generated_at=generated_at, page_url=page_url)


async def _compose(
    conn: asyncpg.Connection, *, cfg: ProvinceConfig, window: WeekWindow, as_of: datetime,
    generated_at: datetime, page_url: str | None,
) -> WeeklyReport:
    end = min(as_of, window.end)
    slug = cfg.slug
    rows = [_row(r) for r in await store.rollup_rows(conn, task_force=slug,
                                                       start=window.start, end=end)]
    held = await store.league_items(conn, task_force=slug, start=window.start, end=end)
    league = logic.league([_league_item(r) for r in held], window, as_of=end,
                          target_pct=cfg.deadlines.on_time_target)
    if logic.total_row(rows) is None:  # an empty week still says "zero"
        rows.append(BreakdownRow(dimension="total", value="all", received=0, resolved=0,
                                 open=0, overdue=0, escalated_central=0,
                                 median_resolution_hours=None, p90_resolution_hours=None))
    urgent = await store.report_items(conn, task_force=slug, start=window.start, end=end,
                                      which="urgent", limit=MAX_URGENT_ITEMS)
    recs = await store.report_items(conn, task_force=slug, start=window.start, end=end,
                                    which="recommendation", limit=MAX_RECOMMENDATIONS)
    member_ids = [m.id for m in cfg.task_force.active_members()]
    done = await store.members_reported(conn, week_label=window.label, member_ids=member_ids)
    reported, missing = logic.members_split(member_ids, done)
    member_rows = await store.week_member_reports(conn, week_label=window.label,
                                                  member_ids=member_ids)
    compilation = await store.compilation_of(conn, task_force=slug, week_label=window.label)
    directions = await store.directions_for_week(conn, task_force=slug, start=window.start,
                                                 end=end, limit=MAX_DIRECTIONS)
    days = cfg.deadlines.decision_overdue_days
    waiting = await store.waiting_for_decision(
        conn, task_force=slug, head_agency=cfg.rules.head, now=end, since=window.start,
        overdue_before=logic.working_days_before(end, days), limit=MAX_WAITING)
    heads = await store.chain_heads(conn, task_force=slug, start=window.start, end=end)
    event_id = weekly_event_id(slug, window.label)
    return WeeklyReport(
        report_id=_report_id(event_id), province_code=cfg.province.province_code,
        week_label=window.label, window_start=window.start, window_end=window.end,
        generated_at=generated_at, final=False, rows=logic.sort_rows(rows),
        urgent_items=[_item(r) for r in urgent], recommendations=[_item(r) for r in recs],
        members_reported=reported, members_missing=missing, page_url=page_url, league=league,
        # Only what was submitted to the head (and saved by the cutoff) is the week's text.
        compiled_text=compilation["body"] if compilation and compilation["submitted"]
        and compilation["saved_at"] <= end else None,
        member_reports=[logic.member_report_summary(r["member_id"], r) for r in member_rows],
        directions=[_direction(r) for r in directions],
        waiting=[waiting_item(r) for r in waiting], decision_overdue_days=days,
        audit=AuditHeads(merkle_root=audit.merkle_root(heads), heads=[
            ChainHead(difficulty_id=d, position=p, hash=h) for d, p, h in heads]),
    )


def waiting_item(r: dict[str, Any]) -> WaitingItem:
    return WaitingItem(**_item(r).model_dump(), why=WaitingReason(r["why"]),
                       resolve_due_at=r["resolve_due_at"], letter_number=r["letter_number"],
                       letter_date=r["letter_date"])


def _direction(r: dict[str, Any]) -> DirectionStatus:
    return DirectionStatus(
        direction_id=r["direction_id"], body=r["body"], given_at=r["given_at"],
        assignee_id=r["assignee_id"], due_on=r["due_on"], state=DirectionState(r["state"]),
        state_at=r["state_at"], note=r["note"])


async def league_trend(
    conn: asyncpg.Connection, *, task_force: str, report: WeeklyReport,
    weeks: int = LEAGUE_TREND_WEEKS,
) -> tuple[list[str], list[tuple[str, list[float | None]]]]:
    """(week labels, oldest first) and each agency of `report`'s league table with its
    resolved-on-time share in those weeks, from the stored reports (frozen as published)
    and `report` itself as the last week."""
    if report.league is None or report.final:
        return [], []
    labels = [report.week_label]
    for _ in range(weeks - 1):
        labels.insert(0, previous_window(week_window_by_label(labels[0])).label)
    stored = await store.reports_for_weeks(conn, task_force=task_force, week_labels=labels)
    past = [League.model_validate(stored[w]["league"]) if stored.get(w, {}).get("league")
            else None for w in labels[:-1]]
    return labels, logic.league_trend(report.league, [*past, report.league])


def is_dissolved(cfg: ProvinceConfig, now: datetime) -> bool:
    """Whether the task force's mandate is over (local date), so its final report is due."""
    gone = cfg.task_force.dissolved_on
    return gone is not None and gone <= to_local(now).date()


def mandate_start(cfg: ProvinceConfig) -> datetime:
    d = cfg.task_force.effective_from
    return datetime(d.year, d.month, d.day, tzinfo=TZ).astimezone(UTC)


async def compose_final(
    conn: asyncpg.Connection, *, cfg: ProvinceConfig, as_of: datetime, page_url: str | None,
) -> WeeklyReport:
    """The report of the whole mandate as of `as_of` (see the module docstring)."""
    slug = cfg.slug
    start = mandate_start(cfg)
    end = max(as_of, start)
    rows = [_row(r) for r in await store.rollup_rows(conn, task_force=slug, start=start,
                                                       end=end)]
    if logic.total_row(rows) is None:
        rows.append(BreakdownRow(dimension="total", value="all", received=0, resolved=0,
                                 open=0, overdue=0, escalated_central=0,
                                 median_resolution_hours=None, p90_resolution_hours=None))
    handed = await store.mandate_items(conn, task_force=slug, which="open",
                                       limit=MAX_MANDATE_ITEMS)
    central = await store.mandate_items(conn, task_force=slug, which="central",
                                        limit=MAX_MANDATE_ITEMS)
    return WeeklyReport(
        report_id=_report_id(final_event_id(slug)), province_code=cfg.province.province_code,
        week_label=FINAL, window_start=start, window_end=end, generated_at=as_of, final=True,
        rows=logic.sort_rows(rows), urgent_items=[], recommendations=[],
        members_reported=[], members_missing=[], page_url=page_url,
        handed_over=[_item(r) for r in handed], central_items=[_item(r) for r in central],
    )


def urgent_report(
    d: DifficultyReceived, *, generated_at: datetime,
    page_url: Callable[[str], str] | None = None,
) -> WeeklyReport:
    """The interim report of an urgent item; `page_url` makes the link of its week's page
    from the week label (the task force's, signed: notify mails it to the head)."""
    w = week_window(d.received_at)
    return WeeklyReport(
        report_id=_report_id(urgent_event_id(d.difficulty_id)), province_code=d.province_code,
        week_label=w.label, window_start=w.start, window_end=w.end, generated_at=generated_at,
        rows=[], recommendations=[], members_reported=[], members_missing=[],
        page_url=page_url(w.label) if page_url is not None else None,
        urgent_items=[ReportItem(difficulty_id=d.difficulty_id, tracking_code=d.tracking_code,
                                 title=d.title, agency_id=None, status=Status.RECEIVED,
                                 received_at=d.received_at)],
    )


async def enqueue_urgent(
    conn: asyncpg.Connection, d: DifficultyReceived, *, now: datetime,
    page_url: Callable[[str], str] | None = None,
) -> bool:
    """Inside the caller's transaction: claim and enqueue the interim report, once."""
    event_id = urgent_event_id(d.difficulty_id)
    if not await store.claim_urgent(conn, difficulty_id=d.difficulty_id, event_id=event_id):
        return False
    report = urgent_report(d, generated_at=now, page_url=page_url)
    env = Envelope(id=event_id, source=SOURCE, time=now, data=report)
    await outbox.enqueue(conn, schema=SCHEMA, events=[env])
    return True


async def claim(
    conn: asyncpg.Connection, task_force: str, report: WeeklyReport, event_id: str
) -> bool:
    """Store the report under (task force, week label) and enqueue its event, in one
    transaction, unless another replica (or run) did first: the exactly-once step."""
    async with conn.transaction():
        claimed = await store.claim_report(
            conn, task_force=task_force, week_label=report.week_label,
            report_id=report.report_id, event_id=event_id, province_code=report.province_code,
            generated_at=report.generated_at, report=report.model_dump(mode="json"))
        if claimed:
            env = Envelope(id=event_id, source=SOURCE, time=report.generated_at, data=report)
            await outbox.enqueue(conn, schema=SCHEMA, events=[env])
    return claimed


# --- the public view (#25 item 2) ----------------------------------------------------------

# A count as the public sees it: the number, or "suppressed" (logic.suppress_tables): a
# group of fewer than three businesses (logic.SMALLEST_GROUP), or a cell hidden with one.
PublicCount = int | Literal["suppressed"]


class PublicRow(BaseModel):
    value: str  # the category, zone type or agency id
    name_vi: str
    name_en: str
    received: PublicCount
    resolved: PublicCount
    rejected: PublicCount
    open: PublicCount


class PublicOnTime(BaseModel):
    """An agency's row of the week's league table, as published."""

    agency_id: str
    name_vi: str
    name_en: str
    resolve_measured: PublicCount
    resolved_on_time_pct: float | Literal["suppressed"] | None  # null: nothing measured
    ack_measured: PublicCount
    ack_on_time_pct: float | Literal["suppressed"] | None


class PublicLetter(BaseModel):
    number: str
    dated: date


class PublicCentral(BaseModel):
    """Difficulties escalated to one central ministry by the week's end, and the letters
    by which it answered."""

    ministry_id: str
    name_vi: str
    name_en: str
    sent: PublicCount
    answered: PublicCount
    letters: list[PublicLetter]


class PublicView(BaseModel):
    """One province's week for the public: counts only, none of fewer than three
    businesses, nothing that names or reaches a business."""

    province: str
    province_name_vi: str
    province_name_en: str
    week_label: str
    window_start: datetime
    window_end: datetime
    weeks: list[str]  # every published week, newest first (the week picker)
    smallest_group: int = logic.SMALLEST_GROUP
    total: dict[str, PublicCount]
    by_category: list[PublicRow]
    by_zone_type: list[PublicRow]
    by_agency: list[PublicRow]
    on_time_target_pct: float | None
    on_time: list[PublicOnTime]
    central: list[PublicCentral]


def _public_rows(cfg: ProvinceConfig, rows: list[BreakdownRow], total: BreakdownRow
                 ) -> tuple[dict[str, list[PublicRow]], dict[str, Any]]:
    dims = ("category", "zone_type", "agency")
    tables = {d: {r.value: {c: getattr(r, c) for c in logic.PUBLIC_COLUMNS}
                  for r in rows if r.dimension == d} for d in dims}
    shown, shown_total = logic.suppress_tables(
        tables, {c: getattr(total, c) for c in logic.PUBLIC_COLUMNS})

    def name(d: str, v: str, lang: str) -> str:
        return document.name_of(cfg, d, v, lang)

    return {d: [PublicRow(value=v, name_vi=name(d, v, "vi"), name_en=name(d, v, "en"),
                          **shown[d][v])
                for v in sorted(shown[d], key=lambda v: (v == logic.UNKNOWN, name(d, v, "vi")))]
            for d in dims}, shown_total


async def public_view(conn: asyncpg.Connection, *, cfg: ProvinceConfig,
                      week_label: str | None, now: datetime) -> PublicView | None:
    """A published week of `cfg`'s task force for the public (the last closed one by
    default); None when that week has no published report. Built from the report as
    published (frozen, so the page can be cached) and the central escalations by its
    end."""
    weeks = await store.published_weeks(conn, task_force=cfg.slug, before=now)
    label = week_label or (weeks[0] if weeks else None)
    if label is None or label not in weeks:
        return None
    stored = await store.stored_report(conn, task_force=cfg.slug, week_label=label)
    if stored is None:
        return None
    report = WeeklyReport.model_validate(stored)
    total = logic.total_row(report.rows) or BreakdownRow(
        dimension="total", value="all", received=0, resolved=0, open=0, overdue=0,
        escalated_central=0, median_resolution_hours=None, p90_resolution_hours=None)
    by, shown_total = _public_rows(cfg, report.rows, total)
    sent, answers = await store.central_escalations(conn, task_force=cfg.slug,
                                                    end=report.window_end)
    central = logic.public_central(sent, [logic.CentralAnswer(
        a["agency_id"], a["difficulty_id"], a["number"], a["dated"]) for a in answers])

    def names(agency_id: str) -> tuple[str, str]:
        a = cfg.agency(agency_id)
        return (a.name_vi, a.name_en) if a else (agency_id, agency_id)

    league = report.league.rows if report.league else []
    return PublicView(
        province=cfg.slug, province_name_vi=cfg.province.name_vi,
        province_name_en=cfg.province.name_en, week_label=label,
        window_start=report.window_start, window_end=report.window_end, weeks=weeks,
        total=shown_total, by_category=by["category"], by_zone_type=by["zone_type"],
        by_agency=by["agency"],
        on_time_target_pct=report.league.target_pct if report.league else None,
        on_time=[PublicOnTime(
            agency_id=r.agency_id, name_vi=names(r.agency_id)[0], name_en=names(r.agency_id)[1],
            resolve_measured=logic.public_measured(r.resolve_measured),
            resolved_on_time_pct=logic.public_share(r.resolve_measured,
                                                    r.resolved_on_time_pct),
            ack_measured=logic.public_measured(r.ack_measured),
            ack_on_time_pct=logic.public_share(r.ack_measured, r.ack_on_time_pct))
            for r in league],
        central=[PublicCentral(
            ministry_id=c.ministry_id, name_vi=names(c.ministry_id)[0],
            name_en=names(c.ministry_id)[1], sent=c.sent, answered=c.answered,
            letters=[PublicLetter(number=n, dated=d) for n, d in c.letters])
            for c in central],
    )


async def shared_groups(pool: asyncpg.Pool, *, task_force: str, now: datetime
                        ) -> tuple[list[dict[str, Any]], list[grouping.Group]]:
    """A task force's open items to group (GROUPING.max_items, the most recent) and their
    groups: the stored grouping when it was computed from exactly these items, else
    grouped now (on a worker thread: a second or more for 1,000 items) and stored. The
    background job (`jobs.regroup`) regroups as the open items change, so a visit finds
    them grouped; either way the groups are those of the items as they are."""
    async with pool.acquire() as conn:
        rows = await store.open_to_group(conn, task_force=task_force, limit=GROUPING.max_items)
        stored = await store.stored_grouping(conn, task_force=task_force)
    key = grouping.input_key(rows)
    if stored is not None and stored[0] == key:
        return rows, grouping.from_json(stored[1])
    found = await asyncio.to_thread(grouping.group_rows, rows, alike=GROUPING.alike,
                                    citing_bonus=GROUPING.citing_bonus, floor=GROUPING.floor)
    async with pool.acquire() as conn:
        await store.store_grouping(conn, task_force=task_force, input_key=key,
                                   groups=grouping.to_json(found), computed_at=now)
    return rows, found
