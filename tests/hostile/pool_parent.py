"""A parent process for the worker-lifetime test: starts a MatcherPool, prints the worker's pid, waits."""

from __future__ import annotations

import asyncio
import os
import sys

from bot.domain.models import Match
from bot.ingest.matching_pool import MatcherPool


class NoMatches:
    """The smallest Matcher there is (importable, so a spawned worker can unpickle it)."""

    def match(self, text: str, *, channel: str | None = None, tags: tuple[str, ...] = ()) -> list[Match]:
        return []


def _worker_pid() -> int:
    return os.getpid()


async def main() -> None:
    pool = MatcherPool(NoMatches())  # type: ignore[arg-type]  # duck-typed Matcher
    await pool.match([("text", None, ())])
    loop = asyncio.get_running_loop()
    pid = await loop.run_in_executor(pool._executor, _worker_pid)
    print(pid, flush=True)
    await asyncio.sleep(600)  # until the test kills this process


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    asyncio.run(main())
