"""`python -m bench`: run the benchmarks, print a table, write bench/results/latest.json.

Each figure stands next to the raw limit measured in the same run on the same
broker and database, with the ratio. Sizes can be scaled down for a quick look:
`python -m bench --scale 0.1`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import common

RESULTS = Path(__file__).with_name("results")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the event counts")
    p.add_argument("--only", nargs="*", default=None, help="benchmarks to run (default: all)")
    args = p.parse_args()
    from bench import router

    suites: dict[str, Callable[[common.Infra], dict[str, Any]]] = {
        "router": lambda inf: router.run(inf, int(100_000 * args.scale)),
    }
    results: dict[str, Any] = {
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": common.machine(),
        "scale": args.scale,
    }
    for name, fn in suites.items():
        if args.only and name not in args.only:
            continue
        with common.infra() as inf:
            started = time.perf_counter()
            results[name] = fn(inf)
            results[name]["wall_s"] = round(time.perf_counter() - started, 1)
        print(f"{name}: {json.dumps(results[name], ensure_ascii=False)}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
