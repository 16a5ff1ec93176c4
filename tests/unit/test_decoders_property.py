"""Every event decoder, fed random and corrupted records: it decodes or says why, and a
consumer dead-letters what it cannot read and goes on with the rest.

The samples are one valid event of each type; hypothesis then damages their bodies and
headers the ways a broken producer, a bad disk or an attacker would.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from bench.common import difficulty
from shared import events, topics
from shared.events import (
    ActorKind,
    AgencyLevel,
    AgencyTask,
    AssignmentRole,
    BottleneckAnswer,
    BottleneckItem,
    BreakdownRow,
    BusinessAnswer,
    CaseRef,
    Category,
    CompilationSaved,
    Correction,
    DecodeError,
    DifficultyAssigned,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    DirectionGiven,
    DirectionProgress,
    DirectionState,
    DirectionStatus,
    Envelope,
    EventData,
    Feedback,
    League,
    LeagueRow,
    LetterRef,
    MemberReminderRequested,
    MemberReport,
    MemberReportSummary,
    NotificationSent,
    Outcome,
    PolicyBottleneck,
    ReportItem,
    Resolution,
    SignInLink,
    Status,
    Step,
    WeeklyReport,
    ZoneType,
)
from shared.kafka import BatchProcessor, Emitter, Record
from shared.metrics import ConsumerMetrics
from tests.conftest import consumer_record

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def _samples() -> list[EventData]:
    bottleneck = PolicyBottleneck(
        bottleneck_id=uuid.uuid4(), task_force="binh-duong", province_code="79",
        title="Lỗi cấp mã hóa đơn điện tử", ministry_id="central.bo-tai-chinh",
        documents=["123/2020/ND-CP"], business_count=2,
        items=[BottleneckItem(difficulty_id=uuid.uuid4(), title="Lỗi cấp mã hóa đơn",
                              category=Category.TAX) for _ in range(2)],
        merged_by="binh-duong.to-cong-tac", merged_at=NOW - timedelta(days=3),
        changed_at=NOW - timedelta(days=3))
    d = difficulty(7)
    a = DifficultyAssigned(
        assignment_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
        tracking_code=d.tracking_code, province_code=d.province_code,
        agency_id="binh-duong.bql-kcn", agency_level=AgencyLevel.PROVINCE,
        role=AssignmentRole.LEAD, rule="zone_type:KCN->lead", reason="KCN → Ban quản lý",
        config_version="v1", urgency=d.urgency, kind=d.kind, category=d.category,
        zone_type=d.zone_type, assigned_at=NOW)
    item = ReportItem(difficulty_id=d.difficulty_id, tracking_code=d.tracking_code,
                      title="Chậm cấp phép", agency_id=a.agency_id, status=Status.ASSIGNED,
                      received_at=NOW)
    return [
        d,
        a,
        AgencyTask.of(a, d, "http://intake/v1/difficulties/x"),
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=Status.RESOLVED,
            actor_kind=ActorKind.AGENCY, actor_id=a.agency_id, note="Đã giải quyết",
            changed_at=NOW),
        DifficultyUrgencyConfirmed(
            confirmation_id=DifficultyUrgencyConfirmed.id_for(d.difficulty_id),
            difficulty_id=d.difficulty_id, tracking_code=d.tracking_code,
            province_code=d.province_code, task_force="binh-duong",
            actor_kind=ActorKind.MEMBER, actor_id="binh-duong.to-pho-kcn",
            note="Cháy kho, cần xử lý ngay", confirmed_at=NOW),
        # A co-handler's own part declined (#20 item 1): the difficulty's status unmoved.
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=None, actor_kind=ActorKind.AGENCY,
            actor_id="binh-duong.so-lao-dong", assignment_id=uuid.uuid4(),
            step=Step.DECLINED, suggested_agency_id="binh-duong.so-y-te",
            note="Không thuộc lĩnh vực lao động", changed_at=NOW),
        # The lead's resolution (#20 item 2), with a co-handler's open part waived.
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=Status.RESOLVED,
            actor_kind=ActorKind.AGENCY, actor_id=a.agency_id,
            assignment_id=a.assignment_id, step=Step.DONE, changed_at=NOW,
            resolution=Resolution(
                outcome=Outcome.PARTLY_RESOLVED, done="Làm việc với Cục Hải quan",
                legal_basis="Công văn 123/UBND-KT", public_answer="Đã gia hạn 30 ngày.",
                waived=[uuid.uuid4()], waiver_reason="Sở đã trả lời bằng văn bản")),
        # A question to the business and its answer (#20 item 4).
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=None, actor_kind=ActorKind.AGENCY,
            actor_id=a.agency_id, assignment_id=a.assignment_id, step=Step.NEED_INFO,
            question="Đề nghị gửi bản sao giấy chứng nhận đầu tư.", changed_at=NOW),
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=None, actor_kind=ActorKind.BUSINESS,
            actor_id="business", assignment_id=a.assignment_id, step=Step.IN_PROGRESS,
            answer="Đã gửi qua bưu điện ngày 3/12.", changed_at=NOW),
        # The business rates its closed difficulty (#20 item 6).
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=None, actor_kind=ActorKind.BUSINESS,
            actor_id="business", changed_at=NOW,
            feedback=Feedback(resolved=True, rating=4, comment="Nhanh, rõ ràng.")),
        BusinessAnswer(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            assignment_id=a.assignment_id, tracking_code=d.tracking_code,
            question="Đề nghị gửi bản sao?", answer="Đã gửi.", answered_at=NOW),
        # The permanent deputy registers the letter passing it to the ministry (#22 item 6)
        # and records the ministry's answer that came by letter (#20 item 5).
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=None, actor_kind=ActorKind.AGENCY,
            actor_id="binh-duong.to-cong-tac", changed_at=NOW,
            letter=LetterRef(number="125/TCT-KT", dated=NOW.date())),
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=Status.RESOLVED,
            actor_kind=ActorKind.AGENCY, actor_id="binh-duong.to-cong-tac", changed_at=NOW,
            resolution=Resolution(
                outcome=Outcome.RESOLVED, done="Bộ Tài chính trả lời tại văn bản 4512/BTC-CST",
                legal_basis="Văn bản số 4512/BTC-CST", public_answer="Được hoàn thuế GTGT.",
                ministry_letter=LetterRef(number="4512/BTC-CST", dated=NOW.date()))),
        # The permanent deputy's triage (#20 item 3): a dispatch with co-handlers, a
        # correction routed again, a duplicate merged (closed, and recorded on the kept one).
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=Status.REASSIGN_REQUESTED,
            actor_kind=ActorKind.AGENCY, actor_id="binh-duong.to-cong-tac", changed_at=NOW,
            target_agency_id="binh-duong.so-cong-thuong",
            co_agency_ids=["binh-duong.so-lao-dong", "binh-duong.cuc-thue"]),
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=None, actor_kind=ActorKind.AGENCY,
            actor_id="binh-duong.to-cong-tac", changed_at=NOW, note="Sai loại khu",
            correction=Correction(zone_type=ZoneType.CCN, category=Category.LABOUR,
                                  province_code="79", province_name="Thành phố Hồ Chí Minh",
                                  task_force="binh-duong")),
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=Status.MERGED, actor_kind=ActorKind.AGENCY,
            actor_id="binh-duong.to-cong-tac", changed_at=NOW,
            merged_into=CaseRef(difficulty_id=uuid.uuid4(), tracking_code="BD-2611-00042")),
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=None, actor_kind=ActorKind.AGENCY,
            actor_id="binh-duong.to-cong-tac", changed_at=NOW,
            duplicate=CaseRef(difficulty_id=uuid.uuid4(), tracking_code="BD-2611-00043")),
        MemberReport(
            report_id=uuid.uuid4(), member_id="binh-duong.m01", province_code="74",
            week_label="2026-W47", received_summary="3 kiến nghị", solutions="Đang xử lý",
            recommendations="Không", figures={"received": 3}, submitted_at=NOW),
        WeeklyReport(
            report_id=uuid.uuid4(), province_code="74", week_label="2026-W47",
            window_start=NOW, window_end=NOW, generated_at=NOW,
            rows=[BreakdownRow(dimension="total", value="all", received=3, resolved=1, open=2,
                               overdue=0, escalated_central=0, median_resolution_hours=5.0,
                               p90_resolution_hours=None)],
            urgent_items=[item], recommendations=[], members_reported=["binh-duong.m01"],
            members_missing=[], compiled_text="I. Tình hình tiếp nhận\n- 3 kiến nghị",
            member_reports=[MemberReportSummary(
                member_id="binh-duong.m01", late=True, submitted_at=NOW,
                received_summary="3 kiến nghị", solutions="Đang xử lý")],
            directions=[DirectionStatus(
                direction_id=uuid.uuid4(), body="Rà soát", given_at=NOW,
                assignee_id="binh-duong.so-cong-thuong", due_on=date(2026, 11, 26),
                state=DirectionState.DONE, state_at=NOW, note="Xong")],
            league=League(target_pct=95, rows=[
                LeagueRow(agency_id="binh-duong.bql-kcn", ack_measured=3, ack_on_time=2,
                          ack_on_time_pct=66.7, resolve_measured=1, resolved_on_time=1,
                          resolved_on_time_pct=100.0, resolved=1, median_working_days=2.5,
                          rated=1, rating_average=4.0),
                LeagueRow(agency_id="binh-duong.so-y-te", ack_measured=0, ack_on_time=0,
                          ack_on_time_pct=None, resolve_measured=0, resolved_on_time=0,
                          resolved_on_time_pct=None, resolved=0, median_working_days=None)])),
        NotificationSent(
            notification_key="assignment:x:binh-duong.bql-kcn", kind="assignment",
            channel="email", recipient_id="binh-duong.bql-kcn", attempts=1, sent_at=NOW),
        SignInLink(
            request_id=uuid.uuid4(), recipient_id="binh-duong.m01", role="member",
            province="binh-duong", address_sha256="0" * 64,
            url="http://127.0.0.1:8003/workspace/sign-in/link?code=x", expires_at=NOW),
        MemberReminderRequested(
            request_id=uuid.uuid4(), member_id="binh-duong.m02", task_force="binh-duong",
            week_label="2026-W47", requested_by="binh-duong.to-pho-thuong-truc",
            requested_at=NOW),
        DirectionGiven(
            direction_id=uuid.uuid4(), task_force="binh-duong", given_by="binh-duong.to-truong",
            week_label="2026-W47", body="Sở Công Thương rà soát, báo cáo trước thứ Năm.",
            given_at=NOW, assignee_id="binh-duong.so-cong-thuong", due_on=date(2026, 11, 26)),
        DirectionProgress(
            progress_id=uuid.uuid4(), direction_id=uuid.uuid4(), task_force="binh-duong",
            state=DirectionState.IN_PROGRESS, note="Đã làm việc với 3 doanh nghiệp.",
            posted_by="binh-duong.so-cong-thuong", posted_at=NOW),
        CompilationSaved(
            compilation_id=uuid.uuid4(), task_force="binh-duong", week_label="2026-W47",
            body="I. Tình hình tiếp nhận\n- Ông A: 3 kiến nghị", submitted=True,
            saved_by="binh-duong.to-pho-thuong-truc", saved_at=NOW),
        # A policy bottleneck (#25 item 1): merged, then answered; and a member item
        # closed with the ministry's answer to it.
        bottleneck,
        bottleneck.model_copy(update={"changed_at": NOW, "answer": BottleneckAnswer(
            outcome=Outcome.RESOLVED, letter=LetterRef(number="4512/BTC-TCT",
                                                       dated=date(2026, 11, 19)),
            public_answer="Bộ Tài chính đã hướng dẫn.", answered_by="binh-duong.to-cong-tac",
            answered_at=NOW)}),
        DifficultyStatusChanged(
            status_id=uuid.uuid4(), difficulty_id=d.difficulty_id,
            province_code=d.province_code, status=Status.RESOLVED,
            actor_kind=ActorKind.AGENCY, actor_id="binh-duong.to-cong-tac", changed_at=NOW,
            resolution=Resolution(
                outcome=Outcome.RESOLVED, done="Bộ Tài chính trả lời tại văn bản số "
                "4512/BTC-TCT", public_answer="Bộ Tài chính đã hướng dẫn.",
                ministry_letter=LetterRef(number="4512/BTC-TCT", dated=date(2026, 11, 19)),
                bottleneck_id=bottleneck.bottleneck_id)),
    ]


SAMPLES = _samples()
assert {type(s) for s in SAMPLES} == set(events.EVENT_TYPES), "a new event type needs a sample"


def _headers(data: EventData) -> list[tuple[str, bytes]]:
    env = events.new_envelope(data, source="test")
    return [(k, v.encode()) for k, v in events.encode_headers(env).items()]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=10,
)


@st.composite
def damaged_body(draw: st.DrawFn, body: bytes) -> bytes:
    """One way a body goes bad: a field dropped, changed or added, or the bytes broken."""
    how = draw(st.sampled_from(["drop", "replace", "add", "truncate", "flip", "encoding",
                                "nfd", "garbage"]))
    doc: dict[str, Any] = json.loads(body)
    if how in ("drop", "replace") and doc:
        key = draw(st.sampled_from(sorted(doc)))
        if how == "drop":
            del doc[key]
        else:
            doc[key] = draw(json_values)
        return json.dumps(doc).encode()
    if how == "add":
        doc[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        return json.dumps(doc).encode()
    if how == "truncate":
        return body[: draw(st.integers(0, max(0, len(body) - 1)))]
    if how == "flip":
        i = draw(st.integers(0, len(body) - 1))
        return body[:i] + bytes([body[i] ^ draw(st.integers(1, 255))]) + body[i + 1:]
    if how == "encoding":
        return body.decode().encode(draw(st.sampled_from(["utf-16", "utf-32", "cp1258"])),
                                    errors="replace")
    if how == "nfd":
        return unicodedata.normalize("NFD", body.decode()).encode()
    return draw(st.binary(max_size=300))


def test_status_events_from_before_steps_still_read_and_say_what_they_did_to_their_part(
) -> None:
    """#20 item 11: a status event as intake published it before assignments had their
    own state (no step, suggestion or resolution) decodes, and its status says the step."""
    old = {"status_id": str(uuid.uuid4()), "difficulty_id": str(uuid.uuid4()),
           "province_code": "74", "status": "reassign_requested", "actor_kind": "agency",
           "actor_id": "binh-duong.bql-kcn", "assignment_id": str(uuid.uuid4()),
           "note": "không thuộc BQL", "target_agency_id": None,
           "changed_at": NOW.isoformat()}
    sample = SAMPLES[3]
    env = events.decode(DifficultyStatusChanged, json.dumps(old).encode(), _headers(sample))
    assert env.data.step is None and env.data.resolution is None and env.data.letter is None
    assert env.data.step_taken() is Step.DECLINED
    assert env.data.model_copy(update={"assignment_id": None}).step_taken() is None


def test_directions_and_weekly_reports_from_before_the_compiled_week_still_read() -> None:
    """#22 item 1: a direction given before directions were tracked work (no assignee, no
    due date) and a weekly report from before the compiled week decode, as untracked and
    without the new parts."""
    sample = next(s for s in SAMPLES if isinstance(s, DirectionGiven))
    given = sample.model_dump(mode="json")
    del given["assignee_id"], given["due_on"]
    env = events.decode(DirectionGiven, json.dumps(given).encode(), _headers(sample))
    assert env.data.assignee_id is None and env.data.due_on is None
    weekly = next(s for s in SAMPLES if isinstance(s, WeeklyReport))
    old = weekly.model_dump(mode="json")
    for part in ("compiled_text", "member_reports", "directions"):
        del old[part]
    back = events.decode(WeeklyReport, json.dumps(old).encode(), _headers(weekly)).data
    assert back.compiled_text is None and back.member_reports == [] and back.directions == []


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_every_event_type_round_trips(sample: EventData) -> None:
    back = events.decode(type(sample), events.encode_body(sample), _headers(sample))
    assert back.data == sample


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_bodies_decode_or_say_why(sample: EventData, data: st.DataObject) -> None:
    body = data.draw(damaged_body(events.encode_body(sample)))
    try:
        env = events.decode(type(sample), body, _headers(sample))
    except DecodeError as e:
        assert str(e).strip(), "a refusal must say why"
        return
    # What still decodes is a valid event of the right type, and stays so when re-sent.
    assert isinstance(env.data, type(sample))
    events.decode(type(sample), events.encode_body(env.data), _headers(env.data))


def test_a_weekly_report_from_before_league_tables_still_decodes() -> None:
    sample = next(s for s in SAMPLES if isinstance(s, WeeklyReport))
    old = json.loads(events.encode_body(sample))
    del old["league"]
    back = events.decode(WeeklyReport, json.dumps(old).encode(), _headers(sample))
    assert back.data.league is None and back.data.rows == sample.rows
    # A share out of range or a rating outside 1-5 is refused, naming the field.
    bad = json.loads(events.encode_body(sample))
    bad["league"]["rows"][0]["rating_average"] = 7
    with pytest.raises(DecodeError, match="rating_average"):
        events.decode(WeeklyReport, json.dumps(bad).encode(), _headers(sample))


header_values = st.binary(max_size=60) | st.text(max_size=60).map(str.encode)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(["ce_id", "ce_type", "ce_time", "ce_source"]),
       value=header_values | st.none())
def test_damaged_headers_decode_or_say_why(
    sample: EventData, name: str, value: bytes | None
) -> None:
    headers = [(k, v) for k, v in _headers(sample) if k != name]
    if value is not None:
        headers.append((name, value))
    try:
        events.decode(type(sample), events.encode_body(sample), headers)
    except DecodeError as e:
        assert str(e).strip()


class _RecordingBatch:
    """What the emitter fills: aiokafka's `BatchBuilder.append` and `close`."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, dict[str, str]]] = []

    def append(self, *, timestamp: float | None, key: bytes | None, value: bytes | None,
               headers: list[tuple[str, bytes]]) -> object:
        self.records.append((value, {k: v.decode() for k, v in headers}))
        return object()

    def close(self) -> None:
        return None


