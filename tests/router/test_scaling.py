"""Two router processes in one consumer group share the partitions; one is killed with
SIGKILL while difficulties are still arriving, and every difficulty is still assigned
exactly once in effect (issue #4, item 5).

"In effect" is what consumers see after deduplicating on the CloudEvents id: a replay
of a batch the killed router had published but not yet recorded may put the same event
on a topic twice; it must never put a different one there, nor skip one."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from bench.common import difficulty
from services.router import logic
from shared import events, topics
from shared.events import AssignmentRole, DifficultyReceived
from shared.provinces import ConfigHolder
from tests.conftest import ServiceProcess, Stack, stack_env, wait_until
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(150)]

DIFFICULTIES = 3000
CHUNK = 150
# Held back until the kill, so that the killed router dies mid-stream by construction.
AFTER_KILL = 1000
KILL_AFTER_PROCESSED = 100
# Small batches and a backlog when the kill comes: the killed router is then almost always
# in the middle of one (emitted, not yet recorded or committed), the case that matters.
MAX_RECORDS = "50"


async def processed_by(router: ServiceProcess, outcome: str = "processed") -> int:
    """Difficulties this one router process has applied (or recognised as already applied,
    outcome "duplicate"), from its own metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(router.url + "/metrics", timeout=5)).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if (s.name == "thaogo_events_consumed_total"
                    and s.labels.get("topic") == topics.DIFFICULTY_RECEIVED
                    and s.labels.get("outcome") == outcome):
                return int(s.value)
    return 0


async def read_all(bootstrap: str, names: list[str]) -> dict[str, list[tuple[str, bytes]]]:
    """Every record on the given topics, as (ce_id, key) per topic, read to their ends."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    out: dict[str, list[tuple[str, bytes]]] = {t: [] for t in names}
    try:
        await consumer.topics()
        parts = [TopicPartition(t, p) for t in names
                 for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        remaining = {tp for tp in parts if ends[tp] > 0}
        while remaining:
            got = await consumer.getmany(*remaining, timeout_ms=2000)
            if not got:
                raise AssertionError(f"stalled reading {sorted(map(str, remaining))[:5]}")
            for tp, records in got.items():
                for r in records:
                    out[tp.topic].append((dict(r.headers)["ce_id"].decode(), r.key or b""))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        # Tansu 0.6 reports the end of a partition as the start of its last record batch:
        # read on until nothing more comes (everything was acknowledged before this).
        while got := await consumer.getmany(timeout_ms=1000):
            for tp, records in got.items():
                out[tp.topic] += [(dict(r.headers)["ce_id"].decode(), r.key or b"")
                                  for r in records]
    finally:
        await consumer.stop()
    return out


async def committed_everything(bootstrap: str, group: str, ends: dict[int, int]) -> bool:
    """The group's committed offsets reached `ends` (partition -> offset after the last
    record, from the produce acknowledgements: Tansu 0.6's ListOffsets answers short)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                              enable_auto_commit=False)
    await reader.start()
    try:
        return all([(await reader.committed(TopicPartition(topics.DIFFICULTY_RECEIVED, p))
                     or 0) >= end for p, end in ends.items()])
    finally:
        await reader.stop()


