"""What the fault tests share: the four services wired to local receivers only, a load
of difficulties sent by concurrent clients and by bulk CSV imports, and the count of
what became of each.

Every submission and every import carries an Idempotency-Key and is retried until intake
answers it (as a careful client would through an outage), so the set of accepted ids is
exact: anything downstream that is missing was lost, anything extra or doubled is a bug.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import io
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import auth, topics
from shared.calendar import week_window
from shared.provinces import ConfigHolder
from tests.conftest import REPO, ServiceProcess, Stack, stack_env, wait_until
from thaogo.demo import tax_code
from thaogo.embedded import free_port

SERVICES = ("intake", "router", "reporting", "notify")
# Zone types spread the load over several agencies (and their topics).
ZONES: tuple[tuple[str, str | None], ...] = (
    ("KCN", "KCN VSIP II"), ("KKT", None), ("CCN", None), ("NONE", None))
LEAD_ROLES = ["lead", "triage"]


def submission(n: int) -> dict[str, Any]:
    zone_type, zone_name = ZONES[n % len(ZONES)]
    return {
        "tax_code": tax_code(5000 + n),
        "enterprise_name": f"Công ty TNHH Thử nghiệm {n}",
        "province": "Bình Dương",
        "zone_type": zone_type,
        "zone_name": zone_name,
        "category": "raw_materials",
        "kind": "difficulty",
        "title": f"Thiếu nguyên liệu sản xuất số {n}",
        "description": "Nguyên liệu nhập khẩu bị chậm, đề nghị hỗ trợ.",
        "urgency": "normal",
        "contact": {"name": "Nguyễn Văn A", "phone": "0912345678", "email": "a@example.vn"},
    }


def local_config(folder: Path, dead_port: int) -> tuple[Path, dict[str, str]]:
    """The shipped province files with every webhook pointed at a local port nobody
    listens on, so that notify's deliveries stay on this machine (they fail and are
    retried); returns the folder and a value for each webhook secret they name."""
    folder.mkdir(parents=True, exist_ok=True)
    secrets: dict[str, str] = {}
    for src in sorted((REPO / "shared" / "data" / "provinces").glob("*.yaml")):
        text = re.sub(r"https?://[^\s\"',}]+", f"http://127.0.0.1:{dead_port}/hook",
                      src.read_text(encoding="utf-8"))
        secrets.update({name: "fault-test-secret"
                        for name in re.findall(r"secret_env:\s*(\w+)", text)})
        (folder / src.name).write_text(text, encoding="utf-8")
    return folder, secrets


def service_stack(
    bootstrap: str, database_url: str, tmp_path: Path, *, smtp_port: int, **extra: str
) -> Stack:
    """The four services as processes, every outside channel on this machine."""
    ports = {n: free_port() for n in SERVICES}
    dead = free_port()
    config_dir, secrets = local_config(tmp_path / "provinces", dead)
    env = stack_env(
        bootstrap, database_url,
        THAOGO_CONFIG_DIR=str(config_dir),
        THAOGO_ROUTER_INTAKE_PUBLIC_URL=f"http://127.0.0.1:{ports['intake']}",
        # The load comes from one address; the limiter is tested elsewhere.
        THAOGO_INTAKE_RATE_LIMIT_ENABLED="false",
        THAOGO_NOTIFY_SMTP_HOST="127.0.0.1", THAOGO_NOTIFY_SMTP_PORT=str(smtp_port),
        THAOGO_NOTIFY_SMTP_STARTTLS="false",
        THAOGO_NOTIFY_ZALO_API_URL=f"http://127.0.0.1:{dead}/zalo",
        THAOGO_NOTIFY_ZALO_ACCESS_TOKEN="fault-test-token",
        # A killed dispatcher's claimed messages come back within the test, not in 2 min.
        THAOGO_NOTIFY_LEASE_S="10",
        **secrets, **extra,
    )
    return Stack({n: ServiceProcess(n, p, env, tmp_path / f"{n}.log") for n, p in ports.items()})


async def operator_token(database_url: str) -> str:
    """A token for an operator: reports and bulk imports are not for anonymous callers."""
    _, token = await auth.create(database_url, configs=ConfigHolder().current,
                                 kind=auth.TokenKind.OPERATOR, subject_id="fault-tests")
    return token


# The CSV columns of an import file, by the API's field names.
IMPORT_COLUMNS = ("tax_code", "enterprise_name", "province", "zone_type", "zone_name",
                  "category", "kind", "title", "description", "urgency", "contact.name",
                  "contact.phone", "contact.email")


def import_file(numbers: range) -> bytes:
    """The submissions numbered `numbers` as one CSV file, as a task force uploads it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(IMPORT_COLUMNS)
    for n in numbers:
        s = submission(n)
        writer.writerow([s["contact"][c.removeprefix("contact.")] if c.startswith("contact.")
                         else s[c] or "" for c in IMPORT_COLUMNS])
    return out.getvalue().encode()


