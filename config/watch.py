"""Reload the config when it changes on disk: poll, re-validate, hand over new settings or keep the old."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from bot.domain.errors import ConfigError
from config.env import dotenv_files
from config.loader import RuleCheck, load, pack_path
from config.settings import Settings

log = logging.getLogger(__name__)

OnChange = Callable[[Settings], Awaitable[object] | object]
# Checks loaded settings beyond the file's schema (e.g. that each route names a known sink); raises ConfigError.
Validate = Callable[[Settings], None]
# (inode, mtime_ns, size) per watched file; None when the file does not exist.
Fingerprint = tuple[tuple[int, int, int] | None, ...]


class ConfigWatcher:
    """Polls the config file, its .env files and its rule packs; calls `on_change` with valid new settings.

    Polling (not inotify) keeps it dependency-free and works on every filesystem; the files are tiny.
    An atomic replace changes the inode, so an edit is seen even within one mtime tick.
    """

    def __init__(
        self,
        path: Path,
        environ: Mapping[str, str],
        on_change: OnChange,
        *,
        current: Settings | None = None,
        interval: float = 2.0,
        validate: Validate | None = None,
        check_rules: RuleCheck | None = None,
    ) -> None:
        self.path = path
        self.validate = validate
        self.check_rules = check_rules
        self._lock = asyncio.Lock()
        self.environ = environ
        self.on_change = on_change
        self.interval = interval
        self.current = current if current is not None else load(path, environ, check_rules=check_rules)
        self.last_error: ConfigError | None = None
        self._seen = self._fingerprint()

    def _files(self) -> list[Path]:
        return [self.path, *dotenv_files(self.path), *(pack_path(n) for n in self.current.rule_packs)]

    def _fingerprint(self) -> Fingerprint:
        out: list[tuple[int, int, int] | None] = []
        for file in self._files():
            try:
                st = os.stat(file)
            except OSError:
                out.append(None)
            else:
                out.append((st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(out)

    async def check(self) -> Settings | None:
        """One poll: if any watched file changed, reload; return the new settings, or None if none took effect.

        A chat edit calls this right after writing the file, so the edit takes effect once, here, and the
        next poll finds nothing new."""
        async with self._lock:
            return await self._check()

    async def _check(self) -> Settings | None:
        seen = self._fingerprint()
        if seen == self._seen:
            return None
        self._seen = seen
        try:
            settings = load(self.path, self.environ, check_rules=self.check_rules)
            if self.validate is not None:
                self.validate(settings)
        except ConfigError as e:
            # Each bad version is reported once; the running settings stay in force.
            self.last_error = e
            log.error("config not reloaded, keeping the previous settings: %s", e)
            return None
        self.last_error = None
        if settings == self.current:
            return None
        self.current = settings
        self._seen = self._fingerprint()  # the pack list may have changed the set of files
        result = self.on_change(settings)
        if inspect.isawaitable(result):
            await result
        log.info("config reloaded from %s", self.path)
        return settings

    async def run(self) -> None:
        """Poll forever (run it as a task; cancel it to stop). A failing on_change is logged, not fatal."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("config reload handler failed")


def start_watching(
    path: Path,
    environ: Mapping[str, str],
    on_change: OnChange,
    *,
    current: Settings,
    interval: float = 2.0,
    validate: Validate | None = None,
) -> tuple[ConfigWatcher, asyncio.Task[None]]:
    """Start a ConfigWatcher as a named asyncio task in the running loop."""
    watcher = ConfigWatcher(path, environ, on_change, current=current, interval=interval, validate=validate)
    return watcher, asyncio.create_task(watcher.run(), name=f"config-watch:{path}")
