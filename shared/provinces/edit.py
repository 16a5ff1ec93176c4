"""The one edit the system makes to a province file itself (`thaogo taskforce dissolve`):
the task force's dissolution date, one key, the rest of the file byte for byte."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import yaml

from shared.provinces.errors import ConfigError
from shared.provinces.load import parse, raise_first
from shared.provinces.model import ProvinceConfig


def _dissolved_text(file: Path, text: str, on: date) -> str:
    """`text` with `task_force.dissolved_on` set to `on`, every other character kept
    (comments, layout, quoting): the value's span is replaced, or, if the key is absent,
    a line is added after `effective_from` at the same indentation."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise ConfigError(file, "", None, f"not valid YAML: {e}") from e
    tf = None
    if isinstance(root, yaml.MappingNode):
        tf = next((v for k, v in root.value if k.value == "task_force"), None)
    if not isinstance(tf, yaml.MappingNode):
        raise ConfigError(file, "task_force", None, "missing, or not a mapping")
    value = ""
    for k, v in tf.value:
        if k.value == "dissolved_on":
            start, end = v.start_mark.index, v.end_mark.index
            value = on.isoformat()
            if start == end and text[start - 1: start] == ":":
                value = " " + value  # an empty value: `dissolved_on:`
            return text[:start] + value + text[end:]
    for k, v in tf.value:
        if k.value == "effective_from":
            if tf.flow_style:
                raise ConfigError(file, "task_force", k.start_mark.line + 1,
                                  "written in flow style ({...}): add dissolved_on by hand")
            eol = text.find("\n", v.end_mark.index)
            eol = len(text) if eol == -1 else eol
            indent: int = k.start_mark.column
            line = "\n" + " " * indent + f"dissolved_on: {on.isoformat()}"
            return text[:eol] + line + text[eol:]
    raise ConfigError(file, "task_force.effective_from", tf.start_mark.line + 1, "missing")


def set_dissolved_on(path: str | Path, on: date) -> ProvinceConfig:
    """Set the task force's dissolution date in its province file, which every service
    then picks up by hot reload. The edited file is checked first (a date before
    `effective_from` is refused, as any other problem: ConfigError with file, key and
    line) and replaces the old one atomically, so a service never reads half a file."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(p, "", None, f"cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(p, "", None, f"not UTF-8 text: {e}") from e
    new = _dissolved_text(p, text, on).encode("utf-8")
    cfg, errors = parse(p, new)
    raise_first(errors)
    assert cfg is not None
    # A hidden name in the same directory: config_files() skips it, os.replace is atomic.
    tmp = p.with_name(f".{p.name}.dissolve.tmp")
    tmp.write_bytes(new)
    os.replace(tmp, p)
    return cfg
