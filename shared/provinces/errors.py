"""A refused province configuration: which file, which key, which line, what is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """A refused configuration: which file, which key, which line, what is wrong."""

    def __init__(self, file: str | Path, path: str, line: int | None, problem: str) -> None:
        self.file = str(file)
        self.path = path  # "rules.lead_by_zone_type.KCN", "" for the whole file
        self.line = line  # 1-based, None when unknown
        self.problem = problem
        self.others: list[ConfigError] = []  # further problems found with this one
        super().__init__(self.file, path, line, problem)

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        key = f" {self.path}:" if self.path else ""
        more = f" (and {len(self.others)} more problem(s))" if self.others else ""
        return f"{where}:{key} {self.problem}{more}"

    def __repr__(self) -> str:
        return (
            f"ConfigError(file={self.file!r}, path={self.path!r}, line={self.line!r}, "
            f"problem={self.problem!r})"
        )


def format_path(loc: Iterable[str | int]) -> str:
    """("task_force", "members", 3, "agency") -> "task_force.members[3].agency"."""
    out = ""
    for p in loc:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out
