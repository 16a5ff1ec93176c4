"""Loading province files: YAML to a checked ProvinceConfig, each problem reported with
its file, key path and line (`ConfigError`); a directory to a ConfigSet."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shared.provinces.checks import reference_problems
from shared.provinces.configset import ConfigSet
from shared.provinces.errors import ConfigError, Loc, format_path
from shared.provinces.model import ProvinceConfig

CONFIG_SUFFIXES = (".yaml", ".yml")

def _line_map(node: yaml.Node, errors: list[tuple[Loc, int, str]]) -> dict[Loc, int]:
    """Key path -> 1-based line, from the composed YAML; duplicate keys are reported."""
    lines: dict[Loc, int] = {(): node.start_mark.line + 1}
    stack: list[tuple[Loc, yaml.Node]] = [((), node)]
    while stack:
        path, n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                p = (*path, key)
                if key in seen and key != "<<":
                    errors.append((p, k.start_mark.line + 1, f"duplicate key {key!r}"))
                seen.add(key)
                lines.setdefault(p, k.start_mark.line + 1)
                stack.append((p, v))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                p = (*path, i)
                lines[p] = v.start_mark.line + 1
                stack.append((p, v))
    return lines


def _line_of(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    for n in range(len(loc), -1, -1):
        found = lines.get(loc[:n])
        if found is not None:
            return found
    return None


def _problem(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    loc = err.get("loc", ())
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}" if loc else "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    inp = err.get("input")
    if isinstance(inp, str | int | float | bool) and kind not in ("value_error",):
        shown = repr(inp) if len(repr(inp)) <= 80 else repr(inp)[:77] + "..."
        msg += f" (got {shown})"
    return msg


def parse(file: Path, raw: bytes) -> tuple[ProvinceConfig | None, list[ConfigError]]:
    name = str(file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, [ConfigError(name, "", None, f"not UTF-8 text: {e}")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        return None, [ConfigError(name, "", line, f"not valid YAML: {e.problem or e}")]
    except yaml.YAMLError as e:
        return None, [ConfigError(name, "", None, f"not valid YAML: {e}")]
    finally:
        loader.dispose()
    if not isinstance(data, dict) or node is None:
        return None, [ConfigError(name, "", 1, "the file must be a mapping (key: value)")]
    dup: list[tuple[Loc, int, str]] = []
    lines = _line_map(node, dup)
    errors = [ConfigError(name, format_path(loc), ln, msg) for loc, ln, msg in dup]

    try:
        cfg = ProvinceConfig.model_validate(data, context={"skip_references": True})
    except ValidationError as e:
        for err in e.errors():
            loc: Loc = tuple(err["loc"])
            if loc and loc[-1] == "[key]":
                loc = loc[:-1]
            errors.append(ConfigError(name, format_path(loc), _line_of(lines, loc), _problem(err)))
        return None, _sorted(errors)

    for loc, msg in reference_problems(cfg):
        errors.append(ConfigError(name, format_path(loc), _line_of(lines, loc), msg))
    if cfg.province.slug != file.stem:
        loc = ("province", "slug")
        errors.append(
            ConfigError(
                name,
                format_path(loc),
                _line_of(lines, loc),
                f"slug {cfg.province.slug!r} differs from the file name {file.stem!r}",
            )
        )
    if errors:
        return None, _sorted(errors)
    cfg.lookups  # noqa: B018 - build the lookups now, not on the first submission
    return cfg, []


def _sorted(errors: list[ConfigError]) -> list[ConfigError]:
    return sorted(errors, key=lambda e: (e.file, e.line or 0, e.path))


def raise_first(errors: list[ConfigError]) -> None:
    if errors:
        first = errors[0]
        first.others = errors[1:]
        raise first


def load_province(path: str | Path) -> ProvinceConfig:
    """One province file, checked; raises ConfigError (the first problem, with `others`)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(p, "", None, f"cannot read: {e.strerror or e}") from e
    cfg, errors = parse(p, raw)
    raise_first(errors)
    assert cfg is not None
    return cfg


def config_files(directory: str | Path) -> list[Path]:
    """The province files of a directory (no hidden or editor backup files), sorted."""
    d = Path(directory)
    return sorted(
        f
        for f in d.iterdir()
        if f.suffix in CONFIG_SUFFIXES and not f.name.startswith((".", "#")) and f.is_file()
    )


def _content_version(blobs: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, raw in sorted(blobs):
        h.update(name.encode() + b"\0" + raw + b"\0")
    return h.hexdigest()[:12]


def load_all(directory: Path) -> tuple[ConfigSet | None, list[ConfigError]]:
    if not directory.is_dir():
        return None, [ConfigError(directory, "", None, "not a directory")]
    try:
        files = config_files(directory)
    except OSError as e:
        return None, [ConfigError(directory, "", None, f"cannot list: {e.strerror or e}")]
    if not files:
        return None, [ConfigError(directory, "", None, "no province files (*.yaml)")]
    errors: list[ConfigError] = []
    provinces: dict[str, ProvinceConfig] = {}
    blobs: list[tuple[str, bytes]] = []
    for f in files:
        try:
            raw = f.read_bytes()
        except OSError as e:
            errors.append(ConfigError(f, "", None, f"cannot read: {e.strerror or e}"))
            continue
        blobs.append((f.name, raw))
        cfg, errs = parse(f, raw)
        errors += errs
        if cfg is None:
            continue
        if cfg.slug in provinces:
            errors.append(
                ConfigError(f, "province.slug", None, f"province {cfg.slug!r} defined twice")
            )
            continue
        provinces[cfg.slug] = cfg
    if errors:
        return None, errors
    return ConfigSet(provinces, _content_version(blobs), directory), []


def load_dir(directory: str | Path) -> ConfigSet:
    """Every province file of a directory; raises the first ConfigError (with `others`)."""
    cs, errors = load_all(Path(directory))
    raise_first(errors)
    assert cs is not None
    return cs


def check_dir(directory: str | Path) -> list[ConfigError]:
    """Every problem of every file of a directory (for `thaogo config check DIR`)."""
    return load_all(Path(directory))[1]


def default_config_dir() -> Path:
    """The configuration shipped with the package: shared/data/provinces."""
    return Path(__file__).resolve().parent.parent / "data" / "provinces"
