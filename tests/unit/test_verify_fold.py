"""The consistency checker's own rules, without I/O: what reporting must derive for a
difficulty from its events, whatever order they came in; and when notify's deliveries,
checked while notify still sends, are announced other than once."""

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
    Status,
    Urgency,
    deterministic_id,
)
from shared.provinces import ConfigHolder
from thaogo.verify import Case, Deliveries, Log, Report, check_alarms, derive, fold

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
