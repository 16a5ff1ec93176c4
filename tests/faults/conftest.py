"""Fixtures of the fault tests: a broker of the test's own (so that every message on a
topic is this test's), a mail server that records what notify really sent, and the
counts table each test files, shown at the end of the run whether it passed or not."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.proxy import TcpProxy
from tests.notify.receivers import SmtpSink, smtp_server
from thaogo.embedded import EmbeddedBroker, EmbeddedPostgres, free_port


@dataclass
class Mail:
    sink: SmtpSink
    port: int

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.sink.messages]


COUNTS = pytest.StashKey[list[str]]()


@pytest.fixture
def file_counts(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Files a test's counts for the terminal summary: the evidence that nothing was lost
    belongs in the run's output even when every assertion holds (pytest shows a passing
    test's prints only with -s)."""
    tables = request.config.stash.setdefault(COUNTS, [])

    def add(text: str) -> None:
        tables.append(f"{request.node.nodeid}\n{text.strip(chr(10))}")

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tables = terminalreporter.config.stash.get(COUNTS, [])
    if tables:
        terminalreporter.section("fault tests: what became of every accepted difficulty")
        for text in tables:
            terminalreporter.write_line(text)


@pytest.fixture
async def mail() -> AsyncIterator[Mail]:
    async with smtp_server() as (sink, port):
        yield Mail(sink, port)


@dataclass
class CuttableBroker:
    """A private broker that clients reach only through `proxy`, and that advertises
    the proxy's address, so that cutting the proxy cuts every client off."""

    broker: EmbeddedBroker
    proxy: TcpProxy

    @property
    def bootstrap(self) -> str:
        return self.proxy.address


@pytest.fixture
def cuttable_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CuttableBroker]:
    if os.environ.get("THAOGO_KAFKA_BOOTSTRAP"):
        pytest.skip("cutting the network needs the embedded broker")
    proxy_port = free_port()
    broker = EmbeddedBroker.on_a_free_port(
        advertised_port=proxy_port, log_file=tmp_path_factory.mktemp("tansu") / "tansu.log")
    proxy = TcpProxy(broker.port, port=proxy_port).start()
    try:
        yield CuttableBroker(broker, proxy)
    finally:
        proxy.close()
        broker.stop()


@pytest.fixture
def private_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, which it may stop and start again (same data
    directory, hence the same socket and URL)."""
    folder = Path(tempfile.mkdtemp(prefix="thaogo-fault-pg-"))
    pg = EmbeddedPostgres(folder / "data").start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)
