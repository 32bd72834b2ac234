"""The watcher: resolve channels, catch up on history, go live, fill gaps, poll channels not joined.

Each channel has a *safe mark*: every message id up to it has been fetched and stored. Catch-up, gap
checks and polls fetch history after it (pages of 100, oldest first); a live post advances it only when
it directly follows it, so a hole (a dropped update) is always fetched before the mark moves past it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial

from bot.albums import AlbumBuffer, merge_albums, trailing_album
from bot.channel_refs import ParsedRef, RefKind, parse_channel_ref
from bot.errors import ChannelUnavailable, Disconnected, TelegramError
from bot.models import AlertKind, ChannelRef, Post
from bot.pacing import FloodWait, Pacer
from bot.pipeline import Pipeline
from bot.ports import Clock, PostUpdate, ResolvedChannel, SystemClock, TelegramGateway
from config.settings import ChannelSettings, Settings
from storage.watch_state import WatchState

log = logging.getLogger(__name__)
PAGE = 100  # the most messages Telegram returns per history request


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


class Watcher:
    """Keeps the store complete and current for every configured channel."""

    def __init__(
        self,
        gateway: TelegramGateway,
        pipeline: Pipeline,
        settings: Settings,
        *,
        clock: Clock | None = None,
        pacer: Pacer | None = None,
        album_wait: float = 0.5,
        page_size: int = PAGE,
    ) -> None:
        self.gateway = gateway
        self.pipeline = pipeline
        self.settings = settings
        self.clock = clock or SystemClock()
        self.state = WatchState(pipeline.store)
        self.pacer = pacer or Pacer(
            settings.telegram.requests_per_second, clock=self.clock, on_flood=self._flooded
        )
        self.page_size = page_size
        self.watched: dict[int, Watched] = {}
        self.albums = AlbumBuffer(self._album_ready, wait=album_wait)
        self.connected = asyncio.Event()
        self._dirty: dict[int, int] = {}
        self._fills: set[asyncio.Task[None]] = set()
        self.on_alerts: Callable[[], None] | None = None  # wakes the outbox dispatcher
        gateway.on_update(self.handle_update)

    # -- resolution ---------------------------------------------------------------------------------

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
        cached = await self.state.cached(parsed.key) if use_cache else None
        renamed: str | None = None
        try:
            if cached is not None:
                resolved = cached.resolved
            else:
                resolved = await self._lookup(parsed, setting, join=join)
            if join and setting.auto_join and not resolved.joined:
                resolved = await self.pacer.call("join", setting.ref, lambda: self.gateway.join(resolved))
            channel_id, renamed = await self.state.remember(parsed.key, resolved, "ok", self.clock.now())
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
            _, renamed = await self.state.remember(None, fresh, "ok", self.clock.now())
            state = "renamed" if renamed else ("ok" if fresh.joined else "not joined")
            await self.state.set_state(w.channel_id, state)
            w.resolved = fresh
            reports.append(ChannelReport(w.setting.ref, state, fresh, f"was @{renamed}" if renamed else ""))
        return reports

    # -- history --------------------------------------------------------------------------------------

    async def start_channel(self, w: Watched) -> int:
        """Bring one channel up to date: catch up from its safe mark, or backfill a new channel."""
        if not w.started:
            stored = await self.pipeline.store.posts.max_message_id(w.channel_id)
            if not stored:
                return await self.backfill(w)
            self._advance(w, stored)
        return await self.catch_up(w, kind=AlertKind.LATE)

    async def catch_up(self, w: Watched, *, kind: AlertKind = AlertKind.LATE, alert: bool = True) -> int:
        """Fetch and ingest everything after the safe mark, oldest first; returns posts fetched."""
        fetched = 0
        async with w.lock:
            w.fill_pending = False
            while True:
                after = w.safe
                page = await self.pacer.call(
                    "history",
                    w.name,
                    partial(self.gateway.history, w.resolved, after_id=after, limit=self.page_size),
                )
                full = len(page) >= self.page_size
                held = trailing_album(page) if full else 0
                if held == len(page) and full:
                    held = 0  # a page that is all one album cannot be split further
                keep = list(page[: len(page) - held])
                if keep:
                    await self._ingested(merge_albums(keep), kind, alert)
                    fetched += len(keep)
                    self._advance(w, max(p.message_id for p in keep))
                if not full:
                    break
            await self.flush_marks()
            await self.pipeline.store.cursors.checked(w.channel_id, self.clock.now())
        return fetched

    async def backfill(self, w: Watched) -> int:
        """A new channel: store its recent posts (backfill_days / backfill_count), alerting only if asked."""
        s = w.setting
        since = self.clock.now() - timedelta(days=s.backfill_days) if s.backfill_days else None
        want = s.backfill_count if s.backfill_count is not None else (None if since else 0)
        collected: list[Post] = []
        newest = 0
        before = 0
        async with w.lock:
            while True:
                limit = 1 if want == 0 else self.page_size  # no backfill: just learn the newest id
                page = await self.pacer.call(
                    "recent", w.name, partial(self.gateway.recent, w.resolved, before_id=before, limit=limit)
                )
                if not page:
                    break
                newest = max(newest, page[0].message_id)
                if want == 0:
                    break
                fresh = [p for p in page if since is None or p.date >= since]
                collected.extend(fresh)
                before = page[-1].message_id
                if len(fresh) < len(page) or len(page) < limit:
                    break
                if want is not None and len(collected) >= want:
                    break
            collected.sort(key=lambda p: p.message_id)
            if want is not None:
                collected = collected[len(collected) - want :] if want else []
                # The oldest album may be cut by the window: drop it rather than keep part of it.
                if collected and collected[0].grouped_id is not None:
                    cut = trailing_album(list(reversed(collected)))
                    collected = collected[cut:]
            for start in range(0, len(collected), 500):
                chunk = merge_albums(collected[start : start + 500])
                await self._ingested(chunk, AlertKind.LATE, s.alert_on_backfill)
            self._advance(w, newest)
            self._dirty[w.channel_id] = w.safe  # remember the start even when the channel is empty
            w.started = True
            await self.flush_marks()
        return len(collected) + await self.catch_up(w, kind=AlertKind.LATE)

    async def gap_check(self, w: Watched) -> int:
        """Compare the channel's newest id with the safe mark; fetch any hole. Posts found alert as late."""
        try:
            latest = await self.pacer.call("latest", w.name, lambda: self.gateway.latest_id(w.resolved))
            await self.state.put_status(
                f"channel.{w.channel_id}", {"latest": latest, "behind": latest - w.safe}
            )
            if latest <= w.safe:
                await self.pipeline.store.cursors.checked(w.channel_id, self.clock.now())
                return 0
            return await self.catch_up(w, kind=AlertKind.LATE)
        except (ChannelUnavailable, TelegramError) as e:
            await self._channel_error(w, e)
            return 0

    async def poll(self, w: Watched) -> int:
        """Fetch new posts of a channel that pushes no updates (not joined); they alert as new."""
        try:
            return await self.catch_up(w, kind=AlertKind.NEW)
        except (ChannelUnavailable, TelegramError) as e:
            await self._channel_error(w, e)
            return 0

    async def _channel_error(self, w: Watched, error: TelegramError) -> None:
        if isinstance(error, Disconnected):
            raise error
        log.warning("%s: %s", w.name, error)
        if isinstance(error, ChannelUnavailable):
            await self.state.set_state(w.channel_id, error.state)
        await self.pipeline.store.cursors.checked(w.channel_id, self.clock.now(), error=str(error))

    async def catch_up_all(self, *, concurrency: int = 8) -> None:
        """Start every watched channel (catch-up or backfill), a few channels at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one(w: Watched) -> None:
            async with gate:
                try:
                    await self.start_channel(w)
                except (ChannelUnavailable, TelegramError) as e:
                    await self._channel_error(w, e)

        try:
            async with asyncio.TaskGroup() as group:
                for w in list(self.watched.values()):
                    group.create_task(one(w))
        except BaseExceptionGroup as group_error:
            lost, rest = group_error.split(Disconnected)
            if rest is not None or lost is None:
                raise
            raise lost.exceptions[0] from None

    # -- marks ----------------------------------------------------------------------------------------

    def _advance(self, w: Watched, message_id: int) -> None:
        if message_id > w.safe or not w.started:
            w.safe = max(w.safe, message_id)
            w.started = True
            self._dirty[w.channel_id] = w.safe

    async def flush_marks(self) -> None:
        """Persist changed safe marks (one transaction); called after catch-ups and every few seconds."""
        dirty, self._dirty = self._dirty, {}
        await self.state.save_safe_marks(dirty)

    async def _flooded(self, wait: FloodWait) -> None:
        if wait.seconds >= 60:
            await self.state.put_status(
                "last_flood",
                {"request": wait.request, "target": wait.target, "seconds": wait.seconds, "at": wait.at},
            )

    # -- live -----------------------------------------------------------------------------------------

    async def handle_update(self, update: PostUpdate) -> None:
        """A live update: new posts go through the pipeline now (albums after a short wait)."""
        w = self.watched.get(update.channel_tg_id or 0)
        if w is None:
            return  # a joined channel that is not configured
        if update.kind == "deleted":
            result = await self.pipeline.delete(w.ref, update.deleted_ids)
            if result.alerts and self.on_alerts is not None:
                self.on_alerts()
            return
        for post in update.posts:
            post = replace(post, channel=w.ref)
            if update.kind == "edited":
                await self._ingest_edit(w, post)
            elif post.grouped_id is not None:
                self.albums.add(w.resolved.tg_id, post)
            else:
                await self._ingest_live(w, post, (post.message_id,))

    async def _album_ready(self, post: Post, raw_ids: tuple[int, ...]) -> None:
        w = self.watched.get(post.channel.tg_id or 0)
        if w is None:
            return
        try:
            await self._ingest_live(w, post, raw_ids)
        except Exception:  # runs in a timer task: log, and let the next gap check recover it
            log.exception("%s: storing a live album failed", w.name)
            self._schedule_fill(w)

    async def _ingested(self, posts: Sequence[Post], kind: AlertKind, alert: bool = True) -> None:
        result = await self.pipeline.ingest(posts, kind=kind, alert=alert)
        if result.alerts and self.on_alerts is not None:
            self.on_alerts()

    async def _ingest_live(self, w: Watched, post: Post, raw_ids: tuple[int, ...]) -> None:
        await self._ingested([post], AlertKind.NEW)
        if min(raw_ids) <= w.safe + 1:
            self._advance(w, max(raw_ids))
        elif max(raw_ids) > w.safe:
            self._schedule_fill(w)  # something came between the mark and this post: fetch it

    async def _ingest_edit(self, w: Watched, post: Post) -> None:
        if post.grouped_id is not None:
            album = await self.state.album(w.resolved.tg_id, post.grouped_id)
            if album is not None:
                post = replace(
                    post, message_id=album.message_id, text=post.text or album.text, media=album.media
                )
        await self._ingested([post], AlertKind.NEW)

    def _schedule_fill(self, w: Watched) -> None:
        if w.fill_pending:
            return
        w.fill_pending = True
        task = asyncio.create_task(self._fill(w), name=f"fill-{w.name}")
        self._fills.add(task)
        task.add_done_callback(self._fills.discard)

    async def _fill(self, w: Watched) -> None:
        try:
            await self.catch_up(w, kind=AlertKind.LATE)
        except Disconnected:
            w.fill_pending = False  # the reconnect's catch-up covers it
        except Exception:
            w.fill_pending = False
            log.exception("%s: filling a gap failed; the next gap check retries", w.name)

    async def drain(self) -> None:
        """Finish buffered albums and running fills, then persist marks (at shutdown)."""
        await self.albums.flush_all()
        if self._fills:
            await asyncio.gather(*self._fills, return_exceptions=True)
        await self.flush_marks()