@dataclass
class Imports:
    """`files` CSV imports of `rows` rows each, numbered on from `first`; a test sends
    each when it wants it (`send(i)`), so that the flow is ongoing when a fault strikes.
    Every row of every file must be accepted: they are all valid submissions."""

    url: str
    token: str
    files: int
    rows: int
    first: int
    give_up_s: float = 240.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    accepted: dict[int, str] = field(default_factory=dict)
    answers: collections.Counter[str] = field(default_factory=collections.Counter)
    failed: list[str] = field(default_factory=list)
    # Per file, set once its request has gone out: a fault can then strike it in flight.
    posted: dict[int, asyncio.Event] = field(default_factory=dict)
    attempts: collections.Counter[int] = field(default_factory=collections.Counter)
    seconds: dict[int, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.files * self.rows

    @property
    def ids(self) -> set[str]:
        return set(self.accepted.values())

    def numbers(self, i: int) -> range:
        start = self.first + i * self.rows
        return range(start, start + self.rows)

    async def send(self, i: int) -> None:
        """File `i`, sent again under the same Idempotency-Key until intake answers it:
        a retry after a lost answer gets the first answer back, never a second import."""
        data, key = import_file(self.numbers(i)), f"fault-import-{self.run_id}-{i}"
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key,
                   "Content-Type": "text/csv; charset=utf-8", "Accept-Language": "en"}
        posted = self.posted.setdefault(i, asyncio.Event())
        started = time.monotonic()
        deadline = started + self.give_up_s
        # One connection per attempt: a killed intake leaves no stale one behind.
        while time.monotonic() < deadline:
            self.attempts[i] += 1
            try:
                async with httpx.AsyncClient(base_url=self.url, timeout=180) as client:
                    request = client.build_request("POST", "/v1/difficulties/import",
                                                   content=data, headers=headers)
                    posted.set()
                    r = await client.send(request)
            except httpx.TransportError as e:
                self.answers[f"no answer ({type(e).__name__})"] += 1
                await asyncio.sleep(0.5)
                continue
            self.answers[str(r.status_code)] += 1
            if r.status_code == 200:
                self._take(i, r.json())
                self.seconds[i] = time.monotonic() - started
                return
            if r.status_code < 500 and r.status_code != 429:
                self.failed.append(f"file {i}: {r.status_code} {r.text[:300]}")
                return
            await asyncio.sleep(0.5)
        self.failed.append(f"file {i}: gave up after {self.give_up_s}s")

    def _take(self, i: int, answer: dict[str, Any]) -> None:
        numbers = self.numbers(i)
        rows = answer["rows"]
        if len(rows) != len(numbers):
            self.failed.append(f"file {i}: {len(rows)} rows answered of {len(numbers)}")
        for row in rows:
            if not row["accepted"]:
                self.failed.append(f"file {i} row {row['row']}: {row['errors']}")
                continue
            # The header is row 1: row r is the file's (r - 2)th submission.
            self.accepted[numbers[row["row"] - 2]] = row["difficulty_id"]

    def summary(self) -> str:
        took = ", ".join(f"{self.seconds[i]:.0f}" for i in sorted(self.seconds))
        tries = ", ".join(str(self.attempts[i]) for i in sorted(self.attempts))
        return (f"{self.files} x {self.rows} rows; answers {dict(self.answers)}; "
                f"attempts per file {tries}; seconds to answered {took}")


