"""Reporting's pure rules: deadlines, overdue, percentiles, report weeks, the rollup, charts."""

from __future__ import annotations

import re
import statistics
import uuid
from datetime import datetime, timedelta

import pytest

from services.reporting import charts, logic
from shared import deadlines
from shared.calendar import TZ, week_window_by_label
from shared.events import Status, Urgency
from shared.provinces import ConfigHolder, Deadline, Deadlines


def local(*a: int) -> datetime:
    return datetime(*a, tzinfo=TZ)  # type: ignore[misc]


def test_urgent_deadlines_are_shorter_and_skip_tet() -> None:
    d = Deadlines(normal=Deadline(ack=1, resolve=10), urgent=Deadline(ack=1, resolve=3))
    # Thursday 12/2/2026 10:00; Tết 2026 closes offices from Monday 16/2 to Friday 20/2.
    start = local(2026, 2, 12, 10)
    urgent = deadlines.deadlines_for(start, Urgency.URGENT, d)
    normal = deadlines.deadlines_for(start, Urgency.NORMAL, d)
    assert urgent.ack == local(2026, 2, 13, 10)
    # Fri 13, then the Tết week is skipped: Mon 23, Tue 24 -> 3 working days = Tue 24/2 10:00.
    assert urgent.resolve == local(2026, 2, 24, 10)
    assert normal.resolve > urgent.resolve
    assert normal.ack == urgent.ack


def test_overdue_rules() -> None:
    due_ack, due_res = local(2026, 3, 3, 9), local(2026, 3, 10, 9)
    kw = {"ack_due_at": due_ack, "resolve_due_at": due_res}
    before = local(2026, 3, 3, 8)
    after_ack = local(2026, 3, 4, 9)
    after_res = local(2026, 3, 11, 9)
    assert not deadlines.is_overdue(now=before, status=Status.ASSIGNED, acknowledged_at=None, **kw)
    assert deadlines.is_overdue(now=after_ack, status=Status.ASSIGNED, acknowledged_at=None, **kw)
    # Acknowledged in time: not late until the resolve deadline passes.
    acked = local(2026, 3, 3, 8, 30)
    assert not deadlines.is_overdue(now=after_ack, status=Status.IN_PROGRESS, acknowledged_at=acked,
                                **kw)
    assert deadlines.is_overdue(now=after_res, status=Status.IN_PROGRESS,
                                acknowledged_at=acked, **kw)
    assert not deadlines.is_overdue(now=after_res, status=Status.RESOLVED, acknowledged_at=acked,
                                **kw)
    assert not deadlines.is_overdue(now=after_res, status=Status.RECEIVED, acknowledged_at=None,
                                ack_due_at=None, resolve_due_at=None)


def test_percentile_matches_linear_interpolation() -> None:
    assert logic.percentile([], 0.5) is None
    assert logic.percentile([7.0], 0.9) == 7.0
    assert logic.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert logic.percentile([10.0, 0.0, 20.0, 30.0, 40.0], 0.9) == pytest.approx(36.0)
    values = [float(v) for v in (5, 1, 9, 3, 7, 11, 2)]
    assert logic.percentile(values, 0.5) == statistics.median(values)
    with pytest.raises(ValueError):
        logic.percentile([1.0], 1.5)


def test_last_closed_window() -> None:
    # Friday 12:00 exactly closes its week; a minute before, it is still the week before.
    fri_noon = local(2026, 11, 27, 12)
    assert logic.last_closed_window(fri_noon).label == "2026-W48"
    assert logic.last_closed_window(fri_noon - timedelta(minutes=1)).label == "2026-W47"
    assert logic.last_closed_window(local(2026, 11, 30, 8)).label == "2026-W48"


def _item(received: datetime, **kw: object) -> logic.Item:
    base: dict[str, object] = dict(
        difficulty_id=uuid.uuid4(), received_at=received, agency_id="binh-duong.bql-kcn",
        zone_type="KCN", category="labour", closed_at=None, resolved=False, ack_due_at=None,
        resolve_due_at=None, acknowledged_at=None, escalated_central_at=None)
    base.update(kw)
    return logic.Item(**base)  # type: ignore[arg-type]


