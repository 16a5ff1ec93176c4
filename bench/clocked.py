"""`thaogo run <service>` with a fast clock, for the long run (#24 item 4): reminders and
a weekly cutoff must fall inside an hour. The services take their clock as an argument
of `build` (the tests pass a `ManualClock`); this runs one the same way as
`thaogo.cli.cmd_run` does, with a clock that reads `--start` at the wall-clock instant
`--at` and runs `--speed` times as fast as the wall clock.

    python -m bench.clocked notify --port 8104 --start 2026-12-10T12:00:00+07:00 --speed 120 \
        --at 1796634000

The router takes no clock (it stamps deadlines with the system clock); PostgreSQL's
`now()` (tokens' expiry) is not sped up either.
"""

from __future__ import annotations

import argparse
import importlib
import time
from datetime import datetime, timedelta

import uvicorn

from shared import logs
from shared.calendar import to_local
from thaogo.cli import _settings, server_config

CLOCKED = ("intake", "reporting", "notify")


class FastClock:
    """`start` at the wall-clock instant `at` (seconds since the epoch), and `speed`
    simulated seconds a real second from there: every process given the same three
    reads the same time (each its own copy of the wall clock)."""

    def __init__(self, start: datetime, speed: float, at: float) -> None:
        self._start = start
        self._speed = speed
        self._at = at

    def now(self) -> datetime:
        return to_local(self._start + timedelta(seconds=(time.time() - self._at)
                                                * self._speed))


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.clocked")
    p.add_argument("service", choices=CLOCKED)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--start", type=datetime.fromisoformat, required=True)
    p.add_argument("--speed", type=float, required=True)
    p.add_argument("--at", type=float, required=True,
                   help="the wall-clock instant (epoch seconds) the clock reads --start")
    args = p.parse_args()
    settings = _settings(args.service)
    settings.http_port = args.port
    logs.configure(args.service, settings.log_level)
    module = importlib.import_module(f"services.{args.service}.main")
    app = module.build(settings, clock=FastClock(args.start, args.speed, args.at))
    uvicorn.Server(server_config(app, settings.http_host, settings.http_port)).run()


if __name__ == "__main__":
    main()