@dataclass
class Load:
    """`total` submissions from `concurrency` clients, at most `rate` a second overall."""

    url: str
    total: int
    concurrency: int = 24
    rate: float | None = None
    give_up_s: float = 120.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    accepted: dict[int, str] = field(default_factory=dict)
    answers: collections.Counter[str] = field(default_factory=collections.Counter)
    retry_after: collections.Counter[str] = field(default_factory=collections.Counter)
    failed: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    _next: int = 0

    @property
    def ids(self) -> set[str]:
        return set(self.accepted.values())

    @property
    def flowing(self) -> bool:
        return len(self.accepted) < self.total

    def stop(self) -> None:
        """No new submissions; those already handed to a client are seen through."""
        self.total = min(self.total, self._next)

    @property
    def rate_achieved(self) -> float:
        return len(self.accepted) / max(1e-9, (self.finished or time.monotonic()) - self.started)

    async def run(self) -> None:
        self.started = time.monotonic()
        limits = httpx.Limits(max_connections=self.concurrency,
                              max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=30) as client:
            await asyncio.gather(*(self._worker(client) for _ in range(self.concurrency)))
        self.finished = time.monotonic()

    async def _worker(self, client: httpx.AsyncClient) -> None:
        while self._next < self.total:
            n, self._next = self._next, self._next + 1
            if self.rate:
                # Pacing the offered load, not waiting for an outcome.
                await asyncio.sleep(max(0.0, self.started + n / self.rate - time.monotonic()))
            await self._submit(client, n)

    async def _submit(self, client: httpx.AsyncClient, n: int) -> None:
        body, key = submission(n), f"fault-{self.run_id}-{n}"
        deadline = time.monotonic() + self.give_up_s
        while time.monotonic() < deadline:
            try:
                r = await client.post("/v1/difficulties", json=body,
                                      headers={"Idempotency-Key": key})
            except httpx.TransportError as e:
                self.answers[f"no answer ({type(e).__name__})"] += 1
                await asyncio.sleep(0.2)
                continue
            self.answers[str(r.status_code)] += 1
            if r.status_code == 202:
                self.accepted[n] = r.json()["difficulty_id"]
                return
            if r.status_code < 500 and r.status_code != 429:
                self.failed.append(f"{n}: {r.status_code} {r.text[:200]}")
                return
            if "retry-after" in r.headers:
                self.retry_after[str(r.status_code)] += 1
            await asyncio.sleep(0.2)
        self.failed.append(f"{n}: gave up after {self.give_up_s}s")


async def metric(url: str, name: str) -> float | None:
    """One unlabelled sample from a service's /metrics, or None if it does not answer."""
    try:
        async with httpx.AsyncClient() as client:
            text = (await client.get(url + "/metrics", timeout=2)).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


# --- counting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    headers: dict[str, bytes]


async def stage_counts(conn: asyncpg.Connection, ids: list[str]) -> dict[str, int]:
    """How many of `ids` each stage holds, and the outbox rows not yet published."""
    q = {
        "outbox_unsent": "SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL",
        "router": "SELECT count(DISTINCT difficulty_id) FROM router.assignments"
                  " WHERE difficulty_id = ANY($1::uuid[]) AND role = ANY($2::text[])",
        "reporting": "SELECT count(DISTINCT difficulty_id) FROM reporting.assignments"
                     " WHERE difficulty_id = ANY($1::uuid[]) AND role = ANY($2::text[])",
        "notify": "SELECT count(DISTINCT difficulty_id) FROM notify.messages"
                  " WHERE difficulty_id = ANY($1::uuid[]) AND kind = 'assignment'",
    }
    got = {}
    for name, sql in q.items():
        args = () if "$1" not in sql else (ids, LEAD_ROLES) if "$2" in sql else (ids,)
        got[name] = int(await conn.fetchval(sql, *args))
    return got


async def wait_settled(database_url: str, ids: set[str], timeout: float) -> None:
    """Until the outbox is empty and router, reporting and notify hold every id."""
    conn = await asyncpg.connect(database_url)
    last: dict[str, int] = {}
    try:
        async def check() -> bool:
            last.update(await stage_counts(conn, sorted(ids)))
            return last["outbox_unsent"] == 0 and all(
                last[k] == len(ids) for k in ("router", "reporting", "notify"))

        await wait_until(check, timeout=timeout, interval=0.5)
    except AssertionError as e:
        raise AssertionError(f"not settled in {timeout}s: {last} of {len(ids)}") from e
    finally:
        await conn.close()


