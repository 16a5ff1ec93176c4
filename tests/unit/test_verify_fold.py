"""The consistency checker's own rules, without I/O: what reporting must derive for a
difficulty from its events, whatever order they came in; when notify's deliveries,
checked while notify still sends, are announced other than once; and when a weekly
report's league table does not add up."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import (
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    Category,
    Contact,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    Envelope,
    EventData,
    Kind,
    NotificationSent,
    Outcome,
    Resolution,
    Status,
    Step,
    Urgency,
    deterministic_id,
)
from shared.provinces import ConfigHolder
from thaogo.verify import (
    Case,
    Deliveries,
    Log,
    Report,
    check_alarms,
    check_league,
    derive,
    fold,
    steps,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Vietnam
DID = uuid.UUID(int=1)
CONFIGS = ConfigHolder().current


def received() -> DifficultyReceived:
    return DifficultyReceived(
        difficulty_id=DID, tracking_code="TG-TEST-0001", received_at=T0, province_code="79",
        province_name="Bình Dương", task_force="binh-duong", tax_code="0100109106",
        enterprise_name="Công ty A", category=Category.LABOUR, kind=Kind.DIFFICULTY,
        title="Thiếu lao động", description="…", contact=Contact(name="A"))


def assigned(n: int, agency: str, role: AssignmentRole, at: datetime,
             level: AgencyLevel = AgencyLevel.PROVINCE,
             replaces: uuid.UUID | None = None) -> DifficultyAssigned:
    return DifficultyAssigned(
        assignment_id=uuid.UUID(int=100 + n), difficulty_id=DID, tracking_code="TG-TEST-0001",
        province_code="79", agency_id=agency, agency_level=level, role=role, rule="r",
        reason="r", config_version="v", replaces=replaces, urgency=Urgency.NORMAL,
        kind=Kind.DIFFICULTY, category=Category.LABOUR, assigned_at=at)


def status(n: int, s: Status, at: datetime) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.UUID(int=200 + n), difficulty_id=DID, province_code="79", status=s,
        actor_kind=ActorKind.AGENCY, actor_id="binh-duong.bql-kcn", changed_at=at)


def case_of(events: list[EventData]) -> Case:
    log = Log()
    for i, e in enumerate(events):
        env: Envelope[EventData] = Envelope(id=f"e{i}", source="t", time=T0, data=e)
        into: dict[type[EventData], list[Any]] = {
            DifficultyReceived: log.received, DifficultyAssigned: log.assigned,
            DifficultyStatusChanged: log.status}
        into[type(e)].append(env)
    return fold(log)[DID]


LEAD = assigned(1, "binh-duong.bql-kcn", AssignmentRole.LEAD, T0 + timedelta(seconds=1))
HELPER = assigned(2, "binh-duong.so-lao-dong", AssignmentRole.CO_HANDLER,
                  T0 + timedelta(seconds=1))
CENTRAL = assigned(3, "central.bo-cong-thuong", AssignmentRole.ESCALATION,
                   T0 + timedelta(days=2), level=AgencyLevel.CENTRAL,
                   replaces=LEAD.assignment_id)
EVENTS: list[EventData] = [
    received(), LEAD, HELPER,
    status(1, Status.ACKNOWLEDGED, T0 + timedelta(hours=1)),
    CENTRAL,
    status(2, Status.IN_PROGRESS, T0 + timedelta(days=3)),
    status(3, Status.RESOLVED, T0 + timedelta(days=4)),
]


def test_the_same_state_from_every_order_of_the_events() -> None:
    states = {derive(CONFIGS, case_of(list(order)))
              for order in itertools.permutations(EVENTS)}
    assert len(states) == 1


def test_the_holder_is_the_replacement_and_the_clock_restarts_with_it() -> None:
    d = derive(CONFIGS, case_of(EVENTS))
    assert d.lead_agency_id == "central.bo-cong-thuong"
    assert d.lead_assignment_id == CENTRAL.assignment_id
    # Acknowledged means taken in hand by the current holder: the first acknowledgement
    # came before the escalation, so it is the in-progress after it.
    assert d.acknowledged_at == T0 + timedelta(days=3)
    assert d.status == "resolved" and d.closed_at == d.resolved_at == T0 + timedelta(days=4)
    assert d.escalated_central_at == CENTRAL.assigned_at
    assert d.task_force == "binh-duong"
    assert d.ack_due_at is not None and d.ack_due_at > CENTRAL.assigned_at


def test_a_co_handler_never_holds_the_case() -> None:
    d = derive(CONFIGS, case_of([received(), HELPER]))
    assert d.lead_agency_id is None and d.status == "received"
    assert d.ack_due_at is None and d.resolve_due_at is None


def test_rejected_closes_without_resolving() -> None:
    d = derive(CONFIGS, case_of([received(), LEAD,
                                 status(9, Status.REJECTED, T0 + timedelta(hours=2))]))
    assert d.status == "rejected" and d.closed_at == T0 + timedelta(hours=2)
    assert d.resolved_at is None


def announcement(key: str) -> Envelope[NotificationSent]:
    return Envelope(id=deterministic_id("notification.sent", key), source="t", time=T0,
                    data=NotificationSent(notification_key=key, kind="assignment",
                                          channel="email", recipient_id="binh-duong.m01",
                                          attempts=1, sent_at=T0))


def test_a_delivery_is_announced_once_or_still_queued_at_the_cut() -> None:
    cut = Deliveries(sent=frozenset({"on-topic", "queued", "lost"}),
                     queued=frozenset({deterministic_id("notification.sent", "queued")}))
    after = {"on-topic": "sent", "queued": "sent", "lost": "sent", "later": "sent",
             "pending": "pending"}
    found = cut.differences([announcement("on-topic"), announcement("later")], after,
                            truncated=False)
    # "later" was sent after the cut and announced before the topic was read: in flight.
    assert found == [("lost", "events on notification.sent.v1", 1, 0)]
    assert cut.differences([], after, truncated=True) == []  # retention took them


def test_an_announcement_without_a_delivery_and_two_for_one_are_differences() -> None:
    cut = Deliveries(sent=frozenset({"twice"}), queued=frozenset())
    second = dataclasses.replace(announcement("twice"), id="another id")
    found = cut.differences([announcement("twice"), second, announcement("never")],
                            {"twice": "sent", "never": "failed"}, truncated=False)
    assert found == [("twice", "events on notification.sent.v1", 1, 2),
                     ("never", "state", "sent (announced)", "failed")]


# --- the head's alarms of urgent difficulties ------------------------------------------------

HEAD, DEPUTY = "binh-duong.to-truong", "binh-duong.to-pho-thuong-truc"


def urgent_case(*, confirmed: bool) -> tuple[Log, dict[uuid.UUID, Case]]:
    log = Log()
    d = received().model_copy(update={"urgency": Urgency.URGENT})
    a = assigned(1, "binh-duong.bql-kcn", AssignmentRole.LEAD, T0).model_copy(
        update={"urgency": Urgency.URGENT})
    log.received.append(Envelope(id="r", source="t", time=T0, data=d))
    log.assigned.append(Envelope(id="a", source="t", time=T0, data=a))
    if confirmed:
        c = DifficultyUrgencyConfirmed(
            confirmation_id=DifficultyUrgencyConfirmed.id_for(DID), difficulty_id=DID,
            tracking_code=d.tracking_code, province_code="79", task_force="binh-duong",
            actor_kind=ActorKind.AGENCY, actor_id=a.agency_id, confirmed_at=T0)
        log.urgency.append(Envelope(id="u", source="t", time=T0, data=c))
    return log, fold(log)


def alarm_differences(log: Log, cases: dict[uuid.UUID, Case],
                      alarms: dict[tuple[str, str], bool]) -> list[tuple[str, Any]]:
    report = Report()
    check_alarms(CONFIGS, log, cases, alarms, report)
    return sorted((d.field, d.expected) for d in report.differences)


def test_every_urgent_difficulty_with_a_lead_owes_the_head_and_the_deputy_an_alarm() -> None:
    log, cases = urgent_case(confirmed=False)
    assert alarm_differences(log, cases, {}) == [
        (f"urgent alarm to {DEPUTY}", "queued"), (f"urgent alarm to {HEAD}", "queued")]
    # Held for office hours is right for the business's own flag.
    held = {(str(DID), HEAD): True, (str(DID), DEPUTY): True}
    assert alarm_differences(log, cases, held) == []


def test_a_confirmed_urgent_difficulty_has_no_alarm_left_waiting() -> None:
    log, cases = urgent_case(confirmed=True)
    held = {(str(DID), HEAD): True, (str(DID), DEPUTY): False}
    assert alarm_differences(log, cases, held) == [
        (f"urgent alarm to {HEAD}", "due at once (confirmed)")]
    assert alarm_differences(log, cases, {k: False for k in held}) == []


def step(n: int, s: Step, at: datetime, on: DifficultyAssigned, *,
         status: Status | None = None, resolution: Resolution | None = None
         ) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.UUID(int=300 + n), difficulty_id=DID, province_code="79",
        status=status, actor_kind=ActorKind.AGENCY, actor_id=on.agency_id,
        assignment_id=on.assignment_id, step=s, resolution=resolution, changed_at=at)


def test_a_helpers_step_moves_its_part_and_leaves_the_difficulty_where_it_was() -> None:
    """#20 item 1: the co-handler's steps are its own; the lead's acknowledgement is the
    difficulty's. Old events (no step) count by their status."""
    events: list[EventData] = [
        received(), LEAD, HELPER,
        status(1, Status.ACKNOWLEDGED, T0 + timedelta(hours=1)).model_copy(
            update={"assignment_id": LEAD.assignment_id}),
        step(1, Step.IN_PROGRESS, T0 + timedelta(hours=2), HELPER),
        step(2, Step.DONE, T0 + timedelta(hours=3), HELPER),
    ]
    case = case_of(events)
    d = derive(CONFIGS, case)
    assert d.status == "acknowledged" and d.status_at == T0 + timedelta(hours=1)
    assert steps(case) == {LEAD.assignment_id: ("acknowledged", T0 + timedelta(hours=1)),
                           HELPER.assignment_id: ("done", T0 + timedelta(hours=3))}


