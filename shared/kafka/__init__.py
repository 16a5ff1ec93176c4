"""Kafka plumbing every service shares: the broker factory, the emitter and the
batch processor that turns a pure-ish handler into an at-least-once consumer.

Commit policy (named, deliberate): `COMMIT_AFTER_EFFECTS`. A batch's offsets are
committed only after the handler returned, that is after its database
transaction committed and every message it emitted was acknowledged by the
broker. A crash before the commit replays the batch; consumers are idempotent
on the CloudEvents id, and producers derive ids from causes, so a replay has no
second effect. The embedded broker has no idempotent producer, so nothing here
relies on broker-side exactly-once.

Failures are sorted in two:
- infrastructure (database or broker unreachable, timeouts): the batch is
  retried with capped exponential backoff, forever, because the data is fine;
- the data (cannot be decoded, or the handler raised on it): that record, and
  only it, goes to `<topic>.dlq` with the reason in headers; the rest proceeds.
  A message for a topic the cluster does not have (`MissingTopic`: an agency added
  to a configuration whose topic nobody declared) is the data's too: waiting does not
  create the topic where auto-creation is off, so it is dead-lettered and counted
  (`thaogo_missing_topic_messages_total`), not retried as if the broker were down.

The package, one step a module:
- `broker`: the FastStream broker, the producers' codec, batch size and partitioner;
- `producer`, `emitter`: what a batch publishes, acknowledged together;
- `consumed`: a consumed batch's records; `dead_letter`: decode or dead-letter, handle
  or dead-letter;
- `processor`: the batch processor (`COMMIT_AFTER_EFFECTS`); `pipeline`: the pipelined
  one, and `commit`: its commit-in-order and rewind (`COMMIT_IN_ORDER_AFTER_EFFECTS`);
- `lag`: the consumer lag gauge; `subscribe`: the FastStream subscriber;
- `admin`: topic creation.
"""

from shared.kafka.admin import ensure_topics
from shared.kafka.broker import (
    FETCH_MAX_WAIT_MS,
    MAX_BATCH_BYTES,
    codec,
    key_partitioner,
    make_broker,
    murmur2,
    start_broker,
)
from shared.kafka.commit import COMMIT_IN_ORDER_AFTER_EFFECTS
from shared.kafka.consumed import Record
from shared.kafka.dead_letter import INFRA_ERRORS, Handler, dead_letter
from shared.kafka.emitter import Emitter, Message
from shared.kafka.pipeline import PipelinedProcessor, Prepared, Preparer
from shared.kafka.processor import COMMIT_AFTER_EFFECTS, BatchProcessor
from shared.kafka.producer import MissingTopic, Producer
from shared.kafka.subscribe import subscribe

__all__ = [
    "COMMIT_AFTER_EFFECTS",
    "COMMIT_IN_ORDER_AFTER_EFFECTS",
    "FETCH_MAX_WAIT_MS",
    "INFRA_ERRORS",
    "MAX_BATCH_BYTES",
    "BatchProcessor",
    "Emitter",
    "Handler",
    "Message",
    "MissingTopic",
    "PipelinedProcessor",
    "Prepared",
    "Preparer",
    "Producer",
    "Record",
    "codec",
    "dead_letter",
    "ensure_topics",
    "key_partitioner",
    "make_broker",
    "murmur2",
    "start_broker",
    "subscribe",
]
