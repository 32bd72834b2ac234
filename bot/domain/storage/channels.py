"""Channels: the stored channel rows, their names and labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain.models import (
    Channel,
    ChannelRef,
)
from bot.domain.storage.base import Transaction


class ChannelStore(Protocol):
    """Channel rows: references resolved to one row per channel, labels and tags."""

    def known(self, ref: ChannelRef) -> Channel | None:
        """The cached row for `ref` when it already agrees with everything `ref` says (no I/O)."""
        ...

    async def ensure(self, tx: Transaction, ref: ChannelRef) -> Channel:
        """The row for `ref`, created if new; fills in a missing id/username/title; records renames."""
        ...

    async def set_label(
        self, tx: Transaction, channel_id: int, label: str | None, tags: Sequence[str]
    ) -> None: ...

    async def get(self, channel_id: int) -> Channel | None: ...

    async def find(self, handle: str) -> Channel | None:
        """A channel by @username, username, t.me link or numeric id; None when unknown."""
        ...

    async def all(self) -> list[Channel]: ...

    async def with_label(self, label: str) -> list[Channel]: ...
