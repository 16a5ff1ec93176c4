"""Intake (issue #3): accepted difficulties per second and latency of one intake process
at a fixed concurrency, next to a bare validate-and-202 endpoint on the same server stack;
and the time from each 202 to its event on difficulty.received.v1, next to a bare
produce→consume hop on the same broker."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from bench import common
from bench.common import Infra
from shared import topics
from thaogo.embedded import free_port

CONCURRENCY = 32


@dataclass
class Load:
    """What one closed-loop run of `CONCURRENCY` clients saw."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)  # or "no answer (...)"
    accepted_at: dict[str, float] = field(default_factory=dict)  # difficulty id -> 202 time

    @property
    def accepted_per_s(self) -> float:
        return self.statuses[202] / self.seconds if self.seconds else 0.0


async def load(url: str, n: int, *, first: int = 0, concurrency: int = CONCURRENCY) -> Load:
    """POST `n` valid difficulties with `concurrency` clients, each waiting for its answer."""
    out = Load()
    bodies = [json.dumps(common.submission(first + i)).encode() for i in range(n)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        it = iter(bodies)

        async def worker() -> None:
            for body in it:
                t0 = time.monotonic()
                try:
                    r = await client.post("/v1/difficulties", content=body,
                                          headers={"Content-Type": "application/json"})
                except httpx.TransportError as e:
                    # Counted, as the fault tests count them, rather than ending the run:
                    # a connection the server closed just as it was reused, say.
                    out.statuses[f"no answer ({type(e).__name__})"] += 1
                    continue
                t1 = time.monotonic()
                out.latencies.append(t1 - t0)
                out.statuses[r.status_code] += 1
                if r.status_code == 202:
                    out.accepted_at[r.json()["difficulty_id"]] = t1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        out.seconds = time.monotonic() - started
    return out


class ReceivedWatcher:
    """Reads difficulty.received.v1 and notes when each difficulty's event arrived."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(topics.DIFFICULTY_RECEIVED, bootstrap_servers=bootstrap,
                                         group_id=None, auto_offset_reset="earliest",
                                         fetch_max_wait_ms=common.FETCH_WAIT_MS)
        self.seen: dict[str, float] = {}
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        await self.consumer.getmany(timeout_ms=100)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for records in batch.values():
                for rec in records:
                    assert rec.value is not None
                    self.seen.setdefault(json.loads(rec.value)["difficulty_id"], now)

    async def wait_for(self, ids: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # Polled: the reader does not know which ids are awaited.
        while not ids <= self.seen.keys() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()


async def measure(inf: Infra, intake_url: str, bare_url: str, n: int) -> dict[str, Any]:
    warm = 2 * CONCURRENCY
    await load(bare_url, warm, first=10_000_000)
    await load(intake_url, warm, first=10_000_000)
    bare = await load(bare_url, n)
    watcher = ReceivedWatcher(inf.bootstrap)
    await watcher.start()
    try:
        real = await load(intake_url, n)
        await watcher.wait_for(set(real.accepted_at), timeout=max(30.0, n / 50))
    finally:
        await watcher.stop()
    to_event = [watcher.seen[i] - t for i, t in real.accepted_at.items() if i in watcher.seen]
    hop = await common.bare_hop(inf.bootstrap, n, rate=max(real.accepted_per_s, 1.0))
    ev, hp = common.latency_ms(to_event), common.latency_ms(hop)
    rl, bl = common.latency_ms(real.latencies), common.latency_ms(bare.latencies)
    return {
        "figures": [
            common.figure("accepted difficulties/s", real.accepted_per_s, bare.accepted_per_s,
                          unit="/s", baseline_is="bare validate-and-202 endpoint"),
            common.figure("POST latency p50", rl["p50"], bl["p50"], unit="ms",
                          baseline_is="bare validate-and-202 endpoint"),
            common.figure("POST latency p99", rl["p99"], bl["p99"], unit="ms",
                          baseline_is="bare validate-and-202 endpoint"),
            common.figure("202 → difficulty.received.v1 p50", ev["p50"], hp["p50"], unit="ms",
                          baseline_is="bare produce→consume hop at the same rate"),
            common.figure("202 → difficulty.received.v1 p99", ev["p99"], hp["p99"], unit="ms",
                          baseline_is="bare produce→consume hop at the same rate"),
        ],
        "concurrency": CONCURRENCY,
        "counts": {"sent": n, "accepted": real.statuses[202],
                   "answers": {str(k): v for k, v in sorted(real.statuses.items(), key=str)},
                   "bare_sent": n, "bare_accepted": bare.statuses[202],
                   "events_seen": len(to_event), "bare_hop_messages": len(hop)},
    }


def run(inf: Infra, scale: float) -> dict[str, Any]:
    n = max(CONCURRENCY * 2, int(10_000 * scale))
    db = asyncio.run(common.fresh_database(inf.database_url))
    port = free_port()
    bare, log = common.start_process(["-m", "bench.bare_intake", "--port", str(port)],
                                     "bare-intake")
    intake = None
    try:
        common.wait_http(f"http://127.0.0.1:{port}/readyz", bare, log)
        intake = common.start_service("intake", inf, db, **common.NO_RATE_LIMIT)
        out = asyncio.run(measure(inf, intake.url, f"http://127.0.0.1:{port}", n))
        out["peak_rss_mb"] = {"intake": common.peak_rss_mb(intake.proc.pid),
                              "bare": common.peak_rss_mb(bare.pid)}
        return out
    finally:
        if intake is not None:
            intake.stop()
        common.stop_process(bare)
