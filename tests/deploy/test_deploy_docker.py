"""The Dockerfile and .dockerignore, checked without Docker; the image's health check run."""

from __future__ import annotations

import fnmatch
import json
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_helpers import DEPLOY, ROOT

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    assert not buf, "Dockerfile ends inside a continued line"
    return out


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(ins)
    return out


def test_multi_stage_with_pinned_bases() -> None:
    froms = [args for ins, args in instructions() if ins == "FROM"]
    assert len(froms) >= 2, "a builder stage and a runtime stage"
    names = []
    for args in froms:
        parts = args.split()
        image = parts[0]
        assert "$" not in image, f"FROM {image}: no build-arg images"
        ref = image.split("@", 1)
        if len(ref) == 1:
            assert ":" in image, f"FROM {image} has no tag"
            tag = image.rsplit(":", 1)[1]
            assert tag != "latest" and re.match(r"^\d+\.\d+\.\d+", tag), (
                f"FROM {image}: pin a full version tag"
            )
        if len(parts) == 3 and parts[1].upper() == "AS":
            names.append(parts[2])
    assert "builder" in names
    final = froms[-1].split()[0]
    assert "slim" in final and final.startswith("python:3.11."), final


def test_final_stage_runs_thaogo_as_non_root_with_healthcheck() -> None:
    final = stages()[-1]
    kinds = [i for i, _ in final]
    users = [a for i, a in final if i == "USER"]
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user == "10001", users
    assert any(i == "COPY" and "--from=builder" in a for i, a in final), "copies from builder"
    assert "HEALTHCHECK" in kinds
    hc = next(a for i, a in final if i == "HEALTHCHECK")
    assert "healthcheck.py" in hc and "CMD" in hc
    entry = json.loads(next(a for i, a in final if i == "ENTRYPOINT"))
    cmd = json.loads(next(a for i, a in final if i == "CMD"))
    assert entry == ["thaogo"]
    assert cmd == ["run", "intake"]
    envs = " ".join(a for i, a in final if i == "ENV")
    for svc in ("INTAKE", "ROUTER", "REPORTING", "NOTIFY"):
        assert f"THAOGO_{svc}_HTTP_HOST=0.0.0.0" in envs
    assert kinds.index("USER") > max(k for k, i in enumerate(kinds) if i in ("RUN", "COPY"))


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def ignored(path: str) -> bool:
    """Roughly Docker's rule: the last matching pattern wins, `!` re-includes."""
    result = False
    for pat in dockerignore_patterns():
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        globs = [p, p.replace("**/", "")]
        if any(fnmatch.fnmatch(pre, g) for pre in prefixes for g in globs):
            result = not neg
    return result


def test_copy_sources_exist_and_are_not_ignored() -> None:
    for ins, args in instructions():
        if ins != "COPY" or "--from=" in args:
            continue
        srcs = [a for a in args.split() if not a.startswith("--")][:-1]
        for src in srcs:
            assert not ignored(src), f"COPY {src}: excluded by .dockerignore"
            if src == "README.md" and not (ROOT / src).exists():
                pytest.skip("README.md (pyproject's readme) not written yet")
            assert (ROOT / src).exists(), f"COPY {src}: not in the build context"


def test_dockerignore_keeps_the_context_small() -> None:
    for p in (
        ".venv",
        ".git",
        ".thaogo",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "services/__pycache__",
        "tests",
        "bench/results",
    ):
        assert ignored(p), f"{p} should be in .dockerignore"
    for p in (
        "pyproject.toml",
        "services/intake/main.py",
        "shared/topics.py",
        "deploy/docker/healthcheck.py",
    ):
        assert not ignored(p), f"{p} is needed by the build"


# --- the health check script itself ------------------------------------------------------


def _server(status: int) -> tuple[HTTPServer, int]:
    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a: object) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


def _run_check(env: dict[str, str]) -> int:
    return subprocess.run(
        [sys.executable, str(DEPLOY / "docker" / "healthcheck.py")],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        timeout=20,
    ).returncode


@pytest.mark.parametrize("status,expected", [(200, 0), (503, 1)])
def test_healthcheck_script_reads_the_port_from_env(status: int, expected: int) -> None:
    srv, port = _server(status)
    try:
        rc = _run_check({"THAOGO_SERVICE": "router", "THAOGO_ROUTER_HTTP_PORT": str(port)})
    finally:
        srv.shutdown()
    assert rc == expected


def test_healthcheck_script_fails_when_nothing_listens() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert _run_check({"THAOGO_SERVICE": "notify", "THAOGO_NOTIFY_HTTP_PORT": str(port)}) == 1