class _RecordingProducer:
    """Stands in for the broker connection: this tier tests what the processor decides,
    the real-broker tests in tests/broker prove delivery."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, dict[str, str]]] = []

    async def partitions(self, topics_: list[str]) -> dict[str, list[int]]:
        return {t: [0] for t in topics_}

    def create_batch(self) -> _RecordingBatch:
        return _RecordingBatch()

    async def send_batch(self, batch: _RecordingBatch, topic: str, partition: int
                         ) -> asyncio.Future[Any]:
        self.sent += [(topic, value, headers) for value, headers in batch.records]
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), damaged=st.lists(st.booleans(), min_size=1, max_size=12))
def test_consumer_dead_letters_what_it_cannot_read_and_keeps_going(
    data: st.DataObject, damaged: list[bool]
) -> None:
    handled: list[Envelope[DifficultyStatusChanged]] = []

    async def handle(batch: list[Envelope[DifficultyStatusChanged]], _: Emitter) -> int:
        handled.extend(batch)
        return 0

    sample = next(s for s in SAMPLES if isinstance(s, DifficultyStatusChanged))
    records: list[Record] = []
    for offset, bad in enumerate(damaged):
        body = events.encode_body(sample)
        if bad:
            body = data.draw(damaged_body(body))
        records.append(consumer_record(topics.DIFFICULTY_STATUS, 0, offset, b"k", body,
                              _headers(sample)))
    producer = _RecordingProducer()
    processor = BatchProcessor(
        group_id="thaogo-test", model=DifficultyStatusChanged, handle=handle,
        producer=producer,  # type: ignore[arg-type]
        metrics=ConsumerMetrics.create(CollectorRegistry()), source="test")
    asyncio.run(processor.process(records))

    dlq = [s for s in producer.sent if s[0] == topics.dlq(topics.DIFFICULTY_STATUS)]
    assert len(handled) + len(dlq) == len(records), "every record is handled or dead-lettered"
    assert len(handled) >= damaged.count(False)
    for _, value, headers in dlq:
        assert headers["x-dlq-reason"].startswith("decode: ")
        assert headers["x-dlq-source-topic"] == topics.DIFFICULTY_STATUS
        assert value in {r.value for r in records}, "the DLQ keeps the original bytes"


def test_resolutions_from_before_central_level_still_read_without_a_ministry_letter() -> None:
    """#20 item 11: a resolution as intake published it before the ministry's answer was
    recorded (no ministry_letter) decodes, with none."""
    old = {"status_id": str(uuid.uuid4()), "difficulty_id": str(uuid.uuid4()),
           "province_code": "74", "status": "escalated", "actor_kind": "agency",
           "actor_id": "binh-duong.bql-kcn", "assignment_id": str(uuid.uuid4()),
           "step": "done", "changed_at": NOW.isoformat(),
           "resolution": {"outcome": "escalated", "done": "Đã làm việc", "public_answer": "Đã "
                          "kiến nghị Bộ Tài chính", "reason": "Thuộc thẩm quyền Bộ"}}
    env = events.decode(DifficultyStatusChanged, json.dumps(old).encode(),
                        _headers(SAMPLES[3]))
    assert env.data.resolution is not None and env.data.resolution.ministry_letter is None
    assert env.data.letter is None


def test_resolutions_from_before_bottlenecks_still_read() -> None:
    """#25 item 1: a resolution as published before policy bottlenecks (no bottleneck_id)
    decodes as one of no bottleneck."""
    sample = next(s for s in SAMPLES if isinstance(s, DifficultyStatusChanged)
                  and s.resolution is not None and s.resolution.bottleneck_id is None)
    old = sample.model_dump(mode="json")
    del old["resolution"]["bottleneck_id"]
    env = events.decode(DifficultyStatusChanged, json.dumps(old).encode(), _headers(sample))
    assert env.data.resolution is not None and env.data.resolution.bottleneck_id is None
