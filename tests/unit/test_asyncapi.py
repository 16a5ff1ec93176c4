"""The committed AsyncAPI document is the one the code generates."""

from __future__ import annotations

import json

from shared import asyncapi, topics
from shared.provinces import ConfigHolder


def test_committed_asyncapi_document_is_current() -> None:
    agency_ids = ConfigHolder().current.agency_ids()
    generated = asyncapi.render(agency_ids)
    committed = asyncapi.DOCUMENT.read_text(encoding="utf-8")
    assert committed == generated, "run `thaogo asyncapi` and commit shared/asyncapi.json"


def test_every_topic_is_documented_with_its_schema() -> None:
    agency_ids = ConfigHolder().current.agency_ids()
    doc = json.loads(asyncapi.render(agency_ids))
    addresses = {c["address"] for c in doc["channels"].values()}
    for spec in topics.all_topics(agency_ids):
        if spec.name.endswith(topics.DLQ_SUFFIX):
            continue
        assert spec.name in addresses
    schemas = doc["components"]["schemas"]
    assert "tax_code" in schemas["DifficultyReceived"]["properties"]
    assert "rule" in schemas["DifficultyAssigned"]["properties"]


def test_the_topics_that_carry_personal_data_say_which_and_why() -> None:
    doc = json.loads(asyncapi.render(ConfigHolder().current.agency_ids()))
    marked = {name.removesuffix(":Message") for name, m in doc["components"]["messages"].items()
              if "x-personal-data" in m}
    agency = {n for n in doc["components"]["messages"] if n.startswith("agency.")}
    assert agency and {n.removesuffix(":Message") for n in agency} <= marked
    assert {topics.DIFFICULTY_RECEIVED, topics.dlq(topics.DIFFICULTY_RECEIVED)} <= marked
    assert not marked & {topics.DIFFICULTY_ASSIGNED, topics.DIFFICULTY_STATUS,
                         topics.NOTIFICATION_SENT, topics.REPORT_WEEKLY}
    # In a task, the contact may be null: the others than the lead get it so.
    task = doc["components"]["schemas"]["TaskDifficulty"]["properties"]["contact"]
    assert {"type": "null"} in task["anyOf"]
