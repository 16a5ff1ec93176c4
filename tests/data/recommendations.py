"""The labelled recommendations of tests/data/shared_recommendations.txt (#25 item 1),
and the grouping's pairwise precision and recall on them.

`python -m tests.data.recommendations` prints the figures the README quotes."""

from __future__ import annotations

from pathlib import Path

from services.reporting import grouping, settings

DATA = Path(__file__).with_name("shared_recommendations.txt")


def load() -> list[tuple[str, str]]:
    """(label, text) in file order; each line under "[*]" has a label of its own."""
    out: list[tuple[str, str]] = []
    label = ""
    for n, line in enumerate(DATA.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            label = line[1:-1]
        else:
            out.append((f"{label}:{n}" if label == "*" else label, line))
    return out


def measure() -> tuple[float, float, int, int]:
    """Pairwise precision, recall, the number of items and of true groups."""
    rows = load()
    items = [grouping.Item(str(i), text) for i, (_, text) in enumerate(rows)]
    cfg = settings.GROUPING
    groups = grouping.group(items, alike=cfg.alike, citing_bonus=cfg.citing_bonus,
                            floor=cfg.floor)
    truth = {str(i): label for i, (label, _) in enumerate(rows)}
    p, r = grouping.pair_scores([g.ids for g in groups], truth)
    return p, r, len(rows), len(set(truth.values()))


if __name__ == "__main__":
    p, r, n, labels = measure()
    print(f"{n} recommendations, {labels} true groups (singletons included): "
          f"pairwise precision {p:.3f}, recall {r:.3f}")
