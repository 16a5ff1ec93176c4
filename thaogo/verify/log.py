"""Reading the log: every topic from its beginning, each message decoded by the model of
its topic (an agency's topic by the task model), kept in log order per partition."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import topics
from shared.events import (
    AgencyTask,
    BusinessAnswer,
    CompilationSaved,
    DecodeError,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    DirectionGiven,
    DirectionProgress,
    Envelope,
    EventData,
    MemberReminderRequested,
    NotificationSent,
    PolicyBottleneck,
    SignInLink,
    WeeklyReport,
    decode,
)
from thaogo.verify.report import Report


@dataclass
class Log:
    """Every decoded event of the topics read, in log order per partition."""

    received: list[Envelope[DifficultyReceived]] = field(default_factory=list)
    assigned: list[Envelope[DifficultyAssigned]] = field(default_factory=list)
    status: list[Envelope[DifficultyStatusChanged]] = field(default_factory=list)
    urgency: list[Envelope[DifficultyUrgencyConfirmed]] = field(default_factory=list)
    weekly: list[Envelope[WeeklyReport]] = field(default_factory=list)
    sent: list[Envelope[NotificationSent]] = field(default_factory=list)
    sign_ins: list[Envelope[SignInLink]] = field(default_factory=list)
    reminders: list[Envelope[MemberReminderRequested]] = field(default_factory=list)
    directions: list[Envelope[DirectionGiven]] = field(default_factory=list)
    progress: list[Envelope[DirectionProgress]] = field(default_factory=list)
    compilations: list[Envelope[CompilationSaved]] = field(default_factory=list)
    bottlenecks: list[Envelope[PolicyBottleneck]] = field(default_factory=list)
    tasks: dict[str, list[Envelope[AgencyTask]]] = field(default_factory=dict)
    answers: dict[str, list[Envelope[BusinessAnswer]]] = field(default_factory=dict)
    truncated: set[str] = field(default_factory=set)  # topics whose beginning is gone


MODELS: dict[str, type[EventData]] = {
    topics.DIFFICULTY_RECEIVED: DifficultyReceived,
    topics.DIFFICULTY_ASSIGNED: DifficultyAssigned,
    topics.DIFFICULTY_STATUS: DifficultyStatusChanged,
    topics.DIFFICULTY_URGENCY: DifficultyUrgencyConfirmed,
    topics.REPORT_WEEKLY: WeeklyReport,
    topics.NOTIFICATION_SENT: NotificationSent,
    topics.SIGN_IN_LINK: SignInLink,
    topics.MEMBER_REMINDER: MemberReminderRequested,
    topics.DIRECTION_GIVEN: DirectionGiven,
    topics.DIRECTION_PROGRESS: DirectionProgress,
    topics.COMPILATION_SAVED: CompilationSaved,
    topics.POLICY_BOTTLENECK: PolicyBottleneck,
}


# The checker fetches what is there and wants the answer now: a fetch of a partition
# with nothing new otherwise waits the broker's default 500 ms for data that will not
# come, and settling asks every group's topics for their high watermarks several times
# (7 of a test's 8 s of checking went to that wait).
FETCH_WAIT_MS = 10


async def read_log(bootstrap: str, names: Iterable[str], report: Report, log: Log,
                   **security: Any) -> None:
    """Read each topic from its beginning up to the end it had when reading started."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                client_id="thaogo-verify", fetch_max_wait_ms=FETCH_WAIT_MS,
                                **security)
    await consumer.start()
    try:
        present = await consumer.topics()
        wanted = sorted(set(names) & present)
        tps = [TopicPartition(t, p) for t in wanted
               for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            return
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        log.truncated |= {tp.topic for tp in tps if begin[tp] > 0}
        for tp in tps:
            consumer.seek(tp, begin[tp])
        # Up to the high watermark that fetching reports: the embedded broker's answer
        # to ListOffsets (`end_offsets`) counts batches, not records, and falls short.
        left = set(tps)
        while left:
            got = await consumer.getmany(*left, timeout_ms=500, max_records=5000)
            for tp, records in got.items():
                for r in records:
                    _keep(log, report, tp.topic, r.value, r.headers)
            for tp in list(left):
                hw = consumer.highwater(tp)
                if hw is not None and await consumer.position(tp) >= hw:
                    left.discard(tp)
    finally:
        await consumer.stop()


def _keep(log: Log, report: Report, topic: str, value: bytes | None, headers: Any) -> None:
    model: type[EventData] = MODELS.get(topic, AgencyTask)
    # An agency's topic carries its tasks and the business's answers to its questions.
    if model is AgencyTask and _ce_type(headers) == BusinessAnswer.ce_type:
        model = BusinessAnswer
    try:
        env = decode(model, value, headers)
    except DecodeError:
        report.undecodable[topic] += 1
        return
    report.events[topic] += 1
    kept: dict[type[EventData], list[Any]] = {
        DifficultyReceived: log.received, DifficultyAssigned: log.assigned,
        DifficultyStatusChanged: log.status, DifficultyUrgencyConfirmed: log.urgency,
        WeeklyReport: log.weekly, NotificationSent: log.sent, SignInLink: log.sign_ins,
        MemberReminderRequested: log.reminders, DirectionGiven: log.directions,
        DirectionProgress: log.progress, CompilationSaved: log.compilations,
        PolicyBottleneck: log.bottlenecks,
    }
    into: list[Any] = (log.tasks.setdefault(topic, []) if model is AgencyTask
                       else log.answers.setdefault(topic, []) if model is BusinessAnswer
                       else kept[model])
    into.append(env)


def _ce_type(headers: Any) -> str | None:
    for k, v in headers or ():
        if k == "ce_type":
            return bytes(v).decode("utf-8", "replace") if v is not None else None
    return None