def test_the_latest_resolution_gives_the_outcome_and_the_public_answer() -> None:
    def answer(outcome: Outcome, text: str) -> Resolution:
        return Resolution(outcome=outcome, done="d", public_answer=text,
                          reason="r" if outcome is Outcome.ESCALATED else None)

    events: list[EventData] = [
        received(), LEAD,
        step(3, Step.DONE, T0 + timedelta(days=1), LEAD, status=Status.ESCALATED,
             resolution=answer(Outcome.ESCALATED, "Đã kiến nghị Bộ")),
        CENTRAL,
        step(4, Step.DONE, T0 + timedelta(days=5), CENTRAL, status=Status.RESOLVED,
             resolution=answer(Outcome.PARTLY_RESOLVED, "Bộ đã trả lời một phần")),
    ]
    states = {derive(CONFIGS, case_of(list(order))) for order in itertools.permutations(events)}
    assert len(states) == 1
    d = states.pop()
    assert (d.status, d.outcome, d.public_answer) == ("resolved", "partly_resolved",
                                                       "Bộ đã trả lời một phần")
    assert d.outcome_at == d.closed_at == T0 + timedelta(days=5)
    assert d.escalated_at == T0 + timedelta(days=1)


def _league_report() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = [{"dimension": "total", "value": "all", "resolved": 3},
            {"dimension": "agency", "value": "binh-duong.bql-kcn", "resolved": 2},
            {"dimension": "agency", "value": "binh-duong.so-y-te", "resolved": 1},
            {"dimension": "agency", "value": "unknown", "resolved": 0}]
    league = {"target_pct": 95, "rows": [
        {"agency_id": "binh-duong.so-y-te", "ack_measured": 2, "ack_on_time": 2,
         "ack_on_time_pct": 100.0, "resolve_measured": 1, "resolved_on_time": 1,
         "resolved_on_time_pct": 100.0, "resolved": 1, "median_working_days": 1.5,
         "rated": 1, "rating_average": 4.0},
        {"agency_id": "binh-duong.bql-kcn", "ack_measured": 3, "ack_on_time": 2,
         "ack_on_time_pct": 66.7, "resolve_measured": 0, "resolved_on_time": 0,
         "resolved_on_time_pct": None, "resolved": 2, "median_working_days": 3.0,
         "rated": 0, "rating_average": None}]}
    return league, rows


