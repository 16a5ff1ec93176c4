"""What the benchmarks share: a fresh embedded broker and PostgreSQL, service
processes, and producing realistic events fast."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from services.demo import tax_code
from services.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from shared import events, topics
from shared.events import Category, DifficultyReceived, Envelope, Urgency, ZoneType
from shared.kafka import ensure_topics
from shared.provinces import ConfigHolder

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


@dataclass
class Infra:
    bootstrap: str
    database_url: str


@contextmanager
def infra() -> Iterator[Infra]:
    broker = EmbeddedBroker(port=free_port()).start()
    tmp = Path(tempfile.mkdtemp(prefix="thaogo-bench-"))
    pg = EmbeddedPostgres(tmp / "pg").start()
    try:
        asyncio.run(ensure_topics(broker.bootstrap,
                                  topics.all_topics(ConfigHolder().current.agency_ids())))
        yield Infra(broker.bootstrap, pg.url)
    finally:
        broker.stop()
        pg.stop()


async def fresh_database(server_url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    name = "b_" + uuid.uuid4().hex[:10]
    conn = await asyncpg.connect(server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return urlunsplit(urlsplit(server_url)._replace(path="/" + name))


_ZONES = [(ZoneType.KCN, "KCN VSIP II"), (ZoneType.CCN, None), (ZoneType.NONE, None),
          (ZoneType.KKT, None)]


def difficulty(n: int, *, province: tuple[str, str, str] = ("79", "Bình Dương", "binh-duong"),
               urgency: Urgency = Urgency.NORMAL) -> DifficultyReceived:
    zone_type, zone_name = _ZONES[n % len(_ZONES)]
    cats = list(Category)
    return DifficultyReceived(
        difficulty_id=uuid.uuid4(), tracking_code=f"TG-B{n:07d}"[:12],
        received_at=datetime.now(UTC), province_code=province[0], province_name=province[1],
        task_force=province[2], tax_code=tax_code(n), enterprise_name=f"Doanh nghiệp {n}",
        zone_type=zone_type, zone_name=zone_name, category=cats[n % len(cats)],
        kind=events.Kind.DIFFICULTY, title="Thiếu nguyên liệu sản xuất",
        description="Nguyên liệu nhập khẩu chậm ba tuần; đề nghị hỗ trợ thông quan.",
        urgency=urgency, contact=events.Contact(name="Phòng Hành chính"),
    )


async def produce_received(bootstrap: str, n: int, topic: str = topics.DIFFICULTY_RECEIVED
                           ) -> list[str]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all",
                                max_batch_size=256 * 1024, enable_idempotence=False)
    await producer.start()
    ids: list[str] = []
    try:
        futs = []
        for i in range(n):
            d = difficulty(i)
            env: Envelope[DifficultyReceived] = events.new_envelope(d, source="bench")
            headers = [(k, v.encode()) for k, v in events.encode_headers(env).items()]
            futs.append(await producer.send(topic, events.encode_body(d), key=d.key().encode(),
                                            headers=headers))
            ids.append(env.id)
            if len(futs) >= 5000:
                await asyncio.gather(*futs)
                futs = []
        await asyncio.gather(*futs)
    finally:
        await producer.stop()
    return ids


@dataclass
class ServiceProc:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_service(name: str, infra_: Infra, database_url: str, **env: str) -> ServiceProc:
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="thaogo-bench-log-")) / f"{name}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    full_env.update(THAOGO_KAFKA_BOOTSTRAP=infra_.bootstrap, THAOGO_DATABASE_URL=database_url,
                    THAOGO_LOG_LEVEL="WARNING", **env)
    f = open(log, "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "run", name, "--port",
                             str(port)], env=full_env, stdout=f, stderr=f, cwd=REPO)
    svc = ServiceProc(name, port, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            if httpx.get(svc.url + "/readyz", timeout=1).status_code == 200:
                return svc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(log.read_text()[-2000:])


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[k]
