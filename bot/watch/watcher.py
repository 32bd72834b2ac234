"""The watcher: resolve channels, catch up on history, go live, fill gaps, poll channels not joined.

Each channel has a *safe mark*: every message id up to it has been fetched and stored. Catch-up, gap
checks and polls fetch history after it (pages of 100, oldest first); a live post advances it only when
it directly follows it, so a hole (a dropped update) is always fetched before the mark moves past it.
Edits and deletions of posts below the mark that no update reported are found by re-checking each
channel's recent window (bot.watch.recheck) after every start and reconnect, and on a schedule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.domain.errors import Disconnected
from bot.domain.models import AlertKind, Post
from bot.domain.ports import Clock, PostUpdate, SystemClock, TelegramGateway
from bot.ingest.pipeline import Pipeline
from bot.ingest.salvage import ingest_salvaging
from bot.watch.albums import AlbumBuffer, merge_albums, trailing_album
from bot.watch.live_queue import LiveQueue
from bot.watch.pacing import FloodWait, Pacer
from bot.watch.recheck import RecheckResult, WindowRechecker
from bot.watch.resolve import ChannelReport, ChannelResolver, Watched
from config.settings import Settings

__all__ = ["PAGE", "ChannelReport", "RecheckResult", "Watched", "Watcher"]

log = logging.getLogger(__name__)
PAGE = 100  # the most messages Telegram returns per history request


class Watcher(ChannelResolver, WindowRechecker):
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
        on_alerts: Callable[[], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.pipeline = pipeline
        self.settings = settings
        self.clock = clock or SystemClock()
        self.state = pipeline.store.watch
        self.stopping = asyncio.Event()
        self.pacer = pacer or Pacer(
            settings.telegram.requests_per_second,
            clock=self.clock,
            on_flood=self._flooded,
            stop=self.stopping,
        )
        self.page_size = page_size
        self.watched: dict[int, Watched] = {}
        self.account_key: str | None = None  # set by the channel leases: resolutions are per account
        self.albums = AlbumBuffer(self._album_ready, wait=album_wait)
        self.connected = asyncio.Event()
        self.disconnected_since: datetime | None = self.clock.now()  # None while connected (health check)
        self.ever_connected = False  # Telegram accepted a connection in this run (the session check)
        self._dirty: dict[int, int] = {}
        self._fills: set[asyncio.Task[None]] = set()
        self.on_alerts = on_alerts  # wakes the outbox dispatcher
        # Called after every resolve_all: the channel leases keep only the channels this watcher holds.
        self.after_resolve: Callable[[], Coroutine[Any, Any, object]] | None = None
        # Live updates in arrival order; new posts that queue up meanwhile are stored in one commit.
        self.live: LiveQueue[tuple[Watched, Post, tuple[int, ...]]] = LiveQueue(self._store_live)
        gateway.on_update(self.handle_update)

    async def resolve_all(self, *, use_cache: bool = True, join: bool = True) -> list[ChannelReport]:
        """Resolve every configured channel (ChannelResolver.resolve_all), then keep those leased."""
        reports = await super().resolve_all(use_cache=use_cache, join=join)
        if self.after_resolve is not None:
            await self.after_resolve()
        return reports

    # -- history --------------------------------------------------------------------------------------

    async def start_channel(self, w: Watched) -> int:
        """Bring one channel up to date: catch up from its safe mark, or backfill a new channel."""
        if not w.started:
            # Posts stored live before the start say nothing of where history was left off.
            stored = await self.state.max_stored_id(w.channel_id, w.live_ids)
            if not stored:
                return await self.backfill(w)
            self._advance(w, stored)
        return await self.catch_up(w, kind=AlertKind.LATE)

    async def catch_up(self, w: Watched, *, kind: AlertKind = AlertKind.LATE, alert: bool = True) -> int:
        """Fetch and ingest everything after the safe mark, oldest first; returns posts fetched."""
        if not w.started:  # a fill, gap check or poll before the start: start it (backfill rules apply)
            return await self.start_channel(w)
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
                    await self._ingested(merge_albums(keep), kind, alert, w)
                    fetched += len(keep)
                    self._advance(w, max(p.message_id for p in keep))
                if not full or self.stopping.is_set() or w.dropped:  # whole pages only: the mark says where
                    break
            await self._settle_early(w)
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
            while not w.started:  # another task may have started the channel while this one waited
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
                collected = collected[max(0, len(collected) - want) :] if want else []  # never negative
                # The oldest album may be cut by the window: drop it rather than keep part of it.
                if collected and collected[0].grouped_id is not None:
                    cut = trailing_album(list(reversed(collected)))
                    collected = collected[cut:]
            for start in range(0, len(collected), 500):
                chunk = merge_albums(collected[start : start + 500])
                await self._ingested(chunk, AlertKind.LATE, s.alert_on_backfill, w)
            if not w.started:
                self._advance(w, newest)
                self._dirty[w.channel_id] = w.safe  # remember the start even when the channel is empty
                w.started = True
                w.live_ids.clear()
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
        except Exception as e:  # recorded on the channel; the next check retries
            await self.channel_error(w, e)
            return 0

    async def poll(self, w: Watched) -> int:
        """Fetch new posts of a channel that pushes no updates (not joined); they alert as new."""
        try:
            return await self.catch_up(w, kind=AlertKind.NEW)
        except Exception as e:  # recorded on the channel; the next poll retries
            await self.channel_error(w, e)
            return 0

    async def catch_up_all(self, *, concurrency: int = 8, recheck: bool | None = None) -> None:
        """Start every watched channel (catch-up or backfill), a few channels at a time; then re-check
        the window each had before (edits and deletions made while away). `recheck` defaults to "not
        live yet": a start or a reconnect re-checks, a catch-up after a config change does not."""
        if recheck is None:
            recheck = not self.connected.is_set()
        gate = asyncio.Semaphore(concurrency)
        marks: dict[int, int] = {}  # channels already started: the mark they were left at

        async def start(w: Watched) -> None:
            async with gate:
                if w.started:
                    marks[w.resolved.tg_id] = w.safe
                try:
                    await self.start_channel(w)
                except Exception as e:  # Disconnected is re-raised; anything else stays with its channel
                    await self.channel_error(w, e)

        async def check(w: Watched) -> None:
            async with gate:
                await self.recheck(w, below=marks[w.resolved.tg_id] + 1)

        await _each(start, list(self.watched.values()))
        if recheck:  # after every catch-up: new posts first, then the older ones that may have changed
            await _each(check, [w for w in self.watched.values() if marks.get(w.resolved.tg_id)])

    # -- marks ----------------------------------------------------------------------------------------

    def _advance(self, w: Watched, message_id: int) -> None:
        if message_id > w.safe or not w.started:
            w.safe = max(w.safe, message_id)
            w.started = True
            self._dirty[w.channel_id] = w.safe

    def stop(self) -> None:
        """Shutting down: catch-ups end after the page being stored, flood waits are abandoned."""
        self.stopping.set()

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
        """A live update, stored before this returns: new posts (albums after a short wait) together with
        the others that arrived meanwhile; edits and deletions in their place in the order."""
        w = self.watched.get(update.channel_tg_id or 0)
        if w is None:
            return  # a joined channel that is not configured
        if update.kind == "deleted":
            await self.live.call(partial(self._delete_live, w, update.deleted_ids))
            return
        for post in update.posts:
            post = replace(post, channel=w.ref)
            if update.kind == "edited":
                await self.live.call(partial(self._ingest_edit, w, post))
            elif post.grouped_id is not None:
                self.albums.add(w.resolved.tg_id, post)
            else:
                await self.live.add((w, post, (post.message_id,)))

    async def _delete_live(self, w: Watched, message_ids: Sequence[int]) -> None:
        # A post not stored yet (its page in flight, its album buffered) is marked once stored.
        w.early_deletes.update(i for i in message_ids if i > w.safe)
        self._alerted(await self.pipeline.delete(w.ref, message_ids))

    async def _album_ready(self, post: Post, raw_ids: tuple[int, ...]) -> None:
        w = self.watched.get(post.channel.tg_id or 0)
        if w is None:
            return
        try:
            await self.live.add((w, post, raw_ids))
        except Exception:  # runs in a timer task: log, and let the next gap check recover it
            log.exception("%s: storing a live album failed", w.name)
            self._schedule_fill(w)

    async def _ingested(
        self, posts: Sequence[Post], kind: AlertKind, alert: bool = True, w: Watched | None = None
    ) -> None:
        self._alerted(await ingest_salvaging(self.pipeline, posts, kind, alert))
        if w is not None and (w.early_deletes or w.early_edits):
            await self._apply_early(w, posts)

    async def _apply_early(self, w: Watched, posts: Sequence[Post]) -> None:
        """Deletions and album edits that arrived before these posts were stored, applied now."""
        gone = sorted(w.early_deletes.intersection(p.message_id for p in posts))
        if gone:
            w.early_deletes.difference_update(gone)
            self._alerted(await self.pipeline.delete(w.ref, gone))
        for post in posts:
            for edit in w.early_edits.pop(post.grouped_id or 0, []) if post.grouped_id else []:
                await self._ingest_edit(w, edit)

    async def _settle_early(self, w: Watched) -> None:
        """After a catch-up: forget deletions now behind the mark; an edited part whose album never came
        (deleted since) is kept on its own rather than lost."""
        w.early_deletes = {i for i in w.early_deletes if i > w.safe}
        for grouped_id, edits in list(w.early_edits.items()):
            if all(e.message_id <= w.safe for e in edits):
                del w.early_edits[grouped_id]
                await self._ingested(edits, AlertKind.NEW, True, w)

    async def _store_live(self, items: Sequence[tuple[Watched, Post, tuple[int, ...]]]) -> None:
        """New live posts (of any channels), in arrival order: one batch, then each channel's mark."""
        self._alerted(await ingest_salvaging(self.pipeline, [post for _, post, _ in items], AlertKind.NEW))
        by_channel: dict[int, tuple[Watched, list[Post]]] = {}
        for w, post, _ in items:
            by_channel.setdefault(w.channel_id, (w, []))[1].append(post)
        for w, posts in by_channel.values():
            if w.early_deletes or w.early_edits:
                await self._apply_early(w, posts)
        for w, _, raw_ids in items:
            if not w.started:  # the start (backfill or catch-up) will set the mark; no fill from id 0
                w.live_ids.update(raw_ids)
            elif min(raw_ids) <= w.safe + 1:
                self._advance(w, max(raw_ids))
            elif max(raw_ids) > w.safe:
                self._schedule_fill(w)  # something came between the mark and this post: fetch it

    async def _ingest_edit(self, w: Watched, post: Post) -> None:
        if post.grouped_id is not None:
            if self.albums.replace(w.resolved.tg_id, post):
                return  # the album is still buffered: it is stored with this part as edited
            album = await self.state.album(w.resolved.tg_id, post.grouped_id)
            if album is None and (post.message_id > w.safe or not w.started):
                # Its album is not stored yet: applied once it is, rather than stored as a stray post.
                w.early_edits.setdefault(post.grouped_id, []).append(post)
                self._schedule_fill(w)
                return
            if album is not None:
                post = replace(
                    post, message_id=album.message_id, text=post.text or album.text, media=album.media
                )
        if not w.started:
            w.live_ids.add(post.message_id)
        # A post at or below the mark that was never stored (older than the channel's start) is not new:
        # stored now, it alerts as edited.
        older = w.started and post.message_id <= w.safe
        await self._ingested([post], AlertKind.EDITED if older else AlertKind.NEW)

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
        await self.live.join()
        if self._fills:
            await asyncio.gather(*self._fills, return_exceptions=True)
        await self.flush_marks()


async def _each(work: Callable[[Watched], Coroutine[Any, Any, None]], channels: Sequence[Watched]) -> None:
    """Run `work` for every channel at once; a Disconnected from any of them is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            for w in channels:
                group.create_task(work(w))
    except BaseExceptionGroup as group_error:
        lost, rest = group_error.split(Disconnected)
        if rest is not None or lost is None:
            raise
        raise lost.exceptions[0] from None
