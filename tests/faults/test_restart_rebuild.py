"""`thaogo up` survives a restart, and a crash of its broker alone: the embedded broker
keeps messages in memory only, so the topics are rebuilt from the databases (issue 26).

The real `thaogo up` (a process, with its embedded broker), on a PostgreSQL of the
test's own that outlives it. An agency system reads half of its topic and commits; the
stack is stopped (SIGTERM) and started again; then more difficulties, and the broker
alone is killed (kill -9). Each time the agency's consumer gets every task it had not
read, and at most those it had read again, under the same event ids; and the replay
creates nothing: no assignment, notify message, report or outbox row. Last,
`thaogo topics rebuild` does the same on an empty broker, and refuses a full one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.router.usecases import task_id
from shared import topics
from tests.conftest import REPO, stack_env, wait_until
from tests.faults.conftest import Mail
from tests.faults.harness import SERVICES, Load, local_config, read_topics, wait_settled
from thaogo.embedded import EmbeddedBroker, EmbeddedPostgres, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.faults,
              pytest.mark.timeout(300)]

AGENCY = "binh-duong.bql-kcn"
AGENCY_TOPIC = topics.agency_topic(AGENCY)
AGENCY_GROUP = "bql-kcn-system"  # the agency's own system, reading its topic
FIRST, MORE = 120, 40

# Every consumer group of the services and the topic it reads (their default settings).
GROUPS = [
    ("thaogo-intake-assignments", topics.DIFFICULTY_ASSIGNED),
    ("thaogo-router", topics.DIFFICULTY_RECEIVED),
    ("thaogo-router.status", topics.DIFFICULTY_STATUS),
    *((f"thaogo-reporting.{t.split('.')[1]}", t) for t in (
        topics.DIFFICULTY_RECEIVED, topics.DIFFICULTY_ASSIGNED, topics.DIFFICULTY_STATUS,
        topics.MEMBER_REPORT, topics.NOTIFICATION_SENT)),
    ("thaogo-notify.assigned", topics.DIFFICULTY_ASSIGNED),
    ("thaogo-notify.status", topics.DIFFICULTY_STATUS),
    ("thaogo-notify.received", topics.DIFFICULTY_RECEIVED),
    ("thaogo-notify.member-report", topics.MEMBER_REPORT),
    ("thaogo-notify.weekly", topics.REPORT_WEEKLY),
]

# What a replay must not add to: the state each service derives from what it consumes,
# and the outboxes.
STATE = {
    "router assignments": "SELECT count(*) FROM router.assignments",
    "router difficulties": "SELECT count(*) FROM router.difficulties",
    "intake assignments": "SELECT count(*) FROM intake.assignments",
    "reporting assignments": "SELECT count(*) FROM reporting.assignments",
    "reporting difficulties": "SELECT count(*) FROM reporting.difficulties",
    "reporting events": "SELECT count(*) FROM reporting.events"
                        " WHERE topic <> 'notification.sent.v1'",
    "reporting weekly reports": "SELECT count(*) FROM reporting.weekly_reports",
    "notify messages": "SELECT count(*) FROM notify.messages",
    "notify reminders": "SELECT count(*) FROM notify.messages WHERE kind <> 'assignment'",
    "notify assignments": "SELECT count(*) FROM notify.assignments",
    "intake outbox": "SELECT count(*) FROM intake.outbox",
    "reporting outbox": "SELECT count(*) FROM reporting.outbox",
    # notify delivers meanwhile (e-mail to the test's mail server), and each delivery
    # adds an outbox row that reporting records: those grow whatever the replay does. A
    # replay could only add to them by making or sending a message again.
    "notify messages sent twice": "SELECT count(*) FROM (SELECT message_key FROM"
                                  " notify.delivery_attempts WHERE outcome = 'sent'"
                                  " GROUP BY 1 HAVING count(*) > 1) AS t",
}


async def settled(conn: asyncpg.Connection, bootstrap: str) -> dict[str, int]:
    """The state once every consumer has caught up: what a replay must leave as it is."""
    await consumers_caught_up(bootstrap)
    return await state(conn)


class Up:
    """`thaogo up` as a user runs it, its output in a file."""

    def __init__(self, data_dir: Path, env: dict[str, str], out: Path) -> None:
        self.ports = {svc: free_port() for svc in SERVICES}
        self.kafka_port = free_port()
        self.data_dir, self.env, self.out = data_dir, env, out
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def url(self, svc: str) -> str:
        return f"http://127.0.0.1:{self.ports[svc]}"

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def spawn(self) -> int:
        """Started; returns where this run's output begins."""
        begins = len(self.output()) if self.out.exists() else 0
        ports = [a for svc in SERVICES for a in (f"--{svc}-port", str(self.ports[svc]))]
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "thaogo.cli", "up", "--data-dir", str(self.data_dir),
                 "--kafka-port", str(self.kafka_port), *ports],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        return begins

    async def start(self) -> int:
        """Started and every service ready; returns where this run's output begins."""
        begins = self.spawn()
        await self.wait_ready(after=begins, line="thaogo is running")
        return begins

    async def wait_ready(self, *, after: int, line: str, timeout: float = 90) -> None:
        async def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.output()[after:]
            if line not in self.output()[after:]:
                return False
            async with httpx.AsyncClient() as client:
                for svc in SERVICES:
                    try:
                        r = await client.get(self.url(svc) + "/readyz", timeout=2)
                    except httpx.HTTPError:
                        return False
                    if r.status_code != 200:
                        return False
            return True

        await wait_until(ready, timeout=timeout, interval=0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("thaogo up did not stop in 60 s on SIGTERM") from None

    def broker_pid(self) -> int:
        """The embedded broker: the child of `thaogo up` that is Tansu."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        for pid in map(int, children.split()):
            if "tansu" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                return pid
        raise AssertionError(f"no broker among {children!r}")


@pytest.fixture
def up(tmp_path: Path, mail: Mail, private_postgres: EmbeddedPostgres) -> Iterator[Up]:
    dead = free_port()
    config_dir, secrets = local_config(tmp_path / "provinces", dead)
    env = stack_env(
        "", private_postgres.url,
        THAOGO_CONFIG_DIR=str(config_dir),
        THAOGO_INTAKE_RATE_LIMIT_ENABLED="false",
        THAOGO_NOTIFY_SMTP_HOST="127.0.0.1", THAOGO_NOTIFY_SMTP_PORT=str(mail.port),
        THAOGO_NOTIFY_SMTP_STARTTLS="false",
        THAOGO_NOTIFY_ZALO_API_URL=f"http://127.0.0.1:{dead}/zalo",
        THAOGO_NOTIFY_ZALO_ACCESS_TOKEN="fault-test-token", **secrets)
    del env["THAOGO_KAFKA_BOOTSTRAP"]  # `thaogo up` starts its embedded broker
    u = Up(tmp_path / "data", env, tmp_path / "up.out")
    try:
        yield u
    finally:
        u.stop()  # it stops its services and its broker


# Tansu's end offsets count record batches, not records (checked here: twenty records
# sent as one batch a partition leave each partition's end offset at 1), so nothing
# below trusts them: a topic is read until nothing more comes.
IDLE_S = 2.0


async def read_agency(bootstrap: str, *, stop_after: int | None = None) -> list[str]:
    """The agency's system: reads its topic as its group (from the earliest offset when
    the group has none), `stop_after` tasks or until nothing more comes, and commits
    what it read. Returns the event ids read, in order."""
    consumer = AIOKafkaConsumer(AGENCY_TOPIC, bootstrap_servers=bootstrap, group_id=AGENCY_GROUP,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    read: list[str] = []
    try:
        done: dict[TopicPartition, int] = {}
        last = time.monotonic()
        while time.monotonic() - last < IDLE_S and (stop_after is None or len(read) < stop_after):
            batch = await consumer.getmany(timeout_ms=500, max_records=50)
            for tp, records in batch.items():
                for r in records:
                    if stop_after is not None and len(read) >= stop_after:
                        break
                    read.append(dict(r.headers)["ce_id"].decode())
                    done[tp] = r.offset
                    last = time.monotonic()
        if done:
            await consumer.commit({tp: off + 1 for tp, off in done.items()})
    finally:
        await consumer.stop()
    return read


async def ends(bootstrap: str, names: set[str]) -> dict[TopicPartition, int]:
    """Each partition's offset after its last record, read to the end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    out: dict[TopicPartition, int] = {}
    try:
        await consumer.topics()
        parts = [TopicPartition(t, p) for t in sorted(names)
                 for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        out = dict.fromkeys(parts, 0)
        last = time.monotonic()
        while time.monotonic() - last < IDLE_S:
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=5000)).items():
                if records:
                    out[tp] = records[-1].offset + 1
                    last = time.monotonic()
    finally:
        await consumer.stop()
    return out


