"""The agency workspace's pure parts: what the queue says of an item, each caller's part in
a difficulty and the steps offered to it, and the queue's cursor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.reporting import logic
from services.reporting.pages.agency import FAR, QueueQuery, decode_cursor, encode_cursor
from shared.errors import Refusal

NOW = datetime(2026, 11, 27, 5, tzinfo=UTC)


@pytest.mark.parametrize(("status", "due", "mark"), [
    ("assigned", NOW - timedelta(minutes=1), "overdue"),
    ("in_progress", NOW - timedelta(days=3), "overdue"),
    ("acknowledged", NOW + timedelta(hours=47), "due_soon"),
    ("assigned", NOW + timedelta(days=2), "due_soon"),
    ("assigned", NOW + timedelta(days=5), "new"),
    ("received", None, "new"),
    ("in_progress", NOW + timedelta(days=5), ""),
    ("resolved", None, ""),
])
def test_queue_mark(status: str, due: datetime | None, mark: str) -> None:
    assert logic.queue_mark(status=status, next_due_at=due, now=NOW) == mark


def _a(agency: str, role: str, *, active: bool = True, member: str | None = None
       ) -> dict[str, object]:
    return {"agency_id": agency, "role": role, "active": active, "member_id": member}


def test_each_caller_has_its_part() -> None:
    rows = [_a("x.kcn", "lead"), _a("x.sct", "co_handler"), _a("x.old", "lead", active=False),
            _a("x.tf", "member", member="x.m01")]
    part = logic.part_of
    assert part("agency", "x.kcn", triage_agency="x.tct", assignments=rows) == "lead"
    assert part("agency", "x.sct", triage_agency="x.tct", assignments=rows) == "co_handler"
    assert part("agency", "x.tct", triage_agency="x.tct", assignments=rows) == \
        "permanent_deputy"
    assert part("agency", "x.old", triage_agency="x.tct", assignments=rows) is None
    assert part("agency", "x.yte", triage_agency="x.tct", assignments=rows) is None
    assert part("member", "x.m01", triage_agency="x.tct", assignments=rows) == "member"
    assert part("member", "x.m02", triage_agency="x.tct", assignments=rows) is None
    assert part("operator", "ops", triage_agency="x.tct", assignments=rows) is None
    # Triage and escalation hold the difficulty as the lead does.
    for role in ("triage", "escalation"):
        assert part("agency", "x.tct", triage_agency="x.tct",
                    assignments=[_a("x.tct", role)]) == "lead"


def test_the_steps_offered_follow_the_part_and_the_status() -> None:
    # A co-handler and a member move their own part; the lead moves the difficulty and
    # closes it with the resolution form.
    assert logic.actions_for("co_handler", "assigned") == (
        ("step", "acknowledged"), ("step", "in_progress"), ("step", "need_info"),
        ("step", "done"), ("step", "declined"))
    # One question at a time; a member does not question the business.
    assert ("step", "need_info") not in logic.actions_for("co_handler", "in_progress",
                                                          "need_info")
    assert logic.actions_for("member", "in_progress", "in_progress") == (
        ("step", "in_progress"), ("step", "done"), ("step", "declined"))
    assert logic.actions_for("co_handler", "in_progress", "done") == ()
    assert logic.actions_for("lead", "assigned") == (
        ("status", "acknowledged"), ("status", "in_progress"), ("step", "need_info"),
        ("resolution", ""), ("status", "reassign_requested"))
    assert ("status", "acknowledged") not in logic.actions_for("lead", "in_progress")
    assert logic.actions_for("lead", "resolved") == ()
    # A duplicate merged into the case kept is closed: nothing is offered on it.
    assert logic.actions_for("permanent_deputy", "merged") == ()
    assert logic.actions_for(None, "assigned") == ()
    parts = [{"active": True, "agency_id": "x.so-ct", "member_id": None, "step": "done"},
             {"active": True, "agency_id": "x.so-ct", "member_id": "x.m01", "step": None}]
    assert logic.own_step("agency", "x.so-ct", parts) == "done"
    assert logic.own_step("member", "x.m01", parts) is None
    assert logic.sees_contact("lead") and logic.sees_contact("permanent_deputy")
    assert not logic.sees_contact("co_handler") and not logic.sees_contact(None)
    # Intake refuses these without a note: the page asks for one.
    assert {("step", "done"), ("step", "declined")} <= logic.NOTE_NEEDED


def test_the_cursor_goes_round_and_refuses_others() -> None:
    did = uuid.uuid4()
    row = {"next_due_at": NOW, "received_at": NOW - timedelta(days=1), "difficulty_id": did}
    assert decode_cursor(encode_cursor(row, True), True) == (NOW, NOW - timedelta(days=1), did)
    assert decode_cursor(encode_cursor({**row, "next_due_at": None}, True), True)[0] == FAR
    assert decode_cursor(encode_cursor(row, False), False) == (NOW - timedelta(days=1), did)
    for bad in ("nope", "", encode_cursor(row, True)[:-3]):
        with pytest.raises(Refusal) as e:
            decode_cursor(bad, True)
        assert e.value.field == "cursor"


def test_the_filters_travel_in_links_without_defaults() -> None:
    assert QueueQuery().params(lang="vi") == "lang=vi"
    assert QueueQuery(status="all", q="thao go").params(cursor="") == "status=all&q=thao+go"
    f, by_deadline = QueueQuery(status="resolved").list_filter("x.kcn", "x")
    assert not by_deadline and f.status == "resolved" and not f.open_only and f.held_by == "x.kcn"
    f, by_deadline = QueueQuery(q="Tháo GỠ").list_filter("x.kcn", None)
    assert by_deadline and f.open_only and f.words == ["thao", "go"] and f.task_forces is None


def test_at_central_level_the_deputy_registers_the_letter_and_records_the_answer() -> None:
    """#20 item 5, #22 item 6: once a ministry holds the case the permanent deputy's page
    offers the letter and the ministry's answer; the lead has nothing left to do."""
    assert logic.actions_for("permanent_deputy", "escalated", at_central=True) == (
        ("central", "letter"), ("central", "ministry_answer"))
    assert logic.actions_for("permanent_deputy", "resolved", at_central=True) == ()
    assert ("central", "letter") not in logic.actions_for("permanent_deputy", "escalated")
    ministry = {"active": True, "role": "escalation", "agency_level": "central",
                "agency_id": "central.bo-tai-chinh"}
    province = {**ministry, "agency_level": "province", "agency_id": "binh-duong.so-tai-chinh"}
    assert logic.ministry_of([province, ministry]) is ministry
    assert logic.ministry_of([province, {**ministry, "active": False}]) is None


def test_the_letter_is_read_by_the_deputy_the_head_and_the_cases_lead() -> None:
    def may(kind: str, who: str) -> bool:
        return logic.may_read_letter(kind, who, triage_agency="bd.to-cong-tac",
                                     head_agency="bd.to-truong", leads=["bd.bql-kcn"])

    assert may("agency", "bd.to-cong-tac") and may("agency", "bd.to-truong")
    assert may("agency", "bd.bql-kcn")
    assert not may("agency", "bd.cuc-thue") and not may("member", "bd.to-cong-tac")
    assert not may("operator", "ops")
