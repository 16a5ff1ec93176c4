"""Who closes an idle HTTP connection first: never the service. A request written into a
connection the server is closing at that instant is reset (a client's ReadError, a proxy's
502) though nothing failed; the bench's smoke run met one."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from thaogo.cli import KEEP_ALIVE_S, server_config

CADDYFILE = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "gateway" / "Caddyfile"


def test_the_service_keeps_an_idle_connection_longer_than_its_clients() -> None:
    config = server_config(object(), "127.0.0.1", 0)
    assert config.timeout_keep_alive == KEEP_ALIVE_S
    # httpx (the tests', the benchmarks' and the services' own client) drops first.
    expiry = httpx.Limits().keepalive_expiry
    assert expiry is not None and expiry < KEEP_ALIVE_S
    # So does the compose gateway's pool of upstream connections (Caddy's default is 2 min).
    pools = [int(s) for s in re.findall(r"^\s*keepalive (\d+)s$", CADDYFILE.read_text(), re.M)]
    assert pools and all(s < KEEP_ALIVE_S for s in pools)
