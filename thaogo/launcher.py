"""One way to run a service as its own process (`thaogo run <service>`), shared by
`thaogo up`, the tests and the benchmarks, so that all three start, wait for and stop a
service alike."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class ServiceProcess:
    """`thaogo run <name> --port <port>` with `env`, its output appended to `log_path`."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc else None

    def start(self) -> ServiceProcess:
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the fd
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "thaogo.cli", "run", self.name, "--port",
                 str(self.port)],
                env=self.env, stdout=log, stderr=log,
            )
        return self

    def kill(self) -> None:
        """kill -9: no goodbye, no commit."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 30) -> int | None:
        stop_all([self], timeout)
        return self.returncode

    def ready(self) -> bool:
        """Whether `/readyz` answers 200 now (200 only: another server on a reused port
        would answer something else)."""
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready_blocking(self, timeout: float = 60) -> ServiceProcess:
        """Until it is `ready()`; the log's tail in the error if the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited:
                raise RuntimeError(f"{self.name} exited: {self._log_tail()}")
            if self.ready():
                return self
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready: {self._log_tail()}")

    async def wait_ready(self, timeout: float = 60) -> ServiceProcess:
        return await asyncio.to_thread(self.wait_ready_blocking, timeout)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"


def stop_all(services: Iterable[ServiceProcess], timeout: float = 30) -> None:
    terminate([s.proc for s in services if s.proc is not None], timeout)


def terminate(procs: Iterable[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """SIGTERM to all at once, then wait: their graceful shutdowns overlap. Whatever has
    not stopped by the deadline is killed."""
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