async def test_two_routers_one_killed_mid_stream_assign_every_difficulty_once(
    private_topics: str, database_url: str, tmp_path: Path
) -> None:
    bootstrap = private_topics
    env = {**stack_env(bootstrap, database_url), "THAOGO_LOG_LEVEL": "WARNING",
           "THAOGO_ROUTER_MAX_RECORDS": MAX_RECORDS}
    routers = [ServiceProcess("router", free_port(), env, tmp_path / f"router-{n}.log")
               for n in ("a", "b")]
    doomed, survivor = routers
    for r in routers:
        r.start()
    try:
        await asyncio.gather(*(r.wait_ready() for r in routers))
        sent: list[DifficultyReceived] = []
        ends: dict[int, int] = {}
        killed = asyncio.Event()
        produced_at_kill = -1

        async def feed() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all",
                                        enable_idempotence=False)
            await producer.start()
            try:
                for start in range(0, DIFFICULTIES, CHUNK):
                    if start >= DIFFICULTIES - AFTER_KILL:
                        await killed.wait()
                    futs = []
                    for i in range(start, min(start + CHUNK, DIFFICULTIES)):
                        d = difficulty(i)
                        env_ = events.new_envelope(d, source="test")
                        futs.append(await producer.send(
                            topics.DIFFICULTY_RECEIVED, events.encode_body(d),
                            key=d.key().encode(),
                            headers=[(k, v.encode())
                                     for k, v in events.encode_headers(env_).items()]))
                        sent.append(d)
                    for md in await asyncio.gather(*futs):
                        ends[md.partition] = max(ends.get(md.partition, 0), md.offset + 1)
                    if killed.is_set():
                        await asyncio.sleep(0.05)  # after the kill, a stream
            finally:
                await producer.stop()

        feeding = asyncio.create_task(feed())
        try:
            done_before_kill = await wait_until(
                lambda: _at_least(doomed, KILL_AFTER_PROCESSED), timeout=60, interval=0.05)
            produced_at_kill = len(sent)
            doomed.kill()  # SIGKILL: no commit, no goodbye, maybe mid-batch
            killed.set()
            await feeding
        finally:
            killed.set()
            if not feeding.done():
                feeding.cancel()
        assert doomed.proc is not None and doomed.proc.returncode == -9
        assert 0 < done_before_kill < DIFFICULTIES and produced_at_kill < DIFFICULTIES

        conn = await asyncpg.connect(database_url)
        try:
            async def all_recorded() -> int | bool:
                n: int = await conn.fetchval("SELECT count(*) FROM router.difficulties")
                return n == DIFFICULTIES or n

            # The survivor takes the dead member's partitions once its session expires.
            await wait_until(all_recorded, timeout=60, interval=0.5)
            await wait_until(lambda: committed_everything(bootstrap, "thaogo-router", ends),
                             timeout=30, interval=0.5)
            rows = await conn.fetch(
                "SELECT assignment_id::text AS aid, difficulty_id::text AS did, agency_id, role"
                " FROM router.assignments")
        finally:
            await conn.close()
        survivor_processed = await processed_by(survivor)
        survivor_replayed = await processed_by(survivor, "duplicate")
        # The killed router comes back; then what both stored equals what they published.
        await Stack({"router-a": doomed, "router-b": survivor}).assert_consistent()
    finally:
        for r in routers:
            r.stop()

    # Every difficulty has exactly one lead (or triage, when unroutable), the one the
    # configuration decides, and nothing else was recorded.
    configs = ConfigHolder().current
    now = datetime.now(UTC)
    expected_lead: dict[str, str] = {}
    for d in sent:
        decided = logic.decide(d, configs.for_difficulty(d.province_code, d.task_force),
                               config_version=configs.version, now=now)
        (head,) = [a for a in decided if a.role in (AssignmentRole.LEAD, AssignmentRole.TRIAGE)]
        expected_lead[str(d.difficulty_id)] = head.agency_id
    leads = [r for r in rows if r["role"] in ("lead", "triage")]
    assert Counter(r["did"] for r in leads) == Counter({did: 1 for did in expected_lead})
    assert {r["did"]: r["agency_id"] for r in leads} == expected_lead
    assert {r["did"] for r in rows} == set(expected_lead)
    assert len({r["aid"] for r in rows}) == len(rows)

    # On the topics: after deduplication by event id, exactly what was recorded.
    agency_topics = sorted({topics.agency_topic(r["agency_id"]) for r in rows})
    dlqs = [topics.dlq(t.name) for t in topics.CORE_TOPICS]
    seen = await read_all(bootstrap, [topics.DIFFICULTY_ASSIGNED, *agency_topics, *dlqs])
    assigned = seen[topics.DIFFICULTY_ASSIGNED]
    assert {eid for eid, _ in assigned} == {r["aid"] for r in rows}
    by_topic: dict[str, set[str]] = {}
    for r in rows:
        if r["role"] != AssignmentRole.MEMBER.value:
            by_topic.setdefault(topics.agency_topic(r["agency_id"]), set()).add(
                events.deterministic_id(uuid.UUID(r["aid"]), "task"))
    for t in agency_topics:
        assert {eid for eid, _ in seen[t]} == by_topic.get(t, set()), t
    for t in dlqs:
        assert seen[t] == [], t
    raw = len(assigned) + sum(len(seen[t]) for t in agency_topics)
    distinct = len({eid for eid, _ in assigned}) + sum(len(v) for v in by_topic.values())
    # Applied once in effect: what the survivor applied, the killed one had not.
    assert 0 < survivor_processed <= DIFFICULTIES - done_before_kill
    print(f"\nscaling: killed after {done_before_kill} processed, {produced_at_kill} produced;"
          f" survivor processed {survivor_processed}, skipped {survivor_replayed} already"
          f" applied; {distinct} distinct outputs,"
          f" {raw - distinct} raw duplicates")


async def _at_least(router: ServiceProcess, n: int) -> int | bool:
    done = await processed_by(router)
    return done if done >= n else False
