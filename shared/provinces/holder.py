"""Hot reload: the current configuration of a directory, replaced when its files change
and kept when an edit is refused."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from shared.provinces.configset import ConfigSet
from shared.provinces.errors import ConfigError
from shared.provinces.load import config_files, default_config_dir, load_all, load_dir

log = logging.getLogger("thaogo.config")

Signature = tuple[tuple[str, int, int], ...]


class ConfigHolder:
    """The current ConfigSet of a directory, reloaded when its files change.

    A refused edit is logged (logger "thaogo.config": file, key, line, problem) once
    per version of the files, and the previous configuration stays in force.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_config_dir()
        self._signature = self._scan()
        self._current = load_dir(self.directory)  # a bad config at start-up is fatal
        self._rejected: Signature | None = None
        self._listeners: list[Callable[[ConfigSet], None]] = []
        self._refusal_listeners: list[Callable[[list[ConfigError]], None]] = []

    @property
    def current(self) -> ConfigSet:
        return self._current

    @property
    def version(self) -> str:
        return self._current.version

    def on_change(self, callback: Callable[[ConfigSet], None]) -> None:
        """Call `callback(new_set)` after each accepted change."""
        self._listeners.append(callback)

    def on_refused(self, callback: Callable[[list[ConfigError]], None]) -> None:
        """Call `callback(errors)` once per refused version of the files."""
        self._refusal_listeners.append(callback)

    def _scan(self) -> Signature:
        out: list[tuple[str, int, int]] = []
        for f in config_files(self.directory):
            st = f.stat()
            out.append((f.name, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def reload_if_changed(self) -> bool:
        """Reload if a file was added, removed or modified; True if the config changed."""
        try:
            before = self._scan()
        except OSError as exc:
            log.error("cannot scan %s: %s", self.directory, exc)
            return False
        if before == self._signature or before == self._rejected:
            return False
        new, errors = load_all(self.directory)
        try:
            after = self._scan()
        except OSError:
            after = ()
        if after != before:
            return False  # files still being written: look again next time
        if new is None:
            self._rejected = before
            for err in errors:
                log.error(
                    "province configuration refused, keeping version %s: %s",
                    self._current.version,
                    err,
                    extra={
                        "config_file": err.file,
                        "config_key": err.path,
                        "config_line": err.line,
                        "problem": err.problem,
                    },
                )
            for refused in self._refusal_listeners:
                try:
                    refused(errors)
                except Exception:
                    log.exception("config refusal listener failed")
            return False
        self._signature, self._rejected = before, None
        if new.version == self._current.version:
            return False
        old = self._current.version
        self._current = new
        log.info(
            "province configuration reloaded: version %s -> %s (%s)",
            old,
            new.version,
            ", ".join(new),
            extra={"config_version": new.version},
        )
        for cb in self._listeners:
            try:
                cb(new)
            except Exception:
                log.exception("config change listener failed")
        return True

    async def watch(self, interval_s: float = 2.0) -> None:
        """Poll forever (run it as a task; cancel it to stop)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(self.reload_if_changed)
            except Exception:
                log.exception("config reload failed")