async def open_tasks(conn: asyncpg.Connection) -> set[str]:
    """The event ids of the agency's tasks that are still open, from the router's rows."""
    rows = await conn.fetch(
        "SELECT assignment_id::text FROM router.assignments a WHERE agency_id = $1 AND active"
        " AND role <> 'member' AND NOT EXISTS (SELECT 1 FROM router.closed_difficulties c"
        " WHERE c.difficulty_id = a.difficulty_id)", AGENCY)
    return {task_id(uuid.UUID(r[0])) for r in rows}


async def state(conn: asyncpg.Connection) -> dict[str, int]:
    return {name: int(await conn.fetchval(sql)) for name, sql in STATE.items()}


async def consumers_caught_up(bootstrap: str, timeout: float = 60) -> None:
    """Until every service's group has committed the end of its topic: what is on the
    topics (the replay too) has been consumed."""
    from aiokafka.admin import AIOKafkaAdminClient

    end = await ends(bootstrap, {t for _, t in GROUPS})
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    behind: dict[str, Any] = {}
    try:
        async def committed() -> bool:
            behind.clear()
            for group, topic in GROUPS:
                parts = [tp for tp in end if tp.topic == topic and end[tp]]
                got = await admin.list_consumer_group_offsets(group, partitions=parts)
                late = {tp.partition: (got[tp].offset if tp in got else None, end[tp])
                        for tp in parts if tp not in got or got[tp].offset < end[tp]}
                if late:
                    behind[group] = late
            return not behind

        await wait_until(committed, timeout=timeout, interval=0.5)
    except AssertionError as e:
        raise AssertionError(f"consumer groups behind (committed, end): {behind}") from e
    finally:
        await admin.close()


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)


