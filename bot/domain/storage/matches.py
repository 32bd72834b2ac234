"""Rule matches of posts, and their supersession by rescans."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.models import (
    Match,
)
from bot.domain.storage.base import Transaction


class MatchStore(Protocol):
    """Which rules matched which post version."""

    async def insert_new(
        self, tx: Transaction, rows: Sequence[tuple[int, Match]], at: datetime, version: int = 1
    ) -> None:
        """Matches of freshly inserted posts (no earlier matches can exist): one executemany."""
        ...

    async def replace(
        self, tx: Transaction, post_id: int, matches: Sequence[Match], at: datetime, version: int
    ) -> list[Match]:
        """Record the matches of a post's new version; returns the rules that did not match before."""
        ...

    async def supersede(self, tx: Transaction, post_id: int, rules: Sequence[str], at: datetime) -> int:
        """Mark the matches of `rules` that a post no longer makes (a changed rule) as superseded, keeping"""
        ...

    async def superseded(self, post_id: int) -> list[tuple[Match, datetime]]:
        """A post's matches that a later version of their rule no longer makes, with when that was found."""
        ...

    async def for_post(self, post_id: int) -> list[Match]: ...

    async def get(self, post_id: int, rule: str) -> Match | None: ...

    async def get_many(self, keys: Collection[tuple[int, str]]) -> dict[tuple[int, str], Match]:
        """`get` for several (post id, rule) pairs; pairs without a match are left out."""
        ...

    async def count(self, rule: str | None = None) -> int: ...
