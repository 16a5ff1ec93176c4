"""Router throughput, end to end through the broker with commits, next to a bare
aiokafka consume → decode → produce loop on the same broker in the same run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.common import (
    Infra,
    cpu_seconds,
    fresh_database,
    launch_service,
    peak_rss_mb,
    produce_received,
    services_producer,
    start_process,
)
from shared import topics
from thaogo.launcher import terminate


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await c.start()
    try:
        await c.topics()  # metadata of every topic first, so that no partition is missed
        parts = [TopicPartition(topic, p) for p in (c.partitions_for_topic(topic) or ())]
        return dict(await c.end_offsets(parts))
    finally:
        await c.stop()


async def _committed(reader: AIOKafkaConsumer, parts: list[TopicPartition]) -> int:
    # OffsetFetch through a consumer that never joins the group (the admin client's
    # list_consumer_group_offsets cannot decode Tansu's answer).
    total = 0
    for tp in parts:
        total += await reader.committed(tp) or 0
    return total


def router_fanout(n: int) -> float:
    """Messages the router emits per difficulty for this benchmark's input (assignments,
    plus an agency task for each that is not a member's), computed with its own logic."""
    from datetime import UTC, datetime

    from bench.common import difficulty
    from services.router import logic
    from shared.events import AssignmentRole
    from shared.provinces import ConfigHolder

    configs = ConfigHolder().current
    out = 0
    sample = min(n, 2000)
    for i in range(sample):
        d = difficulty(i)
        for a in logic.decide(d, configs.for_difficulty(d.province_code, d.task_force),
                              config_version=configs.version, now=datetime.now(UTC)):
            out += 1 if a.role == AssignmentRole.MEMBER else 2
    return out / sample


async def bare_loop(bootstrap: str, n: int | None, fanout: int = 1, group: str = "bench-bare",
                    max_records: int = 1000) -> tuple[float, float]:
    """The raw limit: consume, json.loads, modify, produce `fanout` messages per input
    (with the services' producer settings), await the acknowledgements, commit per
    getmany. Returns inputs per second and the
    CPU milliseconds this process spent per input (the machine is shared: CPU per input
    compares implementations where wall-clock rates swing with the neighbours' load).
    `n` None: until nothing has come for a few seconds (one of several processes)."""
    scratch = "bench.bare.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    if scratch not in await admin.list_topics():
        await admin.create_topics([NewTopic(scratch, 8, 1)])
    await admin.close()
    consumer = AIOKafkaConsumer(topics.DIFFICULTY_RECEIVED, bootstrap_servers=bootstrap,
                                group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=max_records)
    producer = services_producer(bootstrap)
    await consumer.start()
    await producer.start()
    done = 0
    started: float | None = None
    cpu_started = 0.0
    idle_since = time.monotonic()
    try:
        while done < n if n is not None else time.monotonic() - idle_since < IDLE_S:
            batch = await consumer.getmany(timeout_ms=1000, max_records=max_records)
            if batch:
                idle_since = time.monotonic()
            futs = []
            for records in batch.values():
                for rec in records:
                    if started is None:
                        started = time.perf_counter()
                        cpu_started = time.process_time()
                    body = json.loads(rec.value)
                    for copy in range(fanout):
                        body["assigned"] = copy
                        futs.append(await producer.send(scratch, json.dumps(body).encode(),
                                                        key=rec.key, headers=list(rec.headers)))
            await asyncio.gather(*futs)
            await consumer.commit()
            done += sum(len(r) for r in batch.values())
        if started is None or not done:
            return float("nan"), float("nan")
        return (done / (time.perf_counter() - started),
                (time.process_time() - cpu_started) * 1000 / done)
    finally:
        await consumer.stop()
        await producer.stop()


IDLE_S = 5.0
PROCESSES = 2  # the scaled figures: processes in one consumer group, on each side


