"""Pacing Telegram requests: a global request budget, and flood waits waited out then retried."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from bot.domain.errors import AuthError, Disconnected, RateLimited
from bot.domain.ports import Clock, SystemClock

T = TypeVar("T")
log = logging.getLogger(__name__)
LONG_WAIT = 60.0  # flood waits at least this long are logged as warnings and shown by `telewatch status`


@dataclass(frozen=True, slots=True)
class FloodWait:
    """One flood wait Telegram imposed."""

    request: str
    target: str
    seconds: float
    at: datetime


class RequestBudget:
    """A token bucket: at most `rate` requests a second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, *, burst: float | None = None) -> None:
        self.rate = max(rate, 0.001)
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for a token; callers queue fairly behind the lock."""
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)


class Pacer:
    """Runs each request within the budget; on a flood wait sleeps retry_after plus jitter, then retries.

    Telegram's flood waits apply to a method for the whole account, so a wait on one channel's history
    also holds back the other channels' history requests until it ends.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Clock | None = None,
        jitter: float = 0.1,
        rng: random.Random | None = None,
        on_flood: Callable[[FloodWait], Awaitable[None]] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.budget = RequestBudget(rate)
        self.clock = clock or SystemClock()
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.on_flood = on_flood
        self.stop = stop
        self.floods: list[FloodWait] = []
        self.auth_problem: str | None = None  # why Telegram last rejected the session (health check)
        # Totals since start, per request kind (the metrics endpoint exports them as counters).
        self.flood_seconds: dict[str, float] = {}
        self.flood_counts: dict[str, int] = {}
        self._blocked: dict[str, asyncio.Event] = {}

    async def call(self, kind: str, target: str, request: Callable[[], Awaitable[T]]) -> T:
        """`request()` paced and retried through flood waits; other errors propagate."""
        while True:
            blocked = self._blocked.get(kind)
            if blocked is not None:
                await blocked.wait()
            await self.budget.take()
            try:
                answer = await request()
            except RateLimited as e:
                await self._wait_out(kind, target, e.retry_after)
                continue
            except AuthError as e:
                self.auth_problem = e.message
                raise
            self.auth_problem = None
            return answer

    async def _wait_out(self, kind: str, target: str, seconds: float) -> None:
        wait = FloodWait(kind, target, seconds, self.clock.now())
        self.floods.append(wait)
        del self.floods[:-100]  # keep the recent ones only
        self.flood_seconds[kind] = self.flood_seconds.get(kind, 0.0) + seconds
        self.flood_counts[kind] = self.flood_counts.get(kind, 0) + 1
        level = logging.WARNING if seconds >= LONG_WAIT else logging.INFO
        log.log(level, "flood wait: %s for %s must wait %.0fs", kind, target, seconds)
        if self.on_flood is not None:
            await self.on_flood(wait)
        existing = self._blocked.get(kind)
        if existing is not None:  # another caller is already waiting this one out
            await existing.wait()
            return
        gate = asyncio.Event()
        self._blocked[kind] = gate
        try:
            await self._sleep(seconds + self.rng.uniform(0, self.jitter * max(seconds, 1.0)))
        finally:
            gate.set()
            self._blocked.pop(kind, None)

    async def _sleep(self, seconds: float) -> None:
        """Sleep out a flood wait, unless told to stop: a shutdown must not wait out an hour's flood wait."""
        if self.stop is None:
            await self.clock.sleep(seconds)
            return
        sleeping = asyncio.ensure_future(self.clock.sleep(seconds))
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            stopping.cancel()
        if not sleeping.done() or sleeping.cancelled():
            raise Disconnected("stopping: a flood wait was abandoned")
