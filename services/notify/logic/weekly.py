"""The weekly report's messages: when members are reminded or chased, and the compiled or
interim report sent to the task force."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from services.notify.logic.owed import (
    INTERIM_REPORT,
    WEEKLY_MISSING,
    WEEKLY_REMINDER,
    WEEKLY_REPORT,
    Hours,
    Owed,
    Quiet,
    _head_and_deputy,
    contacts_of,
    fan_out,
    head_release,
)
from shared import calendar
from shared.calendar import TZ, WeekWindow
from shared.events import (
    WeeklyReport,
)
from shared.provinces import (
    ConfigSet,
    ProvinceConfig,
)

# --- the weekly report ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeeklyFire:
    kind: str  # WEEKLY_REMINDER or WEEKLY_MISSING
    window: WeekWindow
    at: datetime
    slot: str  # "thu1600": part of the key, one per fire


def parse_weekly(spec: Sequence[str]) -> list[tuple[int, time]]:
    """["3 16:00", "4 09:00"] -> [(3, 16:00), (4, 09:00)] (0 = Monday)."""
    out: list[tuple[int, time]] = []
    for s in spec:
        day, _, hm = s.strip().partition(" ")
        out.append((int(day), time.fromisoformat(hm.strip())))
    return out


def _fire_in(w: WeekWindow, weekday: int, at: time) -> datetime | None:
    """The moment of `weekday at` within window w, counted back from its nominal Friday
    and moved as many days earlier as the cutoff was (a holiday Friday), so reminders
    keep their distance to the cutoff; None if that day is not a working day (nobody
    is reminded on a holiday)."""
    friday = w.friday
    moved = friday - w.end.astimezone(TZ).date()
    day = friday - timedelta(days=(calendar.FRIDAY - weekday) % 7) - moved
    if not calendar.is_working_day(day):
        return None
    return datetime.combine(day, at, tzinfo=TZ)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekly_fires(
    now: datetime, reminders: Sequence[tuple[int, time]], *, missing_grace: timedelta
) -> list[WeeklyFire]:
    """The weekly fires owed at `now`: each reminder whose time has come and whose week
    has not closed yet (a late reminder after the cutoff is pointless), and the missing
    list of a week that closed less than `missing_grace` ago."""
    local = calendar.to_local(now)
    current = calendar.week_window(local)
    out: list[WeeklyFire] = []
    for weekday, at in reminders:
        fire = _fire_in(current, weekday, at)
        if fire is not None and fire <= local <= current.end:
            out.append(WeeklyFire(WEEKLY_REMINDER, current, fire,
                                  f"{_DAYS[weekday]}{at.strftime('%H%M')}"))
    # The week that closed last (exactly at 12:00:00 the current window is still it).
    closed = current if local == current.end else calendar.previous_window(current)
    if closed.end <= local < closed.end + missing_grace:
        out.append(WeeklyFire(WEEKLY_MISSING, closed, closed.end, "cutoff"))
    return out


def weekly_messages(
    fire: WeeklyFire, cfg: ProvinceConfig, reported: set[str], *, quiet: Quiet
) -> list[Owed]:
    """Reminders to active members who have not reported, or the list of them to the
    permanent deputy."""
    missing = [m for m in cfg.task_force.active_members() if m.id not in reported]
    label = fire.window.label
    code = cfg.province.province_code
    if fire.kind == WEEKLY_REMINDER:
        out: list[Owed] = []
        for m in missing:
            out += fan_out(
                base_key=f"{WEEKLY_REMINDER}:{label}:{fire.slot}:{m.id}", kind=WEEKLY_REMINDER,
                recipient_id=m.id, contacts=contacts_of(m.contacts), due=fire.at, urgent=False,
                quiet=quiet, week_label=label, province_code=code,
                payload={"week_label": label, "province": cfg.slug, "name": m.name,
                         "cutoff": fire.window.end.isoformat()},
            )
        return out
    deputy = cfg.task_force.permanent_deputy
    return fan_out(
        base_key=f"{WEEKLY_MISSING}:{cfg.slug}:{label}:{deputy.id}", kind=WEEKLY_MISSING,
        recipient_id=deputy.id, contacts=contacts_of(deputy.contacts), due=fire.at,
        urgent=False, quiet=quiet, week_label=label, province_code=code,
        payload={"week_label": label, "province": cfg.slug,
                 "missing": [{"id": m.id, "name": m.name, "title": m.title} for m in missing]},
    )


def report_url(base_url: str, province: str, week_label: str) -> str:
    return f"{base_url.rstrip('/')}/reports/{province}/{week_label}"


def weekly_report_key(r: WeeklyReport, slug: str, person_id: str) -> tuple[str, str]:
    """(kind, key) of the mail of one publication on `report.weekly.v1` to one person.

    Three publications share the topic (services/reporting/usecases.py): the compiled
    week, the final report (week "final"), and any number of urgent interim reports of a
    week, one per urgent difficulty. Each is its own message: an interim keyed like the
    compiled week would take its key, and the Friday mail would be dropped as a replay."""
    if r.interim:
        item = r.urgent_items[0].difficulty_id
        return INTERIM_REPORT, f"{INTERIM_REPORT}:{slug}:{r.week_label}:{item}:{person_id}"
    return WEEKLY_REPORT, f"{WEEKLY_REPORT}:{slug}:{r.week_label}:{person_id}"


def _task_force_of_page(page_url: str | None) -> str | None:
    """The task force a report is of, from its page (`.../reports/<slug>/<week>`): a
    province code can have several task forces (former provinces), each its own head."""
    if not page_url:
        return None
    parts = urlsplit(page_url).path.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 3 and parts[-3] == "reports" else None


def _report_payload(r: WeeklyReport, slug: str, url: str) -> dict[str, Any]:
    if r.interim:
        item = r.urgent_items[0]
        return {"week_label": r.week_label, "province": slug, "url": url,
                "tracking_code": item.tracking_code, "title": item.title,
                "received_at": item.received_at.isoformat()}
    return {"week_label": r.week_label, "province": slug, "url": url,
            "members_missing": len(r.members_missing), "urgent_items": len(r.urgent_items),
            "final": r.final, "handed_over": len(r.handed_over)}


def weekly_report_messages(
    r: WeeklyReport, configs: ConfigSet, *, base_url: str, now: datetime, quiet: Quiet,
    hours: Hours = Hours(),
) -> list[Owed]:
    """The compiled rollup, the final report or an urgent interim report, to the head and
    the permanent deputy of its task force(s). The link is the report's own `page_url`,
    signed by reporting so that it opens without signing in; only a report without one
    (a reporting that signs nothing) gets a plain link, behind the sign-in. An interim
    report is of an item only the business may have called urgent: it waits for office
    hours (the alarm of a vouched-for item is `URGENT_DIFFICULTY`, at once)."""
    named = _task_force_of_page(r.page_url)
    if named is not None and named in configs:
        targets = [configs[named]]
    elif (cfg := configs.for_difficulty(r.province_code)) is not None:
        targets = [cfg]
    else:
        targets = configs.by_province_code(r.province_code)
    out: list[Owed] = []
    for c in targets:
        url = r.page_url or report_url(base_url, c.slug, r.week_label)
        payload = _report_payload(r, c.slug, url)
        for person in _head_and_deputy(c):
            kind, key = weekly_report_key(r, c.slug, person.id)
            out += fan_out(
                base_key=key, kind=kind, recipient_id=person.id,
                contacts=contacts_of(person.contacts),
                due=head_release(now, vouched=False, hours=hours) if r.interim else now,
                urgent=False, quiet=quiet, owed_at=now,
                payload=payload, province_code=r.province_code, week_label=r.week_label,
            )
    return out
