"""The long run (#24 item 4): `python -m bench.long --minutes 60 --rate 50`.

The four services on a fresh broker and database, intake, reporting and notify on a
fast clock (bench/clocked.py: `--speed` simulated seconds a real second, from a
Thursday noon, so that the weekly reminders, Friday's cutoff and deadline reminders
fall inside the run); a steady open-loop offer of `--rate` difficulties a second; the
lead agencies acknowledge each new task a moment after it reaches their topic and
resolve most of them later (the rest stay open, for reminders). Every `--sample` seconds,
every service's resident memory and every consumer's lag (the services' gauge). At the
end, once the agencies are done, the consistency checker (thaogo/verify.py). The verdict
goes to bench/results/long.json:

- RSS flat: no service grows more than 10% from the end of the warm-up (the first
  fifth of the run, at least 2 minutes) to its peak after it;
- lag bounded: no consumer's peak lag in the last third exceeds twice its peak in the
  middle third plus one second of input (a backlog that grows with time fails);
- the checker at 0 differences.

It is a benchmark, not a test: nothing runs it in the suite (its HTTP client is tested,
tests/bench/test_client.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from bench import common, stack
from bench.client import Answer, Client, NoAnswer
from shared import auth
from shared.calendar import TZ
from shared.provinces import ConfigHolder
from thaogo import verify

RESULTS = Path(__file__).with_name("results")
RESOLUTION = {
    "outcome": "resolved",
    "done": "Làm việc với doanh nghiệp và các sở liên quan; đã tháo gỡ.",
    "legal_basis": "Công văn 123/UBND-KT",
    "public_answer": "Vướng mắc của doanh nghiệp đã được giải quyết.",
    # The co-handlers do not move their parts in this run: the lead closes without them.
    "waive_open_parts_reason": "Cơ quan chủ trì đã giải quyết xong.",
}
RESOLUTION_BODY = json.dumps(RESOLUTION).encode()
ACKNOWLEDGED = json.dumps({"step": "acknowledged"}).encode()
RESOLVED_SHARE = 0.7  # the rest stay open: their deadlines bring reminders
# What the long run measures is memory, lag and consistency, not latency: the offer and
# the agencies keep few requests in flight, so that a slow moment (the machine is shared)
# queues in the bench, not as thousands of requests inside intake waiting for its
# database pool (20), behind which its assignments consumer then waits too.
OFFER_IN_FLIGHT = 24
AGENCIES_IN_FLIGHT = 24


def thursday_noon(now: datetime) -> datetime:
    local = now.astimezone(TZ)
    d = local.date() + timedelta(days=(3 - local.weekday()) % 7)
    return datetime(d.year, d.month, d.day, 12, 0, tzinfo=TZ)


class Agencies:
    """The lead agencies at work: acknowledge each new lead task after `ack_s` (real
    seconds, random up to), resolve `RESOLVED_SHARE` of them `resolve_s` later."""

    def __init__(self, st: stack.Stack, *, ack_s: float = 3.0, resolve_s: float = 30.0,
                 seed: int = 7) -> None:
        self.st = st
        self.ack_s, self.resolve_s = ack_s, resolve_s
        self.rng = random.Random(seed)
        self.tokens: dict[str, dict[str, str]] = {}
        self.pending: set[asyncio.Task[None]] = set()
        self.counts = {"acknowledged": 0, "resolved": 0, "refused": 0, "unfinished": 0}
        self.refusals: dict[str, int] = {}
        self._issuing = asyncio.Lock()
        self._clerks = asyncio.Semaphore(AGENCIES_IN_FLIGHT)
        self.configs = ConfigHolder().current

    async def header(self, agency_id: str) -> dict[str, str]:
        async with self._issuing:  # one token an agency, however many tasks arrive at once
            if agency_id not in self.tokens:
                _, secret = await auth.create(self.st.database_url,
                                              configs=self.configs,
                                              kind=auth.TokenKind.AGENCY, subject_id=agency_id)
                self.tokens[agency_id] = {"Authorization": f"Bearer {secret}"}
        return self.tokens[agency_id]

    async def work(self, client: Client, did: str, agency_id: str) -> None:
        base = f"/v1/difficulties/{did}"
        h = await self.header(agency_id)
        try:
            await asyncio.sleep(self.rng.uniform(0, self.ack_s))
            async with self._clerks:
                r = await client.post(base + "/steps", ACKNOWLEDGED, h)
            self._count(r, "acknowledged")
            if self.rng.random() < RESOLVED_SHARE:
                await asyncio.sleep(self.rng.uniform(0, self.resolve_s))
                async with self._clerks:
                    r = await client.post(base + "/resolution", RESOLUTION_BODY, h)
                self._count(r, "resolved")
        except NoAnswer as e:
            # Counted, not raised: a connection intake closed, say.
            self.counts["refused"] += 1
            key = f"no answer ({type(e.__cause__).__name__})"
            self.refusals[key] = self.refusals.get(key, 0) + 1

    def _count(self, r: Answer, what: str) -> None:
        if r.status == 202:
            self.counts[what] += 1
        else:
            self.counts["refused"] += 1
            key = f"{what} {r.status}"
            self.refusals[key] = self.refusals.get(key, 0) + 1

    async def prepare(self) -> None:
        """The lead agencies' tokens, before the offer begins."""
        for agency_id in stack.lead_agencies():
            await self.header(agency_id)

    async def run(self, stop: asyncio.Event, ready: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(*stack.lead_topics(), bootstrap_servers=self.st.inf.bootstrap,
                                    group_id=None, auto_offset_reset="latest")
        await consumer.start()
        await consumer.getmany(timeout_ms=500)
        ready.set()
        try:
            async with Client(self.st.url("intake")) as client:
                while not stop.is_set():
                    batch = await consumer.getmany(timeout_ms=500)
                    for records in batch.values():
                        for rec in records:
                            assert rec.value is not None
                            a = json.loads(rec.value)["assignment"]
                            if a["role"] != "lead":
                                continue
                            t = asyncio.create_task(self.work(client, a["difficulty_id"],
                                                              a["agency_id"]))
                            self.pending.add(t)
                            t.add_done_callback(self.pending.discard)
                # The work begun finishes, within what it takes unhurried and a minute
                # more; what is left then (agencies far behind) is counted, not awaited.
                if self.pending:
                    _, late = await asyncio.wait(set(self.pending),
                                                 timeout=self.ack_s + self.resolve_s + 60)
                    self.counts["unfinished"] = len(late)
                    for t in late:
                        t.cancel()
                    await asyncio.gather(*late, return_exceptions=True)
        finally:
            await consumer.stop()


async def offer(intake_url: str, rate: float, seconds: float) -> dict[str, Any]:
    """`rate` a second for `seconds` (bench/stack.py's `paced_open_loop`), at most
    `OFFER_IN_FLIGHT` awaiting their answer: a send held back shows as lateness, and
    the offer ends on time however far behind it fell."""
    answers: dict[str, int] = {}
    lateness: list[float] = []
    async with Client(intake_url) as client:
        async def send(i: int, _due: float) -> None:
            try:
                r = await client.post("/v1/difficulties",
                                      json.dumps(common.submission(i)).encode())
                key = str(r.status)
            except NoAnswer:
                key = "no answer"
            answers[key] = answers.get(key, 0) + 1

        count, achieved = await stack.paced_open_loop(
            int(rate * seconds), rate, send, lateness, max_in_flight=OFFER_IN_FLIGHT,
            seconds=seconds)
        connections = client.opened
    return {"asked": int(rate * seconds), "offered": count,
            "offered_per_s": round(achieved, 2), "accepted": answers.get("202", 0),
            "refused": sum(v for k, v in answers.items() if k != "202"), "answers": answers,
            "connections_opened": connections, "lateness_ms": common.latency_ms(lateness)}


async def notices(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r["kind"]: r["n"] for r in await conn.fetch(
            "SELECT kind, count(*) AS n FROM notify.messages GROUP BY kind ORDER BY kind")}
    finally:
        await conn.close()


def verdict(samples: list[dict[str, Any]], minutes: float, rate: float) -> dict[str, Any]:
    warm = max(120.0, minutes * 60 / 5)
    after = [s for s in samples if s["t"] >= warm]
    rss: dict[str, dict[str, float]] = {}
    for name in stack.SERVICES:
        series = [s["rss_mb"][name] for s in after if s["rss_mb"].get(name)]
        if series:
            rss[name] = {"at_warm_up_mb": series[0], "peak_after_mb": max(series),
                         "last_mb": series[-1], "growth": round(max(series) / series[0] - 1, 4)}
    end = max((s["t"] for s in samples), default=0.0)
    third = (end - warm) / 3
    middle = [s for s in after if s["t"] < warm + 2 * third and s["t"] >= warm + third]
    last = [s for s in after if s["t"] >= warm + 2 * third]

    def peak(part: list[dict[str, Any]]) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in part:
            for g, v in s["lag"].items():
                out[g] = max(out.get(g, 0.0), v)
        return out

    mid, fin = peak(middle), peak(last)
    # One second of input: what the busiest group (notify's, of the tasks) gets a second.
    slack = rate * 6
    growing = {g: {"middle": mid.get(g, 0.0), "last": v} for g, v in fin.items()
               if v > 2 * mid.get(g, 0.0) + slack}
    return {"warm_up_s": warm, "rss": rss,
            "rss_flat": bool(rss) and all(r["growth"] <= 0.10 for r in rss.values()),
            "lag_peak_middle_third": mid, "lag_peak_last_third": fin,
            "lag_bounded": not growing, "lag_growing": growing}


async def drive(st: stack.Stack, minutes: float, rate: float, sample_s: float
                ) -> dict[str, Any]:
    stop = asyncio.Event()
    agencies = Agencies(st)
    await agencies.prepare()
    ready = asyncio.Event()
    worker = asyncio.create_task(agencies.run(stop, ready))
    await ready.wait()
    samples: list[dict[str, Any]] = []
    t0, cpu0 = time.monotonic(), time.process_time()
    pids = st.pids()

    async def sample() -> None:
        with httpx.Client(timeout=5) as client:
            watch = stack.LagWatch(st)
            while True:
                lag = await asyncio.to_thread(watch.sample, client)
                samples.append({"t": round(time.monotonic() - t0, 1),
                                "rss_mb": {n: common.rss_mb(p) for n, p in pids.items()},
                                # The bench process's own CPU so far (offer and agencies).
                                "generator_cpu_s": round(time.process_time() - cpu0, 2),
                                "lag": lag, "load_average": os.getloadavg()[0]})
                print(f"  {samples[-1]['t']:>7.0f} s  rss "
                      + " ".join(f"{n} {v:.0f}" for n, v in samples[-1]["rss_mb"].items() if v)
                      + f"  lag max {max(lag.values(), default=0):.0f}"
                      + f"  {agencies.counts}", flush=True)
                await asyncio.sleep(sample_s)

    sampler = asyncio.create_task(sample())
    try:
        offered = await offer(st.url("intake"), rate, minutes * 60)
        # Let the last tasks reach the agencies, then let them finish their work.
        await asyncio.sleep(5)
        stop.set()
        await worker
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    seconds = time.monotonic() - t0
    generator = {"cpu_s": round(time.process_time() - cpu0, 1), "over_s": round(seconds, 1),
                 "cpu_share_of_machine": round((time.process_time() - cpu0)
                                               / (seconds * (os.cpu_count() or 1)), 4)}
    return {"offer": offered, "agencies": {**agencies.counts, "refusals": agencies.refusals},
            "generator": generator, "samples": samples, "seconds": round(seconds, 1)}


def run(minutes: float, rate: float, speed: float, sample_s: float) -> dict[str, Any]:
    start = thursday_noon(datetime.now(UTC))
    # One reference instant for every service's clock: each maps the wall clock from it.
    clock = (start, speed, time.time() + 30)
    with common.infra() as inf, stack.stack(inf, clock=clock) as st:
        out = asyncio.run(drive(st, minutes, rate, sample_s))
        simulated_end = start + timedelta(seconds=(time.time() - clock[2]) * speed)
        report = asyncio.run(verify.verify(inf.bootstrap, st.database_url,
                                           ConfigHolder().current, settle_timeout=300))
        queued = asyncio.run(notices(st.database_url))
        final_rss = {n: common.rss_mb(p) for n, p in st.pids().items()}
    v = verdict(out["samples"], minutes, rate)
    differences = len(report.differences)
    v.update(checker_differences=differences, checker_unchecked=report.unchecked,
             checker_compared=dict(report.compared))
    v["flat"] = v["rss_flat"] and v["lag_bounded"] and differences == 0 and not report.unchecked
    return {
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": common.machine(),
        "minutes": minutes, "rate_per_s": rate,
        "clock": {"start": start.isoformat(), "speed": speed,
                  "simulated_end": simulated_end.isoformat()},
        "verdict": v,
        "offer": out["offer"], "agencies": out["agencies"], "generator": out["generator"],
        "notices_queued": queued,
        "final_rss_mb": final_rss,
        "differences_first": [str(d) for d in report.differences[:20]],
        "samples": out["samples"],
    }


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.long")
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--speed", type=float, default=None,
                   help="simulated seconds a real second (default: the run spans 3 days)")
    p.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    p.add_argument("--out", type=Path, default=RESULTS / "long.json")
    args = p.parse_args()
    speed = args.speed or 3 * 86400 / (args.minutes * 60)
    result = run(args.minutes, args.rate, speed, args.sample)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    v = result["verdict"]
    print(json.dumps({k: v[k] for k in ("flat", "rss_flat", "lag_bounded",
                                        "checker_differences", "rss")}, indent=1))


if __name__ == "__main__":
    main()
