"""What every page works with: the store, the config (re-read when the file changes), the rule matcher,
the time zone, the templates."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain.archive import ArchiveStorage
from bot.domain.errors import TelewatchError
from bot.domain.models import RuleSpec
from bot.domain.ports import Clock, SystemClock
from config.edit import ConfigEditor
from config.settings import Settings

if TYPE_CHECKING:
    from bot.rules import CompiledRules

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebOptions:
    """How `telewatch web` was started."""

    db_path: Path | str  # shown to people (a file, or a PostgreSQL URL); the caller's opener opens it
    config_path: Path | None = None  # None: no config file (rules and channels pages read the store only)
    read_only: bool = False
    password: str | None = None
    session_secret: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    reviewer: str = "web"  # who the review marks made here are stored as


class ConfigSource:
    """The config file's settings, loaded again only when the file changed; a broken edit keeps the last
    good settings and reports the error."""

    def __init__(self, path: Path | None, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self._stamp: tuple[int, int] | None = None
        self._settings = Settings()
        self.error: str | None = None

    def settings(self) -> Settings:
        if self.path is None:
            return self._settings
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError as e:
            self.error = f"cannot read {self.path}: {e.strerror}"
            return self._settings
        if stamp != self._stamp:
            try:
                self._settings = self.editor_for(self.path).settings()
                self.error = None
            except TelewatchError as e:
                self.error = e.message
            self._stamp = stamp
        return self._settings

    def editor(self) -> ConfigEditor | None:
        return self.editor_for(self.path) if self.path is not None else None

    def editor_for(self, path: Path) -> ConfigEditor:
        from bot.rules import compile_rules  # checks rule terms the same way as the CLI and the chat

        return ConfigEditor(path, self.environ, check_rules=compile_rules)


class WebState:
    """Shared by every request (one per app)."""

    def __init__(
        self,
        options: WebOptions,
        open_store: Callable[[], Awaitable[ArchiveStorage]],
        clock: Clock | None = None,
    ) -> None:
        self.options = options
        self._open_store = open_store
        self.config = ConfigSource(options.config_path, options.environ)
        self.clock = clock or SystemClock()
        self._store: ArchiveStorage | None = None
        self._compiled: tuple[tuple[RuleSpec, ...], CompiledRules] | None = None

    @property
    def read_only(self) -> bool:
        return self.options.read_only

    @property
    def store(self) -> ArchiveStorage:
        assert self._store is not None, "the store opens in the app's lifespan"
        return self._store

    async def open(self) -> None:
        self._store = await self._open_store()

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    def settings(self) -> Settings:
        return self.config.settings()

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.settings().timezone)
        except (ValueError, KeyError):
            return ZoneInfo("UTC")

    def now(self) -> datetime:
        return self.clock.now()

    def rules(self, specs: Sequence[RuleSpec]) -> CompiledRules:
        """The compiled rules for `specs`, compiled again only when they changed."""
        from bot.rules import compile_rules  # the morphology dictionaries load on first use

        key = tuple(specs)
        if self._compiled is None or self._compiled[0] != key:
            self._compiled = (key, compile_rules(key))
        return self._compiled[1]

    def local(self, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(self.zone).strftime(fmt)

    def template_globals(self) -> dict[str, Any]:
        return {"read_only": self.read_only, "zone": self.zone.key, "config_error": self.config.error}
