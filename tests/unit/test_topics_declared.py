"""Every topic the code can write to is declared, and nothing else is: `thaogo topics`
creates it, the AsyncAPI document lists it, a Strimzi KafkaTopic declares it. On a
cluster without auto-creation (Apache Kafka as deployed) an undeclared topic is a
message nobody can write.

What the code can write to is collected from the code, not from `shared.topics`: the
topics of the event models (outboxes and emitters write those), the dead-letter topic
of every topic a service subscribes to, and the task topic of every agency the router
can be sent to: those of the shipped configurations and the operators' triage queue."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient

from services.router import logic as router_logic
from shared import asyncapi, events, topics
from shared.provinces import ConfigHolder
from thaogo import stack
from thaogo.embedded import EmbeddedBroker

REPO = Path(__file__).resolve().parents[2]
KAFKA_TOPICS = REPO / "deploy" / "k8s" / "base" / "kafka" / "topics.yaml"
SERVICES = ("intake", "router", "reporting", "notify")


def _event_models() -> set[type[events.EventData]]:
    seen: set[type[events.EventData]] = set()
    todo = list(events.EventData.__subclasses__())
    while todo:
        cls = todo.pop()
        seen.add(cls)
        todo += cls.__subclasses__()
    return seen


def subscribed_topics() -> set[str]:
    """What the four services subscribe to, from their brokers as `build` wires them."""
    out: set[str] = set()
    for service in SERVICES:
        main = importlib.import_module(f"services.{service}.main")
        settings_module = importlib.import_module(f"services.{service}.settings")
        settings_cls: Any = getattr(settings_module, f"{service.capitalize()}Settings")
        app = main.build(settings_cls(database_url="postgresql://nobody@127.0.0.1:1/none",
                                      kafka_bootstrap="127.0.0.1:1"))
        out |= {t for s in app.state.runtime.broker.subscribers for t in s.topic_names}
    return out


def produced_topics() -> set[str]:
    fixed = {m.topic for m in _event_models() if m is not events.AgencyTask}
    dead_letters = {topics.dlq(t) for t in subscribed_topics()}
    agencies = {*ConfigHolder().current.agency_ids(), router_logic.UNCONFIGURED_TRIAGE}
    tasks = {topics.agency_topic(a) for a in agencies}
    return fixed | dead_letters | tasks


@pytest.fixture(scope="module")
def produced() -> set[str]:
    found = produced_topics()
    # The collection itself is not empty-handed: the six topics, their DLQs, the triage.
    assert {topics.REPORT_WEEKLY, topics.dlq(topics.NOTIFICATION_SENT),
            "agency.thaogo.triage.v1"} <= found
    return found


def test_the_asyncapi_document_lists_every_topic_written_to(produced: set[str]) -> None:
    doc = json.loads(asyncapi.DOCUMENT.read_text(encoding="utf-8"))
    assert {c["address"] for c in doc["channels"].values()} == produced


def test_a_kafka_topic_declares_every_topic_written_to(produced: set[str]) -> None:
    docs = [d for d in yaml.safe_load_all(KAFKA_TOPICS.read_text(encoding="utf-8")) if d]
    assert all(d["kind"] == "KafkaTopic" for d in docs)
    assert {d["spec"]["topicName"] for d in docs} == produced


@pytest.mark.broker
async def test_thaogo_topics_creates_every_topic_written_to(produced: set[str]) -> None:
    """`thaogo topics` on an empty broker of its own: what it creates is the set."""
    broker = EmbeddedBroker.on_a_free_port()
    try:
        report = await stack.create_topics(broker.bootstrap, None)
        assert set(report) == produced and set(report.values()) == {"created"}
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            existing = {t for t in await admin.list_topics() if not t.startswith("_")}
        finally:
            await admin.close()
        assert existing == produced
    finally:
        broker.stop()
