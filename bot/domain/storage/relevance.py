"""Relevance models and the precision figures they are trained from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.records import (
    Mark,
    MarkCounts,
    ScoredPrecision,
    StoredModel,
)


class RelevanceStore(Protocol):
    """Review marks as training data (the alerts' review columns) and the models learnt from them."""

    async def marks(self, rule: str) -> list[Mark]:
        """Every reviewed post of a rule with its text and newest mark."""
        ...

    async def mark_counts(self) -> dict[str, MarkCounts]: ...

    async def save_model(
        self, rule: str, model: str, relevant: int, false_positive: int, marks_seen: int, at: datetime
    ) -> None: ...

    async def models(self, rules: Sequence[str] | None = None) -> list[StoredModel]: ...

    async def forget(self, rules: Sequence[str] | None = None) -> int:
        """Delete learnt models (all, or those of `rules`); the marks stay. Returns how many."""
        ...

    async def precision(self) -> dict[str, ScoredPrecision]:
        """Per rule: precision of all reviewed alerts, and of those sent at once (not demoted)."""
        ...
