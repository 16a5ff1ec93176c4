"""The AsyncAPI document of every topic, generated from the event models.

Agencies read it to build their consumers: one channel per topic, including
one `agency.<agency_id>.v1` channel per agency of the shipped configuration (and
the operators' triage queue) and each topic's dead-letter topic, each with the
JSON schema of its payload: every topic the code writes to. The CloudEvents attributes travel as
headers (`ce_id`, `ce_type`, ...; binary content mode); the key is the
difficulty id. `thaogo asyncapi` regenerates `shared/asyncapi.json`, and a test
keeps the committed file current.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from shared import events, topics
from shared.metrics import VERSION

DOCUMENT = Path(__file__).with_name("asyncapi.json")

_HEADERS_NOTE = (
    " CloudEvents 1.0 in binary content mode: headers ce_specversion, ce_id (deduplicate on"
    " it), ce_source, ce_type, ce_time, ce_subject; the message key is the difficulty id."
)

_DLQ_NOTE = (
    "Dead letters of {topic}: a record that could not be processed, as it came (its body"
    " may not decode as the schema), with the reason in the x-dlq-reason header and"
    " x-dlq-source-topic, x-dlq-source-partition, x-dlq-source-offset and"
    " x-dlq-consumer-group; for operators."
)

_PUBLISHED: tuple[tuple[str, type[events.EventData], str], ...] = (
    (topics.DIFFICULTY_RECEIVED, events.DifficultyReceived,
     "A new difficulty or recommendation accepted by intake."),
    (topics.DIFFICULTY_ASSIGNED, events.DifficultyAssigned,
     "An assignment, re-assignment or escalation of a difficulty, with the rule that matched."),
    (topics.DIFFICULTY_STATUS, events.DifficultyStatusChanged,
     "A status change posted by an agency, a member or an operator, with its place in the"
     " difficulty's history chain (`chain_position`, `chain_hash`; absent in events before"
     " the chain existed). The permanent deputy's triage decisions (#20 item 3; all"
     " optional, absent in older events): a dispatch (reassign_requested with"
     " `target_agency_id`) may name co-handlers (`co_agency_ids`); a correction (status"
     " null, `correction`: the zone type, category and province as corrected) is routed"
     " again by the router; a merge closes the duplicate (status merged, `merged_into` the"
     " kept difficulty) and records it on the kept one (status null, `duplicate`)."),
    (topics.DIFFICULTY_URGENCY, events.DifficultyUrgencyConfirmed,
     "An urgent difficulty confirmed by its lead agency, the permanent deputy or a"
     " task-force member, or filed urgent by a member or operator: the head and the"
     " permanent deputy are told at once, day or night. One per difficulty."),
    (topics.MEMBER_REPORT, events.MemberReport, "A task-force member's weekly report."),
    (topics.REPORT_WEEKLY, events.WeeklyReport,
     "The compiled weekly rollup of a province, an urgent interim (rows empty, one urgent"
     " item), or the final report of a dissolved task force's whole mandate (final true,"
     " week_label \"final\", with the open items handed over and those sent to central"
     " level); key \"<province_code>:<week_label>\". A compiled week carries its league"
     " table (`league`: per agency, acknowledged and resolved on time against the"
     " province's target, median working days to resolve, ratings), frozen at the cutoff;"
     " null in interim and final reports and in weeks compiled before it existed. A"
     " compiled week also carries, when known at its cutoff, the permanent deputy's"
     " submitted text (`compiled_text`), the members' reports under the three headings"
     " (`member_reports`), the head's tracked directions with their state"
     " (`directions`) and the items waiting for the head's decision (`waiting`, each with"
     " `why`: escalated, rejected as out of scope in the week, long_overdue: overdue by"
     " more than `decision_overdue_days` working days, or central: at a central ministry"
     " whose answer is awaited, with the province's letter `letter_number`/`letter_date`"
     " once registered); all optional, absent in older reports. A compiled week also"
     " publishes the history chain heads (`audit`: per difficulty whose history moved in"
     " the week, its chain position and hash at the cutoff, and their Merkle root) so"
     " that a history rewritten later no longer matches; absent in older reports."),
    (topics.NOTIFICATION_SENT, events.NotificationSent,
     "Audit of every reminder or message delivered."),
    (topics.SIGN_IN_LINK, events.SignInLink,
     "A one-time sign-in link a person of the province configuration asked for at"
     " /workspace/sign-in, for notify to mail; key: the request id."),
    (topics.MEMBER_REMINDER, events.MemberReminderRequested,
     "The permanent deputy asks, from the workspace, that a member who has not reported"
     " this week be reminded; notify sends the reminder; key: the member id."),
    (topics.DIRECTION_GIVEN, events.DirectionGiven,
     "A direction of the head to the task force (ý kiến chỉ đạo), given in the head's"
     " workspace; reporting keeps it for the task force's pages; key: the task force."
     " With `assignee_id` (an agency or member of the configuration) and `due_on` it is"
     " tracked work: its state moves on direction.progress.v1, notify reminds the assignee"
     " before and on the due date, and the next weekly reports carry its progress."),
    (topics.DIRECTION_PROGRESS, events.DirectionProgress,
     "Whoever must act on a direction says where it stands (in_progress, done) from their"
     " workspace; the latest posted_at is the direction's state; key: the direction id."),
    (topics.COMPILATION_SAVED, events.CompilationSaved,
     "The permanent deputy's compiled text of a week, saved as a draft or submitted to the"
     " head; the latest saved_at stands; key \"<task_force>:<week_label>\"."),
    (topics.POLICY_BOTTLENECK, events.PolicyBottleneck,
     "A policy bottleneck (điểm nghẽn chính sách): recommendations many businesses of a"
     " province share, merged by the permanent deputy into one item escalated to a central"
     " ministry (`ministry_id`), with the number of businesses and their items (what each"
     " is about, never who raised it). Sent when merged and again with `answer` when the"
     " ministry's answer is recorded, which closes every member difficulty with it; the"
     " latest changed_at stands; key: the bottleneck id."),
)


_ANSWERS_NOTE = (" Also the business's answers to the agency's questions (ce_type "
                 + events.BusinessAnswer.ce_type + "), next to its tasks (ce_type "
                 + events.AgencyTask.ce_type + "): read the ce_type header to tell them apart.")


def document(agency_ids: list[str]) -> dict[str, Any]:
    broker = KafkaBroker("kafka:9092", description="The thaogo Kafka cluster")
    for topic, model, what in _PUBLISHED:
        broker.publisher(topic, schema=model, title=topic, description=what + _HEADERS_NOTE)
    for topic, model, _ in _PUBLISHED:
        # Every consumer dead-letters what it cannot process: each topic has its DLQ.
        broker.publisher(topics.dlq(topic), schema=model, title=topics.dlq(topic),
                         description=_DLQ_NOTE.format(topic=topic))
    for agency_id in topics.task_agency_ids(agency_ids):
        topic = topics.agency_topic(agency_id)
        what = (f"Tasks for {agency_id}: self-contained, the agency reads nothing else."
                if agency_id != topics.UNCONFIGURED_TRIAGE else
                "Tasks of difficulties from a province without configuration: the operators'"
                " triage queue.")
        # Its tasks (ce_type …agency.task.v1) and the business's answers to its questions
        # (…agency.business_answer.v1): a reader picks the model by the ce_type header.
        broker.publisher(topic, schema=events.AgencyTask | events.BusinessAnswer, title=topic,
                         description=what + _ANSWERS_NOTE + _HEADERS_NOTE)
    spec = AsyncAPI(
        broker,
        title="thaogo events",
        version=VERSION,
        description="Topics of thaogo, the system a province's task force uses to take in, "
        "route, follow and report businesses' difficulties. Dead letters go to <topic>.dlq "
        "with the reason in the x-dlq-reason header.",
        schema_version="3.0.0",
    )
    data: dict[str, Any] = spec.to_specification().to_jsonable()
    for name, message in data["components"]["messages"].items():
        topic = name.removesuffix(":Message").removesuffix(".dlq")
        if (why := _personal_data(topic)) is not None:
            message["x-personal-data"] = why
    return data


def _personal_data(topic: str) -> str | None:
    """What personal data a topic's messages carry, and why they must (none carry
    addresses of officials: notices name recipients by role id)."""
    if topic == topics.DIFFICULTY_RECEIVED:
        return ("contact: the name, phone and e-mail of the business's contact person, for"
                " the lead agency (through the router), the permanent deputy (through"
                " thaogo's pages) and notify, which keeps them to send the business its"
                " notices at each public step (an e-mail, a Zalo ZNS message) and puts them"
                " on no other topic: the steps it reads (difficulty.assigned.v1,"
                " difficulty.status.v1, policy.bottleneck.v1) carry no contact, and"
                " notification.sent.v1 names the business only as 'business'. Never logged,"
                " never a metric label.")
    if topic == topics.SIGN_IN_LINK:
        return ("address_sha256: the hash of the e-mail address a person typed, and url: a"
                " one-time sign-in link (it signs its holder in once, for 15 minutes), for"
                " notify to mail to that person; notify alone may read the topic, which"
                " keeps a day.")
    if topic.startswith("agency."):
        return ("difficulty.contact: the business's contact person, in the lead agency's"
                " task only, which must reach the business; null in co-handlers', central"
                " ministries' and triage tasks. answer (in a business answer): what the"
                " business wrote to the agency that asked, for that agency only.")
    return None


def render(agency_ids: list[str]) -> str:
    return json.dumps(document(agency_ids), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