def test_rollup_counts_a_small_week() -> None:
    w = week_window_by_label("2026-W48")  # (Fri 20/11 12:00, Fri 27/11 12:00]
    inside = local(2026, 11, 23, 9)
    items = [
        _item(inside, closed_at=inside + timedelta(hours=10), resolved=True),
        _item(inside, closed_at=inside + timedelta(hours=30), resolved=True, zone_type="CCN",
              agency_id="binh-duong.so-cong-thuong"),
        # older, still open and past its deadline, escalated to a ministry this week
        _item(local(2026, 11, 2, 9), resolve_due_at=local(2026, 11, 16, 9),
              escalated_central_at=inside, agency_id="central.bo-noi-vu"),
        # received after the cutoff: not in this week at all
        _item(local(2026, 11, 27, 12, 1)),
        # resolved before the week began: nothing to say
        _item(local(2026, 11, 1, 9), closed_at=local(2026, 11, 5, 9), resolved=True),
        # received before the week, rejected in it
        _item(local(2026, 11, 19, 9), closed_at=inside, zone_type="CCN"),
    ]
    rows = logic.rollup(items, w, as_of=w.end)
    total = logic.total_row(rows)
    assert total is not None
    assert (total.received, total.resolved, total.open, total.overdue,
            total.escalated_central, total.rejected, total.carried_over) == (2, 2, 1, 1, 1, 1, 2)
    # What was open at the start plus what came in is what was resolved, rejected or is open.
    for row in rows:
        assert row.carried_over + row.received == row.resolved + row.rejected + row.open
    assert total.median_resolution_hours == 20.0
    assert total.p90_resolution_hours == 28.0
    by = {(r.dimension, r.value): r for r in rows}
    assert by[("zone_type", "CCN")].resolved == 1
    assert by[("zone_type", "CCN")].rejected == 1
    assert by[("agency", "central.bo-noi-vu")].overdue == 1
    assert rows[0].dimension == "total"
    # A week in progress counts as of now.
    mid = logic.rollup(items, w, as_of=inside + timedelta(hours=20))
    t = logic.total_row(mid)
    assert t is not None and (t.resolved, t.open) == (1, 2)


def test_empty_week_still_has_a_total_row() -> None:
    w = week_window_by_label("2026-W10")
    assert [r.dimension for r in logic.rollup([], w, as_of=w.end)] == ["total"]


def test_province_resolution_by_slug_or_code() -> None:
    configs = ConfigHolder().current
    assert (c := logic.resolve_province(configs, "binh-duong")) is not None
    assert c.slug == "binh-duong"
    former = logic.resolve_province(configs, "74")  # Bình Dương's own pre-2025 code
    assert former is not None and former.slug == "binh-duong"
    assert logic.resolve_province(configs, "no-such-province") is None


def test_members_split_keeps_config_order() -> None:
    assert logic.members_split(["a", "b", "c"], {"c", "a", "x"}) == (["a", "c"], ["b"])


def test_charts_escape_labels() -> None:
    series = [("received", "a"), ("open", "b"), ("overdue", "c")]
    svg = charts.bar_chart([("<script>alert(1)</script>", [1, 2, 0])], series,
                           title="T & U")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "T &amp; U" in svg
    trend = charts.trend_chart([("2026-W01", [1, 0, 2]), ("2026-W02", [3, 1, 2])],
                               [("received", "r"), ("resolved", "s"), ("open", "o")],
                               title="trend")
    assert trend.count("<polyline") == 3


def test_charts_give_each_meaning_one_colour_and_keep_labels_whole() -> None:
    long = "Ban Quản lý các khu công nghiệp tỉnh Bình Dương và các cụm công nghiệp trực thuộc"
    a = charts.bar_chart([(long, [3, 1])], [("received", "Tiếp nhận"), ("open", "Đang mở")],
                         title="A")
    b = charts.bar_chart([("x", [1, 2])], [("open", "Đang mở"), ("received", "Tiếp nhận")],
                         title="B")
    t = charts.trend_chart([("27/11", [1, 2]), ("04/12", [2, 1])],
                           [("open", "Đang mở"), ("received", "Tiếp nhận")], title="C")
    for svg in (a, b, t):
        # The same meaning, the same colour, whatever its place in the chart; a legend.
        assert f'fill="{charts.COLOURS["received"]}"/><text' in svg  # legend swatch
        assert f'fill="{charts.COLOURS["open"]}"/><text' in svg
        assert "width=" not in svg.split(">", 1)[0]  # sized by the page, by its viewBox
    # The long name is all there, wrapped over lines, not cut.
    lines = re.findall(r'<text x="0" y="\d+" font-size="15">([^<]*)</text>', a)
    assert len(lines) == 2 and " ".join(lines) == long
    assert len(set(charts.COLOURS.values())) == len(charts.COLOURS)
