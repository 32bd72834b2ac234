"""First come, first served: writers enter in the order they arrived, even if they got ready out of order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class InOrder:
    """Tickets taken synchronously on arrival; `turn(ticket)` waits until every earlier ticket is done.

    The pipeline prepares a batch (matching, in a worker thread) before its transaction; a later batch
    may finish preparing first, but must not commit first: an edit would land before its original.
    """

    def __init__(self) -> None:
        self._next = 0
        self._serving = 0
        self._finished: set[int] = set()
        self._waiting: dict[int, asyncio.Event] = {}

    def ticket(self) -> int:
        ticket = self._next
        self._next += 1
        return ticket

    @asynccontextmanager
    async def turn(self, ticket: int) -> AsyncIterator[None]:
        try:
            if ticket != self._serving:
                event = self._waiting.setdefault(ticket, asyncio.Event())
                await event.wait()
            yield
        finally:
            self._finish(ticket)  # also when cancelled while waiting: later tickets must not stall

    def give_up(self, ticket: int) -> None:
        """Release a ticket whose holder stops before its turn (cancelled or failed while preparing):
        without this every later ticket waits for it forever (Ctrl-C during an import hung it)."""
        self._finish(ticket)

    def _finish(self, ticket: int) -> None:
        self._finished.add(ticket)
        while self._serving in self._finished:
            self._finished.discard(self._serving)
            self._serving += 1
        event = self._waiting.pop(self._serving, None)
        if event is not None:
            event.set()
