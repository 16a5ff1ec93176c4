"""Helpers for the task-force tests: a province directory of the test's own (so files
can be edited under running services), a stack started on it, and a reader of a topic
from its current end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.provinces import default_config_dir
from tests.conftest import REPO, ServiceProcess, Stack, passed, stack_env
from thaogo.demo import tax_code
from thaogo.embedded import free_port

# Services notice an edited province file within this (seconds).
RELOAD_S = "0.5"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    d = tmp_path / "provinces"
    shutil.copytree(default_config_dir(), d)
    return d


def edit_province(directory: Path, slug: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite a province file through `change`, atomically (as an editor that saves by
    rename would), so a service never reads half a file."""
    path = directory / f"{slug}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    tmp = directory / f".{slug}.yaml.tmp"
    tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def make_stack(kafka: str, database_url: str, config_dir: Path, logs: Path,
               names: tuple[str, ...], **extra: str) -> Stack:
    ports = {n: free_port() for n in names}
    env = stack_env(
        kafka, database_url, THAOGO_CONFIG_DIR=str(config_dir),
        THAOGO_ROUTER_INTAKE_PUBLIC_URL=f"http://127.0.0.1:{ports.get('intake', 8001)}",
        THAOGO_INTAKE_CONFIG_RELOAD_INTERVAL_S=RELOAD_S,
        THAOGO_ROUTER_CONFIG_RELOAD_INTERVAL_S=RELOAD_S,
        THAOGO_REPORTING_CONFIG_RELOAD_INTERVAL_S=RELOAD_S,
        THAOGO_REPORTING_SCHEDULE_POLL_INTERVAL_S=RELOAD_S,
        **extra,
    )
    return Stack({n: ServiceProcess(n.split("#")[0], p, env, logs / f"{n}.log")
                  for n, p in ports.items()})


@pytest.fixture
async def owned_stacks(request: pytest.FixtureRequest) -> AsyncIterator[list[Stack]]:
    """Stacks a test starts itself: after a test that passed, each started one ends with
    the consistency checker at 0 differences; stopped at the end whatever happens."""
    stacks: list[Stack] = []
    try:
        yield stacks
        if passed(request):
            for s in stacks:
                if s.started:
                    await s.assert_consistent()
    finally:
        for s in stacks:
            s.stop()


def issue_token(database_url: str, config_dir: Path, kind: str, subject_id: str) -> str:
    """A bearer token (kind: agency, member or operator), issued as an operator does:
    `thaogo token create`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    env["THAOGO_CONFIG_DIR"] = str(config_dir)
    done = subprocess.run(
        [sys.executable, "-m", "thaogo.cli", "token", "create", f"--{kind}", subject_id,
         "--database-url", database_url],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def submission(n: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tax_code": tax_code(7000 + n),
        "enterprise_name": f"Công ty TNHH Tổ công tác {n}",
        "province": "Bình Dương",
        "zone_type": "NONE",
        "category": "labour",
        "kind": "difficulty",
        "title": f"Thiếu lao động sau dịch ({n})",
        "description": "Doanh nghiệp thiếu lao động, đề nghị hỗ trợ kết nối.",
        "urgency": "normal",
        "contact": {"name": "Nguyễn Văn A", "phone": "0912345678", "email": "a@example.vn"},
    }
    body.update(overrides)
    return body


async def submit(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/v1/difficulties", json=body)
    assert r.status_code == 202, r.text
    out: dict[str, Any] = r.json()
    return out


@dataclass
class TopicReader:
    """Every record of a topic from where it ended when the reader started."""

    consumer: AIOKafkaConsumer
    seen: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    @classmethod
    async def start(cls, bootstrap: str, topic: str) -> TopicReader:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"t-{uuid.uuid4()}",
                                    enable_auto_commit=False)
        await consumer.start()
        await consumer.topics()  # fetches the metadata partitions_for_topic reads
        parts = [TopicPartition(topic, p)
                 for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert parts, f"topic {topic} has no partitions"
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for tp in parts:  # resolve the positions now, before anything is produced
            await consumer.position(tp)
        return cls(consumer)

    async def poll(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        batch = await self.consumer.getmany(timeout_ms=300)
        for records in batch.values():
            for rec in records:
                headers = {k: v.decode() for k, v in rec.headers}
                self.seen.append((headers, json.loads(rec.value)))
        return self.seen

    async def stop(self) -> None:
        await self.consumer.stop()
