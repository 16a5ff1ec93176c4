"""Intake (issue #3, #24 item 1): accepted difficulties per second and latency of one
intake process under `wrk` (32 connections, one thread, realistic submissions from
bench/post.lua), next to a bare validate-and-202 endpoint on the same server stack under
the same load, each with wrk's own share of the CPU beside it: the generator must not be
the bound (a Python client was: 333 requests/s against the bare endpoint, where wrk got
3,860). And the time from each 202 to its event on difficulty.received.v1, taken with
the Python client (it notes when each answer came), next to a bare produce→consume hop
on the same broker at the same rate."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from bench import common
from bench.common import Infra
from shared import topics
from thaogo.embedded import free_port
from thaogo.launcher import terminate

CONCURRENCY = 32
POST_LUA = Path(__file__).with_name("post.lua")
BODIES = 5_000  # distinct submissions wrk cycles through


@dataclass
class WrkRun:
    """What one `wrk` run saw, and what it cost wrk."""

    requests: int
    seconds: float
    refused: int  # answers other than 2xx and 3xx
    socket_errors: int  # connect, read, write errors and timeouts
    p50_ms: float
    p99_ms: float
    p999_ms: float
    cpu_s: float  # wrk's own, user and system
    server_cpu_s: float  # the server process's over the same run

    @property
    def answered_per_s(self) -> float:
        """2xx answers a second: 202s, as the bench sends no Idempotency-Key."""
        return (self.requests - self.refused) / self.seconds

    @property
    def cpu_share(self) -> float:
        """wrk's share of the machine's CPU over the run (all cores)."""
        return self.cpu_s / (self.seconds * (os.cpu_count() or 1))

    @property
    def server_cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")


def write_bodies(n: int = BODIES) -> Path:
    """Realistic submissions, one JSON document a line, for bench/post.lua."""
    path = Path(tempfile.mkdtemp(prefix="thaogo-bench-wrk-")) / "bodies.jsonl"
    path.write_text("".join(json.dumps(common.submission(i), ensure_ascii=False) + "\n"
                            for i in range(n)), encoding="utf-8")
    return path


def wrk(url: str, seconds: float, bodies: Path, server_pid: int, *,
        connections: int = CONCURRENCY) -> WrkRun:
    """POST `bodies` in turn over `connections` for `seconds` with one wrk thread. wrk's
    CPU is what the kernel counted for it when it was reaped (`wait4`)."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("the intake benchmark needs wrk (Debian: apt-get install wrk; "
                           "./scripts/bench installs it)")
    server_before = common.cpu_seconds(server_pid)
    proc = subprocess.Popen(
        [exe, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s",
         "-s", str(POST_LUA), url],
        env={**os.environ, "BENCH_BODIES": str(bodies)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    printed = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    server_cpu = common.cpu_seconds(server_pid) - server_before
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {printed[-2000:]}")
    out = json.loads(printed.strip().splitlines()[-1])
    return WrkRun(
        requests=out["requests"], seconds=out["duration_us"] / 1e6,
        refused=out["non_2xx_3xx"],
        socket_errors=sum(out[k] for k in ("connect_errors", "read_errors", "write_errors",
                                           "timeouts")),
        p50_ms=out["p50_us"] / 1000, p99_ms=out["p99_us"] / 1000,
        p999_ms=out["p999_us"] / 1000,
        cpu_s=usage.ru_utime + usage.ru_stime,
        server_cpu_s=server_cpu)


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


async def event_latency(inf: Infra, intake_url: str, n: int) -> dict[str, Any]:
    """202 → difficulty.received.v1 for `n` submissions from the Python client, next to a
    bare hop at the rate the client reached."""
    watcher = ReceivedWatcher(inf.bootstrap)
    await watcher.start()
    try:
        real = await load(intake_url, n, first=20_000_000)
        await watcher.wait_for(set(real.accepted_at), timeout=max(30.0, n / 50))
    finally:
        await watcher.stop()
    to_event = [watcher.seen[i] - t for i, t in real.accepted_at.items() if i in watcher.seen]
    hop = await common.bare_hop(inf.bootstrap, n, rate=max(real.accepted_per_s, 1.0))
    ev, hp = common.latency_ms(to_event), common.latency_ms(hop)
    return {
        "figures": [
            common.figure("202 → difficulty.received.v1 p50", ev["p50"], hp["p50"], unit="ms",
                          baseline_is="bare produce→consume hop at the same rate"),
            common.figure("202 → difficulty.received.v1 p99", ev["p99"], hp["p99"], unit="ms",
                          baseline_is="bare produce→consume hop at the same rate"),
        ],
        "counts": {"sent": n, "accepted": real.statuses[202],
                   "answers": {str(k): v for k, v in sorted(real.statuses.items(), key=str)},
                   "rate_per_s": round(real.accepted_per_s, 1),
                   "events_seen": len(to_event), "bare_hop_messages": len(hop)},
    }


def wrk_figures(real: WrkRun, bare: WrkRun) -> list[dict[str, Any]]:
    base = "bare validate-and-202 endpoint, the same wrk load"
    return [
        common.figure(f"accepted difficulties/s (wrk, {CONCURRENCY} connections)",
                      real.answered_per_s, bare.answered_per_s, unit="/s", baseline_is=base),
        common.figure("POST latency p50 (wrk)", real.p50_ms, bare.p50_ms, unit="ms",
                      baseline_is=base),
        common.figure("POST latency p99 (wrk)", real.p99_ms, bare.p99_ms, unit="ms",
                      baseline_is=base),
        common.figure("server CPU ms per request", real.server_cpu_ms_per_request,
                      bare.server_cpu_ms_per_request, unit="ms", baseline_is=base),
        common.figure("wrk's share of the machine's CPU", real.cpu_share * 100,
                      bare.cpu_share * 100, unit="%",
                      baseline_is="the same, against the bare endpoint"),
    ]


def _run_summary(r: WrkRun) -> dict[str, Any]:
    return {"requests": r.requests, "seconds": round(r.seconds, 2), "refused": r.refused,
            "socket_errors": r.socket_errors, "wrk_cpu_s": round(r.cpu_s, 2),
            "wrk_cpu_share": round(r.cpu_share, 3), "server_cpu_s": round(r.server_cpu_s, 2),
            "p999_ms": round(r.p999_ms, 2)}


def run(inf: Infra, scale: float) -> dict[str, Any]:
    seconds = max(5.0, 30 * scale)
    n = max(CONCURRENCY * 2, int(10_000 * scale))
    bodies = write_bodies()
    db = asyncio.run(common.fresh_database(inf.database_url))
    port = free_port()
    bare, log = common.start_process(["-m", "bench.bare_intake", "--port", str(port)],
                                     "bare-intake")
    bare_url = f"http://127.0.0.1:{port}"
    intake = None
    try:
        common.wait_http(f"{bare_url}/readyz", bare, log)
        intake = common.start_service("intake", inf, db, **common.NO_RATE_LIMIT)
        for url in (bare_url, intake.url):  # warm: connections, caches, the first batches
            asyncio.run(load(url, 2 * CONCURRENCY, first=10_000_000))
        # The latency first: after wrk, intake's relay would still be publishing wrk's
        # difficulties, and this run's would queue behind them.
        out = asyncio.run(event_latency(inf, intake.url, n))
        bare_run = wrk(bare_url, seconds, bodies, bare.pid)
        real_run = wrk(intake.url, seconds, bodies, intake.proc.pid)
        out["figures"] = wrk_figures(real_run, bare_run) + out["figures"]
        out["concurrency"] = CONCURRENCY
        out["wrk"] = {"seconds": seconds, "threads": 1, "connections": CONCURRENCY,
                      "intake": _run_summary(real_run), "bare": _run_summary(bare_run)}
        out["peak_rss_mb"] = {"intake": common.peak_rss_mb(intake.proc.pid),
                              "bare": common.peak_rss_mb(bare.pid)}
        return out
    finally:
        if intake is not None:
            intake.stop()
        terminate([bare])