async def read_topics(bootstrap: str, names: list[str]) -> list[Record]:
    """Every record now on `names`, from the beginning to the end offsets of this moment."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                group_id=None, max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    out: list[Record] = []
    try:
        parts = [TopicPartition(t, p) for t in names
                 for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not parts:
            await consumer.force_metadata_update()
            parts = [TopicPartition(t, p) for t in names
                     for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)

        async def drained() -> bool:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batch.values():
                out.extend(Record(r.topic, r.key or b"", r.value or b"", dict(r.headers))
                           for r in records)
            return all([await consumer.position(tp) >= ends[tp] for tp in parts])

        # 20,000 difficulties make some 110,000 agency records.
        await wait_until(drained, timeout=180, interval=0)
    finally:
        await consumer.stop()
    return out


async def topic_names(bootstrap: str) -> list[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        return sorted(await consumer.topics())
    finally:
        await consumer.stop()


@dataclass
class Count:
    """Per stage: how many accepted difficulties it holds, and which effects doubled."""

    accepted: int
    stages: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    dead_lettered: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def lost(self) -> dict[str, int]:
        return {k: self.accepted - v for k, v in self.stages.items() if v != self.accepted}

    def table(self, title: str) -> str:
        lines = [f"== {title}: accepted {self.accepted}, lost {sum(self.lost.values())}, "
                 f"duplicated effects {sum(self.duplicated.values())}, "
                 f"extra {sum(self.extra.values())}"]
        for stage, n in self.stages.items():
            lines.append(f"   {stage:<42} delivered {n:>6}  lost {self.accepted - n:>6}  "
                         f"duplicated {self.duplicated.get(stage, 0):>6}  "
                         f"extra {self.extra.get(stage, 0):>6}")
        lines.append(f"   dead-lettered: {dict(self.dead_lettered) or 0}")
        lines += [f"   {k}: {v}" for k, v in self.info.items()]
        return "\n".join(lines)

    def problems(self) -> list[str]:
        return ([f"lost at {k}: {v}" for k, v in self.lost.items()]
                + [f"duplicated at {k}: {v}" for k, v in self.duplicated.items() if v]
                + [f"never accepted, yet at {k}: {v}" for k, v in self.extra.items() if v]
                + [f"dead-lettered on {k}: {v}" for k, v in self.dead_lettered.items()])


def _over_one(counter: collections.Counter[str]) -> int:
    return sum(1 for n in counter.values() if n > 1)


async def count(
    database_url: str, bootstrap: str, ids: set[str], *, smtp_message_ids: list[str],
    report_url: str | None = None, since: datetime | None = None,
) -> Count:
    c = Count(accepted=len(ids))

    # difficulty.received.v1: every accepted id, one event each (redeliveries by the
    # outbox carry the same event id and are only counted, not failed).
    received = await read_topics(bootstrap, [topics.DIFFICULTY_RECEIVED])
    events_of: dict[str, set[str]] = collections.defaultdict(set)
    for rec in received:
        events_of[json.loads(rec.value)["difficulty_id"]].add(rec.headers["ce_id"].decode())
    c.stages["topic difficulty.received.v1"] = len(ids & events_of.keys())
    c.duplicated["topic difficulty.received.v1"] = sum(
        1 for d in ids if len(events_of.get(d, ())) > 1)
    c.extra["topic difficulty.received.v1"] = len(events_of.keys() - ids)
    c.info["received records / distinct events"] = (
        f"{len(received)} / {sum(len(v) for v in events_of.values())}")

    # The agency topics: each difficulty's lead (or triage) task, under one assignment.
    names = await topic_names(bootstrap)
    tasks = await read_topics(bootstrap, [t for t in names if t.startswith("agency.")
                                          and not t.endswith(".dlq")])
    leads: dict[str, set[str]] = collections.defaultdict(set)
    for rec in tasks:
        a = json.loads(rec.value)["assignment"]
        if a["role"] in LEAD_ROLES:
            leads[a["difficulty_id"]].add(a["assignment_id"])
    c.stages["agency topics (lead/triage task)"] = len(ids & leads.keys())
    c.duplicated["agency topics (lead/triage task)"] = sum(
        1 for d in ids if len(leads.get(d, ())) > 1)
    c.extra["agency topics (lead/triage task)"] = len(leads.keys() - ids)
    c.info["agency task records"] = len(tasks)

    # Nothing here is bad data: a dead-lettered record is an outage taken for a poison
    # message, and lost to every consumer that reads the topic it came from.
    dead = await read_topics(bootstrap, [t for t in names if t.endswith(".dlq")])
    c.dead_lettered = collections.Counter(r.topic for r in dead)
    reasons = collections.Counter(
        f"{r.headers.get('x-dlq-consumer-group', b'?').decode()}: "
        f"{r.headers.get('x-dlq-reason', b'?').decode()[:300]}" for r in dead)
    if reasons:
        c.info["dead-letter reasons"] = dict(reasons)

    conn = await asyncpg.connect(database_url)
    try:
        async def per_difficulty(stage: str, sql: str, *args: Any) -> None:
            rows = await conn.fetch(sql, *args)
            n = collections.Counter({str(r[0]): int(r[1]) for r in rows})
            c.stages[stage] = len(ids & n.keys())
            c.duplicated[stage] = _over_one(n)
            c.extra[stage] = len(n.keys() - ids)

        await per_difficulty(
            "intake.difficulties",
            "SELECT difficulty_id, count(*) FROM intake.difficulties GROUP BY 1")
        await per_difficulty(
            "router.assignments (lead/triage)",
            "SELECT difficulty_id, count(*) FROM router.assignments"
            " WHERE role = ANY($1::text[]) GROUP BY 1", LEAD_ROLES)
        await per_difficulty(
            "reporting.difficulties",
            "SELECT difficulty_id, count(*) FROM reporting.difficulties GROUP BY 1")
        await per_difficulty(
            "reporting.events (received)",
            "SELECT difficulty_id, count(*) FROM reporting.events"
            " WHERE topic = $1 GROUP BY 1", topics.DIFFICULTY_RECEIVED)
        await per_difficulty(
            "reporting.assignments (lead/triage)",
            "SELECT difficulty_id, count(*) FROM reporting.assignments"
            " WHERE role = ANY($1::text[]) GROUP BY 1", LEAD_ROLES)
        # notify keys its rows by assignment (a replay maps to the same key); what it
        # owes for each difficulty's lead assignment, and follows for deadlines.
        await per_difficulty(
            "notify.messages (lead assignment notice)",
            "SELECT r.difficulty_id, count(DISTINCT r.assignment_id) FROM notify.messages m"
            " JOIN router.assignments r ON r.assignment_id::text = split_part(m.message_key,"
            " ':', 2) WHERE m.kind = 'assignment' AND r.role = ANY($1::text[]) GROUP BY 1",
            LEAD_ROLES)
        await per_difficulty(
            "notify.assignments (lead followed)",
            "SELECT n.difficulty_id, count(*) FROM notify.assignments n JOIN router.assignments r"
            " USING (assignment_id) WHERE r.role = ANY($1::text[]) GROUP BY 1", LEAD_ROLES)
        # What notify sent: never two successful deliveries of one message.
        twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT message_key FROM notify.delivery_attempts"
            " WHERE outcome = 'sent' GROUP BY 1 HAVING count(*) > 1) AS t")
        c.duplicated["notify deliveries (sent twice)"] = int(twice)
        states = await conn.fetch("SELECT state, count(*) AS n FROM notify.messages GROUP BY 1")
        c.info["notify messages by state"] = {r["state"]: r["n"] for r in states}
        c.info["router processed events"] = await conn.fetchval(
            "SELECT count(*) FROM router.processed_events")
    finally:
        await conn.close()

    # What arrived at the mail server: a resend carries the same Message-ID.
    c.info["e-mails received / distinct Message-IDs"] = (
        f"{len(smtp_message_ids)} / {len(set(smtp_message_ids))}")

    if report_url is not None:
        # The week's report (a preview of the week in progress) counts each difficulty once.
        # Every submission is for Bình Dương: its total is ours alone in this database.
        # A run that spans Friday 12:00 is counted in both weeks.
        now = datetime.now(UTC)
        labels = sorted({week_window(since or now).label, week_window(now).label})
        reported = 0
        # Reports are for task-force members and operators: an operator's token for this.
        token = await operator_token(database_url)
        # The preview is composed on request over every difficulty of the run (20,000 in
        # the kill test): httpx's implicit 5 s is a wall-clock limit this count must not
        # set (it timed out once on a loaded machine); 60 s, as the harness's waits.
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                     timeout=60) as client:
            for label in labels:
                r = await client.get(f"{report_url}/v1/reports/binh-duong/{label}.json")
                assert r.status_code == 200, r.text
                total = next(row for row in r.json()["rows"] if row["dimension"] == "total")
                reported += int(total["received"])
        c.info[f"weekly report {'+'.join(labels)} total received"] = reported
        c.stages["weekly report total"] = min(reported, len(ids))
        c.duplicated["weekly report total"] = max(0, reported - len(ids))
    return c


async def start_all(stack: Stack) -> None:
    await stack.start(*SERVICES)
