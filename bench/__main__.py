"""`python -m bench`: run the benchmarks, print a table, write bench/results/latest.json.

Each figure stands next to the raw limit measured in the same run on the same
broker and database, with the ratio (value / baseline). Sizes can be scaled down
for a quick look: `python -m bench --scale 0.05`.
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

Suite = Callable[[common.Infra], dict[str, Any]]


def e2e_default_rate() -> float:
    from bench import e2e

    return e2e.RATE


def suites(scale: float, e2e_rate: float = e2e_default_rate()) -> dict[str, Suite]:
    from bench import e2e, intake, notify, pages, reporting, router, stack

    return {
        "router": lambda inf: router.run(inf, int(100_000 * scale)),
        "intake": lambda inf: intake.run(inf, scale),
        "reporting": lambda inf: reporting.run(inf, scale),
        "pages": lambda inf: pages.run(inf, scale),
        "notify": lambda inf: notify.run(inf, scale),
        "e2e": lambda inf: e2e.run(inf, scale, rate=e2e_rate),
        "capacity": lambda inf: stack.capacity(inf, max(3.0, 30 * scale)),
        "latency": lambda inf: stack.latency(inf, 100.0, max(3.0, 60 * scale)),
    }


def router_figures(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The router suite reports flat keys; the table wants figures with baselines."""
    return [
        common.figure("router difficulties/s", r.get("router_difficulties_per_s"),
                      r.get("bare_loop_msgs_per_s"), unit="/s",
                      baseline_is="bare consume→produce loop, 1 message out"),
        common.figure("router difficulties/s (same fan-out)",
                      r.get("router_difficulties_per_s"),
                      r.get("bare_loop_same_fanout_msgs_per_s"), unit="/s",
                      baseline_is="bare consume→produce loop, same messages out"),
        common.figure(f"router difficulties/s, {r.get('processes')} processes",
                      r.get("router_processes_difficulties_per_s"),
                      r.get("bare_loop_processes_msgs_per_s"), unit="/s",
                      baseline_is=f"bare loop, 1 message out, {r.get('processes')} processes"),
    ]


def run_suite(name: str, fn: Suite) -> dict[str, Any]:
    with common.infra() as inf:
        started = time.perf_counter()
        result = fn(inf)
        result["wall_s"] = round(time.perf_counter() - started, 1)
    if "figures" not in result:
        result["figures"] = router_figures(result)
    return result


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.3g}" if abs(x) < 10 else f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.1f}"
    return str(x)


def table(results: dict[str, Any], names: list[str]) -> str:
    rows = [("suite", "figure", "value", "baseline", "ratio", "baseline is")]
    for name in names:
        for f in results[name]["figures"]:
            unit = f" {f['unit']}" if f.get("unit") else ""
            rows.append((name, f["figure"], _fmt(f["value"]) + unit,
                         _fmt(f["baseline"]) + unit, _fmt(f["ratio"]), f["baseline_is"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 or i == 5 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply the sizes (defaults: 100k router, 1M rollup, 100k sweep)")
    p.add_argument("--only", nargs="*", default=None, help="benchmarks to run (default: all)")
    p.add_argument("--rate", type=float, default=e2e_default_rate(),
                   help="difficulties offered per second in the end-to-end run")
    args = p.parse_args()
    taken_at = datetime.now(UTC).isoformat(timespec="seconds")
    results: dict[str, Any] = {"machine": common.machine()}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "latest.json"
    if args.only and out.exists():
        # A partial run replaces its own suites and keeps the others' last figures: each
        # suite says when and at what scale it was taken.
        kept = json.loads(out.read_text())
        results.update({k: v for k, v in kept.items() if k in suites(1.0)})
    done: list[str] = []
    for name, fn in suites(args.scale, args.rate).items():
        if args.only and name not in args.only:
            continue
        results[name] = {**run_suite(name, fn), "taken_at": taken_at, "scale": args.scale}
        done.append(name)
        print(f"{name}: {json.dumps(results[name]['figures'], ensure_ascii=False)}", flush=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    print()
    print(table(results, done))
    print(f"\nmachine: {json.dumps(results['machine'])}; scale {args.scale}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
