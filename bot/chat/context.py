"""What every command handler works with: the store, the config editor, settings, clock and pages."""

from __future__ import annotations

import html
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.alerts.digest import DigestService
from bot.alerts.health import HealthMonitor
from bot.alerts.mutes import Mutes
from bot.alerts.relevance import RelevanceService
from bot.alerts.trend_watch import TrendWatch
from bot.chat.models import Usage
from bot.chat.pages import PageStore
from bot.domain.errors import TelewatchError
from bot.domain.models import Channel, RuleSpec
from bot.domain.ports import Clock
from bot.domain.refs import RefKind, parse_channel_ref
from bot.domain.storage import Storage
from config.edit import ConfigEditor
from config.settings import Settings

if TYPE_CHECKING:
    from bot.rules import CompiledRules

log = logging.getLogger(__name__)

OnConfigChange = Callable[[Settings], Awaitable[None] | None]


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def problem(error: TelewatchError) -> str:
    """A refused change as one HTML line, with its hint."""
    text = f"⚠️ {esc(error.message)}"
    return text + (f"\n<i>{esc(error.hint)}</i>" if error.hint else "")


class ChatContext:
    """Shared services of the command handlers; the newest settings win right after a chat edit."""

    def __init__(
        self,
        store: Storage,
        settings: Callable[[], Settings],
        clock: Clock,
        *,
        editor: ConfigEditor | None,
        on_config_change: OnConfigChange | None,
        digests: DigestService | None,
        pages: PageStore,
        relevance: RelevanceService | None = None,
    ) -> None:
        self.store = store
        self.repo = store.control
        self.mutes = Mutes(self.repo)
        self._settings = settings
        self.clock = clock
        self.editor = editor
        self.on_config_change = on_config_change
        self.digests = digests
        self.pages = pages
        self.relevance = relevance  # scores in /test and precision after scoring in /stats
        self.health: HealthMonitor | None = None  # /status runs its checks (set by `telewatch run`)
        self.trends: TrendWatch | None = None  # /trends shows its current top (set by `telewatch run`)
        self._edited: Settings | None = None
        self._provided_at_edit: Settings | None = None
        self._compiled: tuple[tuple[RuleSpec, ...], CompiledRules] | None = None

    # -- settings -------------------------------------------------------------------------------------

    def settings(self) -> Settings:
        """The settings in force: the provider's, unless a chat edit is newer than what it has seen."""
        provided = self._settings()
        if self._edited is not None and provided is self._provided_at_edit:
            return self._edited
        self._edited = None
        return provided

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings().timezone)

    def now(self) -> datetime:
        return self.clock.now()

    def require_editor(self) -> ConfigEditor:
        if self.editor is None:
            raise Usage("this telewatch was started without a config file, so it cannot be changed from chat")
        return self.editor

    async def applied(self, settings: Settings) -> None:
        """Make an edited config take effect now (the running app reloads through on_config_change)."""
        self._provided_at_edit = self._settings()
        self._edited = settings
        if self.on_config_change is not None:
            result = self.on_config_change(settings)
            if inspect.isawaitable(result):
                await result

    def rules(self, specs: Sequence[RuleSpec]) -> CompiledRules:
        """The compiled rule set for `specs`, compiled again only when the rules changed."""
        from bot.rules import compile_rules  # the morphology dictionaries load on first use

        key = tuple(specs)
        if self._compiled is None or self._compiled[0] != key:
            self._compiled = (key, compile_rules(key))
        return self._compiled[1]

    # -- channels -------------------------------------------------------------------------------------

    async def find_channel(self, text: str) -> Channel | None:
        """A stored channel by @name, link, numeric id or invite link; None when unknown."""
        try:
            found = await self.store.channels.find(text)
        except ValueError:
            found = None
        if found is not None:
            return found
        try:
            parsed = parse_channel_ref(text)
        except TelewatchError:
            return None
        if parsed.kind is RefKind.INVITE:
            row_id = await self.repo.channel_by_reference(parsed.key)
            return await self.store.channels.get(row_id) if row_id is not None else None
        return None

    async def scope(self, text: str) -> tuple[str, list[Channel]]:
        """Channels named by a channel reference or a label: (description, channels); Usage if none."""
        channel = await self.find_channel(text)
        if channel is not None:
            return channel.display, [channel]
        label = text.lstrip("#")
        labelled = {c.id: c for c in await self.store.channels.with_label(label)}
        for setting in self.settings().channels:  # rows get labels at startup; a fresh /watch has none yet
            if label.lower() in {t.lower() for t in (setting.label or "", *setting.tags) if t}:
                found = await self.find_channel(setting.ref)
                if found is not None:
                    labelled.setdefault(found.id, found)
        if labelled:
            return f"label {label}", list(labelled.values())
        raise Usage(f"no stored channel or label named {text!r}")

    def fmt_time(self, value: datetime | None) -> str:
        if value is None:
            return "never"
        return value.astimezone(self.zone).strftime("%d.%m %H:%M")
