"""What every service's composition root shares: a runtime holding the broker,
the pool and background tasks, started and stopped in order by the FastAPI
lifespan. Nothing connects at import time; `main.build()` only wires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from shared import db, logs
from shared.kafka import Producer, make_broker, start_broker
from shared.kafka.broker import GRACEFUL_TIMEOUT_S
from shared.metrics import ConsumerMetrics, new_registry
from shared.settings import ServiceSettings

log = logging.getLogger("thaogo.service")

# A background loop cancelled at stop has this long to end; one that does not ignores its
# cancel (a bug: see OutboxRelay's wait for NOTIFY) and is left behind, logged.
TASK_STOP_S = 5.0
# A network step of stopping (a consumer leaving its group, the producer's last sends,
# the pool's connections closing): aiokafka's own request timeout is 30-40 s, and a
# JoinGroup under way at stop waits up to the rebalance timeout (max_poll_interval_ms).
NETWORK_STOP_S = 5.0

BackgroundTask = Callable[["Runtime"], Coroutine[Any, Any, None]]


def migrations_dir(service: str) -> Path:
    return Path(str(files(f"services.{service}").joinpath("migrations")))


@dataclass
class Runtime:
    """The live resources of one service process."""

    service: str
    settings: ServiceSettings
    registry: CollectorRegistry
    broker: KafkaBroker
    consumer_metrics: ConsumerMetrics
    producer: Producer = field(default_factory=lambda: Producer("", client_id=""))
    pool: db.Pool | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    background: list[BackgroundTask] = field(default_factory=list)
    # Called before the broker stops, while consumers can still commit (pipelined ones
    # finish their batches in flight).
    drains: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, service: str, settings: ServiceSettings, broker_factory: Callable[
        [CollectorRegistry], KafkaBroker] | None = None) -> Runtime:
        registry = new_registry(service)
        broker = (broker_factory(registry) if broker_factory else make_broker(
            settings.kafka_bootstrap, client_id=f"thaogo-{service}", registry=registry,
            security=settings.kafka_security(), compression=settings.kafka_compression))
        return cls(
            service=service,
            settings=settings,
            registry=registry,
            broker=broker,
            consumer_metrics=ConsumerMetrics.create(registry),
            producer=Producer(settings.kafka_bootstrap, client_id=f"thaogo-{service}-emit",
                              security=settings.kafka_security(),
                              compression=settings.kafka_compression),
        )

    def db(self) -> db.Pool:
        if self.pool is None:
            raise RuntimeError("database pool not started")
        return self.pool

    async def readiness(self) -> dict[str, bool]:
        broker_ok = False
        with contextlib.suppress(Exception):
            broker_ok = bool(await self.broker.ping(timeout=2.0))
        db_ok = self.pool is not None and await db.ping(self.pool)
        return {"broker": broker_ok, "database": db_ok}

    async def start(self) -> None:
        s = self.settings
        self.pool = await db.create_pool(
            s.database_url, min_size=s.db_pool_min, max_size=s.db_pool_max, schema=self.service
        )
        async with self.pool.acquire() as conn:
            await db.migrate(conn, schema=self.service, folder=migrations_dir(self.service))
        # The producer first: consumers start emitting as soon as the broker starts.
        await self.producer.start()
        await start_broker(self.broker)
        for task in self.background:
            self.tasks.append(asyncio.create_task(self._guard(task), name=task.__name__))
        log.info("service started", extra={"port": s.http_port})

    async def _guard(self, task: BackgroundTask) -> None:
        # A background loop that dies is restarted after a pause, not silently lost.
        while True:
            try:
                await task(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task failed; restarting", extra={"task": task.__name__})
                await asyncio.sleep(2)

    async def stop(self) -> None:
        """Stop in order, each step bounded: Kubernetes kills the pod 45 s after SIGTERM
        (terminationGracePeriodSeconds, 5 of them the preStop sleep), and a step that
        waits on the network or on a task that will not end must not hold the rest, nor
        a test's teardown, forever. What a cut step leaves is safe: every consumer commits
        only after its effects and recognises redelivered event ids, and the outbox
        keeps what was not acknowledged."""
        for t in self.tasks:
            t.cancel()
        if self.tasks:
            _, stuck = await asyncio.wait(self.tasks, timeout=TASK_STOP_S)
            for t in stuck:
                # Where it waits, for whoever finds a loop that ignores its cancel.
                frames = t.get_stack(limit=1)
                where = (f"{frames[0].f_code.co_filename}:{frames[0].f_lineno}"
                         if frames else "")
                log.warning("background task did not stop",
                            extra={"task": t.get_name(), "where": where})
        for drain in self.drains:
            await self._bounded("drain", drain(), GRACEFUL_TIMEOUT_S)
        # Stopping the broker lets in-flight batches finish and commit first (within its
        # graceful timeout); then each consumer leaves its group, a request to a broker
        # that may not answer.
        await self._bounded("broker", self.broker.stop(),
                            GRACEFUL_TIMEOUT_S + NETWORK_STOP_S)
        await self._bounded("producer", self.producer.stop(), NETWORK_STOP_S)
        # `Pool.close` waits, without a timeout, for every connection to come back.
        if self.pool is not None and not await self._bounded(
                "database pool", self.pool.close(), NETWORK_STOP_S):
            self.pool.terminate()
        log.info("service stopped")

    @staticmethod
    async def _bounded(step: str, work: Awaitable[None], seconds: float) -> bool:
        """Await one step of stopping for at most `seconds`; log what did not finish."""
        try:
            async with asyncio.timeout(seconds):
                await work
            return True
        except TimeoutError:
            log.warning("stopping did not finish in time; going on",
                        extra={"step": step, "after_s": seconds})
        except Exception as e:
            log.warning("stopping failed; going on",
                        extra={"step": step, "error": type(e).__name__})
        return False

    def lifespan(self) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
        @contextlib.asynccontextmanager
        async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
            logs.configure(self.service, self.settings.log_level)
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        return _lifespan
