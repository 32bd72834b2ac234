"""Albums: Telegram sends each photo of an album as its own message; we keep one post per album."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from bot.domain.models import Post


def merge_album(parts: Sequence[Post]) -> Post:
    """One post from an album's parts: the first id and date, every media, the caption(s) as text."""
    ordered = sorted(parts, key=lambda p: p.message_id)
    first = ordered[0]
    captioned = [p for p in ordered if p.text]
    lead = captioned[0] if captioned else first
    edits = [p.edit_date for p in ordered if p.edit_date is not None]
    return replace(
        first,
        text="\n\n".join(p.text for p in captioned),
        entities=lead.entities,
        media=tuple(
            m if m.message_id is not None else replace(m, message_id=p.message_id)
            for p in ordered
            for m in p.media
        ),
        edit_date=max(edits) if edits else None,
        reply_to=next((p.reply_to for p in ordered if p.reply_to), None),
        forward=next((p.forward for p in ordered if p.forward), None),
        views=max((p.views for p in ordered if p.views is not None), default=None),
        forwards=max((p.forwards for p in ordered if p.forwards is not None), default=None),
    )


def merge_albums(posts: Sequence[Post]) -> list[Post]:
    """A page of posts with each album's parts merged (parts of one album are adjacent ids)."""
    merged: list[Post] = []
    group: list[Post] = []
    for post in sorted(posts, key=lambda p: p.message_id):
        if group and (post.grouped_id is None or post.grouped_id != group[0].grouped_id):
            merged.append(merge_album(group))
            group = []
        if post.grouped_id is None:
            merged.append(post)
        else:
            group.append(post)
    if group:
        merged.append(merge_album(group))
    return merged


def trailing_album(posts: Sequence[Post]) -> int:
    """How many posts at the end of a page belong to one album (which may continue on the next page)."""
    if not posts or posts[-1].grouped_id is None:
        return 0
    grouped_id = posts[-1].grouped_id
    count = 0
    for post in reversed(posts):
        if post.grouped_id != grouped_id:
            break
        count += 1
    return count


AlbumReady = Callable[[Post, tuple[int, ...]], Awaitable[None]]


class AlbumBuffer:
    """Holds live album parts for `wait` seconds after the first one, then hands on the merged post."""

    def __init__(self, on_ready: AlbumReady, *, wait: float = 0.5) -> None:
        self.on_ready = on_ready
        self.wait = wait
        self._parts: dict[tuple[int, int], list[Post]] = {}
        self._timers: dict[tuple[int, int], asyncio.Task[None]] = {}

    def add(self, tg_id: int, post: Post) -> None:
        assert post.grouped_id is not None
        key = (tg_id, post.grouped_id)
        self._parts.setdefault(key, []).append(post)
        if key not in self._timers:
            self._timers[key] = asyncio.create_task(self._flush_later(key), name=f"album-{key}")

    def replace(self, tg_id: int, post: Post) -> bool:
        """Swap in an edited part of a buffered album; False when the album is not buffered."""
        parts = self._parts.get((tg_id, post.grouped_id or 0))
        if parts is None:
            return False
        self._parts[(tg_id, post.grouped_id or 0)] = [p for p in parts if p.message_id != post.message_id] + [
            post
        ]
        return True

    async def _flush_later(self, key: tuple[int, int]) -> None:
        await asyncio.sleep(self.wait)
        self._timers.pop(key, None)
        await self._flush(key)

    async def _flush(self, key: tuple[int, int]) -> None:
        parts = self._parts.pop(key, [])
        if parts:
            await self.on_ready(merge_album(parts), tuple(p.message_id for p in parts))

    async def flush_all(self) -> None:
        """Hand on every buffered album now (at shutdown)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for key in list(self._parts):
            await self._flush(key)

    @property
    def pending(self) -> int:
        return len(self._parts)
