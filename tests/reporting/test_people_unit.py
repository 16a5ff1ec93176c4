"""The pure parts of the people's workspaces (#21 items 3-5): how far back "overdue by
more than N working days" reaches, a member's figures and the pre-filled paragraph,
who the deputies by zone type are, and the reminder the permanent deputy asks for."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from services.notify import logic as notify_logic
from services.reporting import access, logic
from services.reporting.pages import people
from shared import auth
from shared.calendar import TZ, working_days_between
from shared.events import MemberReminderRequested
from shared.provinces import ConfigHolder

CONFIGS = ConfigHolder().current


def local(y: int, mo: int, d: int, h: int = 0) -> datetime:
    return datetime(y, mo, d, h, tzinfo=TZ)


@pytest.mark.parametrize("at", [
    local(2026, 11, 23, 10),  # a Monday: back over the weekend
    local(2026, 11, 22, 10),  # a Sunday: the clock stood still since Friday's end
    local(2026, 2, 20, 9),    # within Tết 2026: the holidays do not count
    local(2026, 11, 20, 0),   # exactly midnight
])
def test_working_days_before_is_add_working_days_backwards(at: datetime) -> None:
    for n in (0, 1, 5):
        before = logic.working_days_before(at, n)
        assert before <= at
        assert working_days_between(before, at) == pytest.approx(n)


def test_working_days_before_skips_the_weekend() -> None:
    assert logic.working_days_before(local(2026, 11, 23, 10), 1) == local(2026, 11, 20, 10)
    with pytest.raises(ValueError):
        logic.working_days_before(local(2026, 11, 23), -1)


def test_a_members_figures_count_the_week() -> None:
    since = local(2026, 11, 13, 12)
    items = [
        {"assigned_at": since + timedelta(days=1), "closed_at": None, "overdue": True,
         "status": "assigned"},
        {"assigned_at": since - timedelta(days=9), "closed_at": None, "overdue": False,
         "status": "in_progress"},
        {"assigned_at": since + timedelta(days=2), "closed_at": since + timedelta(days=3),
         "overdue": False, "status": "resolved"},
        {"assigned_at": since - timedelta(days=2), "closed_at": since + timedelta(days=3),
         "overdue": False, "status": "rejected"},
    ]
    f = logic.member_figures(items, since)
    assert f == {"received": 2, "resolved": 1, "open": 2, "overdue": 1}
    assert logic.draft_received(f, "2026-W47", "vi") == (
        "Tuần 2026-W47: tiếp nhận 2, đã giải quyết 1, đang xử lý 2, trong đó quá hạn 1.")
    assert logic.draft_received(f, "2026-W47", "en").startswith("Week 2026-W47: received 2")


def test_deputies_by_zone_type_sign_in_as_themselves() -> None:
    cfg = CONFIGS["binh-duong"]
    kcn = next(d for d in cfg.task_force.deputies if "KCN" in d.zone_types)
    address = next(c.address for c in kcn.contacts if str(c.channel) == "email")
    found = access.identities_for(CONFIGS, address, today=local(2026, 11, 20).date())
    assert [(i.role, i.kind, i.subject_id) for i in found] == [
        ("deputy", auth.TokenKind.MEMBER, kcn.id)]
    who = auth.Principal(uuid.uuid4(), auth.TokenKind.MEMBER, kcn.id, "binh-duong")
    assert access.role_of(who, CONFIGS) == "deputy"
    assert access.reader_ok(who, CONFIGS)
    assert auth.holder(CONFIGS, auth.TokenKind.MEMBER, kcn.id, None).province == "binh-duong"
    assert auth.subject_problem(CONFIGS, auth.TokenKind.MEMBER, kcn.id) is None
    # A member is still a member, and a stranger nobody.
    member = cfg.task_force.active_members()[0]
    assert access.role_of(auth.Principal(uuid.uuid4(), auth.TokenKind.MEMBER, member.id),
                          CONFIGS) == "member"
    assert auth.subject_problem(CONFIGS, auth.TokenKind.MEMBER, "binh-duong.nobody")


def test_each_role_is_linked_to_its_pages() -> None:
    assert [h for h, _ in people.links_for("member", "vi")] == ["/workspace/my-week?lang=vi"]
    assert {h.split("?")[0] for h, _ in people.links_for("permanent_deputy", "en")} == {
        people.TRIAGE, people.COMPILATION, people.ZONE, people.SHARED}
    assert next(h.split("?")[0] for h, _ in people.links_for("head", "vi")) == people.HEAD
    assert people.links_for("agency", "vi") == people.links_for(None, "vi") == []


def test_the_reminder_asked_for_goes_to_each_channel_of_an_active_member() -> None:
    cfg = CONFIGS["binh-duong"]
    member = cfg.task_force.active_members()[1]
    asked = MemberReminderRequested(
        request_id=uuid.uuid4(), member_id=member.id, task_force="binh-duong",
        week_label="2026-W47", requested_by=cfg.task_force.permanent_deputy.id,
        requested_at=local(2026, 11, 19, 10))
    owed = notify_logic.member_reminder_messages(asked, CONFIGS, quiet=notify_logic.Quiet(),
                                                 now=local(2026, 11, 19, 10))
    assert {o.channel for o in owed} == {str(c.channel) for c in member.contacts}
    assert all(o.key.startswith(f"member_reminder:{asked.request_id}:{member.id}:")
               and o.recipient_id == member.id for o in owed)
    text = notify_logic.render(notify_logic.MEMBER_REMINDER, owed[0].payload).text
    assert member.name in text and cfg.task_force.permanent_deputy.name in text
    # Someone no longer (or never) an active member of that task force: nothing.
    gone = asked.model_copy(update={"member_id": "binh-duong.nobody"})
    assert notify_logic.member_reminder_messages(gone, CONFIGS, quiet=notify_logic.Quiet(),
                                                 now=local(2026, 11, 19, 10)) == []
