"""Container health check: GET /healthz on the port of the service this container runs.

The service is the word after `run` in PID 1's command line (`thaogo run router`),
or THAOGO_SERVICE when set. Its port is THAOGO_<SERVICE>_HTTP_PORT or the
service's default. A container running a one-shot command (`thaogo migrate`)
has no HTTP server, so it is reported healthy. Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.request

DEFAULT_PORTS = {"intake": 8001, "router": 8002, "reporting": 8003, "notify": 8004}


def service_name() -> str | None:
    if os.environ.get("THAOGO_SERVICE"):
        return os.environ["THAOGO_SERVICE"]
    try:
        with open("/proc/1/cmdline", "rb") as f:
            args = [a.decode() for a in f.read().split(b"\0") if a]
    except OSError:
        return None
    for i, arg in enumerate(args[:-1]):
        if arg == "run":
            return args[i + 1]
    return None


def main() -> int:
    service = service_name()
    if service is None:
        return 0
    prefix = f"THAOGO_{service.upper()}_"
    port = os.environ.get(prefix + "HTTP_PORT") or str(DEFAULT_PORTS.get(service, 8000))
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            return 0 if 200 <= resp.status < 300 else 1
    except Exception as exc:  # any failure means unhealthy
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
