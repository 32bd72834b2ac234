"""Group commit for live updates: posts that arrive while the previous commit runs are stored together.

Telegram hands each update to its own task. Every update is put on one queue, in arrival order, and
its caller waits until it is stored. A worker takes what has queued up: consecutive new posts (of any
channels) go through the pipeline as one batch — one transaction with their matches and outbox rows —
and every other update (an edit, a deletion) runs alone, in its place in the order. So a post, its
edit and its deletion arriving together are stored in that order, each version kept, and a batch's
alerts are in the outbox in the same commit as its posts.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

Item = TypeVar("Item")

BATCH = 200  # new posts stored in one transaction at most: the outbox waits for the write lock meanwhile


@dataclass(slots=True)
class _Op(Generic[Item]):
    item: Item | None  # a new post, stored with its neighbours
    run: Callable[[], Awaitable[None]] | None  # anything else: runs alone, in its place
    done: asyncio.Future[None]


class LiveQueue(Generic[Item]):
    """Runs queued work in order; consecutive items are handed to `store` together."""

    def __init__(self, store: Callable[[Sequence[Item]], Awaitable[None]], *, batch: int = BATCH) -> None:
        self._store = store
        self._batch = batch
        self._ops: deque[_Op[Item]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0  # commits of new posts, for tests and figures
        self.largest = 0

    async def add(self, item: Item) -> None:
        """Queue a new post; returns once it is stored (raises what storing it raised)."""
        await self._queue(_Op(item, None, asyncio.get_running_loop().create_future()))

    async def call(self, run: Callable[[], Awaitable[None]]) -> None:
        """Queue other work (an edit, a deletion) behind what is queued; returns once it ran."""
        await self._queue(_Op(None, run, asyncio.get_running_loop().create_future()))

    async def join(self) -> None:
        """Wait until everything queued so far has run (at shutdown)."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    def __len__(self) -> int:
        return len(self._ops)

    async def _queue(self, op: _Op[Item]) -> None:
        self._ops.append(op)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="live-updates")
        await op.done

    async def _work(self) -> None:
        try:
            await self._drain()
        except BaseException:
            while self._ops:  # stopped (cancelled): nobody waits forever for work that will not run
                self._ops.popleft().done.cancel()
            raise

    async def _drain(self) -> None:
        while self._ops:
            op = self._ops.popleft()
            if op.run is not None:
                await self._finish([op], op.run)
                continue
            ops = [op]
            while self._ops and self._ops[0].run is None and len(ops) < self._batch:
                ops.append(self._ops.popleft())
            items = [o.item for o in ops if o.item is not None]
            self.batches += 1
            self.largest = max(self.largest, len(items))
            await self._finish(ops, partial(self._store, items))

    @staticmethod
    async def _finish(ops: list[_Op[Item]], run: Callable[[], Awaitable[None]]) -> None:
        try:
            await run()
        except BaseException as e:
            for op in ops:
                if not op.done.done():
                    if isinstance(e, Exception):
                        op.done.set_exception(e)
                    else:
                        op.done.cancel()
            if not isinstance(e, Exception):
                raise  # cancelled: the callers were told; stop
            return
        for op in ops:
            if not op.done.done():
                op.done.set_result(None)
