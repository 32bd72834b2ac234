"""Exponential backoff, the one schedule every retry loop follows (reconnects, alert deliveries)."""

from __future__ import annotations

from dataclasses import dataclass


def backoff_delay(attempt: int, *, base: float, cap: float, factor: float = 2.0) -> float:
    """Seconds to wait before retry number `attempt` (1 = the first retry): base, doubling, capped."""
    return float(min(cap, base * factor ** max(0, attempt - 1)))


@dataclass(slots=True)
class Backoff:
    """The delays of one retry loop: `next()` gives base, 2*base, 4*base ... up to `cap`; `reset()` after
    a success starts again from base."""

    base: float = 1.0
    cap: float = 60.0
    attempt: int = 0

    def next(self) -> float:
        self.attempt += 1
        return backoff_delay(self.attempt, base=self.base, cap=self.cap)

    def reset(self) -> None:
        self.attempt = 0
