"""Two reporting replicas as processes on the real broker and database: at start-up
each catches up the last closed week, yet every task force's report reaches
report.weekly.v1 exactly once; metrics are exported."""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.reporting import logic, usecases
from shared import topics
from shared.calendar import SystemClock
from shared.provinces import ConfigHolder
from tests.conftest import ServiceProcess, Stack, stack_env, wait_until
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(180)]


async def test_two_replicas_publish_each_weekly_report_once(
    private_topics: str, database_url: str, tmp_path: Path
) -> None:
    # Start reading where the topic ends now: earlier tests may have published the same
    # deterministic ids on this shared broker.
    consumer = AIOKafkaConsumer(bootstrap_servers=private_topics, group_id=f"t-{uuid.uuid4()}",
                                enable_auto_commit=False)
    await consumer.start()
    tp = TopicPartition(topics.REPORT_WEEKLY, 0)
    consumer.assign([tp])
    await consumer.seek_to_end(tp)
    start = await consumer.position(tp)

    week = logic.last_closed_window(SystemClock().now()).label
    configs = ConfigHolder().current
    expected = {usecases.weekly_event_id(slug, week) for slug, cfg in configs.items()
                if cfg.task_force.is_active(logic.last_closed_window(SystemClock().now())
                                            .end.date())}
    env = stack_env(private_topics, database_url, THAOGO_REPORTING_GAUGES_INTERVAL_S="0.5")
    replicas = [ServiceProcess("reporting", free_port(), env, tmp_path / f"r{i}.log")
                for i in range(2)]
    for r in replicas:
        r.start()
    seen: list[str] = []
    links: list[str] = []
    try:
        for r in replicas:
            await r.wait_ready()

        async def all_seen() -> bool:
            batch = await consumer.getmany(tp, timeout_ms=500)
            for rec in batch.get(tp, []):
                headers = dict(rec.headers)
                if headers["ce_id"].decode() in expected:
                    seen.append(headers["ce_id"].decode())
                    body = json.loads(rec.value)
                    assert body["week_label"] == week and body["rows"]
                    links.append(body["page_url"])
            return set(seen) == expected

        await wait_until(all_seen, timeout=60)
        # Give a would-be duplicate time to show up, then look again.
        await wait_until(lambda: _idle(consumer, tp, seen, expected), timeout=10)
        assert sorted(seen) == sorted(expected)
        assert await consumer.position(tp) >= start + len(expected)
        async with httpx.AsyncClient() as client:
            texts = [(await client.get(r.url + "/metrics")).text for r in replicas]
            # Whichever replica published it, the signed link (what notify mails the
            # head) opens on the other: the replicas share the link secret.
            link = next(u for u in links if f"/reports/binh-duong/{week}?" in u)
            path_and_query = link[link.index("/reports/"):]
            page = await client.get(replicas[0].url + path_and_query)
            other = await client.get(replicas[1].url + path_and_query)
            assert other.status_code == 200
            unsigned = await client.get(replicas[0].url + f"/reports/binh-duong/{week}")
            assert unsigned.status_code == 401
        published = sum(
            float(line.rsplit(" ", 1)[1]) for t in texts for line in t.splitlines()
            if line.startswith("thaogo_reporting_weekly_reports_published_total{"))
        assert published == len(expected)
        assert "thaogo_reporting_last_weekly_report_timestamp_seconds{" in texts[0]
        assert page.status_code == 200 and week in page.text
        await Stack({f"reporting-{i}": r for i, r in enumerate(replicas)}).assert_consistent()
    finally:
        await consumer.stop()
        for r in replicas:
            # uvicorn 0.54 re-raises SIGTERM after a graceful shutdown, hence -15 too;
            # what matters is that the runtime stopped in order.
            assert r.stop() in (0, -signal.SIGTERM), r.log_path.read_text()[-2000:]
            assert "service stopped" in r.log_path.read_text()


async def _idle(consumer: AIOKafkaConsumer, tp: TopicPartition, seen: list[str],
                expected: set[str]) -> bool:
    import asyncio

    await asyncio.sleep(2)
    batch = await consumer.getmany(tp, timeout_ms=500)
    seen += [dict(r.headers)["ce_id"].decode() for r in batch.get(tp, [])
             if dict(r.headers)["ce_id"].decode() in expected]
    return True