def test_a_league_table_that_agrees_with_itself_and_its_report_passes() -> None:
    league, rows = _league_report()
    report = Report()
    check_league(report, "binh-duong:2026-W49", league, rows)
    assert report.ok, report.summary()


def test_a_league_table_that_does_not_add_up_is_a_difference() -> None:
    def fields(change: Any) -> list[str]:
        league, rows = _league_report()
        change(league, rows)
        report = Report()
        check_league(report, "k", league, rows)
        return [d.field for d in report.differences]

    def pct(lg: dict[str, Any], _: Any) -> None:
        lg["rows"][1]["ack_on_time_pct"] = 67.0

    def more_on_time(lg: dict[str, Any], _: Any) -> None:
        lg["rows"][0]["ack_on_time"] = 3

    def resolved(lg: dict[str, Any], _: Any) -> None:
        lg["rows"][1]["resolved"] = 1

    def missing(lg: dict[str, Any], _: Any) -> None:
        del lg["rows"][1]

    def order(lg: dict[str, Any], _: Any) -> None:
        lg["rows"][0]["resolved_on_time"] = 0
        lg["rows"][0]["resolved_on_time_pct"] = 0.0
        lg["rows"].append(dict(lg["rows"][0], agency_id="binh-duong.so-cong-thuong",
                               resolved_on_time=1, resolved_on_time_pct=100.0, resolved=0,
                               median_working_days=None, rated=0, rating_average=None))

    def rating(lg: dict[str, Any], _: Any) -> None:
        lg["rows"][1]["rating_average"] = 5.0

    assert fields(pct) == ["ack_on_time_pct"]
    assert fields(more_on_time) == ["ack_on_time", "ack_on_time_pct"]
    assert fields(resolved) == ["resolved"]
    assert fields(missing) == ["league agencies"]
    assert fields(order) == ["league agencies", "league order"]
    assert fields(rating) == ["rated, rating_average"]