async def watch_group(bootstrap: str, group: str, topic: str, n_total: int,
                      timeout: float, pid: int | None = None
                      ) -> tuple[float, list[tuple[float, int, float]]]:
    """Sample the group's committed offsets (and the CPU time of process `pid`); returns
    the steady-state rate (10%→90%) and the samples (time, committed, cpu seconds)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                              enable_auto_commit=False)
    await reader.start()
    parts = list((await _end_offsets(bootstrap, topic)).keys())
    samples: list[tuple[float, int, float]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            c = await _committed(reader, parts)
            samples.append((time.perf_counter(), c,
                            cpu_seconds(pid) if pid is not None else float("nan")))
            if c >= n_total:
                break
            await asyncio.sleep(0.1)
    finally:
        await reader.stop()
    return steady_rate(samples, n_total), samples


def _steady(samples: list[tuple[float, int, float]], n_total: int
            ) -> tuple[tuple[float, int, float], tuple[float, int, float]] | None:
    lo = next((s for s in samples if s[1] >= 0.1 * n_total), None)
    hi = next((s for s in samples if s[1] >= 0.9 * n_total), None)
    if lo is None or hi is None or hi[0] <= lo[0]:
        return None
    return lo, hi


def steady_rate(samples: list[tuple[float, int, float]], n_total: int) -> float:
    span = _steady(samples, n_total)
    if span is None:
        return float("nan")
    lo, hi = span
    return (hi[1] - lo[1]) / (hi[0] - lo[0])


def steady_cpu_ms(samples: list[tuple[float, int, float]], n_total: int) -> float:
    """CPU milliseconds per message over the same 10%→90% span."""
    span = _steady(samples, n_total)
    if span is None:
        return float("nan")
    lo, hi = span
    return (hi[2] - lo[2]) * 1000 / (hi[1] - lo[1])


def run(inf: Infra, n: int, *, max_records: int | None = None) -> dict[str, Any]:
    """`max_records`: the router's batch size, if not its default (a small run needs
    small batches for its 10% and 90% marks to fall on different commits)."""
    env = _router_env(max_records)
    ids = asyncio.run(produce_received(inf.bootstrap, n))
    assert len(ids) == n
    # The topic is fresh, so it holds exactly what was produced. Not the sum of its end
    # offsets: Tansu 0.6 answers ListOffsets(latest) with the base offset of a partition's
    # last record batch, short of its true end (checked against the produce acks).
    total = n
    batch = max_records or 1000
    bare, bare_cpu = asyncio.run(bare_loop(inf.bootstrap, total, max_records=batch))
    fanout = router_fanout(n)
    bare_fanout, bare_fanout_cpu = asyncio.run(bare_loop(
        inf.bootstrap, total, fanout=round(fanout), group="bench-bare-fanout",
        max_records=batch))
    db = asyncio.run(fresh_database(inf.database_url))
    # Watched from its launch: it starts consuming before it reports ready, and a small
    # run could be half done by then.
    router = launch_service("router", inf, db, env=env)
    try:
        rate, samples = asyncio.run(
            watch_group(inf.bootstrap, "thaogo-router", topics.DIFFICULTY_RECEIVED, total,
                        timeout=max(120.0, n / 500), pid=router.proc.pid)
        )
        rss = peak_rss_mb(router.proc.pid)
    finally:
        router.stop()
    complete = samples[-1][1] if samples else 0
    cpu = steady_cpu_ms(samples, total)
    bare_x, router_x = scaled(inf, total, max_records)
    return {
        "difficulties": n,
        "bare_loop_msgs_per_s": round(bare),
        "router_difficulties_per_s": round(rate) if rate == rate else None,
        "ratio": round(rate / bare, 3) if rate == rate else None,
        "router_messages_out_per_difficulty": round(fanout, 2),
        "bare_loop_same_fanout_msgs_per_s": round(bare_fanout),
        "ratio_same_fanout": round(rate / bare_fanout, 3) if rate == rate else None,
        "router_committed": complete,
        "router_cpu_ms_per_difficulty": round(cpu, 3) if cpu == cpu else None,
        "bare_loop_cpu_ms_per_msg": round(bare_cpu, 3),
        "bare_loop_same_fanout_cpu_ms_per_input": round(bare_fanout_cpu, 3),
        "router_peak_rss_mb": rss,
        "processes": PROCESSES,
        "bare_loop_processes_msgs_per_s": _rounded(bare_x),
        "router_processes_difficulties_per_s": _rounded(router_x),
    }


def _router_env(max_records: int | None) -> dict[str, str]:
    return {"THAOGO_ROUTER_MAX_RECORDS": str(max_records)} if max_records else {}


def _rounded(x: float) -> int | None:
    return round(x) if x == x else None


def scaled(inf: Infra, total: int, max_records: int | None) -> tuple[float, float]:
    """The same two loops as `PROCESSES` processes each in one consumer group, started
    together: the bare loop's rate and the router's, compared with each other (never
    the scaled router with a single bare loop). Each is measured from the 10% to the
    90% mark of its group's commits, rebalancing included."""
    env = _router_env(max_records)
    bare_x = _group_rate(inf, "bench-bare-x", total, [
        start_process(["-m", "bench.router", "bare", inf.bootstrap, "bench-bare-x",
                       str(max_records or 1000)], f"bare-{i}")[0] for i in range(PROCESSES)])
    db = asyncio.run(fresh_database(inf.database_url))
    router_x = _group_rate(inf, "router-x", total, [
        launch_service("router", inf, db, env={**env, "THAOGO_ROUTER_GROUP_ID": "router-x"}
                       ).proc for _ in range(PROCESSES)])
    return bare_x, router_x


def _group_rate(inf: Infra, group: str, total: int,
                procs: list[subprocess.Popen[bytes]]) -> float:
    """The steady rate of a consumer group's commits, then its processes stopped."""
    try:
        rate, _ = asyncio.run(watch_group(inf.bootstrap, group, topics.DIFFICULTY_RECEIVED,
                                          total, timeout=max(120.0, total / 500)))
    finally:
        terminate(procs)
    return rate


if __name__ == "__main__":
    # `python -m bench.router bare BOOTSTRAP GROUP MAX_RECORDS`: one process of the
    # scaled bare loop.
    import sys

    if sys.argv[1:2] == ["bare"]:
        asyncio.run(bare_loop(sys.argv[2], None, group=sys.argv[3],
                              max_records=int(sys.argv[4])))
