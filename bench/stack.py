"""The whole stack under load (#24 items 2-4): the four services as processes on one
broker and one PostgreSQL, as `thaogo up` runs them.

- `capacity`: `wrk` loads intake as hard as it takes; the stack's capacity is the
  difficulties accepted over the time until every consumer and outbox has caught up
  (202 → routed → projected → notices queued), with each consumer's lag sampled from
  the services' own gauge (`thaogo_consumer_lag_messages` on /metrics) all along; and
  the CPU milliseconds each process (each service, the broker, PostgreSQL with its
  backends) spent per difficulty, read from /proc before and after, next to the bare
  limits measured in the same run: the bare validate-and-202 endpoint under the same
  wrk load (intake's), and a bare consume→decode→produce loop over the same
  difficulty.received.v1 messages (each consumer's).
- `latency`: an open-loop generator offers a fixed rate; the time from each 202 to its
  lead task on the agency's topic (a reader of those topics, matching by difficulty id,
  by receive time), and, for a sample, to the business's tracking answer (/v1/track)
  naming the lead agency. The generator's lateness against its schedule and its own CPU
  are reported with the figures.
- `long` (bench/long.py) builds on the same pieces.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from bench import common, intake
from bench.client import Client, NoAnswer
from bench.common import Infra
from shared import topics
from shared.provinces import ConfigHolder
from thaogo import verify
from thaogo.embedded import free_port
from thaogo.launcher import ServiceProcess, stop_all, terminate

SERVICES = ("intake", "router", "reporting", "notify")
# The business's tracking answer is rate-limited per client address; the bench is one.
NO_TRACK_LIMIT = {"THAOGO_REPORTING_TRACK_RATE_LIMIT_PER_MINUTE": "100000000",
                  "THAOGO_REPORTING_TRACK_RATE_LIMIT_BURST": "100000000"}


@dataclass
class Stack:
    inf: Infra
    database_url: str
    procs: dict[str, ServiceProcess]

    def url(self, service: str) -> str:
        return self.procs[service].url

    def pids(self) -> dict[str, int]:
        """Each service's, the broker's and PostgreSQL's postmaster (whose tree is its
        backends)."""
        out = {n: p.proc.pid for n, p in self.procs.items() if p.proc is not None}
        if self.inf.broker_pid is not None:
            out["broker"] = self.inf.broker_pid
        pm = common.postmaster_pid(self.inf.pg_dir) if self.inf.pg_dir else None
        if pm is not None:
            out["postgresql"] = pm
        return out

    def cpu(self) -> dict[str, float]:
        return {n: common.tree_cpu_seconds(pid) for n, pid in self.pids().items()}


@contextmanager
def stack(inf: Infra, *, env: dict[str, str] | None = None,
          clock: tuple[datetime, float, float] | None = None) -> Iterator[Stack]:
    """The four services on a fresh database; `clock` (start, speed, at) runs intake,
    reporting and notify on one fast clock (bench/clocked.py)."""
    database = asyncio.run(common.fresh_database(inf.database_url))
    ports = {name: free_port() for name in SERVICES}
    full_env = {**common.NO_RATE_LIMIT, **NO_TRACK_LIMIT,
                "THAOGO_ROUTER_INTAKE_PUBLIC_URL": f"http://127.0.0.1:{ports['intake']}",
                **(env or {})}
    procs: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            if clock is not None and name != "router":
                procs[name] = _launch_clocked(name, inf, database, ports[name], full_env,
                                              clock)
            else:
                procs[name] = common.launch_service(name, inf, database, port=ports[name],
                                                    env=full_env)
        for p in procs.values():
            p.wait_ready_blocking()
        yield Stack(inf, database, procs)
    finally:
        stop_all(procs.values())


@dataclass
class ClockedProcess(ServiceProcess):
    """A service run by bench/clocked.py instead of `thaogo run`."""

    clock: tuple[datetime, float, float] = field(default=(datetime.min, 1.0, 0.0))

    def start(self) -> ClockedProcess:
        import subprocess
        import sys

        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.clocked", self.name, "--port", str(self.port),
                 "--start", self.clock[0].isoformat(), "--speed", str(self.clock[1]),
                 "--at", repr(self.clock[2])],
                env=self.env, stdout=log, stderr=log, cwd=common.REPO)
        return self


def _launch_clocked(name: str, inf: Infra, database: str, port: int, env: dict[str, str],
                    clock: tuple[datetime, float, float]) -> ServiceProcess:
    import tempfile

    log = Path(tempfile.mkdtemp(prefix="thaogo-bench-log-")) / f"{name}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    full_env.update(THAOGO_KAFKA_BOOTSTRAP=inf.bootstrap, THAOGO_DATABASE_URL=database,
                    THAOGO_LOG_LEVEL="WARNING", **env)
    return ClockedProcess(name, port, full_env, log, clock=clock).start()


# --- consumer lag, from the services' own gauge ------------------------------------------

_LAG = re.compile(r'^thaogo_consumer_lag_messages\{([^}]*)\}\s+(\S+)$', re.M)
_GROUP = re.compile(r'group="([^"]*)"')


class LagWatch:
    """Samples every service's `thaogo_consumer_lag_messages` (summed by group) every
    `interval` seconds, in a thread of its own, until stopped."""

    def __init__(self, st: Stack, interval: float = 1.0) -> None:
        self.st = st
        self.interval = interval
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                self.samples.append((time.monotonic(), self.sample(client)))
                self._stop.wait(self.interval)

    def sample(self, client: httpx.Client) -> dict[str, float]:
        lags: dict[str, float] = {}
        for name in SERVICES:
            try:
                text = client.get(self.st.url(name) + "/metrics").text
            except httpx.HTTPError:
                continue
            for labels, value in _LAG.findall(text):
                g = _GROUP.search(labels)
                if g:
                    lags[g.group(1)] = lags.get(g.group(1), 0.0) + float(value)
        return lags

    def __enter__(self) -> LagWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, since: float = 0.0, until: float = float("inf")) -> dict[str, float]:
        out: dict[str, float] = {}
        for t, lags in self.samples:
            if since <= t <= until:
                for g, v in lags.items():
                    out[g] = max(out.get(g, 0.0), v)
        return out


# --- capacity -------------------------------------------------------------------------------


def bare_endpoint(seconds: float, bodies: Path) -> intake.WrkRun:
    port = free_port()
    proc, log = common.start_process(["-m", "bench.bare_intake", "--port", str(port)],
                                     "bare-intake")
    try:
        common.wait_http(f"http://127.0.0.1:{port}/readyz", proc, log)
        return intake.wrk(f"http://127.0.0.1:{port}", seconds, bodies, proc.pid)
    finally:
        terminate([proc])


def capacity(inf: Infra, seconds: float = 30.0, *, profile_dir: Path | None = None
             ) -> dict[str, Any]:
    """wrk on intake for `seconds` with the whole stack running, then until it has caught
    up. `profile_dir`: py-spy samples every service meanwhile (which costs CPU: the
    figures of a profiled run are not the capacity)."""
    from bench import router

    bodies = intake.write_bodies()
    bare = bare_endpoint(min(seconds, 15.0), bodies)
    with stack(inf) as st:
        spies = _py_spy({n: st.pids()[n] for n in SERVICES}, profile_dir,
                        seconds + 10) if profile_dir else []
        load_before = os.getloadavg()
        cpu0, t0 = st.cpu(), time.monotonic()
        with LagWatch(st) as lag:
            run = intake.wrk(st.url("intake"), seconds, bodies, st.procs["intake"].proc.pid)  # type: ignore[union-attr]
            t_load = time.monotonic()
            left = asyncio.run(verify.settle(inf.bootstrap, st.database_url, timeout=600))
            t_done = time.monotonic()
        cpu1 = st.cpu()
        for spy in spies:
            spy.wait(timeout=120)
        notices = asyncio.run(_count(st.database_url, "SELECT count(*) FROM notify.messages"))
    accepted = run.requests - run.refused
    # The bare consumer loop over the same messages, on the same broker, after the stack.
    bare_rate, bare_cpu_ms = asyncio.run(router.bare_loop(inf.bootstrap, accepted,
                                                          group="bench-bare-capacity"))
    span = t_done - t0
    per = {n: (cpu1[n] - cpu0[n]) * 1000 / accepted for n in cpu0}
    cpu_total = sum(cpu1[n] - cpu0[n] for n in cpu0) + run.cpu_s
    bare_of = {"intake": (bare.server_cpu_ms_per_request, "bare validate-and-202 endpoint "
                          "under the same wrk load, CPU a request"),
               **{n: (bare_cpu_ms, "bare consume→decode→produce loop over the same "
                      "messages, CPU a message") for n in ("router", "reporting", "notify")}}
    figures = [
        common.figure("whole stack, difficulties/s (202 → routed → projected → notices "
                      "queued, to caught up)", accepted / span, bare.answered_per_s,
                      unit="/s", baseline_is="bare validate-and-202 endpoint under wrk"),
        common.figure("intake accepted/s under wrk, stack running", run.answered_per_s,
                      bare.answered_per_s, unit="/s", baseline_is="bare endpoint under wrk"),
    ]
    # The broker's, PostgreSQL's and wrk's are in cpu_ms_per_difficulty: no bare limit.
    figures += [common.figure(f"CPU a difficulty: {n}", per[n], bare_of[n][0], unit="ms",
                              baseline_is=bare_of[n][1]) for n in SERVICES]
    per["wrk"] = run.cpu_s * 1000 / accepted
    return {
        "figures": figures,
        "seconds_of_load": round(t_load - t0, 1),
        "seconds_to_caught_up": round(t_done - t0, 1),
        "accepted": accepted, "refused": run.refused, "socket_errors": run.socket_errors,
        "notices_queued": notices, "not_caught_up": left,
        "cpu_ms_per_difficulty": {n: round(v, 3) for n, v in per.items()},
        "cpu_share_of_machine": {n: round((cpu1[n] - cpu0[n]) / (span * (os.cpu_count() or 1)),
                                          3) for n in cpu0},
        # The machine's load average (1, 5, 15 min) as the load began: the neighbours'.
        "load_average_before": load_before,
        "machine_cpu_busy_share": round(cpu_total / (span * (os.cpu_count() or 1)), 3),
        "wrk_cpu_share": round(run.cpu_share, 4),
        "intake_p50_ms": round(run.p50_ms, 1), "intake_p99_ms": round(run.p99_ms, 1),
        "lag_peak_during_load": lag.peak(t0, t_load),
        "lag_peak_after_load": lag.peak(t_load),
        "lag_trace": [(round(t - t0, 1), lags) for t, lags in lag.samples[:: max(1, len(
            lag.samples) // 40)]],
        "bare_endpoint": {"answered_per_s": round(bare.answered_per_s, 1),
                          "cpu_ms_per_request": round(bare.server_cpu_ms_per_request, 3),
                          "wrk_cpu_share": round(bare.cpu_share, 4)},
        "bare_loop": {"per_s": round(bare_rate, 1), "cpu_ms_per_message": round(bare_cpu_ms, 4)},
    }


def _py_spy(pids: dict[str, int], out_dir: Path, seconds: float) -> list[Any]:
    """py-spy (PyPI, MIT) sampling each service at 100 Hz without pausing it, its
    collapsed stacks to `out_dir`/<service>.txt; nothing when it is not installed."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([exe, "record", "--pid", str(pid), "--duration",
                              str(int(seconds)), "--rate", "100", "--nonblocking",
                              "--format", "raw", "--output", str(out_dir / f"{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


def top_functions(collapsed: Path, n: int = 15) -> list[tuple[str, float]]:
    """The functions most often on top of the stack (self time), as shares of samples,
    from py-spy's collapsed output; idle (the event loop's select) included."""
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack_, _, count = line.rpartition(" ")
        if not stack_:
            continue
        frame = stack_.rsplit(";", 1)[-1]
        own[frame] = own.get(frame, 0) + int(count)
        total += int(count)
    return [(f, round(c / total, 4)) for f, c in sorted(own.items(), key=lambda kv: -kv[1])[:n]]


def inclusive(collapsed: Path, needles: list[str]) -> dict[str, float]:
    """Share of samples with a frame containing each needle anywhere on the stack."""
    hits = dict.fromkeys(needles, 0)
    total = 0
    for line in collapsed.read_text().splitlines():
        stack_, _, count = line.rpartition(" ")
        if not stack_:
            continue
        total += int(count)
        for needle in needles:
            if needle in stack_:
                hits[needle] += int(count)
    return {k: round(v / max(total, 1), 4) for k, v in hits.items()}


async def _count(dsn: str, sql: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


# --- latency at a steady rate ---------------------------------------------------------------


def lead_agencies() -> list[str]:
    """The agencies that lead what the bench offers (Bình Dương's, by zone type), and
    its triage queue: a reader of every agency's topic would itself add latency,
    fetching hundreds of idle partitions from the embedded broker."""
    cfg = ConfigHolder().current["binh-duong"]
    return sorted({*cfg.rules.lead_by_zone_type.values(), cfg.rules.triage})


def lead_topics() -> list[str]:
    return [topics.agency_topic(a) for a in lead_agencies()]


@dataclass
class Offer:
    """What a fixed-rate offer saw."""

    accepted: dict[str, float] = field(default_factory=dict)  # difficulty id -> 202 time
    scheduled: dict[str, float] = field(default_factory=dict)  # id -> its send's due time
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (code, tax code)
    received_seen: dict[str, float] = field(default_factory=dict)  # on difficulty.received
    lead_seen: dict[str, float] = field(default_factory=dict)
    tracked: dict[str, float] = field(default_factory=dict)
    lateness: list[float] = field(default_factory=list)  # each send after its schedule, s
    refused: int = 0
    no_answer: int = 0
    connections: int = 0
    offered_per_s: float = 0.0
    generator_cpu_s: float = 0.0
    generator_wall_s: float = 0.0  # the span generator_cpu_s was counted over
    seconds: float = 0.0


async def paced_open_loop(n: int, rate: float, send: Callable[[int, float], Awaitable[None]],
                          lateness: list[float], max_in_flight: int = 2000,
                          seconds: float | None = None) -> tuple[int, float]:
    """The i-th call starts at start + i/rate, whatever the earlier ones wait for (an
    answer in flight does not hold the next back below `max_in_flight`, which only a
    stalled server reaches); each start's delay past its schedule goes to `lateness`.
    `send` gets its due time, to measure from it. With `seconds`, nothing starts after
    that long, however many of the `n` are left (a capped offer that fell behind ends on
    time). Returns how many started and their rate."""
    sem = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int, due: float) -> None:
        try:
            await send(i, due)
        finally:
            sem.release()

    started = time.monotonic()
    end = started + seconds if seconds is not None else float("inf")
    count = 0
    for i in range(n):
        due = started + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await sem.acquire()
        if time.monotonic() > end:
            sem.release()
            break
        lateness.append(max(0.0, time.monotonic() - due))
        t = asyncio.create_task(one(i, due))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        count += 1
    offered = count / max(time.monotonic() - started, 1e-9)
    await asyncio.gather(*tasks)
    return count, offered


# Every 20th difficulty's tracking page is polled every 20 ms: each poll is a request to
# reporting, and every 8th (as at first) put hundreds a second on it at 100/s offered,
# more than the offer itself.
TRACK_EVERY = 20
TRACK_POLL_S = 0.02


async def offer(intake_url: str, reporting_url: str, bootstrap: str, n: int, rate: float, *,
                track_every: int = TRACK_EVERY, track_poll_s: float = TRACK_POLL_S) -> Offer:
    """Open loop: the i-th difficulty is sent at start + i/rate whatever came back. Every
    `track_every`-th accepted one (a multiple of the four zone types: all in an industrial
    park, led by its board, an agency the page names; the triage queue is not one) is
    polled on /v1/track every `track_poll_s` until the answer names its lead agency."""
    out = Offer()
    # The event intake publishes as well, to tell intake's part of the path (202 → its
    # outbox relay → difficulty.received.v1) from the router's (→ the agency's topic).
    consumer = AIOKafkaConsumer(topics.DIFFICULTY_RECEIVED, *lead_topics(),
                                bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="latest",
                                fetch_max_wait_ms=common.FETCH_WAIT_MS)
    await consumer.start()
    await consumer.getmany(timeout_ms=500)

    async def read() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for tp, records in batch.items():
                for rec in records:
                    assert rec.value is not None
                    if tp.topic == topics.DIFFICULTY_RECEIVED:
                        did = json.loads(rec.value)["difficulty_id"]
                        out.received_seen.setdefault(did, now)
                        continue
                    a = json.loads(rec.value)["assignment"]
                    if a["role"] == "lead":
                        out.lead_seen.setdefault(a["difficulty_id"], now)

    submissions = [common.submission(i) for i in range(n)]
    bodies = [json.dumps(s).encode() for s in submissions]
    trackers: list[asyncio.Task[None]] = []
    reader = asyncio.create_task(read())
    cpu0, wall0 = time.process_time(), time.monotonic()
    post, track_at = Client(intake_url), Client(reporting_url)
    try:
        async def track(did: str, code: str, tax: str) -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    r = await track_at.get("/v1/track", {"code": code, "tax_code": tax})
                except NoAnswer:
                    r = None
                if r is not None and r.status == 200 and r.json().get("agency_name_vi"):
                    out.tracked[did] = time.monotonic()
                    return
                await asyncio.sleep(track_poll_s)

        async def send(i: int, due: float) -> None:
            try:
                r = await post.post("/v1/difficulties", bodies[i])
            except NoAnswer:
                out.no_answer += 1
                return
            if r.status != 202:
                out.refused += 1
                return
            t = time.monotonic()
            body = r.json()
            did = body["difficulty_id"]
            out.accepted[did], out.scheduled[did] = t, due
            if i % track_every == 0:
                tax = submissions[i]["tax_code"]
                out.codes[did] = (body["tracking_code"], tax)
                trackers.append(asyncio.create_task(track(did, body["tracking_code"], tax)))

        started = time.monotonic()
        _, out.offered_per_s = await paced_open_loop(n, rate, send, out.lateness)
        out.seconds = time.monotonic() - started
        await asyncio.gather(*trackers)
        out.connections = post.opened + track_at.opened
        deadline = time.monotonic() + 60
        # Polled: the set awaited is only known once the offer is over.
        while not out.accepted.keys() <= out.lead_seen.keys() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        out.generator_cpu_s = time.process_time() - cpu0
        out.generator_wall_s = time.monotonic() - wall0
        await post.aclose()
        await track_at.aclose()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await consumer.stop()
    return out


def latency(inf: Infra, rate: float = 100.0, seconds: float = 60.0) -> dict[str, Any]:
    from shared.kafka.broker import FETCH_MAX_WAIT_MS

    n = int(rate * seconds)
    hop = asyncio.run(common.bare_hop(inf.bootstrap, n, rate))
    # The same hop consumed as the services consume: the embedded broker answers a fetch
    # at its deadline, so each hop of the path may wait up to this long.
    services_hop = asyncio.run(common.bare_hop(inf.bootstrap, min(n, int(rate * 20)), rate,
                                               fetch_wait_ms=FETCH_MAX_WAIT_MS))
    with stack(inf) as st:
        cpu0 = st.cpu()
        with LagWatch(st) as lag:
            o = asyncio.run(offer(st.url("intake"), st.url("reporting"), inf.bootstrap, n,
                                  rate))
        cpu1 = st.cpu()
    to_lead = [o.lead_seen[d] - t for d, t in o.accepted.items() if d in o.lead_seen]
    # From the send's due time: what a client that kept the schedule would have waited,
    # intake's answer and any lateness of the generator included (no coordinated omission).
    due_to_lead = [o.lead_seen[d] - t for d, t in o.scheduled.items() if d in o.lead_seen]
    to_track = [o.tracked[d] - o.accepted[d] for d in o.tracked]
    to_received = [o.received_seen[d] - t for d, t in o.accepted.items()
                   if d in o.received_seen]
    received_to_lead = [o.lead_seen[d] - t for d, t in o.received_seen.items()
                        if d in o.lead_seen]
    real, bare, tr, due = (common.latency_ms(to_lead), common.latency_ms(hop),
                           common.latency_ms(to_track), common.latency_ms(due_to_lead))
    parts = {"202 → difficulty.received.v1 (intake: outbox, relay)":
             common.latency_ms(to_received),
             "difficulty.received.v1 → lead agency's topic (router)":
             common.latency_ms(received_to_lead)}
    hop_is = f"bare produce→consume hop at {rate:g}/s"
    figures = [common.figure(f"202 → lead agency's topic {q} at {rate:g}/s", real[q], bare[q],
                             unit="ms", baseline_is=hop_is) for q in ("p50", "p99", "p99.9")]
    figures += [common.figure(f"scheduled send → lead agency's topic {q} at {rate:g}/s",
                              due[q], bare[q], unit="ms", baseline_is=hop_is)
                for q in ("p50", "p99", "p99.9")]
    figures += [common.figure(f"202 → /v1/track names the lead agency {q} (every "
                              f"{TRACK_EVERY}th, polled every {TRACK_POLL_S * 1000:g} ms)",
                              tr[q], bare[q], unit="ms",
                              baseline_is=hop_is)
                for q in ("p50", "p99", "p99.9")]
    services_bare = common.latency_ms(services_hop)
    services_hop_is = (f"bare hop at {rate:g}/s, consumed with the services' fetch wait "
                       f"({FETCH_MAX_WAIT_MS} ms)")
    figures += [common.figure(f"{part} {q}", v[q], services_bare[q], unit="ms",
                              baseline_is=services_hop_is)
                for part, v in parts.items() for q in ("p50", "p99")]
    figures.append(common.figure("offered rate achieved", o.offered_per_s, rate, unit="/s",
                                 baseline_is="the fixed rate asked for"))
    span = o.seconds or 1.0
    cpus = os.cpu_count() or 1
    return {
        "figures": figures,
        "counts": {"offered": n, "accepted": len(o.accepted), "refused": o.refused,
                   "no_answer": o.no_answer, "reached_lead_topic": len(to_lead),
                   "seen_on_received_topic": len(to_received),
                   "tracked": len(to_track), "tracking_sampled": len(o.codes)},
        "generator": {
            "cpu_share_of_machine": round(o.generator_cpu_s / (o.generator_wall_s * cpus), 4),
            "cpu_s": round(o.generator_cpu_s, 2), "over_s": round(o.generator_wall_s, 1),
            "lateness_ms": common.latency_ms(o.lateness),
            "connections_opened": o.connections,
            "note": "the bench process (bench/client.py over asyncio): sender, agency-topic "
                    "reader, tracking pollers and the lag sampler, from the offer's start "
                    "until every accepted difficulty reached its lead's topic"},
        "cpu_share_of_machine": {k: round((cpu1[k] - cpu0[k]) / (span * cpus), 3)
                                 for k in cpu0},
        "bare_hop_services_fetch_wait_ms": services_bare,
        "lag_peak": lag.peak(),
    }


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench.stack")
    p.add_argument("what", choices=("capacity", "latency", "profile"))
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    with common.infra() as inf:
        if args.what == "latency":
            result = latency(inf, args.rate, args.seconds or 60.0)
        else:
            profiles = args.out.with_suffix("") if args.what == "profile" else None
            result = capacity(inf, args.seconds or 30.0, profile_dir=profiles)
            if profiles is not None:
                result["profile_top_self"] = {
                    f.stem: top_functions(f) for f in sorted(profiles.glob("*.txt"))}
    result["machine"] = common.machine()
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(json.dumps(result["figures"], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
