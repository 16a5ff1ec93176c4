"""The business's notices (#20 item 6), pure rules: which events are public steps, the
notices they owe under which keys, on which channels and when, and what they say."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from services.notify import logic
from services.notify.logic.business import render_business
from shared.calendar import TZ
from shared.events import (
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    BottleneckAnswer,
    BottleneckItem,
    Category,
    DifficultyStatusChanged,
    Feedback,
    LetterRef,
    Outcome,
    PolicyBottleneck,
    Resolution,
    Status,
    Step,
)
from shared.provinces import BusinessNotice, ConfigHolder, ConfigSet, Zns
from tests.reporting.conftest import assigned, received

CONFIGS = ConfigHolder().current
QUIET = logic.Quiet()
BASE = "https://thaogo.example.vn/"
ANSWER = "Xe của doanh nghiệp đã được cấp giấy nhận diện, lưu thông từ 01/12."


def local(h: int, mi: int = 0) -> datetime:
    return datetime(2026, 3, 9, h, mi, tzinfo=TZ)


def status(did: uuid.UUID, st: Status | None, *, actor: ActorKind = ActorKind.AGENCY,
           step: Step | None = None, resolution: Resolution | None = None,
           question: str | None = None, feedback: Feedback | None = None,
           assignment_id: uuid.UUID | None = None) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=did, province_code="79", status=st,
        actor_kind=actor, actor_id="binh-duong.bql-kcn" if actor is ActorKind.AGENCY
        else actor.value, assignment_id=assignment_id, step=step, resolution=resolution,
        question=question, feedback=feedback, changed_at=local(10))


def resolution(outcome: Outcome = Outcome.RESOLVED, letter: bool = False) -> Resolution:
    return Resolution(outcome=outcome, done="Đã làm việc với Sở GTVT.", public_answer=ANSWER,
                      reason="Ngoài thẩm quyền" if outcome is not Outcome.RESOLVED else None,
                      ministry_letter=LetterRef(number="12/BCT-XNK", dated=local(9).date())
                      if letter else None)


def with_zns(configs: ConfigSet, templates: dict[BusinessNotice, str]) -> ConfigSet:
    cfg = configs["binh-duong"].model_copy(update={"zns": Zns(templates=templates)})
    return ConfigSet({**{slug: configs[slug] for slug in configs}, "binh-duong": cfg},
                     version=configs.version)


def test_the_public_steps_are_told_and_the_task_forces_own_are_not() -> None:
    d = received(local(9))
    did = d.difficulty_id
    aid = uuid.uuid4()
    assert logic.received_step(d).notice is BusinessNotice.RECEIVED
    lead = logic.assigned_step(assigned(d, local(9)))
    assert lead is not None and lead.notice is BusinessNotice.ASSIGNED
    assert lead.details == {"agency_id": "binh-duong.bql-kcn"}
    # Co-handlers, triage and a ministry's assignment are not the business's to be told of.
    for role, level in ((AssignmentRole.CO_HANDLER, AgencyLevel.PROVINCE),
                        (AssignmentRole.TRIAGE, AgencyLevel.TASK_FORCE),
                        (AssignmentRole.ESCALATION, AgencyLevel.CENTRAL)):
        assert logic.assigned_step(assigned(d, local(9), role=role, level=level)) is None
    asked = logic.status_step(status(did, None, step=Step.NEED_INFO, assignment_id=aid,
                                     question="Đề nghị gửi giấy phép."))
    assert asked is not None and asked.notice is BusinessNotice.NEED_INFO
    assert asked.details["question"] == "Đề nghị gửi giấy phép."
    for st, out, notice in ((Status.RESOLVED, Outcome.RESOLVED, BusinessNotice.RESOLVED),
                            (Status.REJECTED, Outcome.REJECTED, BusinessNotice.REJECTED),
                            (Status.ESCALATED, Outcome.ESCALATED, BusinessNotice.ESCALATED)):
        s = logic.status_step(status(did, st, resolution=resolution(out)))
        assert s is not None and s.notice is notice
        assert s.details == {"outcome": out.value, "public_answer": ANSWER}
    ministry = logic.status_step(status(did, Status.RESOLVED,
                                        resolution=resolution(letter=True)))
    assert ministry is not None and ministry.notice is BusinessNotice.MINISTRY_ANSWERED
    reopened = logic.status_step(status(did, Status.IN_PROGRESS, actor=ActorKind.BUSINESS,
                                        feedback=Feedback(resolved=False)))
    assert reopened is not None and reopened.notice is BusinessNotice.REOPENED
    # Progress, its own answer and a rating are not told back to the business.
    for quiet_event in (status(did, Status.IN_PROGRESS, step=Step.IN_PROGRESS,
                               assignment_id=aid),
                        status(did, Status.ACKNOWLEDGED),
                        status(did, None, actor=ActorKind.BUSINESS,
                               feedback=Feedback(resolved=True, rating=5)),
                        status(did, None, step=Step.DONE, assignment_id=aid),
                        status(did, Status.REASSIGN_REQUESTED)):
        assert logic.status_step(quiet_event) is None


def test_a_merged_recommendation_is_told_once_per_bottleneck() -> None:
    items = [BottleneckItem(difficulty_id=uuid.uuid4(), title="Thuế", category=Category.TAX)
             for _ in range(3)]
    b = PolicyBottleneck(
        bottleneck_id=uuid.uuid4(), task_force="binh-duong", province_code="79",
        title="Hoàn thuế GTGT", ministry_id="central.bo-tai-chinh", business_count=3,
        items=items, merged_by="binh-duong.pho-thuong-truc", merged_at=local(9),
        changed_at=local(9))
    steps = logic.merged_steps(b)
    assert [s.difficulty_id for s in steps] == [str(i.difficulty_id) for i in items]
    assert {s.notice for s in steps} == {BusinessNotice.MERGED}
    answered = b.model_copy(update={"answer": BottleneckAnswer(
        outcome=Outcome.RESOLVED, letter=LetterRef(number="1/BTC", dated=local(9).date()),
        public_answer=ANSWER, answered_by="x", answered_at=local(10))})
    assert logic.merged_steps(answered) == []  # each item's answer is its status event


def test_an_email_per_step_at_once_under_a_key_of_the_step_with_the_tracking_link() -> None:
    d = received(local(9), tax_code="0100233488")
    contact = logic.contact_of(d)
    steps = [logic.received_step(d),
             logic.status_step(status(d.difficulty_id, Status.RESOLVED,
                                      resolution=resolution()))]
    night = datetime(2026, 3, 9, 23, 30, tzinfo=TZ)
    owed = logic.business_messages([s for s in steps if s], contact, CONFIGS, base_url=BASE,
                                   now=night, quiet=QUIET)
    assert [o.channel for o in owed] == ["email", "email"]  # no ZNS configured
    assert all(o.address == "a@example.vn" and o.recipient_id == "business" for o in owed)
    # An e-mail wakes nobody: it goes at once, even at night.
    assert all(o.urgent and o.due_at == night and not o.held for o in owed)
    assert owed[0].key == f"business_received:{d.difficulty_id}:{d.difficulty_id}:email"
    url = owed[1].payload["url"]
    assert url == f"https://thaogo.example.vn/track?code={d.tracking_code}"
    assert d.tax_code not in url and "0100233488" not in str(owed[1].payload)
    assert "a@example.vn" not in str(owed[1].payload)  # the address is the row's, not data
    again = logic.business_messages([s for s in steps if s], contact, CONFIGS, base_url=BASE,
                                    now=night + timedelta(hours=1), quiet=QUIET)
    assert [o.key for o in again] == [o.key for o in owed]  # replays land on the same rows


def test_zns_where_the_province_has_a_template_held_out_of_quiet_hours() -> None:
    d = received(local(9))
    contact = logic.contact_of(d)
    assert contact.phone == "84912345678"
    configs = with_zns(CONFIGS, {BusinessNotice.RESOLVED: "123456"})
    steps = [logic.received_step(d),
             logic.status_step(status(d.difficulty_id, Status.RESOLVED,
                                      resolution=resolution()))]
    night = datetime(2026, 3, 9, 23, 30, tzinfo=TZ)
    owed = logic.business_messages([s for s in steps if s], contact, configs, base_url=BASE,
                                   now=night, quiet=QUIET)
    zns = [o for o in owed if o.channel == "zns"]
    assert len(zns) == 1 and zns[0].kind == "business_resolved"  # received has no template
    assert zns[0].address == "84912345678" and zns[0].payload["template_id"] == "123456"
    assert zns[0].held and zns[0].due_at == datetime(2026, 3, 10, 7, 0, tzinfo=TZ)
    data = zns[0].payload["template_data"]
    assert data == {"customer_name": "Nguyễn Văn A", "tracking_code": d.tracking_code,
                    "status": "Đã có kết quả giải quyết", "agency": "", "date": "09/03/2026"}


def test_phones_zns_can_reach_and_contacts_with_nothing_to_reach() -> None:
    assert logic.zns_phone("+84 912 345 678") == "84912345678"
    assert logic.zns_phone("0912.345.678") == "84912345678"
    assert logic.zns_phone("028 3822 1234") is None  # a landline
    assert logic.zns_phone(None) is None
    d = received(local(9))
    bare = d.model_copy(update={"contact": d.contact.model_copy(
        update={"email": None, "phone": "02838221234"})})
    c = logic.contact_of(bare)
    assert (c.email, c.phone, c.name) == (None, None, "")  # nothing kept of who it is
    assert logic.business_messages([logic.received_step(bare)], c, CONFIGS, base_url=BASE,
                                   now=local(9), quiet=QUIET) == []


def test_each_notice_says_its_step_in_vietnamese_then_english_with_the_link() -> None:
    d = received(local(9))
    s = logic.status_step(status(d.difficulty_id, Status.RESOLVED, resolution=resolution()))
    lead = logic.assigned_step(assigned(d, local(9)))
    assert s is not None and lead is not None
    for step in (s, lead):
        (o,) = logic.business_messages([step], logic.contact_of(d), CONFIGS, base_url=BASE,
                                       now=local(10), quiet=QUIET)
        r = logic.render(o.kind, o.payload)
        assert d.tracking_code in r.subject and "/" in r.subject
        vi, _, en = r.text.partition("---")
        assert d.tracking_code in vi and d.tracking_code in en
        assert o.payload["url"] in vi and o.payload["url"] in en
        assert f'href="{o.payload["url"]}"' in r.html.replace("&amp;", "&")
    resolved = logic.render("business_resolved", logic.business_messages(
        [s], logic.contact_of(d), CONFIGS, base_url=BASE, now=local(10), quiet=QUIET)[0].payload)
    assert ANSWER in resolved.text and "Đã giải quyết" in resolved.text
    assert "Outcome: Resolved" in resolved.text
    assigned_text = logic.render("business_assigned", logic.business_messages(
        [lead], logic.contact_of(d), CONFIGS, base_url=BASE, now=local(10),
        quiet=QUIET)[0].payload).text
    agency = CONFIGS.agency("binh-duong.bql-kcn")
    assert agency is not None and agency.name_vi in assigned_text
    assert agency.name_en in assigned_text
    for notice in BusinessNotice:  # every notice has its words
        subject, text, _ = render_business(logic.kind_of(notice), {"tracking_code": "X",
                                                                   "url": BASE})
        assert subject and "---" in text
    assert datetime.now(UTC)  # rendering reads no clock


def test_the_checker_agrees_with_notify_on_which_notices_are_owed() -> None:
    """The checker's own rules (thaogo/verify/) and notify's, over one difficulty's
    events: the same notices; one missing, or one to a business without e-mail, is a
    difference."""
    from shared.events import new_envelope
    from thaogo.verify import Log, Report, check_business_notices, fold

    d = received(local(9))
    did = d.difficulty_id
    lead, helper = assigned(d, local(9)), assigned(
        d, local(9), agency="binh-duong.so-giao-thong-van-tai", role=AssignmentRole.CO_HANDLER)
    events = [status(did, None, step=Step.NEED_INFO, assignment_id=lead.assignment_id,
                     question="Đề nghị gửi giấy phép."),
              status(did, Status.RESOLVED, resolution=resolution()),
              status(did, Status.IN_PROGRESS, actor=ActorKind.BUSINESS,
                     feedback=Feedback(resolved=False), assignment_id=lead.assignment_id),
              status(did, Status.IN_PROGRESS, step=Step.IN_PROGRESS,
                     assignment_id=lead.assignment_id)]
    log = Log(received=[new_envelope(d, source="t")],
              assigned=[new_envelope(a, source="t") for a in (lead, helper)],
              status=[new_envelope(e, source="t") for e in events])
    steps = [logic.received_step(d), *(s for a in (lead, helper)
                                       if (s := logic.assigned_step(a)) is not None),
             *(s for e in events if (s := logic.status_step(e)) is not None)]
    owed = logic.business_messages(steps, logic.contact_of(d), CONFIGS, base_url=BASE,
                                   now=local(10), quiet=QUIET)
    assert sorted(o.kind for o in owed) == ["business_assigned", "business_need_info",
                                           "business_received", "business_reopened",
                                           "business_resolved"]
    rows = [{"message_key": o.key} for o in owed]

    def differences(rows: list[dict[str, str]], log: Log) -> list[str]:
        report = Report()
        check_business_notices(log, fold(log), rows, report)
        return [f"{x.field}: {x.expected} -> {x.found}" for x in report.differences]

    assert differences(rows, log) == []
    assert differences(rows[1:], log) == [
        f"notice to the business: {rows[0]['message_key'].split(':')[0][9:]}:"
        f"{rows[0]['message_key'].split(':')[2]}: queued -> missing"]
    bare = d.model_copy(update={"contact": d.contact.model_copy(update={"email": None})})
    no_mail = dataclasses.replace(log, received=[new_envelope(bare, source="t")])
    assert len(differences(rows, no_mail)) == len(rows)
