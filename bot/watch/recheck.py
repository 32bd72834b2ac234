"""Re-checking each channel's recent window for edits and deletions that no update reported.

Telegram sends nothing for what changed while the watcher was stopped or disconnected, and never resends
a lost update, so a catch-up (which reads only ids above the safe mark) cannot see an older post being
edited or deleted. On start, on every reconnect and on a schedule, the newest posts of each channel are
fetched again (pages of 100, newest first) and compared with the store: a changed text or edit date is a
new version, a stored id missing from Telegram's answer is a deletion mark.

A missing id counts only inside the contiguous range Telegram's pages covered: from the oldest id returned
up to the top of the first page (the channel's newest post, or the id the window started below). Posts older
than the window, a request that failed or flood-waited out of the re-check, and channels whose history
the account cannot read mark nothing.

Why not updates.getChannelDifference from a stored pts: it needs a pts per channel persisted from every
update, answers "too long" for an offline gap beyond its limit (then only the newest messages and no edits
or deletions), and channels the account has not joined (polled) have no update stream at all. The window
costs one request per 100 posts for every kind of channel and also finds updates lost while connected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.domain.errors import ChannelUnavailable, Disconnected, TelegramError
from bot.domain.models import AlertKind, Post
from bot.domain.ports import Clock, TelegramGateway
from bot.domain.records import WindowRow
from bot.domain.storage import WatchStateStore
from bot.ingest.pipeline import IngestResult, Pipeline
from bot.ingest.salvage import ingest_salvaging
from bot.watch.albums import merge_albums
from bot.watch.pacing import Pacer
from bot.watch.resolve import Watched
from config.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RecheckResult:
    """What one re-check of one channel found."""

    requests: int = 0
    fetched: int = 0  # posts Telegram returned
    edited: int = 0  # stored posts that got a new text (a new version)
    updated: int = 0  # stored posts whose edit date or media changed, text unchanged
    deleted: int = 0  # stored posts newly marked deleted


@dataclass(frozen=True, slots=True)
class _Window:
    """Telegram's answer: its posts (newest first) and whether the channel's first post was reached."""

    posts: list[Post]
    bottom: bool


class WindowRechecker:
    """The re-check half of the Watcher."""

    gateway: TelegramGateway
    pipeline: Pipeline
    settings: Settings
    clock: Clock
    state: WatchStateStore
    pacer: Pacer
    page_size: int
    stopping: asyncio.Event
    on_alerts: Callable[[], None] | None

    def recheck_window(self, w: Watched) -> tuple[float, int]:
        """(hours, posts) of the channel's re-check window: its own settings, else [schedule]'s."""
        s, schedule = w.setting, self.settings.schedule
        hours = s.recheck_hours if s.recheck_hours is not None else schedule.recheck_hours
        posts = s.recheck_posts if s.recheck_posts is not None else schedule.recheck_posts
        return hours, posts

    async def recheck(self, w: Watched, *, below: int = 0) -> RecheckResult:
        """Compare the channel's recent posts (below id `below`; 0: the newest) with the store: store new
        versions, mark deletions. Errors are recorded on the channel (Disconnected is raised)."""
        result = RecheckResult()
        hours, want = self.recheck_window(w)
        if want <= 0 or not w.started or self.stopping.is_set():
            return result
        try:
            async with w.lock:  # not while a catch-up of the same channel stores pages
                # A post stored after the first request is newer than Telegram's answer, never "missing".
                top = below - 1 if below else await self.state.max_stored_id(w.channel_id, set())
                window = await self._fetch_window(w, below, hours, want, result)
                await self._compare(w, window, top, result)
        except Exception as e:  # Disconnected is re-raised; anything else stays with its channel
            await self.channel_error(w, e)
            return RecheckResult(requests=result.requests)
        if result.edited or result.updated or result.deleted:
            log.info(
                "%s: re-check found %d edited, %d deleted (of %d posts)",
                w.name,
                result.edited,
                result.deleted,
                result.fetched,
            )
        return result

    async def _fetch_window(
        self, w: Watched, below: int, hours: float, want: int, result: RecheckResult
    ) -> _Window:
        cutoff = self.clock.now() - timedelta(hours=hours)
        posts: list[Post] = []
        before = below
        while len(posts) < want:
            limit = min(self.page_size, want - len(posts))
            page = await self.pacer.call(
                "recent", w.name, partial(self.gateway.recent, w.resolved, before_id=before, limit=limit)
            )
            result.requests += 1
            posts.extend(page)
            if len(page) < limit:
                return _Window(posts, bottom=True)
            oldest = min(page, key=lambda p: p.message_id)
            before = oldest.message_id
            if oldest.date < cutoff or self.stopping.is_set():
                break
        return _Window(posts, bottom=False)

    async def _compare(self, w: Watched, window: _Window, top: int, result: RecheckResult) -> None:
        result.fetched = len(window.posts)
        if not window.posts:
            return  # an empty answer covers no range: nothing can be called missing
        low = min(p.message_id for p in window.posts)
        present = {p.message_id for p in window.posts}
        albums = {p.grouped_id for p in window.posts if p.grouped_id is not None}
        merged = merge_albums(window.posts)
        lowest = min(window.posts, key=lambda p: p.message_id)
        if not window.bottom and lowest.grouped_id is not None:
            # The oldest album may go on below the window: its parts here would merge into a partial post.
            merged = [p for p in merged if p.grouped_id != lowest.grouped_id]
        stored = {row.message_id: row for row in await self.state.window(w.channel_id, low, top)}
        changed = [p for p in merged if _changed(stored.get(p.message_id), p)]
        gone = [
            row.message_id
            for row in stored.values()
            if not row.deleted
            and row.message_id not in present
            and (row.grouped_id is None or row.grouped_id not in albums)  # a photo of an album removed
        ]
        if changed:
            # A changed text is stored as a new version; one that newly matches a rule alerts "edited".
            ingested = await ingest_salvaging(self.pipeline, changed, AlertKind.EDITED)
            result.edited += ingested.edited
            result.updated += ingested.updated
            self._alerted(ingested)
        if gone:
            marked = await self.pipeline.delete(w.ref, gone)  # an alerted post is reported deleted
            result.deleted += marked.deleted
            self._alerted(marked)

    def _alerted(self, result: IngestResult) -> None:
        if result.alerts and self.on_alerts is not None:
            self.on_alerts()

    async def channel_error(self, w: Watched, error: Exception) -> None:
        """Record a channel's error (its state, its last check); Disconnected is raised for a reconnect."""
        if isinstance(error, Disconnected):
            raise error
        if isinstance(error, TelegramError):
            log.warning("%s: %s", w.name, error)
        else:  # a bug, not Telegram: keep the traceback, but never let one channel stop the others
            log.error("%s: %r", w.name, error, exc_info=error)
        if isinstance(error, ChannelUnavailable):
            await self.state.set_state(w.channel_id, error.state)
        await self.pipeline.store.cursors.checked(w.channel_id, self.clock.now(), error=str(error))


def _changed(row: WindowRow | None, post: Post) -> bool:
    """A stored, undeleted post whose text or edit date differs from Telegram's copy."""
    if row is None or row.deleted:
        return False  # not stored: older than the channel's start, or above the mark (catch-up's part)
    return post.text != row.text or _to_second(post.edit_date) != _to_second(row.edit_date)


def _to_second(value: datetime | None) -> datetime | None:
    """A time as storage keeps it: UTC, whole seconds (naive times are UTC)."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0)
