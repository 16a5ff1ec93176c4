"""`thaogo up` as a newcomer runs it, on its embedded broker and PostgreSQL: the other
commands find the running stack through its data directory with no flag, the demo
goes through, and the consistency checker finds 0 differences; Ctrl-C leaves nothing
running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.conftest import REPO
from thaogo.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(300)]


def thaogo(*args: str, cwd: Path, env: dict[str, str], timeout: float = 180
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "thaogo.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def start_up(cwd: Path, env: dict[str, str], ports: dict[str, int]
             ) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = open(cwd / "up.log", "wb")  # noqa: SIM115
    up = subprocess.Popen(
        [sys.executable, "-m", "thaogo.cli", "up",
         *(a for s, p in ports.items() for a in (f"--{s}-port", str(p)))],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return up, log


async def test_the_commands_find_the_running_stack_by_its_data_directory(
    tmp_path: Path,
) -> None:
    # A newcomer's shell: no THAOGO_ settings at all; the data directory is the default
    # one, ./.thaogo, in the folder the commands run from.
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAOGO_")}
    env["PYTHONPATH"] = str(REPO)
    ports = {s: free_port() for s in ("kafka", "intake", "router", "reporting", "notify")}
    up, log = start_up(tmp_path, env, ports)
    stack_file = tmp_path / ".thaogo" / "stack.json"
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient() as client:
            while True:
                assert up.poll() is None, (tmp_path / "up.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()
                try:
                    ready = [(await client.get(f"http://127.0.0.1:{ports[s]}/readyz")).status_code
                             for s in ("intake", "router", "reporting", "notify")]
                    if ready == [200] * 4 and stack_file.exists():
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        assert oct(stack_file.stat().st_mode & 0o777) == "0o600"
        assert json.loads(stack_file.read_text())["intake_url"].endswith(str(ports["intake"]))

        demo = await asyncio.to_thread(
            thaogo, "demo", "--url", f"http://127.0.0.1:{ports['intake']}", cwd=tmp_path,
            env=env)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        token = await asyncio.to_thread(thaogo, "token", "create", "--operator", "ops-desk",
                                        cwd=tmp_path, env=env)
        assert token.returncode == 0, token.stderr
        verify = await asyncio.to_thread(thaogo, "verify", cwd=tmp_path, env=env)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert verify.stdout.rstrip().endswith("0 differences"), verify.stdout
    finally:
        stop_up(up, log)
    out = (tmp_path / "up.log").read_text()
    assert up.returncode == 0, out[-3000:]
    assert "stopped: nothing left running" in out
    assert not stack_file.exists()


def stop_up(up: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Ctrl-C, as a person stops it; killed only if it has not stopped in a minute (the
    test then fails on its return code)."""
    up.send_signal(signal.SIGINT)
    try:
        up.wait(60)
    finally:
        if up.poll() is None:
            up.kill()
        log.close()