def rebuilt_counts(text: str) -> dict[str, int]:
    """`thaogo up`'s report of a rebuild: messages by topic."""
    counts: dict[str, int] = {}
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rebuilt "))
    for line in lines[start + 1:]:
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            break
        counts[parts[1]] = int(parts[0])
    return counts


async def consistent(up: Up, db: str) -> None:
    """The consistency checker over the rebuilt topics and the databases: the replay
    changed no state, and the topics hold what the state says they must."""
    done = await asyncio.to_thread(run, [
        sys.executable, "-m", "thaogo.cli", "verify", "--bootstrap", up.bootstrap,
        "--database-url", db], up.env)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert done.stdout.rstrip().endswith(" 0 differences"), done.stdout[-3000:]


async def test_restart_and_broker_crash_lose_no_agency_task(up: Up) -> None:
    begins = await up.start()
    first_run = up.output()[begins:]
    assert "keeps messages in memory only" in first_run
    assert "rebuilding the topics" not in first_run  # a new database: nothing to rebuild

    load = Load(url=up.url("intake"), total=FIRST, concurrency=16)
    await load.run()
    assert not load.failed, load.failed[:5]
    db = up.env["THAOGO_DATABASE_URL"]
    await wait_settled(db, load.ids, timeout=90)
    conn = await asyncpg.connect(db)
    try:
        tasks = await open_tasks(conn)
        assert len(tasks) >= FIRST // 4  # every fourth submission is in an industrial zone
        on_topic = [dict(r.headers)["ce_id"].decode()
                    for r in await read_topics(up.bootstrap, [AGENCY_TOPIC])]
        assert set(on_topic) == tasks and len(on_topic) == len(tasks)
        # The agency's system reads half of its topic and commits.
        read_before = await read_agency(up.bootstrap, stop_after=len(tasks) // 2)
        assert len(read_before) == len(tasks) // 2
        before = await settled(conn, up.bootstrap)

        # 1. SIGTERM to everything, then `thaogo up` again on the same data.
        up.stop()
        begins = await up.start()
        second_run = up.output()[begins:]
        assert "keeps messages in memory only" in second_run
        rebuilt = rebuilt_counts(second_run)
        assert rebuilt[AGENCY_TOPIC] == len(tasks), second_run
        assert rebuilt[topics.DIFFICULTY_RECEIVED] == FIRST, second_run
        got = await read_agency(up.bootstrap)
        assert set(got) >= tasks - set(read_before), "tasks the agency had not read are lost"
        assert set(got) <= tasks and len(got) == len(set(got))
        assert await settled(conn, up.bootstrap) == before
        await consistent(up, db)

        # 2. More work the agency has not read, then the broker alone is killed.
        more = Load(url=up.url("intake"), total=MORE, concurrency=16)
        await more.run()
        assert not more.failed, more.failed[:5]
        await wait_settled(db, load.ids | more.ids, timeout=90)
        tasks_now = await open_tasks(conn)
        unread = tasks_now - tasks
        assert unread
        before = await settled(conn, up.bootstrap)
        mark = len(up.output())
        os.kill(up.broker_pid(), signal.SIGKILL)
        await up.wait_ready(after=mark, line="thaogo is running again")
        third = up.output()[mark:]
        assert "messages and consumer offsets are lost" in third
        assert rebuilt_counts(third)[AGENCY_TOPIC] == len(tasks_now), third
        got = await read_agency(up.bootstrap)
        assert set(got) >= unread and set(got) <= tasks_now and len(got) == len(set(got))
        assert await settled(conn, up.bootstrap) == before
        await consistent(up, db)

        # 3. The same as a command, for a cluster restored without its data: a broker
        # of its own, empty, gets what `thaogo up` rebuilt; one that holds messages is
        # refused (a rebuild would send every open task again).
        cluster = EmbeddedBroker.on_a_free_port()
        try:
            command = [sys.executable, "-m", "thaogo.cli", "topics", "rebuild",
                       "--bootstrap", cluster.bootstrap, "--database-url", db]
            done = await asyncio.to_thread(run, command, up.env)
            assert done.returncode == 0, done.stdout + done.stderr
            assert rebuilt_counts(done.stdout) == rebuilt_counts(third), done.stdout
            again = await asyncio.to_thread(run, command, up.env)
            assert again.returncode == 1 and "--force" in again.stderr, again.stderr
        finally:
            cluster.stop()
    finally:
        await conn.close()
        up.stop()
