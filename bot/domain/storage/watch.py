"""What the watcher keeps between runs (resolved channels, albums, state)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from bot.domain.ports import ResolvedChannel
from bot.domain.records import (
    AlbumRow,
    CachedChannel,
    WindowRow,
)


class WatchStateStore(Protocol):
    """What the watcher remembers between runs: resolutions, safe marks, statuses."""

    async def cached(self, reference_key: str, watcher: str | None = None) -> CachedChannel | None:
        """The resolution cached for a canonical reference key (ParsedRef.key). With `watcher` (several
        watchers, each its own account): that watcher's access hash and joined flag, or None when only
        other watchers resolved the channel (access hashes belong to an account)."""
        ...

    async def by_tg_id(self, tg_id: int) -> CachedChannel | None: ...

    async def remember(
        self,
        reference_key: str | None,
        resolved: ResolvedChannel,
        state: str,
        at: datetime,
        watcher: str | None = None,
    ) -> tuple[int, str | None]:
        """Store a resolution (also as `watcher`'s own, when given); returns (channel row id, previous
        username if the channel was renamed)."""
        ...

    async def set_state(self, channel_id: int, state: str) -> None: ...

    async def states(self) -> dict[int, str]: ...

    async def safe_marks(self) -> dict[int, int]:
        """Per channel row id: the id up to which history is known to be complete."""
        ...

    async def save_safe_marks(self, marks: Mapping[int, int]) -> None:
        """Persist several marks in one transaction; a mark never moves backwards."""
        ...

    async def max_stored_id(self, channel_id: int, excluding: set[int]) -> int:
        """The newest stored message id of a channel, leaving out `excluding` (posts stored live)."""
        ...

    async def window(self, channel_id: int, low: int, high: int) -> list[WindowRow]:
        """Stored posts of a channel with low <= message_id <= high (a re-check's window)."""
        ...

    async def album(self, tg_id: int, grouped_id: int) -> AlbumRow | None:
        """The stored post that album `grouped_id` of channel `tg_id` was merged into."""
        ...

    async def put_status(self, key: str, value: Mapping[str, Any]) -> None: ...

    async def status(self, key: str) -> dict[str, Any] | None: ...
