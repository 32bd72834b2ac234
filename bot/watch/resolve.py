"""Resolving configured channels for the watcher (cached resolutions first), joining, and refreshing names."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial

from bot.domain.errors import ChannelUnavailable
from bot.domain.models import ChannelRef, Post
from bot.domain.ports import Clock, ResolvedChannel, TelegramGateway
from bot.domain.refs import ParsedRef, RefKind, parse_channel_ref
from bot.domain.storage import WatchStateStore
from bot.watch.pacing import Pacer
from config.settings import ChannelSettings, Settings


@dataclass
class Watched:
    """A configured channel at run time."""

    setting: ChannelSettings
    parsed: ParsedRef
    resolved: ResolvedChannel
    channel_id: int
    safe: int = 0
    started: bool = False  # a safe mark exists (even 0: the channel was empty when first seen)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one history page per channel at a time
    fill_pending: bool = False
    live_ids: set[int] = field(default_factory=set)  # stored live before the start: not a resume point
    early_deletes: set[int] = field(default_factory=set)  # deleted before stored (page in flight)
    early_edits: dict[int, list[Post]] = field(default_factory=dict)  # album parts edited before stored
    dropped: bool = False  # its lease went to another watcher: a running catch-up stops after its page

    @property
    def name(self) -> str:
        return f"@{self.resolved.username}" if self.resolved.username else str(self.resolved.tg_id)

    @property
    def ref(self) -> ChannelRef:
        r = self.resolved
        return ChannelRef(tg_id=r.tg_id, username=r.username, title=r.title or None)


@dataclass(frozen=True, slots=True)
class ChannelReport:
    """The outcome of resolving one configured channel."""

    reference: str
    state: str  # ok, not found, private, not joined, banned, renamed
    resolved: ResolvedChannel | None = None
    detail: str = ""


class ChannelResolver:
    """The resolution half of the Watcher: turns configured references into `Watched` channels."""

    gateway: TelegramGateway
    settings: Settings
    clock: Clock
    state: WatchStateStore
    pacer: Pacer
    watched: dict[int, Watched]
    account_key: str | None  # several watchers: whose access hashes to cache and use (its name)

    async def resolve_all(self, *, use_cache: bool = True, join: bool = True) -> list[ChannelReport]:
        """Resolve every enabled configured channel (cached resolutions first), joining where asked."""
        reports = []
        marks = await self.state.safe_marks()
        for setting in self.settings.channels:
            if setting.enabled:
                reports.append(await self._resolve_one(setting, marks, use_cache=use_cache, join=join))
        return reports

    async def _resolve_one(
        self, setting: ChannelSettings, marks: dict[int, int], *, use_cache: bool, join: bool
    ) -> ChannelReport:
        parsed = parse_channel_ref(setting.ref)
        cached = await self.state.cached(parsed.key, self.account_key) if use_cache else None
        renamed: str | None = None
        try:
            if cached is not None:
                resolved = cached.resolved
            else:
                resolved = await self._lookup(parsed, setting, join=join)
            if join and setting.auto_join and not resolved.joined:
                resolved = await self.pacer.call("join", setting.ref, lambda: self.gateway.join(resolved))
            channel_id, renamed = await self.state.remember(
                parsed.key, resolved, "ok", self.clock.now(), self.account_key
            )
        except ChannelUnavailable as e:
            if cached is not None:
                await self.state.set_state(cached.channel_id, e.state)
            return ChannelReport(setting.ref, e.state, detail=e.hint or "")
        state = "renamed" if renamed else ("ok" if resolved.joined else "not joined")
        if state != "ok":
            await self.state.set_state(channel_id, state)
        safe = marks.get(channel_id, 0)
        known = self.watched.get(resolved.tg_id)
        self.watched[resolved.tg_id] = Watched(
            setting,
            parsed,
            resolved,
            channel_id,
            safe=max(safe, known.safe if known else 0),
            started=channel_id in marks or (known is not None and known.started),
        )
        detail = f"was @{renamed}" if renamed else ""
        return ChannelReport(setting.ref, state, resolved, detail)

    async def _lookup(self, parsed: ParsedRef, setting: ChannelSettings, *, join: bool) -> ResolvedChannel:
        if parsed.kind is RefKind.INVITE and setting.auto_join and join:
            try:
                return await self.pacer.call(
                    "resolve", setting.ref, lambda: self.gateway.resolve(setting.ref)
                )
            except ChannelUnavailable as e:
                if e.state != "not joined":
                    raise
                return await self.pacer.call(
                    "join", setting.ref, lambda: self.gateway.join_invite(setting.ref)
                )
        return await self.pacer.call("resolve", setting.ref, lambda: self.gateway.resolve(setting.ref))

    async def refresh_names(self) -> list[ChannelReport]:
        """Look every watched channel up by id to detect renames, bans and leaving (no username look-ups)."""
        reports = []
        for w in list(self.watched.values()):
            try:
                fresh = await self.pacer.call("refresh", w.name, partial(self.gateway.refresh, w.resolved))
            except ChannelUnavailable as e:
                await self.state.set_state(w.channel_id, e.state)
                reports.append(ChannelReport(w.setting.ref, e.state, w.resolved))
                continue
            _, renamed = await self.state.remember(None, fresh, "ok", self.clock.now(), self.account_key)
            state = "renamed" if renamed else ("ok" if fresh.joined else "not joined")
            await self.state.set_state(w.channel_id, state)
            w.resolved = fresh
            reports.append(ChannelReport(w.setting.ref, state, fresh, f"was @{renamed}" if renamed else ""))
        return reports
